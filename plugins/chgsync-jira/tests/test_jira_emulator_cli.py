"""``chgsync emulate jira``: the plugin found through its entry point, served from a subprocess."""

from __future__ import annotations

import hashlib
import hmac
import os
import selectors
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import chgsync_jira.plugin
import requests
from chgsync_jira.emulator import JiraEmulator

from chgsync.plugins import Plugins

SEED_YAML = """\
users:
  - email: ops.lead@example.com
    displayName: Ops lead
issues:
  - project: CHG
    issuetype: Change
    summary: Seeded change
    reporter: ops.lead@example.com
    fields:
      customfield_10040: {value: Standard}
      duedate: 2026-12-24
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["CHGSYNC_LOAD_PLUGINS"] = "chgsync-jira"
    return env


@contextmanager
def emulate(*args: str) -> Iterator[tuple[str, list[str]]]:
    """Run ``chgsync emulate jira ARGS``; yield the printed base URL and the lines printed with it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "chgsync.cli", "emulate", "jira", *args],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
    )
    try:
        assert proc.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(proc.stdout, selectors.EVENT_READ)
        output = b""
        url = None
        # read raw chunks: the URL line first, then whatever follows it within half a second
        while True:
            if not selector.select(timeout=30 if url is None else 0.5):
                if url is None:
                    raise AssertionError("chgsync emulate printed nothing within 30 s")
                break
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                if url is None:
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    raise AssertionError(f"chgsync emulate exited with {proc.wait()}: {err}")
                break
            output += chunk
            for line in output.decode().splitlines():
                if " listening on " in line:
                    url = line.rsplit(" ", 1)[1].strip()
        assert url is not None
        yield url, output.decode().splitlines()
    finally:
        proc.terminate()
        assert proc.wait(timeout=15) == 0


def test_the_plugin_registers_the_jira_emulator() -> None:
    plugins = Plugins(load_entrypoints=False)
    plugins.register(chgsync_jira.plugin, name="jira")
    emulators = plugins.emulators()
    assert emulators["jira"].factory is JiraEmulator
    assert emulators["jira"].plugin == "jira"


def test_chgsync_emulate_jira_with_seed_and_signed_webhooks(tmp_path: Path, webhook_receiver: Any) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(SEED_YAML)
    port = _free_port()
    with emulate(
        "--port",
        str(port),
        "--user",
        "bot@example.com",
        "--token",
        "t0ken",
        "--seed",
        str(seed),
        "--webhook",
        webhook_receiver.url,
        "--webhook-secret",
        "s3cret",
    ) as (url, lines):
        assert url == f"http://127.0.0.1:{port}"
        assert "  user: bot@example.com" in lines and "  token: t0ken" in lines
        session = requests.Session()
        session.trust_env = False
        session.auth = ("bot@example.com", "t0ken")
        me = session.get(f"{url}/rest/api/2/myself")
        assert me.status_code == 200 and me.json()["emailAddress"] == "bot@example.com"
        seeded = session.get(f"{url}/rest/api/2/issue/CHG-1").json()
        assert seeded["fields"]["reporter"]["displayName"] == "Ops lead"
        assert seeded["fields"]["duedate"] == "2026-12-24"
        assert session.get(f"{url}/rest/api/2/myself", auth=("bot@example.com", "nope")).status_code == 401
        resp = session.post(f"{url}/rest/api/2/issue/CHG-1/comment", json={"body": "From the CLI test."})
        assert resp.status_code == 201
        deliveries = webhook_receiver.wait_for(2)
        for delivery in deliveries:
            digest = hmac.new(b"s3cret", delivery.body, hashlib.sha256).hexdigest()
            assert delivery.headers["X-Hub-Signature"] == f"sha256={digest}"
        assert {d.json()["webhookEvent"] for d in deliveries} == {"comment_created", "jira:issue_updated"}


def test_chgsync_emulate_jira_over_tls() -> None:
    with emulate("--port", str(_free_port()), "--tls") as (url, lines):
        assert url.startswith("https://")
        cert = next(line.split(": ", 1)[1] for line in lines if line.strip().startswith("certificate:"))
        resp = requests.get(
            f"{url}/rest/api/3/myself",
            auth=(JiraEmulator.default_user, JiraEmulator.default_secret),
            verify=cert,
        )
        assert resp.status_code == 200


def test_an_unusable_seed_file_is_an_error_naming_the_field(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text("statuses:\n  - name: Approved\n    category: green\n")
    done = subprocess.run(
        [sys.executable, "-m", "chgsync.cli", "emulate", "jira", "--seed", str(seed)],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "field 'statuses[0].category'" in done.stderr and done.stderr.startswith("Error: ")
