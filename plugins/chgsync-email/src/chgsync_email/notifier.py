"""Sending over SMTP, and turning what the server says into the outbox's retry decision.

One connection per mail: notices are few, and a fresh connection cannot inherit a half-broken
session from the previous send. Once the server has accepted the message (250 after DATA) the send
counts as done whatever happens at QUIT, because a retry then would deliver the mail twice.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage

from chgsync.errors import RemoteError
from chgsync.notify import Notification

from .compose import compose, envelope, recipients
from .settings import EmailSettings

log = logging.getLogger(__name__)


class MailError(RemoteError):
    """A mail that was not sent, in the outbox's terms.

    RemoteError's ``status`` is what the outbox decides retries on and speaks HTTP, so it carries
    None when the server never answered (retry), 503 for an SMTP 4xx reply ("try again later":
    retry) and 400 for an SMTP 5xx reply or anything a retry cannot fix (dead-letter).
    ``reply_code`` keeps the server's own SMTP code, and the message shows that, not the HTTP one.
    """

    def __init__(self, system: str, operation: str, reply_code: int | None, message: str, *,
                 transient: bool) -> None:
        status = (None if reply_code is None else 503) if transient else 400
        super().__init__(system, operation, status, message)
        self.reply_code = reply_code
        detail = f"reply {reply_code}" if reply_code is not None else ("no answer" if transient else "not sent")
        self.args = (f"{system} {operation} failed ({detail}): {message}",)


class EmailNotifier:
    """The ``email`` notifier. ``clock`` dates the mails (tests pin it)."""

    def __init__(self, settings: EmailSettings, *, clock: Callable[[], datetime] | None = None) -> None:
        self.settings = settings
        self.clock = clock or (lambda: datetime.now(UTC))
        self.where = f"{settings.host}:{settings.effective_port}"
        # Verification stays on: with ca_file, that bundle replaces the system's trust store.
        self.tls = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)

    def send(self, notification: Notification) -> str:
        """Mail ``notification`` and return its Message-ID, which later mails about the change reply to."""
        to = recipients(notification, self.settings.to)
        if not to:
            raise MailError("email", f"about {notification.change_id}", None,
                            "nobody to send it to: none of the change's contacts is an email address and the "
                            "notifier has no 'to' addresses. Add an email contact to the change or a 'to' "
                            "address to the notifier, then retry the item with 'chgsync outbox retry'.",
                            transient=False)
        msg = compose(notification, self.settings, to, self.clock())
        self._deliver(msg, envelope(to), notification.change_id)
        return str(msg["Message-ID"])

    def _deliver(self, msg: EmailMessage, to: list[str], change_id: str) -> None:
        s = self.settings
        stage = "connect"
        smtp: smtplib.SMTP | None = None
        try:
            smtp = self._connect()
            smtp.ehlo()
            if s.security == "starttls":
                stage = "STARTTLS"
                smtp.starttls(context=self.tls)
                smtp.ehlo()
            if s.user is not None and s.password is not None:
                stage = "login"
                smtp.login(s.user, s.password.get_secret_value())
            stage = "send"
            refused = smtp.send_message(msg, from_addr=s.sender_address, to_addrs=to)
        except Exception as exc:
            if smtp is not None:
                smtp.close()
            failure = classify(exc, f"{stage} to {self.where}", s)
            if failure is None:
                raise
            raise failure from exc
        if refused:
            # Some got it: retrying would mail them again, so the rest is reported, not retried.
            log.warning("mail about %s was refused for %s", change_id,
                        ", ".join(f"{addr} ({code} {text.decode(errors='replace')})"
                                  for addr, (code, text) in refused.items()))
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.security == "ssl":
            return smtplib.SMTP_SSL(s.host, s.effective_port, local_hostname=s.helo, timeout=s.timeout,
                                    context=self.tls)
        return smtplib.SMTP(s.host, s.effective_port, local_hostname=s.helo, timeout=s.timeout)


def classify(exc: BaseException, operation: str, settings: EmailSettings) -> MailError | None:
    """What ``exc`` means for a retry, or None when it is not a delivery failure (a bug: let it rise)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        text = "; ".join(f"{addr}: {code} {reply.decode(errors='replace')}"
                         for addr, (code, reply) in exc.recipients.items())
        # Greylisting answers 450/451 at RCPT: worth another try, since nobody has the mail yet.
        transient = any(400 <= code < 500 for code in codes)
        return MailError("SMTP", operation, codes[0] if codes else None, f"every recipient was refused: {text}",
                         transient=transient)
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        if isinstance(exc, smtplib.SMTPAuthenticationError) and code >= 500:
            text += " (check user and password_env)"
        if not 400 <= code < 600:  # not a reply at all: the session broke
            return MailError("SMTP", operation, None, text, transient=True)
        return MailError("SMTP", operation, code, text, transient=code < 500)
    if isinstance(exc, smtplib.SMTPServerDisconnected) and isinstance(exc.__context__, TimeoutError):
        return MailError("SMTP", operation, None, f"no answer within {settings.timeout:g} s", transient=True)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return MailError("SMTP", operation, None, f"the server closed the connection ({exc})", transient=True)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return MailError("SMTP", operation, None, f"{exc} Check the notifier's security setting.", transient=False)
    if isinstance(exc, smtplib.SMTPException):  # e.g. no authentication method in common
        return MailError("SMTP", operation, None, str(exc), transient=False)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return MailError("SMTP", operation, None, f"the server's certificate is not trusted "
                         f"({exc.verify_message}); set ca_file to the CA that signed it.", transient=False)
    if isinstance(exc, ssl.SSLError):
        return MailError("SMTP", operation, None, f"TLS failed ({exc.reason or exc}); check that security "
                         f"'{settings.security}' is what port {settings.effective_port} speaks.", transient=False)
    if isinstance(exc, TimeoutError):
        return MailError("SMTP", operation, None, f"no answer within {settings.timeout:g} s", transient=True)
    if isinstance(exc, OSError):
        return MailError("SMTP", operation, None, str(exc) or type(exc).__name__, transient=True)
    return None
