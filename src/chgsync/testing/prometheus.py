"""Real Prometheus, Pushgateway and Alertmanager for tests: plain processes on loopback.

Stand-ins cannot prove what matters here: that what chgsync pushes is scraped, that its PromQL
parses and returns what a rollback trigger expects, that Alertmanager's webhooks reach the daemon.
So tests run the real servers (Debian's prometheus 2.42, prometheus-pushgateway 1.5.1 and
prometheus-alertmanager 0.25; ``tools/install-services`` installs them) on free loopback ports,
every file under one work directory, never touching the system services on 9090/9091/9093.

This module does not import pytest: fixtures decide whether a missing program skips or fails.

History cannot be pushed (the Pushgateway refuses samples with timestamps), so a test that needs a
metric's past writes it with :meth:`Prometheus.backfill` (``promtool tsdb create-blocks-from
openmetrics``) before the server starts.

Start-up takes well under a second; the first scrape lands about 5 s after Prometheus starts
(its target sync), later ones every scrape interval. Poll with :meth:`Prometheus.wait_for`.
"""

from __future__ import annotations

import json
import math
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Self

import requests
import yaml

PROMETHEUS = "prometheus"
PUSHGATEWAY = "prometheus-pushgateway"
ALERTMANAGER = "prometheus-alertmanager"
PROMTOOL = "promtool"
ALL_PROGRAMS = (PROMETHEUS, PUSHGATEWAY, ALERTMANAGER, PROMTOOL)

Moment = datetime | float


class ServicesMissing(RuntimeError):
    """A program the test services need is not on PATH."""

    def __init__(self, missing: Sequence[str]) -> None:
        self.missing = tuple(missing)
        super().__init__(
            f"The Prometheus test services need {', '.join(self.missing)} on PATH. Install them with "
            "tools/install-services (Debian packages prometheus, prometheus-pushgateway and "
            "prometheus-alertmanager)."
        )


class ServiceFailed(RuntimeError):
    """A server exited, never became ready, or answered an API call with an error."""


def missing_programs(*programs: str) -> list[str]:
    """The given programs (all four by default) that are not on PATH."""
    return [p for p in programs or ALL_PROGRAMS if shutil.which(p) is None]


def require_programs(*programs: str) -> None:
    missing = missing_programs(*programs)
    if missing:
        raise ServicesMissing(missing)


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (another process may still take it before we do)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def unix_seconds(moment: Moment) -> float:
    return moment.timestamp() if isinstance(moment, datetime) else float(moment)


