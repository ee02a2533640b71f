"""Alerts and incidents meet recent changes: rank, record, tell the tickets and the people.

Each signal is handled in one transaction: the suspects are ranked from the stored changes, each
(signal, change) pair is recorded once (a redelivered alert finds it recorded and does nothing
more), and for a new pair a comment goes to every ticket of the change and a notice to its
stakeholders through the outbox.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from ..correlation import CorrelationSettings, Suspect, comment_text, rank
from ..lifecycle import State
from ..notify import Event
from ..signals import Signal
from ..store import Store

CANDIDATE_STATES = [State.IMPLEMENTING.value, State.IMPLEMENTED.value, State.CLOSED.value]


def suspects(store: Store, signal: Signal, settings: CorrelationSettings) -> list[Suspect]:
    """Rank the changes that were or are being implemented against ``signal`` (no writes)."""
    with store.begin() as conn:
        changes = store.list_changes(conn, CANDIDATE_STATES)
    return rank(signal, changes, settings)


def record(store: Store, signals: Sequence[Signal], settings: CorrelationSettings, now: datetime) -> list[Suspect]:
    """Correlate each signal; return the suspects newly recorded."""
    found: list[Suspect] = []
    for signal in signals:
        ranked = suspects(store, signal, settings)
        with store.begin() as conn:
            for suspect in ranked:
                if not store.add_correlation(conn, signal.key, suspect.change_id, suspect.score,
                                             list(suspect.reasons), signal.describe()):
                    continue
                found.append(suspect)
                text = comment_text(signal, suspect)
                tag = hashlib.sha256(signal.key.encode()).hexdigest()[:16]
                for system in store.links_for(conn, suspect.change_id):
                    store.enqueue(conn, f"{suspect.change_id}:correlation:{tag}:{system}:comment", suspect.change_id,
                                  "comment", system, {"text": text})
                store.enqueue(conn, f"{suspect.change_id}:correlation:{tag}:notify", suspect.change_id, "notify",
                              "stakeholders", {"event": Event.INCIDENT_CORRELATED.value, "text": text,
                                               "severity": "warning"})
                store.audit(conn, suspect.change_id, signal.source, "incident_correlated", {
                    "signal": signal.describe(), "score": suspect.score, "reasons": list(suspect.reasons),
                    "at": now.isoformat()})
    return found
