"""Deliveries to the receiver stand-in over real HTTP: shape, signature, threading, dedupe, failures."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from chgsync_webhook import WebhookError, create, verify
from chgsync_webhook.notifier import WebhookNotifier
from chgsync_webhook.standin import WebhookReceiver
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from chgsync import __version__
from chgsync.daemon.config import resolve
from chgsync.errors import RateLimited
from chgsync.notify import Notification
from chgsync.testing import assert_registers

from .conftest import NOW, SECRET, Clock

Make = Callable[..., WebhookNotifier]
Note = Callable[..., Notification]


def test_a_delivery_carries_the_documented_body_and_headers(receiver: WebhookReceiver, notifier: Make,
                                                            note: Note) -> None:
    reply = notifier(headers={"X-Team": "payments"}).send(note(emergency=True, status="identified",
                                                               severity="critical"))

    [got] = receiver.received()
    assert reply == got.reply_id == "msg-1"
    assert got.payload == {
        "id": "notice-1>hook", "event": "implementation_started", "change_id": "CHG0012345",
        "subject": "Implementation started", "text": "Work on the payments database has begun.",
        "facts": {"State": "Implementing", "Risk": "high"}, "links": {"Jira": "https://jira.example.com/OPS-7"},
        "recipients": ["alice@example.com", "@bob"], "status": "identified", "severity": "critical",
        "emergency": True, "components": ["payments-db"], "thread": None, "sent_at": "2026-11-26T10:00:00Z",
    }
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["User-Agent"] == f"chgsync/{__version__}"
    assert got.headers["X-Chgsync-Delivery"] == "notice-1>hook"
    assert got.headers["X-Team"] == "payments"
    assert got.timestamp == int(NOW.timestamp())
    assert verify(SECRET, got.headers, got.body, NOW) == got.timestamp  # what any receiver would check


def test_later_messages_carry_the_first_answer_as_their_thread(receiver: WebhookReceiver, notifier: Make,
                                                               note: Note) -> None:
    hook = notifier()
    first = hook.send(note(key="n1>hook"))
    assert first is not None
    hook.send(note(key="n2>hook", event="implementation_completed", thread=first))
    assert [d.delivery for d in receiver.replies_to(first)] == ["n2>hook"]


def test_a_receiver_that_answers_without_an_id_gives_no_thread(receiver: WebhookReceiver, notifier: Make,
                                                                note: Note) -> None:
    receiver.answer_ids = False
    assert notifier().send(note()) is None
    assert len(receiver.received()) == 1


def test_a_redelivery_is_answered_once_and_counted_as_a_duplicate(receiver: WebhookReceiver, notifier: Make,
                                                                  note: Note, clock: Clock) -> None:
    hook = notifier()
    first = hook.send(note())
    clock.shift(30)  # the outbox's retry comes later, freshly signed
    again = hook.send(note())
    assert again == first
    assert [d.delivery for d in receiver.received()] == ["notice-1>hook"]
    assert [d.delivery for d in receiver.duplicates] == ["notice-1>hook"]


def test_a_timed_out_delivery_that_arrived_after_all_is_not_doubled(receiver: WebhookReceiver, notifier: Make,
                                                                    note: Note) -> None:
    receiver.faults.latency = 0.5
    with pytest.raises(WebhookError) as err:
        notifier(timeout=0.1).send(note())
    assert err.value.retryable and err.value.status is None
    assert "no answer within 0.1 s" in str(err.value)

    receiver.faults.latency = 0
    notifier().send(note())  # the outbox's retry
    deadline = time.monotonic() + 10
    while len(receiver.received()) + len(receiver.duplicates) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)  # the first, slow request is still being answered
    assert len(receiver.received()) == 1 and len(receiver.duplicates) == 1


def test_a_wrong_secret_is_refused_with_the_reason_and_not_retried(receiver: WebhookReceiver, notifier: Make,
                                                                   note: Note) -> None:
    with pytest.raises(WebhookError) as err:
        notifier(secret="not-the-shared-secret-at-all").send(note())
    assert err.value.status == 401 and not err.value.retryable
    assert "signature does not match" in str(err.value)
    assert receiver.received() == []


def test_a_stale_timestamp_is_refused(receiver: WebhookReceiver, notifier: Make, note: Note,
                                      clock: Clock) -> None:
    clock.shift(-600)  # the sender's clock is ten minutes slow
    with pytest.raises(WebhookError) as err:
        notifier().send(note())
    assert err.value.status == 401 and "600 s old" in str(err.value)


def test_rate_limiting_gives_retry_after(receiver: WebhookReceiver, notifier: Make, note: Note) -> None:
    receiver.faults.rate_limit(0, per=60, retry_after=7)
    with pytest.raises(RateLimited) as err:
        notifier().send(note())
    assert err.value.retryable and err.value.retry_after == 7


@pytest.mark.parametrize(("status", "retryable"), [(503, True), (500, True), (408, True), (410, False),
                                                   (400, False), (404, False)])
def test_status_codes_decide_whether_to_retry(receiver: WebhookReceiver, notifier: Make, note: Note,
                                              status: int, retryable: bool) -> None:
    receiver.faults.fail_next(1, status=status)
    with pytest.raises(WebhookError) as err:
        notifier().send(note())
    assert err.value.status == status and err.value.retryable is retryable
    assert f"webhook delivery to {receiver.base_url} failed (HTTP {status})" in str(err.value)
    if status == 410:
        assert "gone" in str(err.value)


def test_a_refused_body_is_reported_with_the_fields_the_receiver_named(receiver: WebhookReceiver, notifier: Make,
                                                                        note: Note) -> None:
    with pytest.raises(WebhookError) as err:
        notifier().send(note(severity="urgent"))
    assert err.value.status == 400 and not err.value.retryable
    assert "The delivery is not usable. (Field 'severity' must be one of info, warning, critical.)" in str(err.value)


def test_an_outage_is_retryable_until_it_ends(receiver: WebhookReceiver, notifier: Make, note: Note) -> None:
    receiver.faults.outage()
    with pytest.raises(WebhookError) as err:
        notifier().send(note())
    assert err.value.retryable
    receiver.faults.outage(False)
    assert notifier().send(note()) == "msg-1"


def test_nobody_listening_is_retryable(notifier: Make, note: Note, receiver: WebhookReceiver) -> None:
    hook = notifier()
    receiver.stop()
    with pytest.raises(WebhookError) as err:
        hook.send(note())
    assert err.value.retryable and err.value.status is None


def test_a_redirect_is_not_followed(note: Note) -> None:
    app = Response(status=308, headers={"Location": "https://elsewhere.example/hook"})
    server = make_server("127.0.0.1", 0, app)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        hook = create({"url": f"http://127.0.0.1:{server.server_port}/hook", "secret": SECRET})
        with pytest.raises(WebhookError) as err:
            hook.send(note())
    finally:
        server.shutdown()
        server.server_close()
    assert err.value.status == 308 and not err.value.retryable
    assert "https://elsewhere.example/hook" in str(err.value)


def test_https_with_the_receivers_certificate(note: Note) -> None:
    with WebhookReceiver(secret=SECRET, tls=True) as receiver:
        assert receiver.cert_path is not None
        with pytest.raises(WebhookError) as err:
            create({"url": receiver.url, "secret": SECRET}).send(note())
        assert not err.value.retryable and "ca_file" in str(err.value)
        # The receiver never answered, so the message must not claim an HTTP status it did not send.
        assert err.value.status is None and "HTTP" not in str(err.value)
        assert receiver.received() == []

        hook = create({"url": receiver.url, "secret": SECRET, "ca_file": str(receiver.cert_path)})
        assert hook.send(note()) == "msg-1"


def test_the_secret_comes_from_the_environment_as_the_daemon_resolves_it(note: Note) -> None:
    with WebhookReceiver(secret=SECRET) as receiver:  # on the real clock, as create() is
        raw = {"url": receiver.url, "secret_env": "HOOK_SECRET"}
        settings = resolve("notifiers", "status-page", raw, "chgsync.yaml", environ={"HOOK_SECRET": SECRET})
        hook = create(settings)
        assert SECRET not in repr(hook.settings)
        assert hook.send(note()) == "msg-1"


def test_the_plugin_registers_the_notifier_and_the_emulator() -> None:
    from chgsync_webhook import plugin

    plugins = assert_registers(plugin, notifiers=["webhook"], emulators=["webhook"])
    assert plugins.notifiers()["webhook"].factory is create
    assert plugins.emulators()["webhook"].factory is WebhookReceiver
