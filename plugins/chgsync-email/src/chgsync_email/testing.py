"""A real SMTP server on loopback (aiosmtpd) that keeps every mail it accepts, for tests.

Not a pytest plugin: tests import it, so the core's end-to-end tests and this package's own use one
sink. ``SmtpSink`` speaks plain SMTP, STARTTLS or TLS from the first byte with a self-signed
certificate (``cert_path`` is what a client trusts), can demand AUTH, and can answer with chosen
replies (a refused recipient, a 4xx "try later") so senders' error handling meets real SMTP::

    from chgsync_email.testing import SmtpSink, smtp_sink  # noqa: F401  (the fixture)

    def test_it(smtp_sink):
        create(smtp_sink.settings(sender="chgsync@example.com")).send(note)
        [mail] = smtp_sink.wait_for(1)

Needs the ``test`` extra (aiosmtpd).
"""

from __future__ import annotations

import email
import email.policy
import logging
import socket
import ssl
import tempfile
import threading
import warnings
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal, Self, cast

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from chgsync.testing.emulator import self_signed_certificate

Tls = Literal["starttls", "ssl"]
Stage = Literal["MAIL", "RCPT", "DATA"]

SERVER_NAME = "smtp-sink.chgsync.test"

# aiosmtpd 1.4 logs a deprecation warning of its own on every successful AUTH; it says nothing
# about the code under test.
logging.getLogger("mail.log").addFilter(lambda record: "login_data is deprecated" not in record.getMessage())


@dataclass(frozen=True)
class ReceivedMail:
    """One accepted mail: the envelope, the parsed message, and how the client connected."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    message: EmailMessage
    secure: bool
    user: str | None

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    @property
    def text(self) -> str:
        return self._part("plain")

    @property
    def html(self) -> str:
        return self._part("html")

    def _part(self, subtype: str) -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        if part is None or part.get_content_subtype() != subtype:
            raise AssertionError(f"the mail {self.subject!r} has no text/{subtype} part")
        return cast(str, cast(EmailMessage, part).get_content())


class _Handler:
    """aiosmtpd hooks: apply queued replies, then record. Runs on the server's event loop thread."""

    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          mail_options: list[str]) -> str:
        reply = self.sink._reply_for("MAIL")
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        reply = self.sink._reply_for("RCPT") or self.sink.refused.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        reply = self.sink._reply_for("DATA")
        if reply:
            return reply
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        user = session.auth_data if isinstance(session.auth_data, str) else None
        self.sink._keep(ReceivedMail(str(envelope.mail_from), tuple(envelope.rcpt_tos), raw, message,
                                     session.ssl is not None or self.sink.tls == "ssl", user))
        return "250 2.0.0 Message accepted for delivery"


class _Controller(Controller):
    def factory(self) -> SMTP:
        # aiosmtpd warns about AUTH without STARTTLS even when the connection is TLS from the first byte.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS", UserWarning)
            return cast(SMTP, super().factory())  # type: ignore[no-untyped-call]


class SmtpSink:
    """An SMTP server on a free loopback port. ``users`` (name → password) turns on required AUTH."""

    def __init__(self, *, host: str = "127.0.0.1", tls: Tls | None = None,
                 users: Mapping[str, str] | None = None) -> None:
        if users and tls is None:
            raise ValueError("AUTH needs TLS here (as on any sane server): pass tls='starttls' or 'ssl'")
        self.host = host
        self.tls = tls
        self.users = dict(users or {})
        self.received: list[ReceivedMail] = []
        self.refused: dict[str, str] = {}
        self.cert_path: Path | None = None
        self._replies: dict[str, deque[str]] = {"MAIL": deque(), "RCPT": deque(), "DATA": deque()}
        self._cond = threading.Condition()
        self._controller: _Controller | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    # -- what tests set ------------------------------------------------------------------------------
    def refuse(self, address: str, reply: str = "550 5.1.1 Mailbox unavailable") -> None:
        """Answer RCPT TO ``address`` with ``reply`` from now on."""
        self.refused[address.lower()] = reply

    def fail_next(self, stage: Stage, reply: str = "451 4.3.0 Try again later", n: int = 1) -> None:
        """Answer the next ``n`` commands of ``stage`` with ``reply`` instead of accepting them."""
        with self._cond:
            self._replies[stage].extend([reply] * n)

    # -- what tests read -----------------------------------------------------------------------------
    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        """The mails once at least ``count`` have arrived; fails the test if they do not in time."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.received) >= count, timeout=timeout):
                raise AssertionError(f"expected {count} mails, the SMTP sink received {len(self.received)}")
            return list(self.received)

    @property
    def port(self) -> int:
        if self._controller is None:
            raise RuntimeError("The SMTP sink is not running; call start() first.")
        return int(self._controller.port)

    def settings(self, **extra: Any) -> dict[str, Any]:
        """Email notifier settings that reach this sink (``sender`` and the rest come in ``extra``)."""
        out: dict[str, Any] = {"host": self.host, "port": self.port, "security": self.tls or "none",
                               "helo": "chgsync.test", "timeout": 10}
        if self.cert_path is not None:
            out["ca_file"] = str(self.cert_path)
        return out | extra

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> Self:
        if self._controller is not None:
            return self
        kwargs: dict[str, Any] = {"server_hostname": SERVER_NAME}
        if self.tls is not None:
            self._tmp = tempfile.TemporaryDirectory(prefix="chgsync-smtp-sink-")
            cert, key = self_signed_certificate(Path(self._tmp.name), self.host)
            self.cert_path = cert
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert, key)
            if self.tls == "ssl":
                kwargs["ssl_context"] = context
            else:
                kwargs.update(tls_context=context, require_starttls=True)
        if self.users:
            # aiosmtpd's auth_require_tls only recognises STARTTLS and would hide AUTH on a connection
            # that is TLS from the first byte; the users-need-TLS rule is enforced in __init__ instead.
            kwargs.update(authenticator=self._authenticate, auth_required=True,
                          auth_require_tls=self.tls == "starttls")
        # aiosmtpd connects to itself to confirm start-up, so port 0 does not work: pick one, and pick
        # again should another process take it in between.
        for attempt in range(5):
            controller = _Controller(_Handler(self), hostname=self.host, port=_free_port(self.host), **kwargs)
            try:
                controller.start()
            except OSError:
                controller.stop(no_assert=True)
                if attempt == 4:
                    raise
                continue
            self._controller = controller
            break
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- for the handler -----------------------------------------------------------------------------
    def _reply_for(self, stage: Stage) -> str | None:
        with self._cond:
            queue = self._replies[stage]
            return queue.popleft() if queue else None

    def _keep(self, mail: ReceivedMail) -> None:
        with self._cond:
            self.received.append(mail)
            self._cond.notify_all()

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                      auth_data: Any) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        ok = user in self.users and self.users[user] == password
        return AuthResult(success=ok, handled=False, auth_data=user if ok else None)


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A plain-SMTP sink for one test (build ``SmtpSink(tls=..., users=...)`` for the secured kinds)."""
    with SmtpSink() as sink:
        yield sink
