"""Timed obligations: the timetable (pure), and the daemon's scheduler on SQLite and PostgreSQL.

The scheduler tests run a Daemon with no adapters (nothing to sync: changes are written straight
into its store, as the engine would), an injected clock, and a notification channel that records
what it receives, registered through ``register_notifiers`` as any channel plugin is. "A restart"
is a second Daemon on the same store, with a channel of its own.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import select

from chgsync.cli import cli
from chgsync.daemon.config import DaemonConfig
from chgsync.daemon.runner import Daemon
from chgsync.daemon.scheduler import RecordRefused, list_obligations, parse_point, record_validation
from chgsync.lifecycle import ChangeType, State
from chgsync.model import Change, Outcome, Verdict
from chgsync.obligations import (
    CANCELLED,
    MET,
    NOTIFIED,
    OPEN,
    next_status_slot,
    notice,
    plan,
    settle,
)
from chgsync.plugins import Plugins
from chgsync.policy import Policy
from chgsync.store import Store
from chgsync.store import schema as tables
from chgsync.testing.recorders import Recorder, RecorderPlugin
from chgsync.testing.samples import sample_change
from chgsync.validation import Guard

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # the emergency starts: Implementing
DONE_AT = START + timedelta(minutes=20)  # and is Implemented
H = timedelta(hours=1)


def emergency(state: State = State.IMPLEMENTED, **fields: Any) -> Change:
    change = sample_change(ChangeType.EMERGENCY, id="CHG-E", **fields).moved(State.IMPLEMENTING, START)
    return change.moved(State.IMPLEMENTED, DONE_AT) if state == State.IMPLEMENTED else change


def normal_implemented(change_id: str = "CHG-N") -> Change:
    change = sample_change(ChangeType.NORMAL, id=change_id, outcome="successful", close_notes="Upgraded.",
                           schedule={"planned_start": START, "planned_end": START + H, "actual_start": START,
                                     "actual_end": DONE_AT})
    return change.moved(State.IMPLEMENTING, START).moved(State.IMPLEMENTED, DONE_AT)


# -- the timetable (pure) -----------------------------------------------------------------------------------
def test_an_implemented_emergency_owes_everything_from_implemented() -> None:
    planned = {p.key: (p.kind, p.due_at) for p in plan(emergency(), Policy())}
    assert planned == {
        "CHG-E:status_update:1": ("status_update", START + timedelta(minutes=30)),
        "CHG-E:retrospective:reminder": ("retrospective_reminder", DONE_AT + 22 * H),
        "CHG-E:retrospective:escalation": ("retrospective_escalation", DONE_AT + 24 * H),
        "CHG-E:postmortem:reminder": ("postmortem_reminder", DONE_AT + 46 * H),
        "CHG-E:postmortem:escalation": ("postmortem_escalation", DONE_AT + 48 * H),
        "CHG-E:validation:0h": ("validation", DONE_AT),
        "CHG-E:validation:24h": ("validation", DONE_AT + 24 * H),
        "CHG-E:validation:7d": ("validation", DONE_AT + 7 * 24 * H),
    }


@pytest.mark.parametrize(("change", "keys"), [
    pytest.param(emergency(State.IMPLEMENTING), ["CHG-E:status_update:1"], id="emergency-implementing"),
    pytest.param(normal_implemented(), ["CHG-N:validation:0h", "CHG-N:validation:24h", "CHG-N:validation:7d"],
                 id="normal-implemented"),
    pytest.param(sample_change(ChangeType.EMERGENCY), [], id="emergency-draft"),
    pytest.param(emergency().moved(State.CLOSED, DONE_AT + 30 * H), [], id="closed"),
])
def test_what_each_change_owes(change: Change, keys: list[str]) -> None:
    assert sorted(p.key for p in plan(change, Policy())) == sorted(keys)


def test_the_policy_sets_the_timetable() -> None:
    policy = Policy.model_validate({"emergency": {"retrospective_due": "PT12H", "remind_before": "PT1H",
                                                  "escalate_after": "PT30M", "status_update_every": "PT15M"},
                                    "validation_points": ["PT1H"]})
    planned = {p.key: p.due_at for p in plan(emergency(), policy)}
    assert planned["CHG-E:retrospective:reminder"] == DONE_AT + 11 * H
    assert planned["CHG-E:retrospective:escalation"] == DONE_AT + 12 * H + timedelta(minutes=30)
    assert planned["CHG-E:status_update:1"] == START + timedelta(minutes=15)
    assert [k for k in planned if ":validation:" in k] == ["CHG-E:validation:1h"]


def test_a_deadline_written_on_the_change_wins() -> None:
    later = DONE_AT + 72 * H
    change = emergency()
    change = change.model_copy(update={"emergency": change.emergency.model_copy(  # type: ignore[union-attr]
        update={"postmortem_due": later})})
    planned = {p.key: p.due_at for p in plan(change, Policy())}
    assert planned["CHG-E:postmortem:escalation"] == later
    assert planned["CHG-E:retrospective:escalation"] == DONE_AT + 24 * H


def test_status_updates_after_downtime_resume_on_the_grid_with_one_catch_up() -> None:
    change, policy = emergency(), Policy()
    following = next_status_slot(change, policy, START + timedelta(hours=3, minutes=10))
    assert following is not None
    assert (following.key, following.due_at) == ("CHG-E:status_update:7", START + timedelta(hours=3, minutes=30))
    assert next_status_slot(change.moved(State.CLOSED, DONE_AT + H), policy, DONE_AT + H) is None


def _with_links(change: Change, **links: str) -> Change:
    return change.model_copy(update={"emergency": change.emergency.model_copy(update=links)})  # type: ignore[union-attr]


@pytest.mark.parametrize(("change", "kind", "detail", "expected"), [
    pytest.param(emergency(), "retrospective_reminder", {}, None, id="retrospective-owed"),
    pytest.param(_with_links(emergency(), retrospective_link="https://x/RETRO-1"), "retrospective_escalation", {},
                 MET, id="retrospective-linked"),
    pytest.param(_with_links(emergency(), retrospective_link="https://x/RETRO-1"), "postmortem_escalation", {},
                 None, id="postmortem-still-owed"),
    pytest.param(emergency(), "status_update", {"slot": 3}, None, id="status-while-open"),
    pytest.param(emergency().moved(State.CLOSED, DONE_AT + H), "status_update", {"slot": 3}, CANCELLED,
                 id="status-after-close"),
    pytest.param(emergency(), "validation", {"point": 86400}, None, id="validation-owed"),
    pytest.param(emergency(validations=[{"point": "P1D", "result": "fail", "by": "v", "at": DONE_AT + 25 * H}]),
                 "validation", {"point": 86400}, MET, id="validation-recorded-even-failed"),
    pytest.param(emergency().moved(State.CLOSED, DONE_AT + H), "validation", {"point": 86400}, CANCELLED,
                 id="validation-closed-without"),
    pytest.param(None, "validation", {"point": 0}, CANCELLED, id="change-gone"),
])
def test_what_settles_an_obligation(change: Change | None, kind: str, detail: dict[str, Any],
                                    expected: str | None) -> None:
    assert settle(change, kind, detail) == expected


def test_notices_are_sentences_addressed_to_someone() -> None:
    change, policy = emergency(), Policy()
    due = (DONE_AT + 24 * H).isoformat()
    reminder = notice(change, "retrospective_reminder", {"due": due}, DONE_AT + 22 * H, policy)
    assert reminder["to"] == "sam@example.com"
    assert reminder["text"] == ("Reminder: the retrospective ticket for emergency change CHG-E (Upgrade orders-db "
                                "(emergency)) is due Wed 2026-12-02 09:20 UTC; link it on the change "
                                "(emergency.retrospective_link) when it exists.")
    escalation = notice(change, "postmortem_escalation", {"due": due}, DONE_AT + 48 * H, policy)
    assert escalation["to"] == "priya@example.com" and escalation["text"].startswith("Overdue: the post-mortem")
    validation = notice(change, "validation", {"point": 0, "label": "0h"}, DONE_AT, policy)
    assert "chgsync validate-point CHG-E --point 0h --result pass|fail" in validation["text"]


@pytest.mark.parametrize(("text", "expected"), [
    ("0h", timedelta(0)), ("24h", timedelta(hours=24)), ("1d", timedelta(days=1)), ("7d", timedelta(days=7)),
    ("90m", timedelta(minutes=90)), ("1w", timedelta(days=7)), ("P7D", timedelta(days=7)), ("PT24H", timedelta(days=1)),
])
def test_points_are_written_the_way_people_say_them(text: str, expected: timedelta) -> None:
    assert parse_point(text) == expected


def test_an_unreadable_point_is_refused_with_a_sentence() -> None:
    with pytest.raises(RecordRefused, match="'soon' is not a validation point; write it like 0h, 24h or 7d."):
        parse_point("soon")


# -- the scheduler, on both stores ---------------------------------------------------------------------------
class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta




class Site:
    """One installation's store, opened by as many daemons (restarts, replicas) as a test needs."""

    def __init__(self, store_url: str, clock: Clock, tmp_path: Path) -> None:
        self.store_url = store_url
        self.clock = clock
        self.tmp_path = tmp_path
        self.daemons: list[Daemon] = []

    def daemon(self) -> tuple[Daemon, Recorder]:
        recorder = Recorder()
        plugins = Plugins(load_entrypoints=False)
        plugins.register(RecorderPlugin(recorder), name="recorder")
        config = DaemonConfig.model_validate({"store": self.store_url, "notifiers": {"recorder": {}}})
        daemon = Daemon(config, plugins=plugins, clock=self.clock, adapters={}, worker_id=f"w{len(self.daemons)}")
        self.daemons.append(daemon)
        return daemon, recorder

    def save(self, change: Change) -> None:
        store = self.daemons[-1].store
        with store.begin() as conn:
            loaded = store.get_change(conn, change.id)
            store.save_change(conn, change, loaded[1] if loaded else None)

    def load(self, change_id: str) -> Change:
        store = self.daemons[-1].store
        with store.begin() as conn:
            loaded = store.get_change(conn, change_id)
        assert loaded is not None
        return loaded[0]

    def statuses(self, change_id: str) -> dict[str, str]:
        return {r["key"]: r["status"] for r in list_obligations(self.daemons[-1].store, change_id)}

    def notify_keys(self) -> list[str]:
        return [i.key for i in self.daemons[-1].store.list_outbox(limit=10_000) if i.kind == "notify"]

    def audited(self, action: str) -> list[str]:
        return [e["detail"]["obligation"] for e in self.daemons[-1].store.audit_trail() if e["action"] == action]

    def cli(self, *args: str) -> Any:
        config = self.tmp_path / "chgsync.yaml"
        config.write_text(yaml.safe_dump({"store": self.store_url}))
        return CliRunner().invoke(cli, [*args, "--config", str(config)])


