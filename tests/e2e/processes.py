"""What the process-level end-to-end tests share: ``chgsync daemon`` as a real subprocess, polling
for a condition with the reasons it is not met yet, and a person working in Jira with their own
account (so their requests are told apart from chgsync's).

The crash test and the replicas test kill daemons with SIGKILL, which only a real process allows:
no ``finally`` runs and claims stay held until their lease runs out.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from chgsync_jira.adapter import JiraAdapter
from chgsync_jira.adapter import from_settings as jira_adapter
from chgsync_jira.emulator import JiraEmulator
from chgsync_jira.wire import to_wire

from chgsync.lifecycle import State
from chgsync.model import Change
from chgsync.testing.prometheus import free_port

__all__ = ["CHGSYNC", "PERSON", "DaemonProcess", "Person", "free_port", "wait_for"]

CHGSYNC = Path(sys.executable).with_name("chgsync")  # the command installed beside the Python running the tests
PERSON = {"email": "pat.person@example.com", "displayName": "Pat Person", "token": "pat-person-token",
          "timeZone": "UTC"}


def wait_for(what: str, condition: Callable[[], list[str]], timeout: float, every: float = 0.2) -> None:
    """Poll ``condition`` (the problems still outstanding) until it has none; fail listing them."""
    deadline = time.monotonic() + timeout
    while True:
        problems = condition()
        if not problems:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not reached within {timeout:.0f} s:\n  - " + "\n  - ".join(problems))
        time.sleep(every)


class DaemonProcess:
    """``chgsync daemon`` in a subprocess, started, killed and restarted on the same config and port.

    Each start logs to a file of its own (``<name>-<run>.log``), so a restart keeps the log of the
    run that was killed.
    """

    def __init__(self, config: Path, port: int, env: dict[str, str], logs: Path, name: str = "daemon") -> None:
        self.config = config
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.env = env
        self.logs = logs
        self.name = name
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0

    @property
    def log_file(self) -> Path:
        return self.logs / f"{self.name}-{self.runs}.log"

    def start(self, timeout: float = 60.0) -> None:
        self.runs += 1
        with self.log_file.open("wb") as out:
            self.proc = subprocess.Popen([str(CHGSYNC), "daemon", "--config", str(self.config), "--log-format", "text"],
                                         env=self.env, stdout=out, stderr=subprocess.STDOUT)
        wait_for(f"{self.name} answering /readyz", self._not_ready, timeout, every=0.05)

    def _not_ready(self) -> list[str]:
        assert self.proc is not None
        if self.proc.poll() is not None:
            pytest.fail(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")
        try:
            r = requests.get(f"{self.url}/readyz", timeout=2)
        except requests.RequestException as exc:
            return [f"{self.url}/readyz: {exc}"]
        return [] if r.status_code == 200 else [f"/readyz answered {r.status_code}: {r.text}"]

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def worker_marker(self) -> str:
        """What every worker id of this process contains (worker ids are hostname-pid-random)."""
        assert self.proc is not None
        return f"-{self.proc.pid}-"

    def holds(self, holder: str | None) -> bool:
        return holder is not None and self.worker_marker in holder

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, exactly as when the machine or the OOM killer takes it."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> None:
        """SIGTERM (finish in-hand work and exit); SIGKILL if it does not exit in time."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def metric(self, name: str, **labels: str) -> float:
        """The sum of the samples of ``name`` on /metrics whose labels include ``labels``."""
        from prometheus_client.parser import text_string_to_metric_families

        text = requests.get(f"{self.url}/metrics", timeout=10).text
        return sum(s.value for fam in text_string_to_metric_families(text) for s in fam.samples
                   if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))

    def tail(self, lines: int = 40) -> str:
        text = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Person:
    """Someone using Jira with an account of their own (``PERSON``; seed the emulator with it).

    The forms they fill in are encoded with the Jira adapter's pure ``encode_fields`` (no I/O), so the
    values are what Jira's UI would send for those fields; statuses and the Change stage come from
    the mapping file, as the workflow's documentation would tell a person which status means what.
    """

    jira: JiraEmulator
    session: requests.Session = field(default_factory=requests.Session)
    transitions: int = 0

    def __post_init__(self) -> None:
        self.session.auth = (PERSON["email"], PERSON["token"])
        self.session.trust_env = False
        self.forms: JiraAdapter = jira_adapter({"url": self.jira.base_url, "user": PERSON["email"],
                                                "token": PERSON["token"]})

    @property
    def api(self) -> str:
        return f"{self.jira.base_url}/rest/api/2"

    def create(self, change: Change) -> str:
        fields = self.forms.encode_fields(change)
        id_field = self.forms.mapping.field("id")
        assert id_field is not None
        fields.pop(id_field.remote, None)  # people do not make up change IDs: chgsync assigns one
        fields.update(project={"key": "CHG"}, issuetype={"name": "Change"})
        r = self.session.post(f"{self.api}/issue", json={"fields": fields}, timeout=10)
        assert r.status_code == 201, r.text
        return str(r.json()["key"])

    def edit(self, key: str, change: Change, paths: list[str]) -> None:
        r = self.session.put(f"{self.api}/issue/{key}", json={"fields": self.forms.encode_fields(change, paths)},
                             timeout=10)
        assert r.status_code == 204, r.text

    def set_stage(self, key: str, state: State) -> None:
        """Pick the Change stage that, with the current status, means ``state`` (JSM has no status for it)."""
        remote = self.forms.mapping.states[state].remote
        body = {fid: to_wire(shape, remote[fid]) for fid, shape in self.forms.record_config.state_fields.items()
                if fid in remote}
        assert body, f"{state} has no Change stage in the mapping"
        r = self.session.put(f"{self.api}/issue/{key}", json={"fields": body}, timeout=10)
        assert r.status_code == 204, r.text

    def status(self, key: str) -> str:
        r = self.session.get(f"{self.api}/issue/{key}", params={"fields": "status"}, timeout=10)
        return str(r.json()["fields"]["status"]["name"])

    def transition(self, key: str, to_status: str) -> None:
        """Click the transition leading to ``to_status`` (Jira adds the resolution its screen defaults to)."""
        r = self.session.get(f"{self.api}/issue/{key}/transitions", timeout=10)
        options = [t for t in r.json()["transitions"] if t["to"]["name"] == to_status]
        assert options, f"{key}: no transition to {to_status} from {self.status(key)}"
        r = self.session.post(f"{self.api}/issue/{key}/transitions", json={"transition": {"id": options[0]["id"]}},
                              timeout=10)
        assert r.status_code == 204, r.text
        self.transitions += 1

    def status_for(self, state: State) -> str:
        return str(self.forms.mapping.states[state].remote[self.forms.mapping.status_field])

    def move(self, key: str, change: Change, target: State) -> Change:
        """Make one canonical move in Jira the way a person does it; returns the change as now filled in."""
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        if target == State.CAB_REVIEW:  # submit, then the peer reviewer passes it on to the CAB
            self.transition(key, "Peer review")
            self.transition(key, self.status_for(State.CAB_REVIEW))
        elif target == State.SCHEDULED:
            self.set_stage(key, State.SCHEDULED)
        elif target == State.IMPLEMENTED:  # the outcome and actual times first: Implemented asks for them
            change = change.model_copy(update={
                "outcome": "successful",
                "schedule": change.schedule.model_copy(update={"actual_start": now - timedelta(minutes=30),
                                                               "actual_end": now})})
            self.edit(key, change, ["outcome", "schedule.actual_start", "schedule.actual_end"])
            self.transition(key, self.status_for(State.IMPLEMENTED))
        elif target == State.CLOSED:  # close notes, then the stage that marks the review done
            change = change.model_copy(update={"close_notes": f"{change.title}: done, verified, no incidents."})
            self.edit(key, change, ["close_notes"])
            self.set_stage(key, State.CLOSED)
        else:
            self.transition(key, self.status_for(target))
        return change

    def state_in_jira(self, key: str) -> State:
        return self.forms.get(key).change.state
