"""The daemon's Prometheus metrics, on a registry of its own (several daemons may share a process in tests).

Label values are bounded sets (system names, outcomes, statuses, outbox and obligation kinds, lease
names): a change ID is never a label. Counters count what this replica did; the gauges read from the
store (depths, oldest waiting item, obligations) are refreshed on each scrape, so every replica of
an installation reports the same shared backlog.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

if TYPE_CHECKING:
    from ..store import Store

log = logging.getLogger(__name__)


OUTCOMES = ("in_progress", "successful", "successful_with_issues", "unsuccessful", "rolled_back")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.received = Counter("chgsync_events_received_total", "Webhook deliveries stored in the inbox.",
                                ["system"], registry=r)
        self.duplicates = Counter("chgsync_events_duplicate_total", "Redeliveries of an already stored delivery.",
                                  ["system"], registry=r)
        self.rejected = Counter("chgsync_webhooks_rejected_total", "Webhook deliveries refused, by HTTP status.",
                                ["system", "status"], registry=r)
        self.applied = Counter("chgsync_events_applied_total", "Inbox items applied, by what they did.",
                               ["system", "action"], registry=r)
        self.reverted = Counter("chgsync_moves_reverted_total", "Moves made in a ticketing UI that broke the rules.",
                                ["system"], registry=r)
        self.repaired = Counter("chgsync_reconciliation_repaired_total",
                                "Changes found by polling that no webhook had delivered: a sign webhooks are lost.",
                                ["system"], registry=r)
        self.retries = Counter("chgsync_outbox_retries_total", "Outbox attempts that failed and will be retried.",
                               ["kind"], registry=r)
        self.dead = Counter("chgsync_outbox_dead_letters_total", "Outbox items moved to the dead-letter state.",
                            ["kind"], registry=r)
        self.lag = Histogram("chgsync_sync_lag_seconds", "From receiving an event to having applied it.",
                             ["system"], registry=r, buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300))
        self.outbox_depth = Gauge("chgsync_outbox_depth", "Outbox items by status.", ["status"], registry=r)
        self.inbox_depth = Gauge("chgsync_inbox_depth", "Inbox items by status.", ["status"], registry=r)
        self.polled = Counter("chgsync_events_polled_total",
                              "Records reconciliation polling queued in the inbox (most turn out unchanged).",
                              ["system"], registry=r)
        self.oldest = Gauge("chgsync_oldest_waiting_seconds",
                            "Age of the oldest inbox event not yet applied, or outbox side effect not yet done (0 "
                            "when none): the sync lag as it stands, which grows while the daemon is stuck.",
                            ["queue"], registry=r)
        self.obligations_due = Gauge("chgsync_obligations_due",
                                     "Obligations still owed (reminders, escalations, status updates, validation "
                                     "points) whose due time has not come.", ["kind"], registry=r)
        self.obligations_overdue = Gauge("chgsync_obligations_overdue",
                                         "Obligations still owed past their due time: not fired yet (the scheduler "
                                         "is behind) or fired and not met (a late post-mortem).", ["kind"], registry=r)
        self.lease_held = Gauge("chgsync_lease_held",
                                "1 while this replica holds the singleton role's lease (the poller of each "
                                "system), else 0.", ["lease"], registry=r)
        self.correlated = Counter("chgsync_incidents_correlated_total",
                                  "Alert or incident to change correlations recorded, by signal source.", ["source"],
                                  registry=r)
        self.triggers = Counter("chgsync_rollback_trigger_evaluations_total",
                                "Rollback-trigger evaluations by result (holds, clear, unknown).", ["result"], registry=r)
        self.deployed_at = Gauge("chgsync_deployment_last_timestamp_seconds",
                                 "When the latest deploy marker for a service and environment was made (Unix time).",
                                 ["service", "env"], registry=r)
        self.deployed_outcome = Gauge("chgsync_deployment_last_outcome",
                                      "1 for the outcome of the latest deployment per service and environment "
                                      "(in_progress while it runs), 0 for the others.", ["service", "env", "outcome"],
                                      registry=r)
        # Change IDs are unbounded, so they ride on this one series per service and environment,
        # replaced (not added to) when the next change deploys there.
        self.deployment_info = Gauge("chgsync_deployment_info",
                                     "The change behind the latest deployment per service and environment (value 1).",
                                     ["service", "env", "change_id", "phase"], registry=r)
        self._info_labels: dict[tuple[str, str], tuple[str, str, str, str]] = {}
        self._obligation_kinds: set[str] = set()

    def webhook_received(self, system: str, duplicate: bool) -> None:
        (self.duplicates if duplicate else self.received).labels(system).inc()

    def webhook_rejected(self, system: str, status: int) -> None:
        self.rejected.labels(system, str(status)).inc()

    def set_depths(self, outbox: dict[str, int], inbox: dict[str, int]) -> None:
        for status in ("pending", "claimed", "dead", "done"):
            self.outbox_depth.labels(status).set(outbox.get(status, 0))
        for status in ("pending", "claimed", "done", "rejected", "failed"):
            self.inbox_depth.labels(status).set(inbox.get(status, 0))

    def outbox_failed(self, kind: str, dead: bool) -> None:
        """The relay's ``on_failed``: a failed attempt is either retried or dead-lettered, counted by kind."""
        (self.dead if dead else self.retries).labels(kind).inc()

    def refresh_from(self, store: Store, now: datetime) -> None:
        """Read the shared backlog from the store: depths, the oldest waiting items, obligations."""
        self.set_depths(store.outbox_counts(), store.inbox_counts())
        for queue, since in store.oldest_unfinished().items():
            self.oldest.labels(queue).set(max(0.0, (now - since).total_seconds()) if since is not None else 0.0)
        counts = store.obligation_counts(now)
        self._obligation_kinds |= {kind for kind, _ in counts}
        for kind in self._obligation_kinds:  # a kind that has none left reads 0, not its last value
            self.obligations_due.labels(kind).set(counts.get((kind, "due"), 0))
            self.obligations_overdue.labels(kind).set(counts.get((kind, "overdue"), 0))
        self.set_deployments(store.latest_deployments())

    def trigger_evaluated(self, result: str) -> None:
        self.triggers.labels(result).inc()

    def set_deployments(self, latest: list[dict[str, Any]]) -> None:
        for row in latest:
            service, env = str(row["service"]), str(row["environment"])
            self.deployed_at.labels(service, env).set(row["at"].timestamp())
            current = "in_progress" if row["phase"] == "started" else str(row["outcome"] or "successful")
            for outcome in OUTCOMES:
                self.deployed_outcome.labels(service, env, outcome).set(1 if outcome == current else 0)
            labels = (service, env, str(row["change_id"]), str(row["phase"]))
            old = self._info_labels.get((service, env))
            if old is not None and old != labels:
                self.deployment_info.remove(*old)
            self.deployment_info.labels(*labels).set(1)
            self._info_labels[(service, env)] = labels

    def render(self, refresh: Callable[[], None] | None = None) -> tuple[bytes, str]:
        if refresh is not None:
            try:
                refresh()
            except Exception:  # the counters are still worth having when the store is unreachable
                log.exception("could not read the store for /metrics; its gauges show their last values")
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
