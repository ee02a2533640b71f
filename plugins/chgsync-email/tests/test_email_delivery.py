"""Mail delivered to a real SMTP server (aiosmtpd on loopback): shape, recipients, threading, TLS."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from chgsync_email import create
from chgsync_email.notifier import EmailNotifier, MailError
from chgsync_email.settings import load_settings
from chgsync_email.testing import SmtpSink

from chgsync.daemon.config import resolve
from chgsync.notify import Notification
from chgsync.testing import assert_registers

from .conftest import SENDER, WHEN


def notifier(sink: SmtpSink, **extra: object) -> EmailNotifier:
    return EmailNotifier(load_settings(sink.settings(sender=SENDER, **extra)), clock=lambda: WHEN)


def test_a_notice_arrives_as_text_and_html_with_facts_and_ticket_links(
        smtp_sink: SmtpSink, note: Callable[..., Notification]) -> None:
    message_id = notifier(smtp_sink).send(note())

    [mail] = smtp_sink.wait_for(1)
    assert mail.mail_from == "chgsync@example.com"
    assert mail.rcpt_tos == ("alice@example.com",)  # "@bob" and "#changes" are chat handles, not addresses
    assert mail.subject == "[CHG0012345] Implementation started"
    assert mail.message_id == message_id
    assert mail.message["Date"] == "Thu, 26 Nov 2026 10:00:00 +0000"
    assert mail.message["Auto-Submitted"] == "auto-generated"
    assert mail.message["X-Chgsync-Change"] == "CHG0012345"
    assert mail.message.get_content_type() == "multipart/alternative"
    assert "Work on the payments database has begun." in mail.text
    assert "Risk:  high" in mail.text
    assert "Jira: https://jira.example.com/browse/OPS-7" in mail.text
    assert "<th" in mail.html and ">Risk</th>" in mail.html and ">high</td>" in mail.html
    assert '<a href="https://jira.example.com/browse/OPS-7">Jira</a>' in mail.html


def test_html_escapes_what_the_change_says_and_links_only_web_addresses(
        smtp_sink: SmtpSink, note: Callable[..., Notification]) -> None:
    notifier(smtp_sink).send(note(text="Drop <script>alert(1)</script> & restart",
                                  facts={"Window": "<b>now</b>"},
                                  links={"Evil": "javascript:alert(1)", "Jira": "https://j.example/?a=1&b=2"}))

    [mail] = smtp_sink.wait_for(1)
    assert "<script>" not in mail.html
    assert "Drop &lt;script&gt;alert(1)&lt;/script&gt; &amp; restart" in mail.html
    assert "&lt;b&gt;now&lt;/b&gt;" in mail.html
    assert 'href="javascript' not in mail.html and "Evil: javascript:alert(1)" in mail.html
    assert 'href="https://j.example/?a=1&amp;b=2"' in mail.html
    assert "Drop <script>alert(1)</script> & restart" in mail.text  # plain text stays as written


def test_recipients_are_stakeholders_then_configured_copies_each_once(
        smtp_sink: SmtpSink, note: Callable[..., Notification]) -> None:
    mailer = notifier(smtp_sink, to=["CAB <cab@example.com>", "Alice@Example.com"])
    mailer.send(note(recipients=("alice@example.com", "not-an-address@", "ops@example.com")))

    [mail] = smtp_sink.wait_for(1)
    assert mail.rcpt_tos == ("alice@example.com", "ops@example.com", "cab@example.com")
    assert mail.message["To"] == "alice@example.com, ops@example.com, CAB <cab@example.com>"


def test_later_mails_reply_to_the_first_and_a_retry_keeps_its_message_id(
        smtp_sink: SmtpSink, note: Callable[..., Notification]) -> None:
    mailer = notifier(smtp_sink)
    first = mailer.send(note(key="n1>email"))
    second = mailer.send(note(key="n2>email", subject="Implementation completed", thread=first))
    again = mailer.send(note(key="n2>email", subject="Implementation completed", thread=first))

    root, reply, retry = smtp_sink.wait_for(3)
    assert root.message["In-Reply-To"] is None and root.message["References"] is None
    assert first.startswith("<chg0012345.") and first.endswith("@example.com>")
    assert reply.message["In-Reply-To"] == first
    assert reply.message["References"] == first
    assert second != first
    assert again == second and retry.message_id == reply.message_id


def test_emergency_notices_are_marked_important(smtp_sink: SmtpSink, note: Callable[..., Notification]) -> None:
    notifier(smtp_sink, subject_prefix="chg {change_id}:").send(note(emergency=True, status="identified"))

    [mail] = smtp_sink.wait_for(1)
    assert mail.subject == "chg CHG0012345: Implementation started"
    assert mail.message["Importance"] == "high"
    assert mail.text.startswith("EMERGENCY CHANGE (identified)")


def test_starttls_with_a_trusted_certificate_and_login(secure_sink: SmtpSink,
                                                       note: Callable[..., Notification]) -> None:
    assert secure_sink.cert_path is not None
    # As the daemon builds it: the password comes from the environment through password_env.
    raw = secure_sink.settings(sender=SENDER, user="chgsync", password_env="SMTP_PASSWORD")
    settings = resolve("notifiers", "mail", raw, "chgsync.yaml", environ={"SMTP_PASSWORD": "s3cret-pass"})
    create(settings).send(note())

    [mail] = secure_sink.wait_for(1)
    assert mail.secure and mail.user == "chgsync"
    assert mail.rcpt_tos == ("alice@example.com",)


def test_a_wrong_password_is_not_retried(secure_sink: SmtpSink, note: Callable[..., Notification]) -> None:
    mailer = notifier(secure_sink, user="chgsync", password="wrong")
    with pytest.raises(MailError) as err:
        mailer.send(note())
    assert not err.value.retryable
    assert err.value.reply_code == 535
    assert "login to 127.0.0.1" in str(err.value) and "password_env" in str(err.value)
    assert secure_sink.received == []


def test_an_untrusted_certificate_is_refused_not_retried(secure_sink: SmtpSink,
                                                          note: Callable[..., Notification]) -> None:
    settings = secure_sink.settings(sender=SENDER, user="chgsync", password="s3cret-pass")
    del settings["ca_file"]  # the system's trust store knows nothing of a self-signed certificate
    with pytest.raises(MailError) as err:
        create(settings).send(note())
    assert not err.value.retryable
    assert "not trusted" in str(err.value) and "ca_file" in str(err.value)
    assert secure_sink.received == []


def test_tls_from_the_first_byte(note: Callable[..., Notification]) -> None:
    with SmtpSink(tls="ssl", users={"chgsync": "pw"}) as sink:
        notifier(sink, user="chgsync", password="pw").send(note())
        [mail] = sink.wait_for(1)
    assert mail.secure and mail.user == "chgsync"


def test_starttls_against_a_server_without_it_is_a_configuration_problem(
        smtp_sink: SmtpSink, note: Callable[..., Notification]) -> None:
    with pytest.raises(MailError) as err:
        notifier(smtp_sink, security="starttls").send(note())
    assert not err.value.retryable
    assert "STARTTLS" in str(err.value) and "security" in str(err.value)


def test_the_plugin_registers_the_email_notifier() -> None:
    from chgsync_email import plugin

    plugins = assert_registers(plugin, notifiers=["email"])
    assert plugins.notifiers()["email"].factory is create