@pytest.fixture
def site(store_url: str, tmp_path: Path) -> Iterator[Site]:
    s = Site(store_url, Clock(DONE_AT), tmp_path)
    yield s
    for d in s.daemons:
        d.store.close()


def test_reminders_and_escalations_fire_once_each_across_a_restart(site: Site) -> None:
    first, heard_first = site.daemon()
    site.save(emergency())
    first.run_until_idle()
    assert heard_first.events() == {"validation_due": 1}  # the 0 h check is due at once
    change = site.load("CHG-E")
    assert change.emergency is not None
    assert (change.emergency.retrospective_due, change.emergency.postmortem_due) == (DONE_AT + 24 * H,
                                                                                     DONE_AT + 48 * H)

    site.clock.advance(22 * H)  # the retrospective reminder is due: fired, but the relay has not run yet
    assert first.run_obligations_once() >= 1
    assert "CHG-E:retrospective:reminder" in site.audited("obligation_notified")
    first.store.close()  # the process dies here

    second, heard_second = site.daemon()
    second.run_until_idle()
    assert heard_second.events() == {"retrospective_reminder": 1, "status_update": 1}  # delivered after restart
    second.run_until_idle()
    site.clock.advance(2 * H)
    second.run_until_idle()
    assert heard_second.events()["retrospective_escalation"] == 1

    site.save(_with_links(site.load("CHG-E"), postmortem_link="https://wiki.example.com/pm/7"))
    site.clock.advance(30 * H)  # past the post-mortem's reminder and deadline: linked in time, nothing to say
    second.run_until_idle()
    second.store.close()

    third, heard_third = site.daemon()
    third.run_until_idle()
    third.run_until_idle()
    events = heard_first.events() + heard_second.events() + heard_third.events()
    assert events["retrospective_reminder"] == events["retrospective_escalation"] == 1
    assert events["postmortem_reminder"] == events["postmortem_escalation"] == 0
    assert Counter(site.audited("obligation_notified"))["CHG-E:retrospective:escalation"] == 1
    assert len(site.notify_keys()) == len(set(site.notify_keys()))
    statuses = site.statuses("CHG-E")
    assert statuses["CHG-E:retrospective:reminder"] == statuses["CHG-E:retrospective:escalation"] == NOTIFIED
    assert statuses["CHG-E:postmortem:reminder"] == statuses["CHG-E:postmortem:escalation"] == MET

    site.save(_with_links(site.load("CHG-E"), retrospective_link="https://jira.example.com/browse/RETRO-7"))
    third.run_until_idle()
    assert site.statuses("CHG-E")["CHG-E:retrospective:escalation"] == MET  # owed no longer


