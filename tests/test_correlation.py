"""Alerts and incidents: parsing, ranking recent changes, and the rollback-trigger judgement."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from chgsync.correlation import CorrelationSettings, comment_text, rank
from chgsync.lifecycle import State
from chgsync.model import MetricCondition
from chgsync.signals import Signal, SignalRejected, delivery_id, parse_alertmanager, parse_incident
from chgsync.testing.samples import sample_change
from chgsync.triggers import TriggerState, judge

T0 = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)


def implemented(id: str, systems: list[str], start: datetime, minutes: int = 30, **kw: object):
    change = sample_change(id=id, implementation={"systems": systems}, **kw)
    change = change.model_copy(update={"state": State.SCHEDULED})
    change = change.moved(State.IMPLEMENTING, start).moved(State.IMPLEMENTED, start + timedelta(minutes=minutes))
    return change


def signal(at: datetime, *services: str, env: str | None = "production", change_id: str | None = None) -> Signal:
    return Signal(key=f"k-{at.isoformat()}", title="Error rate spiked", started_at=at, services=services,
                  environment=env, change_id=change_id)


def test_the_change_on_the_same_service_just_before_ranks_first() -> None:
    near = implemented("CHG-2", ["checkout"], T0)
    other_service = implemented("CHG-3", ["search"], T0)
    older = implemented("CHG-4", ["checkout"], T0 - timedelta(hours=6))
    found = rank(signal(T0 + timedelta(minutes=40), "checkout"), [older, other_service, near])
    assert [s.change_id for s in found][0] == "CHG-2"
    assert "CHG-3" not in [s.change_id for s in found]  # another service, 40 min on: below the bar
    best = found[0]
    assert best.label == "likely" and "same service checkout" in best.reasons
    assert any("after it was implemented" in r for r in best.reasons)


def test_hard_filters_environment_order_and_lookback() -> None:
    change = implemented("CHG-2", ["checkout"], T0)
    assert rank(signal(T0 - timedelta(minutes=5), "checkout"), [change]) == []  # before the change began
    assert rank(signal(T0 + timedelta(hours=25), "checkout"), [change]) == []  # past the 24 h look-back
    assert rank(signal(T0 + timedelta(minutes=40), "checkout", env="staging"), [change]) == []
    never = sample_change(id="CHG-9", implementation={"systems": ["checkout"]})
    assert rank(signal(T0, "checkout"), [never]) == []  # never implemented


def test_an_alert_during_implementation_scores_full_time_and_a_named_change_is_certain() -> None:
    change = implemented("CHG-2", ["checkout"], T0, minutes=60)
    during = rank(signal(T0 + timedelta(minutes=20), "checkout"), [change])[0]
    assert any("during its implementation" in r for r in during.reasons)
    named = rank(signal(T0 + timedelta(hours=30), change_id="chg-2"), [change])[0]
    assert named.score == 1.0 and named.reasons == ("the alert names CHG-2",)


def test_settings_bound_the_number_and_quality_of_suspects() -> None:
    changes = [implemented(f"CHG-{n}", ["checkout"], T0 + timedelta(minutes=n)) for n in range(10, 16)]
    alert = signal(T0 + timedelta(hours=1), "checkout")
    assert len(rank(alert, changes)) == 3
    assert rank(alert, changes, CorrelationSettings(min_score=0.99)) == []


def test_comment_names_the_change_the_reasons_and_asks_for_confirmation() -> None:
    change = implemented("CHG-2", ["checkout"], T0)
    alert = signal(T0 + timedelta(minutes=40), "checkout")
    text = comment_text(alert, rank(alert, [change])[0])
    assert text.startswith("Error rate spiked on checkout after Change CHG-2: chgsync rates it likely")
    assert "Confirm or dismiss" in text


# -- parsing -------------------------------------------------------------------------------------------
def alertmanager_body(status: str = "firing", **labels: str) -> bytes:
    alert = {"status": status, "labels": {"alertname": "HighErrorRate", **labels},
             "annotations": {"summary": "Error rate spiked"}, "startsAt": "2026-12-08T02:40:00Z",
             "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prom/graph", "fingerprint": "0123456789abcdef"}
    return json.dumps({"receiver": "chgsync", "status": status, "alerts": [alert], "groupLabels": {},
                       "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am", "version": "4",
                       "groupKey": '{}:{alertname="HighErrorRate"}', "truncatedAlerts": 0}).encode()


def test_alertmanager_firing_alerts_become_signals() -> None:
    [s] = parse_alertmanager(alertmanager_body(service="checkout", env="prod"))
    assert s.title == "Error rate spiked" and s.services == ("checkout",) and s.environment == "production"
    assert s.started_at == datetime(2026, 12, 8, 2, 40, tzinfo=UTC)
    assert s.key == "alertmanager:0123456789abcdef:2026-12-08T02:40:00+00:00"
    assert parse_alertmanager(alertmanager_body(status="resolved", service="checkout")) == []


@pytest.mark.parametrize(("body", "status", "words"), [
    (b"{not json", 400, "not JSON"),
    (json.dumps({"version": "4", "status": "firing", "groupKey": "g", "alerts": []}).encode(), 422, "alerts"),
    (alertmanager_body().replace(b'"version": "4"', b'"version": "3"'), 422, "version '3'"),
])
def test_malformed_alertmanager_bodies_are_refused_with_the_reason(body: bytes, status: int, words: str) -> None:
    with pytest.raises(SignalRejected) as err:
        parse_alertmanager(body)
    assert err.value.status == status and words in str(err.value)


def test_generic_incidents_need_an_id_title_and_zoned_start() -> None:
    [s] = parse_incident(json.dumps({"id": "INC-7", "title": "Checkout down", "started_at": "2026-12-08T02:40:00Z",
                                     "services": ["checkout"]}).encode())
    assert s.key == "incident:INC-7" and s.source == "incident"
    with pytest.raises(SignalRejected, match="started_at"):
        parse_incident(json.dumps({"id": "INC-7", "title": "x", "started_at": "2026-12-08T02:40:00"}).encode())
    with pytest.raises(SignalRejected, match="sevrity: Extra inputs are not permitted"):
        parse_incident(json.dumps({"id": "INC-7", "title": "x", "started_at": "2026-12-08T02:40:00Z",
                                   "sevrity": 1}).encode())


def test_delivery_ids_are_stable_per_set_of_alerts() -> None:
    body = alertmanager_body(service="checkout")
    signals = parse_alertmanager(body)
    assert delivery_id("alertmanager", signals, body) == delivery_id("alertmanager", parse_alertmanager(body), body)
    other = parse_alertmanager(alertmanager_body(service="search").replace(b"0123456789abcdef", b"fedcba9876543210"))
    assert delivery_id("alertmanager", other, b"") != delivery_id("alertmanager", signals, body)


# -- rollback triggers -------------------------------------------------------------------------------------
def samples(values: list[float], end: datetime, step: timedelta = timedelta(minutes=1)):
    return [(end - step * (len(values) - 1 - i), v) for i, v in enumerate(values)]


def test_a_condition_held_for_its_whole_hold_time_recommends_rollback() -> None:
    cond = MetricCondition.model_validate({"query": "err", "op": ">", "threshold": 0.05, "for": "PT5M"})
    now = T0 + timedelta(hours=1)
    assert judge(cond, samples([0.01] * 5 + [0.09] * 6, now), now).state == TriggerState.HOLDS
    blip = judge(cond, samples([0.09] * 3 + [0.01] + [0.09] * 2, now), now)
    assert blip.state == TriggerState.CLEAR and blip.value == 0.09


def test_no_data_is_unknown_not_healthy() -> None:
    cond = MetricCondition(query="err", threshold=0.05)
    assert judge(cond, [], T0).state == TriggerState.UNKNOWN
    assert judge(cond, samples([float("nan")] * 3, T0), T0).state == TriggerState.UNKNOWN
    assert judge(cond, samples([0.2], T0), T0).state == TriggerState.HOLDS  # no hold time: the latest value
