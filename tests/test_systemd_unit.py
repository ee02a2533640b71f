"""The documented systemd unit (docs/chgsync.service) says what docs/daemon.md promises, and systemd accepts it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
UNIT = DOCS / "chgsync.service"


def settings() -> dict[str, list[str]]:
    """``Key=value`` lines by key (a key may repeat, as SystemCallFilter does)."""
    found: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


def test_the_unit_upgrades_the_schema_runs_the_daemon_and_stops_gently() -> None:
    s = settings()
    assert s["Type"] == ["simple"]
    assert s["ExecStartPre"] == ["/opt/chgsync/bin/chgsync db upgrade --config /etc/chgsync/chgsync.yaml"]
    assert s["ExecStart"] == ["/opt/chgsync/bin/chgsync daemon --config /etc/chgsync/chgsync.yaml"]
    assert s["EnvironmentFile"] == ["/etc/chgsync/chgsync.env"]
    assert s["Restart"] == ["on-failure"] and s["KillSignal"] == ["SIGTERM"]
    # Daemon.stop waits up to 30 s for each thread (4 loops and the HTTP server) in turn.
    assert int(s["TimeoutStopSec"][0].removesuffix("s")) >= 5 * 30
    for hardening in ("DynamicUser", "ProtectSystem", "StateDirectory", "NoNewPrivileges", "PrivateTmp"):
        assert hardening in s, hardening
    assert s["ProtectSystem"] == ["strict"]
    assert "](chgsync.service)" in (DOCS / "daemon.md").read_text()  # referenced from the operating guide


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    chgsync = Path(sys.executable).parent / "chgsync"  # the unit's /opt/chgsync, here
    unit = tmp_path / "chgsync.service"
    unit.write_text(UNIT.read_text().replace("/opt/chgsync/bin/chgsync", str(chgsync)))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
