"""Timed obligations end to end: an emergency change worked in Jira, the daemon on a simulated clock.

The people act in the Jira emulator; the validation result and the close override are recorded
with the CLI against the daemon's store; the notifications reach a channel that records them,
registered through ``register_notifiers`` like any channel plugin.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import chgsync_jira.plugin
import chgsync_servicenow.plugin
import pytest
import yaml
from click.testing import CliRunner

from chgsync.cli import cli
from chgsync.lifecycle import ChangeType, State
from chgsync.model import Approval, Change, Decision, Outcome
from chgsync.plugins import Plugins
from chgsync.testing.recorders import Recorder, RecorderPlugin
from chgsync.testing.samples import sample_change
from chgsync.testing.world import SimClock, World

START = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)




@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def world(store_url: str, recorder: Recorder) -> Iterator[World]:
    plugins = Plugins(load_entrypoints=False)
    plugins.register(chgsync_jira.plugin, name="chgsync_jira")
    plugins.register(chgsync_servicenow.plugin, name="chgsync_servicenow")
    plugins.register(RecorderPlugin(recorder), name="recorder")
    with World.running(store_url, plugins, SimClock(START), notifiers={"recorder": {}}) as w:
        yield w


def chgsync(world: World, tmp_path: Path, *args: str) -> str:
    """Run a chgsync command against the daemon's store, as an operator would on its host."""
    config = tmp_path / "chgsync.yaml"
    config.write_text(yaml.safe_dump({"store": world.daemon.store.url}))
    result = CliRunner().invoke(cli, [*args, "--config", str(config)])
    assert result.exit_code == 0, result.output
    return result.output


def the_change(world: World) -> Change:
    with world.daemon.store.begin() as conn:
        [change] = world.daemon.store.list_changes(conn)
    return change


def test_an_emergency_is_reminded_escalated_validated_and_closed(world: World, recorder: Recorder,
                                                                 tmp_path: Path) -> None:
    plan = sample_change(ChangeType.EMERGENCY, id="CHG-E", title="Roll back payments-api 4.2.0", start=START)
    plan = plan.model_copy(update={"cab": plan.cab.model_copy(update={"approvals": [Approval(
        role="designated_authority", approver="priya@example.com", decision=Decision.APPROVE,
        reason="Card payments failing.", at=START)]})})
    key = world.person_creates_in_jira(plan)
    world.settle()
    world.person_transitions_jira(key, "Awaiting implementation")
    world.person_transitions_jira(key, "Implementing")
    world.settle()
    change_id = the_change(world).id
    world.clock.advance(minutes=35)
    world.settle()
    events = recorder.events()
    assert events["status_update"] == 1  # the lifecycle notices came too, once each
    assert events["implementation_started"] == events["cab_decision"] == 1

    done = plan.model_copy(update={"outcome": Outcome.SUCCESSFUL, "schedule": plan.schedule.model_copy(
        update={"actual_start": START, "actual_end": world.clock()})})
    world.person_edits_jira_change(key, done, ["outcome", "schedule.actual_start", "schedule.actual_end"])
    world.person_transitions_jira(key, "Completed")
    world.settle()
    assert the_change(world).state == State.IMPLEMENTED
    assert recorder.events()["validation_due"] == 1
    chgsync(world, tmp_path, "validate-point", change_id, "--point", "0h", "--result", "pass", "--by",
            "omar@example.com", "--note", "Card payments succeed again.", "--at", world.clock().isoformat())
    world.settle()
    assert "0h validation: pass, checked by omar@example.com: Card payments succeed again." in world.jira_comments(key)

    world.clock.advance(hours=22)  # the retrospective reminder, and a catch-up status update
    world.settle()
    assert recorder.events()["retrospective_reminder"] == 1
    reminder = next(n for n in recorder.sent if n.event == "retrospective_reminder")
    assert reminder.key == f"obligation:{change_id}:retrospective:reminder>recorder"  # one key per channel
    assert "the retrospective ticket for emergency change" in reminder.text

    linked = done.model_copy(update={"emergency": done.emergency.model_copy(  # type: ignore[union-attr]
        update={"retrospective_link": "https://jira.example.com/browse/RETRO-7"})})
    world.person_edits_jira_change(key, linked, ["emergency.retrospective_link"])
    world.settle()
    world.clock.advance(hours=3)  # past the retrospective's deadline: linked in time, so no escalation
    world.settle()
    assert recorder.events()["retrospective_escalation"] == 0
    assert recorder.events()["validation_due"] == 2

    closing = linked.model_copy(update={"close_notes": "Rolled back to 4.1.3.", "emergency": linked.emergency.model_copy(
        update={"postmortem_link": "https://wiki.example.com/postmortems/7"})})  # type: ignore[union-attr]
    world.person_edits_jira_change(key, closing, ["close_notes", "emergency.postmortem_link"])
    world.person_edits_jira(key, {"customfield_10054": {"value": "Closed"}})  # the 24 h and 7 d checks are missing
    world.settle()
    assert the_change(world).state == State.IMPLEMENTED
    refusal = world.jira_comments(key)[-1]
    assert "validation.pending" in refusal and "its 24h validation" in refusal and "its 7d validation" in refusal

    chgsync(world, tmp_path, "validate-point", change_id, "--point", "24h", "--result", "pass", "--by",
            "omar@example.com", "--at", world.clock().isoformat())
    chgsync(world, tmp_path, "close-override", change_id, "--by", "priya@example.com", "--reason",
            "Rolled back to the last good release; the 7-day check adds nothing.")
    world.settle()
    world.person_edits_jira(key, {"customfield_10054": {"value": "Closed"}})
    world.settle()
    change = the_change(world)
    assert change.state == State.CLOSED
    assert change.close_override is not None and change.close_override.by == "priya@example.com"
    status_updates = recorder.events()["status_update"]

    world.clock.advance(days=3)  # closed: no status update, no post-mortem reminder, no 7-day check
    world.settle()
    events = recorder.events()
    assert events["status_update"] == status_updates
    assert events["postmortem_reminder"] == events["postmortem_escalation"] == 0
    assert events["validation_due"] == 2
    assert len({n.key for n in recorder.sent}) == len(recorder.sent)  # nothing said twice
    owed = chgsync(world, tmp_path, "obligations")
    assert owed.strip() == "Nothing is owed."
    assert timedelta(hours=24) in {v.point for v in change.validations}
