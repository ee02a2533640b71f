"""``chgsync emulate servicenow`` as a real process, and TLS with ServiceNow's own client (pysnc)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from chgsync_servicenow.emulator import SECRET_HEADER, ServiceNowEmulator
from pysnc import ServiceNowClient
from pysnc.exceptions import RoleException

from chgsync.testing.pytest_plugin import emulator_fixture

tls_emulator = emulator_fixture(ServiceNowEmulator, tls=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    """A ``chgsync emulate`` process and what it printed before serving."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "CHGSYNC_LOAD_PLUGINS": "chgsync-servicenow"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "chgsync.cli", "emulate", "servicenow", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.process.stdout is not None
        first = self.process.stdout.readline()
        if not first:
            raise AssertionError(
                f"chgsync emulate exited: {self.process.stderr.read() if self.process.stderr else ''}"
            )
        m = re.match(r"servicenow emulator listening on (\S+)", first)
        assert m, first
        self.url = m.group(1)
        self.info: dict[str, str] = {}
        while len(self.info) < 2 + ("--tls" in args):
            key, _, value = self.process.stdout.readline().strip().partition(": ")
            self.info[key] = value

    def stop(self) -> int:
        self.process.terminate()
        try:
            return self.process.wait(timeout=10)
        finally:
            for stream in (self.process.stdout, self.process.stderr):
                if stream is not None:
                    stream.close()


@pytest.fixture
def serve() -> Iterator[Any]:
    started: list[Served] = []

    def start(*args: str) -> Served:
        started.append(Served(*args))
        return started[-1]

    yield start
    for s in started:
        if s.process.poll() is None:
            s.stop()


def test_emulate_serves_with_given_credentials_seed_and_webhook(
    serve: Any, tmp_path: Path, webhook_receiver: Any
) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text("tables:\n  cmdb_ci:\n    - name: billing-api\n      category: Software\n")
    port = free_port()
    served = serve(
        "--port",
        str(port),
        "--user",
        "svc.chgsync",
        "--password",
        "pa55word",
        "--seed",
        str(seed),
        "--webhook",
        webhook_receiver.url,
        "--webhook-secret",
        "shh",
    )
    assert served.url == f"http://127.0.0.1:{port}"
    assert served.info == {"user": "svc.chgsync", "password": "pa55word"}

    auth = ("svc.chgsync", "pa55word")
    cis = requests.get(
        f"{served.url}/api/now/table/cmdb_ci",
        params={"sysparm_query": "name=billing-api"},
        auth=auth,
        timeout=10,
    )
    assert cis.status_code == 200
    assert [c["name"] for c in cis.json()["result"]] == ["billing-api"]
    assert (
        requests.get(
            f"{served.url}/api/now/table/cmdb_ci", auth=("admin", "pa55word"), timeout=10
        ).status_code
        == 401
    )

    created = requests.post(
        f"{served.url}/api/now/table/change_request",
        json={"short_description": "from cli"},
        auth=auth,
        timeout=10,
    )
    assert created.status_code == 201
    (hook,) = webhook_receiver.wait_for(1)
    assert hook.json()["sys_updated_by"] == "svc.chgsync"
    assert {k.lower(): v for k, v in hook.headers.items()}[SECRET_HEADER.lower()] == "shh"
    assert served.stop() == 0


def test_emulate_refuses_an_unusable_seed(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"tables": {"cmdb_ci": [{"nme": "typo"}]}}))
    env = {**os.environ, "CHGSYNC_LOAD_PLUGINS": "chgsync-servicenow"}
    done = subprocess.run(
        [sys.executable, "-m", "chgsync.cli", "emulate", "servicenow", "--seed", str(seed)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "tables.cmdb_ci[0].nme" in done.stderr and "no field 'nme'" in done.stderr


def test_emulate_tls_with_pysnc(serve: Any) -> None:
    served = serve("--tls", "--password", "tls-pass")
    assert served.url.startswith("https://127.0.0.1:")
    client = pysnc_client(served.url, "admin", "tls-pass", served.info["certificate"])
    gr = client.GlideRecord("cmdb_ci")
    gr.add_query("name", "payments-api")
    gr.query()
    assert gr.next() and gr.get_value("name") == "payments-api"
    assert served.stop() == 0


def pysnc_client(url: str, user: str, password: str, cert: str) -> ServiceNowClient:
    session = requests.Session()
    session.auth = (user, password)
    session.trust_env = False  # REQUESTS_CA_BUNDLE would otherwise replace the emulator's certificate
    return ServiceNowClient(url, session, verify=cert)


def test_pysnc_lifecycle_over_tls(tls_emulator: ServiceNowEmulator) -> None:
    client = pysnc_client(
        tls_emulator.base_url, tls_emulator.user, tls_emulator.secret, str(tls_emulator.cert_path)
    )
    gr = client.GlideRecord("change_request")
    gr.initialize()
    gr.short_description = "pysnc change"
    gr.type = "standard"
    sys_id = gr.insert()
    assert sys_id and len(str(sys_id)) == 32

    change = client.GlideRecord("change_request")
    assert change.get(str(sys_id))
    assert change.get_value("state") == "-5"
    assert change.get_display_value("state") == "New"
    change.state = "-2"
    change.work_notes = "[chgsync] scheduled"
    change.update()  # pysnc sends a PATCH with the changed fields only
    assert tls_emulator.requests.count("PATCH") == 1
    assert tls_emulator.get_record("change_request", str(sys_id))["state"] == "-2"  # type: ignore[index]

    skip = client.GlideRecord("change_request")
    skip.get(str(sys_id))
    skip.state = "3"
    with pytest.raises(
        RoleException
    ):  # pysnc maps every 403, business-rule aborts included, to RoleException
        skip.update()

    listing = client.GlideRecord("change_request", batch_size=2)
    listing.add_encoded_query("type=standard")
    listing.query()
    assert len(listing) == 1
    assert listing.next() and listing.get_value("number") == "CHG0030001"
    assert change.delete()
    assert tls_emulator.get_record("change_request", str(sys_id)) is None


def test_pysnc_retries_a_5xx_burst(tls_emulator: ServiceNowEmulator) -> None:
    client = pysnc_client(
        tls_emulator.base_url, tls_emulator.user, tls_emulator.secret, str(tls_emulator.cert_path)
    )
    tls_emulator.faults.fail_next(2, status=503)
    gr = client.GlideRecord("cmdb_ci")
    gr.query()
    assert len(gr) == 4
    assert tls_emulator.requests.count("GET", status=503) == 2
    assert tls_emulator.requests.count("GET", status=200) == 1
