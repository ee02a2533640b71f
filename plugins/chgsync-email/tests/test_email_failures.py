"""What the outbox is told when a mail does not go: retry later, or dead-letter with a reason."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator

import pytest
from chgsync_email.notifier import EmailNotifier, MailError
from chgsync_email.settings import load_settings
from chgsync_email.testing import SmtpSink

from chgsync.errors import RemoteError
from chgsync.notify import Notification

from .conftest import SENDER, WHEN


def notifier(settings: dict[str, object]) -> EmailNotifier:
    return EmailNotifier(load_settings({"sender": SENDER, **settings}), clock=lambda: WHEN)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) but never says a word."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        yield int(s.getsockname()[1])


@pytest.mark.parametrize(("stage", "reply", "code", "retryable"), [
    ("DATA", "451 4.3.0 Try again later", 451, True),
    ("MAIL", "421 4.7.0 Too many connections", 421, True),
    ("DATA", "554 5.6.0 Message rejected as spam", 554, False),
    ("MAIL", "553 5.7.1 Sender address rejected", 553, False),
])
def test_smtp_replies_decide_whether_to_retry(smtp_sink: SmtpSink, note: Callable[..., Notification],
                                              stage: str, reply: str, code: int, retryable: bool) -> None:
    smtp_sink.fail_next(stage, reply)  # type: ignore[arg-type]
    with pytest.raises(MailError) as err:
        notifier(smtp_sink.settings()).send(note())
    assert isinstance(err.value, RemoteError)
    assert err.value.retryable is retryable
    assert err.value.reply_code == code
    assert f"(reply {code})" in str(err.value) and reply[4:] in str(err.value)
    assert "HTTP" not in str(err.value)
    assert smtp_sink.received == []


def test_every_recipient_refused_permanently_is_not_retried(smtp_sink: SmtpSink,
                                                             note: Callable[..., Notification]) -> None:
    smtp_sink.refuse("alice@example.com", "550 5.1.1 No such user")
    with pytest.raises(MailError) as err:
        notifier(smtp_sink.settings()).send(note())
    assert not err.value.retryable
    assert "alice@example.com: 550 5.1.1 No such user" in str(err.value)


def test_greylisting_at_rcpt_is_retried_and_the_retry_gets_through(smtp_sink: SmtpSink,
                                                                    note: Callable[..., Notification]) -> None:
    smtp_sink.fail_next("RCPT", "450 4.2.0 Greylisted, come back later")
    mailer = notifier(smtp_sink.settings())
    with pytest.raises(MailError) as err:
        mailer.send(note())
    assert err.value.retryable and err.value.reply_code == 450

    mailer.send(note())  # what the outbox does after the backoff
    assert [m.rcpt_tos for m in smtp_sink.wait_for(1)] == [("alice@example.com",)]


def test_a_partly_refused_mail_counts_as_sent(smtp_sink: SmtpSink, note: Callable[..., Notification],
                                              caplog: pytest.LogCaptureFixture) -> None:
    smtp_sink.refuse("gone@example.com")
    with caplog.at_level(logging.WARNING, logger="chgsync_email"):
        notifier(smtp_sink.settings()).send(note(recipients=("alice@example.com", "gone@example.com")))
    [mail] = smtp_sink.wait_for(1)
    assert mail.rcpt_tos == ("alice@example.com",)
    assert "gone@example.com (550" in caplog.text


def test_a_mail_nobody_can_receive_is_dead_lettered_naming_the_change(
        smtp_sink: SmtpSink, note: Callable[..., Notification]) -> None:
    with pytest.raises(MailError) as err:
        notifier(smtp_sink.settings()).send(note(recipients=("@bob", "#changes")))
    assert not err.value.retryable
    assert "CHG0012345" in str(err.value) and "'to'" in str(err.value)
    assert len(list(smtp_sink.received)) == 0


def test_a_server_that_is_down_is_retried(note: Callable[..., Notification]) -> None:
    with SmtpSink() as sink:
        port = sink.port
    with pytest.raises(MailError) as err:
        notifier({"host": "127.0.0.1", "port": port, "security": "none"}).send(note())
    assert err.value.retryable and err.value.status is None
    assert f"connect to 127.0.0.1:{port} failed (no answer)" in str(err.value)


def test_a_server_that_never_answers_times_out_and_is_retried(silent_port: int,
                                                               note: Callable[..., Notification]) -> None:
    mailer = notifier({"host": "127.0.0.1", "port": silent_port, "security": "none", "timeout": 0.2})
    with pytest.raises(MailError) as err:
        mailer.send(note())
    assert err.value.retryable and err.value.status is None
    assert "no answer within 0.2 s" in str(err.value)


def test_tls_against_a_plain_port_is_a_configuration_problem(smtp_sink: SmtpSink,
                                                             note: Callable[..., Notification]) -> None:
    with pytest.raises(MailError) as err:
        notifier(smtp_sink.settings(security="ssl")).send(note())
    assert not err.value.retryable
    assert "security 'ssl'" in str(err.value)