# -- one server process ----------------------------------------------------------------------------------
class ServiceProcess:
    """One server as a child process, with its own directory and log file.

    ``launch()`` returns at once so several servers can boot together; ``wait_ready()`` polls
    ``/-/ready``. ``ready_after`` is the seconds from launch to the first 200, for reports.
    """

    program: ClassVar[str]
    name: ClassVar[str]

    def __init__(self, workdir: Path, *, port: int | None = None, ready_timeout: float = 30.0) -> None:
        self.workdir = Path(workdir) / self.name
        self.port = port or free_port()
        self.ready_timeout = ready_timeout
        self.ready_after: float | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.session = requests.Session()
        self._launched = 0.0

    # subclasses ---------------------------------------------------------------------------------
    def arguments(self) -> list[str]:
        raise NotImplementedError

    def prepare(self) -> None:
        """Write configuration files before launch."""

    # lifecycle ----------------------------------------------------------------------------------
    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "server.log"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def launch(self) -> Self:
        if self.process is not None:
            raise ServiceFailed(f"{self.name} was already started on {self.address}.")
        require_programs(self.program)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.prepare()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen([self.program, *self.arguments()], cwd=self.workdir, stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self._launched = time.monotonic()
        return self

    def wait_ready(self) -> Self:
        deadline = self._launched + self.ready_timeout
        while True:
            if self.process is None or self.process.poll() is not None:
                code = None if self.process is None else self.process.returncode
                raise ServiceFailed(f"{self.name} exited (code {code}) before it was ready.\n{self.log_tail()}")
            try:
                if self.session.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    self.ready_after = time.monotonic() - self._launched
                    return self
            except requests.RequestException:
                pass  # not listening yet
            if time.monotonic() > deadline:
                self.stop()
                raise ServiceFailed(f"{self.name} was not ready on {self.address} within {self.ready_timeout:g} s."
                                    f"\n{self.log_tail()}")
            time.sleep(0.025)

    def start(self) -> Self:
        return self.launch().wait_ready()

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, wait, then SIGKILL: a server that hangs on shutdown must not hang the suite."""
        proc, self.process = self.process, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout)
        self.session.close()

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return f"({self.name} wrote no log)"
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # HTTP helpers -------------------------------------------------------------------------------
    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = self.session.request(method, f"{self.url}{path}", timeout=10, **kwargs)
        if resp.status_code >= 400:
            raise ServiceFailed(f"{self.name} answered {method} {path} with HTTP {resp.status_code}: {resp.text}")
        return resp.json() if resp.content else None


# -- Pushgateway -----------------------------------------------------------------------------------------
class Pushgateway(ServiceProcess):
    program = PUSHGATEWAY
    name = "pushgateway"

    def arguments(self) -> list[str]:
        # An empty persistence file keeps groups in memory only (the default writes under /var/lib).
        return [f"--web.listen-address={self.address}", "--persistence.file="]

    def groups(self) -> list[dict[str, Any]]:
        """Every group the gateway holds: ``labels`` (the grouping key) and the metric families in it."""
        data = self._json("GET", "/api/v1/metrics")
        return list(data.get("data") or [])


# -- Alertmanager ----------------------------------------------------------------------------------------
def alertmanager_config(webhook_url: str | None, *, group_by: Sequence[str] = ("alertname", "service"),
                        group_wait: str = "1s", group_interval: str = "2s",
                        repeat_interval: str = "1h") -> dict[str, Any]:
    """One route to one webhook receiver, with test-sized waits (production uses 30s/5m)."""
    receiver: dict[str, Any] = {"name": "chgsync"}
    if webhook_url:
        receiver["webhook_configs"] = [{"url": webhook_url, "send_resolved": True, "max_alerts": 0}]
    return {
        "route": {"receiver": "chgsync", "group_by": list(group_by), "group_wait": group_wait,
                  "group_interval": group_interval, "repeat_interval": repeat_interval},
        "receivers": [receiver],
    }


class Alertmanager(ServiceProcess):
    program = ALERTMANAGER
    name = "alertmanager"

    def __init__(self, workdir: Path, *, webhook_url: str | None = None,
                 config: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(workdir, **kwargs)
        self.config = dict(config) if config is not None else alertmanager_config(webhook_url)

    def prepare(self) -> None:
        (self.workdir / "alertmanager.yml").write_text(yaml.safe_dump(self.config, sort_keys=False))

    def arguments(self) -> list[str]:
        # An empty cluster address turns gossip off (the default listens on 0.0.0.0:9094); the
        # external URL keeps the machine's host name out of generatorURL/externalURL.
        return [f"--config.file={self.workdir / 'alertmanager.yml'}", f"--storage.path={self.workdir / 'data'}",
                f"--web.listen-address={self.address}", "--cluster.listen-address=",
                f"--web.external-url={self.url}"]

    def post_alerts(self, alerts: Iterable[Mapping[str, Any]]) -> None:
        """``POST /api/v2/alerts``. Datetimes in ``startsAt``/``endsAt`` are sent as RFC 3339."""
        body = [{k: v.isoformat() if isinstance(v, datetime) else v for k, v in a.items()} for a in alerts]
        self._json("POST", "/api/v2/alerts", json=body)

    def alerts(self) -> list[dict[str, Any]]:
        return list(self._json("GET", "/api/v2/alerts"))


# -- Prometheus ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScrapeJob:
    """A static scrape job. Scrape a Pushgateway with ``honor_labels=True`` so pushed ``job`` labels stay."""

    name: str
    targets: Sequence[str]  # host:port
    metrics_path: str = "/metrics"
    honor_labels: bool = False

    def config(self) -> dict[str, Any]:
        job: dict[str, Any] = {"job_name": self.name, "metrics_path": self.metrics_path,
                               "static_configs": [{"targets": list(self.targets)}]}
        if self.honor_labels:
            job["honor_labels"] = True
        return job


@dataclass(frozen=True)
class Series:
    """One backfilled series: ``samples`` are (unix seconds, value) pairs in any order."""

    name: str
    labels: Mapping[str, str]
    samples: Sequence[tuple[float, float]]
    type: str = "gauge"  # gauge, counter (name must end in _total) or unknown

    @property
    def family(self) -> str:
        if self.type == "counter":
            if not self.name.endswith("_total"):
                raise ValueError(f"Counter series {self.name!r} must be named *_total in OpenMetrics.")
            return self.name[: -len("_total")]
        return self.name


def _om_value(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(float(v))


def _om_label(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def openmetrics_text(series: Iterable[Series]) -> str:
    """OpenMetrics text as promtool's backfill wants it: each family once, samples grouped per
    series in ascending time, timestamps in seconds, ``# EOF`` last."""
    families: dict[str, list[Series]] = {}
    for s in series:
        families.setdefault(s.family, []).append(s)
    lines: list[str] = []
    for family, members in families.items():
        types = {m.type for m in members}
        if len(types) != 1:
            raise ValueError(f"Metric family {family!r} is given as several types: {sorted(types)}.")
        lines.append(f"# TYPE {family} {types.pop()}")
        for m in members:
            labels = ",".join(f'{k}="{_om_label(str(v))}"' for k, v in sorted(m.labels.items()))
            head = f"{m.name}{{{labels}}}" if labels else m.name
            lines += [f"{head} {_om_value(v)} {t:.3f}" for t, v in sorted(m.samples)]
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def prometheus_config(jobs: Sequence[ScrapeJob], *, interval: str = "1s", alertmanager: str | None = None,
                      rule_files: Sequence[str] = ()) -> dict[str, Any]:
    config: dict[str, Any] = {
        "global": {"scrape_interval": interval, "scrape_timeout": interval, "evaluation_interval": interval},
        "scrape_configs": [j.config() for j in jobs],
    }
    if alertmanager:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    if rule_files:
        config["rule_files"] = list(rule_files)
    return config


class Prometheus(ServiceProcess):
    """Prometheus with 1 s scrape/evaluation intervals, a 30 d retention (older than any backfill)
    and the lifecycle API (``reload()``). ``rules`` is a rule file's content (YAML text or a mapping)."""

    program = PROMETHEUS
    name = "prometheus"

    def __init__(self, workdir: Path, *, jobs: Sequence[ScrapeJob] = (), alertmanager: str | None = None,
                 rules: str | Mapping[str, Any] | None = None, interval: str = "1s",
                 retention: str = "30d", **kwargs: Any) -> None:
        super().__init__(workdir, **kwargs)
        self.jobs = list(jobs)
        self.alertmanager = alertmanager
        self.rules = rules
        self.interval = interval
        self.retention = retention

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    def config(self) -> dict[str, Any]:
        rule_files = [str(self.workdir / "rules.yml")] if self.rules is not None else []
        return prometheus_config(self.jobs, interval=self.interval, alertmanager=self.alertmanager,
                                 rule_files=rule_files)

    def prepare(self) -> None:
        if self.rules is not None:
            text = self.rules if isinstance(self.rules, str) else yaml.safe_dump(dict(self.rules), sort_keys=False)
            (self.workdir / "rules.yml").write_text(text)
        (self.workdir / "prometheus.yml").write_text(yaml.safe_dump(self.config(), sort_keys=False))

    def arguments(self) -> list[str]:
        return [f"--config.file={self.workdir / 'prometheus.yml'}", f"--storage.tsdb.path={self.data_dir}",
                f"--web.listen-address={self.address}", "--web.enable-lifecycle",
                f"--storage.tsdb.retention.time={self.retention}", f"--web.external-url={self.url}"]

    def backfill(self, series: Iterable[Series]) -> Path:
        """Write ``series`` into TSDB blocks in the data directory. Only before start: a running
        Prometheus would not see the new blocks until it reloads them on its own schedule."""
        if self.process is not None:
            raise ServiceFailed("Backfill before starting Prometheus: it reads blocks at start-up.")
        require_programs(PROMTOOL)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        source = self.workdir / "backfill.om"
        source.write_text(openmetrics_text(series))
        done = subprocess.run([PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", str(source),
                               str(self.data_dir)], check=False, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise ServiceFailed(f"promtool could not backfill {source}: {done.stdout}{done.stderr}")
        return source

    def reload(self) -> None:
        """Re-read prometheus.yml and the rules after changing ``jobs``/``rules`` (rewrites both)."""
        self.prepare()
        resp = self.session.post(f"{self.url}/-/reload", timeout=10)
        if resp.status_code != 200:
            raise ServiceFailed(f"Prometheus refused the reload (HTTP {resp.status_code}): {resp.text}")

    # queries ------------------------------------------------------------------------------------
    def api(self, path: str, params: Mapping[str, Any]) -> Any:
        """An ``/api/v1`` call; returns ``data`` or raises with Prometheus's own error."""
        resp = self.session.post(f"{self.url}/api/v1/{path}", data=dict(params), timeout=10)
        body = resp.json()
        if body.get("status") != "success":
            raise ServiceFailed(f"Prometheus answered {path} with HTTP {resp.status_code} "
                                f"{body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str, at: Moment | None = None) -> list[dict[str, Any]]:
        """An instant query's ``result`` (for a vector: ``[{"metric": {...}, "value": [ts, "v"]}]``)."""
        params: dict[str, Any] = {"query": expr}
        if at is not None:
            params["time"] = unix_seconds(at)
        return list(self.api("query", params)["result"])

    def query_range(self, expr: str, start: Moment, end: Moment,
                    step: timedelta | float = 15.0) -> list[dict[str, Any]]:
        seconds = step.total_seconds() if isinstance(step, timedelta) else float(step)
        data = self.api("query_range", {"query": expr, "start": unix_seconds(start), "end": unix_seconds(end),
                                        "step": seconds})
        return list(data["result"])

    def wait_for(self, expr: str, until: Callable[[list[dict[str, Any]]], bool] = bool,
                 timeout: float = 30.0) -> list[dict[str, Any]]:
        """Poll an instant query until ``until(result)`` (default: any result). The first scrape of a
        fresh Prometheus takes about 5 s, so the default deadline is generous."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(expr)
            if until(result):
                return result
            if time.monotonic() > deadline:
                raise ServiceFailed(f"{expr} did not give the expected result within {timeout:g} s; "
                                    f"last result: {json.dumps(result)}")
            time.sleep(0.2)

    def targets(self) -> list[dict[str, Any]]:
        """``/api/v1/targets``' active targets (``health`` is ``up`` once scraped)."""
        return list(self._json("GET", "/api/v1/targets")["data"]["activeTargets"])


# -- all three -------------------------------------------------------------------------------------------
@dataclass
class Stack:
    """A Pushgateway and an Alertmanager, and a Prometheus that scrapes the gateway (and ``jobs``)
    and sends its alerts to the Alertmanager. Launched together, so start-up costs the slowest one."""

    workdir: Path
    webhook_url: str | None = None
    jobs: Sequence[ScrapeJob] = ()
    rules: str | Mapping[str, Any] | None = None
    pushgateway: Pushgateway = field(init=False)
    alertmanager: Alertmanager = field(init=False)
    prometheus: Prometheus = field(init=False)

    def __post_init__(self) -> None:
        self.pushgateway = Pushgateway(self.workdir)
        self.alertmanager = Alertmanager(self.workdir, webhook_url=self.webhook_url)
        gateway_job = ScrapeJob("pushgateway", [self.pushgateway.address], honor_labels=True)
        self.prometheus = Prometheus(self.workdir, jobs=[gateway_job, *self.jobs],
                                     alertmanager=self.alertmanager.address, rules=self.rules)

    @property
    def servers(self) -> tuple[ServiceProcess, ...]:
        return (self.pushgateway, self.alertmanager, self.prometheus)

    def start(self) -> Self:
        try:
            for server in self.servers:
                server.launch()
            for server in self.servers:
                server.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def ready_after(self) -> dict[str, float | None]:
        """Seconds from launch to ready, per server."""
        return {s.name: s.ready_after for s in self.servers}

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