def test_two_schedulers_at_once_fire_each_obligation_once(site: Site) -> None:
    daemons = [site.daemon() for _ in range(3)]
    for i in range(8):
        site.save(emergency().model_copy(update={"id": f"CHG-E{i}"}))
    site.clock.advance(50 * H)  # everything but the 7-day check, and one status update each, is due at once
    barrier = threading.Barrier(len(daemons))

    def run(daemon: Daemon) -> None:
        barrier.wait()
        daemon.run_obligations_once()

    threads = [threading.Thread(target=run, args=(d,)) for d, _ in daemons]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    for d, _ in daemons:
        d.run_until_idle()
    fired = Counter(site.audited("obligation_notified"))
    assert fired and set(fired.values()) == {1}, fired
    assert len(fired) == 8 * 7  # reminder + escalation for two duties, 0 h and 24 h checks, one status update
    assert sum(sum(r.events().values()) for _, r in daemons) == len(fired)


def test_status_updates_every_thirty_minutes_while_open_and_none_after_close(site: Site) -> None:
    site.clock.now = START
    daemon, heard = site.daemon()
    site.save(emergency(State.IMPLEMENTING))
    for _ in range(12):  # two hours in ten-minute steps
        site.clock.advance(timedelta(minutes=10))
        daemon.run_until_idle()
    assert [n.key for n in heard.sent] == [f"obligation:CHG-E:status_update:{k}>recorder" for k in (1, 2, 3, 4)]
    assert "Implementing" in heard.sent[0].text

    change = site.load("CHG-E").moved(State.IMPLEMENTED, site.clock())  # Implemented is still open
    site.save(change.model_copy(update={"outcome": Outcome.ROLLED_BACK}))
    site.clock.advance(timedelta(minutes=30))
    daemon.run_until_idle()
    assert heard.events()["status_update"] == 5

    site.clock.advance(timedelta(hours=3))  # the daemon was down: one catch-up, not six
    daemon.run_until_idle()
    assert heard.events()["status_update"] == 6

    site.save(site.load("CHG-E").moved(State.CLOSED, site.clock()))
    for _ in range(4):
        site.clock.advance(timedelta(minutes=30))
        daemon.run_until_idle()
    assert heard.events()["status_update"] == 6
    statuses = site.statuses("CHG-E")
    assert [s for k, s in statuses.items() if "status_update" in k][-1] == CANCELLED
    assert all(s != OPEN for s in statuses.values())  # rolled back: nothing else is owed either


