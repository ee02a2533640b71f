"""`chgsync daemon` refuses a store whose schema is older or newer than its own; `chgsync db upgrade` fixes older.

Run as real commands, the way an operator (or the systemd unit's ``ExecStartPre``) meets them: the
exit status and the sentence on stderr are the interface.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
import yaml
from alembic import command
from sqlalchemy import create_engine, text

from chgsync.store import Store
from chgsync.store.migrate import alembic_config, current_revision, head_revision

from .processes import CHGSYNC, free_port


def engine_for(store_url: str):  # type: ignore[no-untyped-def]
    return create_engine(store_url.replace("postgresql://", "postgresql+psycopg://", 1))


def write_config(directory: Path, store_url: str, port: int) -> Path:
    path = directory / "chgsync.yaml"
    path.write_text(yaml.safe_dump({"store": store_url, "listen": {"host": "127.0.0.1", "port": port}}))
    return path


def chgsync(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CHGSYNC_LOAD_PLUGINS": ""}
    return subprocess.run([str(CHGSYNC), *args], capture_output=True, text=True, env=env, timeout=60, check=False)


def test_the_daemon_refuses_an_older_schema_until_db_upgrade(store_url: str, tmp_path: Path) -> None:
    Store(store_url).close()
    head = head_revision()
    engine = engine_for(store_url)
    try:
        command.downgrade(alembic_config(engine), "-1")  # the schema an older chgsync left behind
        older = current_revision(engine)
    finally:
        engine.dispose()
    assert older is not None and older != head
    config = write_config(tmp_path, store_url, free_port())

    refused = chgsync("daemon", "--config", str(config))
    assert refused.returncode == 2, refused.stderr
    assert f"has schema revision {older}, older than this chgsync's {head}. Run `chgsync db upgrade` first." \
        in refused.stderr
    assert "Traceback" not in refused.stderr

    upgraded = chgsync("db", "upgrade", "--config", str(config))
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.strip() == f"Schema at {head} (was {older})."
    again = chgsync("db", "upgrade", "--config", str(config))
    assert again.stdout.strip() == f"Schema at {head} (already current)."

    # Now it runs: ready, then a clean exit on SIGTERM.
    port = int(yaml.safe_load(config.read_text())["listen"]["port"])
    env = {**os.environ, "CHGSYNC_LOAD_PLUGINS": ""}
    log = (tmp_path / "daemon.log").open("wb")
    proc = subprocess.Popen([str(CHGSYNC), "daemon", "--config", str(config), "--log-format", "text"],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "daemon.log").read_text()
            try:
                if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "the upgraded daemon never became ready"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        log.close()


def test_the_daemon_refuses_a_newer_schema(store_url: str, tmp_path: Path) -> None:
    Store(store_url).close()
    engine = engine_for(store_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    finally:
        engine.dispose()
    config = write_config(tmp_path, store_url, free_port())
    sentence = (f"has schema revision 9999, which this chgsync does not know: it was written by a newer chgsync "
                f"(this one expects {head_revision()}). Upgrade chgsync, or use another database.")
    for args in (("daemon",), ("db", "upgrade")):  # nor does `db upgrade` (the unit's ExecStartPre) touch it
        refused = chgsync(*args, "--config", str(config))
        assert refused.returncode == 2, refused.stderr
        assert sentence in refused.stderr and "Traceback" not in refused.stderr, refused.stderr
    engine = engine_for(store_url)
    try:
        assert current_revision(engine) == "9999"
    finally:
        engine.dispose()


def test_replicas_starting_together_on_an_empty_store_create_the_schema_once(store_url: str, tmp_path: Path) -> None:
    """Each replica's unit runs `db upgrade`, and a daemon creates an empty store itself: all at once, they queue.

    Separate processes, as replicas are (Alembic's migration context is one per process).
    """
    env = {**os.environ, "CHGSYNC_LOAD_PLUGINS": ""}
    config = write_config(tmp_path, store_url, 0)
    opener = f"from chgsync.store import Store; Store({store_url!r}).close()"
    procs = []
    for i in range(4):
        if i % 2:
            cmd = [sys.executable, "-c", opener]
        else:
            cmd = [str(CHGSYNC), "db", "upgrade", "--config", str(config)]
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = [p.communicate(timeout=120) for p in procs]
    failed = [(p.args, out, err) for p, (out, err) in zip(procs, results, strict=True) if p.returncode != 0]
    assert not failed, failed
    engine = engine_for(store_url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
