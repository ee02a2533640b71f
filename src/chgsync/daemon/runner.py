"""The Daemon: builds the parts from the configuration and runs them.

Three loops share one store: the inbox worker (apply events), the relay (perform side effects)
and the poller (reconcile). Each loop's single step is a method, so tests drive the daemon step by
step with an injected clock, and ``run_until_idle`` waits for quiet without sleeping blindly.
SIGTERM (``stop``) lets in-flight items finish before the process exits.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from ..adapter import Adapter
from ..errors import ConfigError, InputError, Problem, RemoteError
from ..markers import MarkerSink
from ..notify import Notifier
from ..routing import Router
from ..signals import SignalRejected, parse_alertmanager, parse_incident
from ..plugins import Plugins, get_plugins
from ..policy import load_policy
from ..store import ConcurrentUpdate, Fence, LeaseLost, Store
from ..store.store import utcnow
from ..sync.engine import Engine, Outcome, poll_delivery_id, ref_body
from ..sync.relay import Relay
from ..validation import Guard
from .config import DaemonConfig, resolve
from . import incidents
from .metrics import Metrics
from .scheduler import Scheduler
from .watch import TriggerWatch

log = logging.getLogger("chgsync.daemon")

# Inbox "systems" that are alert and incident sources, with their parsers.
SIGNAL_PARSERS = {"alertmanager": parse_alertmanager, "incidents": parse_incident}


class Daemon:
    def __init__(self, config: DaemonConfig, *, plugins: Plugins | None = None,
                 clock: Callable[[], datetime] = utcnow, worker_id: str | None = None,
                 environ: dict[str, str] | None = None, adapters: dict[str, Adapter] | None = None) -> None:
        self.config = config
        self.plugins = plugins or get_plugins()
        self.clock = clock
        self.worker_id = worker_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.metrics = Metrics()
        self.store = Store(config.store, clock=clock)
        self.guard = Guard(load_policy(config.policy), self.plugins.rules())
        self.adapters: dict[str, Adapter] = adapters if adapters is not None else self._build_adapters(environ)
        self.notifiers: dict[str, Notifier] = self._build("notifiers", self.plugins.notifiers(), config.notifiers,
                                                          environ)
        self.sinks: dict[str, MarkerSink] = self._build("markers", self.plugins.marker_sinks(), config.markers,
                                                        environ)
        try:
            router = Router(config.notifications, {n: c.type or n for n, c in config.notifiers.items()})
        except ValueError as exc:
            raise ConfigError(config.source, Problem("notifications.routes", f"{exc}.")) from None
        self.engine = Engine(self.store, self.adapters, self.guard, clock=clock, plugins=self.plugins)
        self.relay = Relay(self.store, self.adapters, self.notifiers, worker=self.worker_id,
                           lease=config.claim_lease, on_failed=lambda item, dead: self.metrics.outbox_failed(
                               item.kind, dead), sinks=self.sinks, router=router)
        self.alerts_token = self._alerts_token(environ)
        self.watch: TriggerWatch | None = None
        if config.metric_backend is not None:
            backend = self._build("metric_backend", self.plugins.metric_backends(),
                                  {"metric_backend": config.metric_backend}, environ)["metric_backend"]
            self.watch = TriggerWatch(self.store, backend, config.rollback, self.guard.policy, clock=clock,
                                      on_verdict=lambda v: self.metrics.trigger_evaluated(v.state.value))
        self.scheduler = Scheduler(self.store, self.guard.policy, clock=clock)
        self._rng = random.Random()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._last_poll: dict[str, float] = {}
        self._leases: set[str] = set()  # singleton roles this replica held last: released on stop
        self._server: Any = None
        self._http_thread: threading.Thread | None = None
        self.outcomes: list[tuple[str, Outcome]] = []

    # -- construction --------------------------------------------------------------------------------
    def _build_adapters(self, environ: dict[str, str] | None) -> dict[str, Adapter]:
        return self._build("adapters", self.plugins.adapters(), self.config.adapters, environ, named=True)

    def _build(self, section: str, types: dict[str, Any], configs: dict[str, Any],
               environ: dict[str, str] | None, *, named: bool = False) -> dict[str, Any]:
        """Build each configured component of one kind through the plugin registered for its type.

        ``named`` hands each component its configured name (adapters label their records with it).
        """
        built: dict[str, Any] = {}
        for name, cfg in configs.items():
            kind = cfg.type or name
            where = section if section == "metric_backend" else f"{section}.{name}"
            if kind not in types:
                raise ConfigError(self.config.source, Problem(
                    f"{where}.type", f"no {section.rstrip('s').replace('_', ' ')} plugin named {kind!r} is installed; "
                    f"installed: {', '.join(sorted(types)) or 'none'}."))
            settings = resolve(section, name, cfg.model_dump(exclude={"type"}), self.config.source, environ)
            if named:
                settings.setdefault("name", name)
            try:
                built[name] = types[kind].factory(settings)
            except ConfigError:
                raise
            except (ValueError, TypeError) as exc:
                raise ConfigError(self.config.source, Problem(where, f"{exc}")) from None
        return built

    def _alerts_token(self, environ: dict[str, str] | None) -> str | None:
        name = self.config.alerts_token_env
        if name is None:
            return None
        env = os.environ if environ is None else environ
        if name not in env:
            raise ConfigError(self.config.source, Problem(
                "alerts_token_env", f"the environment variable {name!r} is not set; it should hold the token "
                "alert senders present."))
        return env[name]

    # -- single steps --------------------------------------------------------------------------------
    def process_inbox_once(self, limit: int = 20) -> int:
        items = self.store.claim_inbox(self.worker_id, limit, lease=self.config.claim_lease)
        for item in items:
            if item.system in SIGNAL_PARSERS:
                self._correlate(item)
                continue
            try:
                ref, actor = self.engine.resolve(item)
            except (InputError, KeyError, ValueError, TypeError) as exc:
                with self.store.begin() as conn:
                    self.store.finish_inbox(conn, item.id, "rejected", str(exc))
                continue
            if self.store.write_in_flight(item.system, ref.id):
                self.store.retry_inbox(item.id, "Waiting for chgsync's own write to this record to finish.",
                                       timedelta(milliseconds=300))
                continue
            try:
                record = self.adapters[item.system].get(ref)
                outcome = self.engine.apply(record, actor=actor, source=item.source)
            except RemoteError as exc:
                delay = timedelta(seconds=min(300.0, 2 ** min(item.attempts, 8)) * self._rng.uniform(0.5, 1))
                log.warning("cannot read %s %s, will retry in %s: %s", item.system, ref.key, delay, exc,
                            extra={"system": item.system})
                self.store.retry_inbox(item.id, str(exc), delay)
                continue
            except ConcurrentUpdate as exc:
                self.store.retry_inbox(item.id, str(exc), timedelta(0))
                continue
            with self.store.begin() as conn:
                self.store.finish_inbox(conn, item.id, "done")
            self._count(item.system, item.source, item.received_at, outcome)
        return len(items)

    def _correlate(self, item: Any) -> None:
        try:
            signals = SIGNAL_PARSERS[item.system](item.body)
        except SignalRejected as exc:
            with self.store.begin() as conn:
                self.store.finish_inbox(conn, item.id, "rejected", str(exc))
            return
        found = incidents.record(self.store, signals, self.config.correlation, self.clock())
        with self.store.begin() as conn:
            self.store.finish_inbox(conn, item.id, "done")
        self.metrics.correlated.labels(item.system).inc(len(found))

    def _count(self, system: str, source: str, received: datetime, outcome: Outcome) -> None:
        self.outcomes.append((system, outcome))
        self.metrics.applied.labels(system, outcome.action).inc()
        self.metrics.lag.labels(system).observe(max(0.0, (self.clock() - received).total_seconds()))
        if outcome.action == "reverted":
            self.metrics.reverted.labels(system).inc()
        if source == "poll" and outcome.action not in ("unchanged", "echo"):
            self.metrics.repaired.labels(system).inc()
        log.info("%s %s: %s", system, outcome.change_id, outcome.action,
                 extra={"change_id": outcome.change_id, "system": system, "action": outcome.action,
                        "violations": [v.code for v in outcome.violations]})

    def run_outbox_once(self, limit: int = 20) -> int:
        return self.relay.run_once(limit)  # retries and dead letters are counted by the relay's on_failed

    # -- singleton roles -----------------------------------------------------------------------------
    def hold_lease(self, name: str, duration: timedelta | None = None) -> Fence | None:
        """Take or renew the lease on the singleton role ``name``; None while another replica holds it.

        Replicas share inbox and outbox work through claims, but a poller or a scheduler must run on
        one replica at a time. Call this before each round of such a role, skip the round on None,
        and pass the fence to the writes that must not come from a replica that lost the role
        meanwhile (``Store.set_cursor(..., fence=)``, or ``Store.check_lease`` in the transaction).
        The lease lasts ``duration`` (default: the poll interval plus the claim lease, so a live
        holder renews it long before it runs out, and a dead one is replaced within that time).
        """
        duration = duration if duration is not None else self.config.poll_interval + self.config.claim_lease
        generation = self.store.acquire_lease(name, self.worker_id, duration)
        self.metrics.lease_held.labels(name).set(1 if generation is not None else 0)
        if generation is None:
            self._leases.discard(name)
            return None
        if name not in self._leases:
            log.info("took the %s lease (generation %d)", name, generation, extra={"action": "lease"})
            self._leases.add(name)
        return Fence(name, self.worker_id, generation)

    def release_leases(self) -> None:
        """Give up every singleton role on a clean stop, so another replica takes them over at once."""
        for name in sorted(self._leases):
            try:
                self.store.release_lease(name, self.worker_id)
            except Exception:
                log.exception("could not release the %s lease; it runs out by itself", name)
            self.metrics.lease_held.labels(name).set(0)
        self._leases.clear()

    def poll_once(self, system: str | None = None) -> int:
        """Queue every record changed since each adapter's cursor (minus the overlap).

        Only the replica holding an adapter's poller lease polls it (the others skip it), and the
        cursor moves only under the generation it polled with.
        """
        queued = 0
        for name, adapter in self.adapters.items():
            if system is not None and name != system:
                continue
            fence = self.hold_lease(f"poller:{name}")
            if fence is None:
                continue
            with self.store.begin() as conn:
                cursor = self.store.get_cursor(conn, name)
            since = cursor - self.config.poll_overlap if cursor is not None else None
            newest = cursor
            try:
                records = list(adapter.fetch_changed(since))
            except RemoteError as exc:
                log.warning("poll of %s failed, will try again next interval: %s", name, exc, extra={"system": name})
                continue
            added = 0
            try:
                with self.store.begin() as conn:
                    for record in records:
                        if self.store.add_inbox(conn, name, poll_delivery_id(record), "poll", {},
                                                ref_body(record.ref)):
                            added += 1
                        if newest is None or record.updated > newest:
                            newest = record.updated
                    if newest is not None:
                        self.store.set_cursor(conn, name, newest, fence=fence)
            except LeaseLost as exc:
                log.info("poll of %s discarded: %s", name, exc, extra={"system": name})
                self._leases.discard(fence.name)
                continue
            queued += added
            self.metrics.polled.labels(name).inc(added)
            self._last_poll[name] = time.monotonic()
        return queued

    def run_obligations_once(self) -> int:
        """Record the obligations changes carry; fire the reminders, escalations and status updates due.

        Rollback triggers are watched on the same beat, by the replica holding the ``triggers`` lease.
        """
        handled = self.scheduler.run_once()
        if self.watch is not None and self.hold_lease("triggers", self.config.rollback.every * 2
                                                      + self.config.claim_lease) is not None:
            self.watch.run_once()  # evaluations are not work items: they must not keep run_until_idle busy
        return handled

    def step(self) -> int:
        """One round of every loop; returns how many items it handled."""
        return self.process_inbox_once() + self.run_outbox_once() + self.run_obligations_once()

    def run_until_idle(self, timeout: float = 30.0, poll: bool = False) -> None:
        """Step until two consecutive rounds find nothing due (tests and the demo)."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while quiet < 2:
            if time.monotonic() > deadline:
                raise TimeoutError(f"The daemon was still busy after {timeout} s: "
                                   f"inbox {self.store.inbox_counts()}, outbox {self.store.outbox_counts()}.")
            handled = (self.poll_once() if poll else 0) + self.step()
            quiet = 0 if handled else quiet + 1
            if not handled and self._pending_later():
                quiet = 0
                self._wake.wait(0.05)
                self._wake.clear()

    def _pending_later(self) -> bool:
        return self.store.has_due_work()

    # -- running -------------------------------------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    def readiness_problems(self) -> list[str]:
        problems = []
        try:
            with self.store.begin() as conn:
                conn.exec_driver_sql("SELECT 1")
        except Exception as exc:
            problems.append(f"The store is unreachable: {exc}")
        if self._threads and not all(t.is_alive() for t in self._threads):
            problems.append("A worker loop has stopped.")
        return problems

    def _loop(self, name: str, body: Callable[[], int]) -> None:
        interval = self.config.worker_interval.total_seconds()
        while not self._stop.is_set():
            try:
                handled = body()
            except Exception:
                log.exception("%s loop failed; continuing", name)
                handled = 0
            if not handled:
                self._wake.wait(interval)
                self._wake.clear()

    def _poll_loop(self) -> None:
        interval = self.config.poll_interval.total_seconds()
        while not self._stop.is_set():
            try:
                if self.poll_once():
                    self.wake()
            except Exception:
                log.exception("poll loop failed; continuing")
            self._stop.wait(interval)

    def start(self, *, serve_http: bool = True) -> None:
        """Start the worker loops (and the HTTP intake): the way the ``daemon`` command runs."""
        self._threads = [
            threading.Thread(target=self._loop, args=("inbox", self.process_inbox_once), name="inbox", daemon=True),
            threading.Thread(target=self._loop, args=("outbox", self.run_outbox_once), name="outbox", daemon=True),
            threading.Thread(target=self._poll_loop, name="poller", daemon=True),
            threading.Thread(target=self._loop, args=("obligations", self.run_obligations_once), name="obligations",
                             daemon=True),
        ]
        for th in self._threads:
            th.start()
        if serve_http:
            self.start_http()

    def start_http(self) -> None:
        """Serve the intake alone; tests and the demo step the loops themselves."""
        import uvicorn

        from .app import build_app

        cfg = uvicorn.Config(build_app(self), host=self.config.listen.host, port=self.config.listen.port,
                             log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(cfg)
        th = threading.Thread(target=self._server.run, name="http", daemon=True)
        th.start()
        self._http_thread = th
        deadline = time.monotonic() + 10
        while not self._server.started and th.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not self._server.started:
            raise OSError(f"The HTTP intake could not listen on {self.config.listen.host}:"
                          f"{self.config.listen.port}.")

    @property
    def url(self) -> str:
        if self._server is None or not self._server.servers:
            raise RuntimeError("The HTTP intake is not running.")
        sock = self._server.servers[0].sockets[0]
        host, port = sock.getsockname()[:2]
        return f"http://{host}:{port}"

    def stop(self, timeout: float = 30.0) -> None:
        """Stop taking work, let each loop finish the item in hand, then close the store."""
        self._stop.set()
        self._wake.set()
        for th in self._threads:
            th.join(timeout)
        if self._server is not None:
            self._server.should_exit = True
            if self._http_thread is not None:
                self._http_thread.join(timeout)
        self._threads = []
        self.release_leases()
        self.store.close()