def test_validation_points_are_recorded_and_closing_waits_for_them(site: Site) -> None:
    daemon, heard = site.daemon()
    site.save(normal_implemented())
    daemon.run_until_idle()
    points = {r["key"]: r["due_at"] for r in list_obligations(daemon.store, "CHG-N")}
    assert points == {"CHG-N:validation:0h": DONE_AT, "CHG-N:validation:24h": DONE_AT + 24 * H,
                      "CHG-N:validation:7d": DONE_AT + 7 * 24 * H}
    assert heard.events() == {"validation_due": 1}
    guard = Guard(daemon.guard.policy, daemon.guard.rules)

    def blocking() -> list[str]:
        return sorted(v.code for v in guard.check(site.load("CHG-N"), State.CLOSED, site.clock()))

    assert blocking() == ["validation.pending"] * 3

    done = site.cli("validate-point", "CHG-N", "--point", "0h", "--result", "pass", "--by", "vic@example.com",
                    "--at", site.clock().isoformat(), "--note", "Smoke test green.")
    assert done.exit_code == 0, done.output
    assert "0h validation recorded as pass. Still to check: 24h, 7d." in done.output
    early = site.cli("validate-point", "CHG-N", "--point", "24h", "--result", "pass", "--at",
                     (site.clock() + H).isoformat())
    assert early.exit_code == 2
    assert "The 24h validation of CHG-N is due Wed 2026-12-02 09:20 UTC; it cannot be recorded before then." \
        in early.output

    site.clock.advance(24 * H)
    daemon.run_until_idle()
    assert heard.events() == {"validation_due": 2}
    record_validation(daemon.store, daemon.guard.policy, "CHG-N", timedelta(hours=24), Verdict.FAIL,
                      by="vic@example.com", at=site.clock(), note="p99 doubled")
    assert blocking() == ["validation.failed", "validation.pending"]
    daemon.run_until_idle()
    assert heard.events() == {"validation_due": 2, "validation_failed": 1}
    site.clock.advance(2 * H)
    record_validation(daemon.store, daemon.guard.policy, "CHG-N", timedelta(hours=24), Verdict.PASS,
                      by="vic@example.com", at=site.clock(), note="Fixed the pool size; p99 back to normal.")
    assert blocking() == ["validation.pending"]

    site.clock.advance(6 * 24 * H)
    daemon.run_until_idle()
    assert heard.events()["validation_due"] == 3
    assert site.cli("validate-point", "CHG-N", "--point", "7d", "--result", "pass", "--at",
                    site.clock().isoformat()).exit_code == 0
    assert blocking() == []
    change = site.load("CHG-N")
    assert [(v.point, v.result.value) for v in change.validations] == [
        (timedelta(0), "pass"), (timedelta(hours=24), "fail"), (timedelta(hours=24), "pass"), (timedelta(days=7), "pass")]
    assert set(site.statuses("CHG-N").values()) == {MET}
    assert [e["action"] for e in daemon.store.audit_trail("CHG-N")].count("validation_recorded") == 4


