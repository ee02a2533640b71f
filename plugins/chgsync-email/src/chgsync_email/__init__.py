"""Email for chgsync: a notifier that mails each notice over SMTP, threaded per change.

``chgsync_email.testing`` holds :class:`~chgsync_email.testing.SmtpSink`, a real SMTP server
(aiosmtpd) on loopback that tests deliver to.
"""

from .notifier import EmailNotifier, MailError
from .plugin import create
from .settings import EmailSettings

__all__ = ["EmailNotifier", "EmailSettings", "MailError", "create"]