def test_an_override_lets_a_change_close_before_its_checks_pass(site: Site) -> None:
    daemon, _ = site.daemon()
    site.save(normal_implemented())
    daemon.run_until_idle()
    guard = Guard(daemon.guard.policy, daemon.guard.rules)
    assert guard.check(site.load("CHG-N"), State.CLOSED, site.clock())
    result = site.cli("close-override", "CHG-N", "--by", "cam@example.com", "--reason", "Verified by the load test.")
    assert result.exit_code == 0, result.output
    change = site.load("CHG-N")
    assert change.close_override is not None and change.close_override.by == "cam@example.com"
    assert guard.check(change, State.CLOSED, site.clock()) == []
    site.save(change.moved(State.CLOSED, site.clock()))
    daemon.run_until_idle()
    assert set(site.statuses("CHG-N").values()) == {CANCELLED}  # closed by override: no check is owed any more


@pytest.mark.parametrize(("args", "message"), [
    (["CHG-404", "--point", "0h"], "There is no change CHG-404 in the store."),
    (["CHG-N", "--point", "36h"], "36h is not one of the policy's validation points (0h, 24h, 7d)."),
    (["CHG-N", "--point", "later"], "'later' is not a validation point"),
])
def test_validate_point_refuses_with_a_sentence(site: Site, args: list[str], message: str) -> None:
    site.daemon()
    site.save(normal_implemented())
    result = site.cli("validate-point", *args, "--result", "pass", "--at", DONE_AT.isoformat())
    assert result.exit_code == 2
    assert message in result.output


def test_validation_waits_for_implemented(site: Site) -> None:
    site.daemon()
    site.save(emergency(State.IMPLEMENTING))
    result = site.cli("validate-point", "CHG-E", "--point", "0h", "--result", "pass", "--at", DONE_AT.isoformat())
    assert result.exit_code == 2
    assert "CHG-E is Implementing; validation starts once it is Implemented." in result.output


def test_obligations_command_lists_what_is_owed(site: Site) -> None:
    daemon, _ = site.daemon()
    site.save(emergency())
    daemon.run_until_idle()
    shown = site.cli("obligations")
    assert shown.exit_code == 0, shown.output
    assert "retrospective_escalation" in shown.output and "notified" in shown.output
    assert site.cli("obligations", "CHG-404").output.strip() == "CHG-404 has no obligations."


def test_rows_live_in_the_obligations_table(site: Site) -> None:
    daemon, _ = site.daemon()
    site.save(emergency())
    daemon.run_until_idle()
    with daemon.store.begin() as conn:
        kinds = Counter(conn.execute(select(tables.obligations.c.kind)).scalars())
    assert kinds == {"validation": 3, "status_update": 1, "retrospective_reminder": 1,
                     "retrospective_escalation": 1, "postmortem_reminder": 1, "postmortem_escalation": 1}
    assert isinstance(daemon.store, Store)
