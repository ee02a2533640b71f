"""The ``chgsync`` command line. Exit codes: 0 fine, 1 the input has violations, 2 unusable input."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any, NoReturn

import click

from . import __version__
from .errors import ChgsyncError, InputError

EXIT_VIOLATIONS = 1
EXIT_UNUSABLE = 2


def fail(message: str, code: int = EXIT_UNUSABLE) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="chgsync")
def cli() -> None:
    """chgsync: ITIL change control, enforced across Jira, ServiceNow and monitoring."""


# -- schema, policy, validate ----------------------------------------------------------------------------
@cli.command("schema")
def schema_cmd() -> None:
    """Print the JSON Schema of a change file."""
    from .model import change_schema

    click.echo(json.dumps(change_schema(), indent=2))


@cli.group("policy")
def policy_group() -> None:
    """Inspect the change policy."""


POLICY_OPTION = click.option("--policy", "policy_file", type=click.Path(dir_okay=False, path_type=Path),
                             help="Policy YAML file layered over the built-in defaults.")


@policy_group.command("show")
@POLICY_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of YAML.")
def policy_show(policy_file: Path | None, as_json: bool) -> None:
    """Print the effective policy: the built-in defaults with the policy file applied."""
    from .policy import load_policy

    try:
        policy = load_policy(policy_file)
    except InputError as exc:
        fail(str(exc))
    data = policy.model_dump(mode="json")
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        import yaml

        click.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), nl=False)


def parse_at(value: str | None) -> Any:
    from datetime import UTC, datetime

    if value is None:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        fail(f"--at {value!r} is not an ISO-8601 time; expected e.g. 2026-12-01T02:30:00Z.")
    if at.tzinfo is None:
        fail(f"--at {value!r} has no zone; add one, e.g. {value}Z or {value}+01:00.")
    return at


@cli.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--to", "target", help="State to check the move to (default: the next state on the change's path).")
@click.option("--at", "at_text", metavar="TIME", help="ISO-8601 time with a zone to judge at (default: now).")
@POLICY_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print violations as a JSON list.")
def validate_cmd(files: tuple[Path, ...], target: str | None, at_text: str | None, policy_file: Path | None,
                 as_json: bool) -> None:
    """Check change FILES (YAML or JSON) against the lifecycle rules.

    Several files are judged together: each is one of the others' scheduled changes for conflict
    checks. Exit 0 when clean, 1 with violations, 2 when a file cannot be used.
    """
    from .errors import ChangeFileError
    from .files import load_model
    from .lifecycle import State
    from .lifecycle import path as lifecycle_path
    from .model import Change
    from .policy import load_policy
    from .validation import Guard

    at = parse_at(at_text)
    wanted: State | None = None
    if target is not None:
        try:
            wanted = State(target.lower().replace(" ", "_").replace("-", "_"))
        except ValueError:
            fail(f"--to {target!r} is not a state; expected one of: {', '.join(s.value for s in State)}.")
    try:
        policy = load_policy(policy_file)
        changes = [(f, load_model(f, Change, ChangeFileError)) for f in files]
    except InputError as exc:
        fail(str(exc))
    guard = Guard(policy)
    everyone = [c for _, c in changes]
    report: list[dict[str, str]] = []
    lines: list[str] = []
    for path, change in changes:
        goal = wanted
        if goal is None:
            # the next state on the shortest way to Closed: off the happy path too (an e-CAB review)
            later = lifecycle_path(change.type, change.state, State.CLOSED)
            if not later:
                lines.append(f"{path}: {change.id} is {change.state.label}; there is no next state to check.")
                continue
            goal = later[0]
        violations = guard.check(change, goal, at, others=everyone)
        move = f"{change.state.label} → {goal.label}"
        if not violations:
            lines.append(f"{path}: {change.id} may move {move}.")
        else:
            lines.append(f"{path}: {change.id} may not move {move} ({len(violations)} violation"
                         f"{'s' if len(violations) != 1 else ''}):")
            lines.extend(f"  - {v.message} [{v.code}, {v.field}]" for v in violations)
        report.extend({**v.as_dict(), "change": change.id, "file": str(path), "target": goal.value}
                      for v in violations)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        click.echo("\n".join(lines))
    sys.exit(EXIT_VIOLATIONS if report else 0)


@cli.command("demo")
@click.option("--keep-running", is_flag=True, help="Leave the emulators and the daemon up afterwards.")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              help="Keep the store here instead of a temporary directory.")
def demo_cmd(keep_running: bool, directory: Path | None) -> None:
    """Run Jira and ServiceNow emulators, a store and the daemon, and act out two changes."""
    from .demo import run

    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
    try:
        changes = run(click.echo, keep_running=keep_running, directory=directory)
    except KeyboardInterrupt:
        return
    except ChgsyncError as exc:
        fail(str(exc))
    closed = sum(1 for c in changes if c.state.value == "closed")
    click.echo(f"\n{closed} of {len(changes)} changes closed.")
    sys.exit(0 if changes and closed == len(changes) else 1)


# -- daemon, init, db, outbox ---------------------------------------------------------------------------
CONFIG_OPTION = click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
                             default="chgsync.yaml", show_default=True, help="Daemon configuration file.")


def _config(config_file: Path) -> Any:
    from .daemon.config import load_config

    try:
        return load_config(config_file)
    except InputError as exc:
        fail(str(exc))


def _store(config_file: Path, *, check: bool = True) -> Any:
    from .store import SchemaMismatch, Store

    config = _config(config_file)
    try:
        return Store(config.store, check_schema=check)
    except SchemaMismatch as exc:
        fail(str(exc))


@cli.command("correlate")
@CONFIG_OPTION
@click.option("--at", "at_text", metavar="TIME", required=True, help="When the incident began (ISO-8601 with a zone).")
@click.option("--service", "services", multiple=True, help="An affected service (repeatable); none means any.")
@click.option("--env", "environment", help="The environment of the incident, e.g. production.")
@click.option("--json", "as_json", is_flag=True, help="Print the suspects as JSON.")
def correlate_cmd(config_file: Path, at_text: str, services: tuple[str, ...], environment: str | None,
                  as_json: bool) -> None:
    """Did a recent change cause this? Ranks the changes implemented before TIME; records nothing.

    Exit status 0 when there is a suspect, 1 when none.
    """
    from .daemon.incidents import suspects
    from .signals import Signal, normalise_env

    config = _config(config_file)
    at = parse_at(at_text)
    store = _store(config_file)
    signal = Signal(key="cli", title="Incident", started_at=at, services=services,
                    environment=normalise_env(environment), source="cli")
    found = suspects(store, signal, config.correlation)
    if as_json:
        click.echo(json.dumps([{"change_id": s.change_id, "score": s.score, "label": s.label,
                                "reasons": list(s.reasons)} for s in found], indent=2))
    elif not found:
        scope = f" on {', '.join(services)}" if services else ""
        click.echo(f"No change implemented within {config.correlation.lookback} before {at.isoformat()}{scope} "
                   "is a likely cause.")
    else:
        for s in found:
            click.echo(f"{s.change_id}  {s.label:<8} {s.score:.2f}  {'; '.join(s.reasons)}")
    sys.exit(0 if found else 1)


@cli.command("init")
@click.option("--path", type=click.Path(dir_okay=False, path_type=Path), default="chgsync.yaml", show_default=True)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init_cmd(path: Path, force: bool) -> None:
    """Write a commented starter configuration for the daemon."""
    from .daemon.config import STARTER

    if path.exists() and not force:
        fail(f"{path} exists already; use --force to overwrite it.")
    path.write_text(STARTER)
    click.echo(f"Wrote {path}. Set the environment variables it names, then run: chgsync daemon --config {path}")


@cli.command("daemon")
@CONFIG_OPTION
@click.option("--log-format", type=click.Choice(["json", "text"]), default="json", show_default=True)
def daemon_cmd(config_file: Path, log_format: str) -> None:
    """Run the sync daemon until SIGTERM or Ctrl+C (in-flight work finishes first)."""
    from .daemon.logs import configure_logging
    from .daemon.runner import Daemon
    from .store import SchemaMismatch

    configure_logging(log_format)
    config = _config(config_file)
    # Handlers go in before start: /readyz answers as soon as the listener is up, and a SIGTERM
    # sent from then on must stop the daemon cleanly, not kill it.
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        daemon = Daemon(config)
        daemon.start()
    except (SchemaMismatch, InputError, OSError) as exc:
        fail(str(exc))
    click.echo(f"chgsync daemon listening on {daemon.url} (store {config.store.split('@')[-1]})", err=True)
    stop.wait()
    click.echo("Stopping: finishing in-flight work.", err=True)
    daemon.stop()


@cli.group("db")
def db_group() -> None:
    """The daemon's database schema."""


@db_group.command("upgrade")
@CONFIG_OPTION
def db_upgrade(config_file: Path) -> None:
    """Migrate the store's schema to this chgsync's version."""
    from .store.migrate import upgrade

    store = _store(config_file, check=False)
    before, after = upgrade(store.engine)
    click.echo(f"Schema at {after}" + (f" (was {before})." if before != after else " (already current)."))


@cli.group("outbox")
def outbox_group() -> None:
    """Side effects waiting, failed or dead-lettered."""


@outbox_group.command("list")
@CONFIG_OPTION
@click.option("--status", type=click.Choice(["pending", "claimed", "dead", "done"]), help="Only this status.")
@click.option("--json", "as_json", is_flag=True)
def outbox_list(config_file: Path, status: str | None, as_json: bool) -> None:
    """List outbox items (newest last)."""
    items = _store(config_file).list_outbox(status, limit=1000)
    rows = [{"id": i.id, "change": i.change_id, "kind": i.kind, "target": i.target, "status": i.status,
             "attempts": i.attempts, "error": i.last_error, "key": i.key} for i in items]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        click.echo(f"{r['id']:>6} {r['status']:<8} {r['change']:<12} {r['kind']:<8} {r['target']:<12} "
                   f"attempts={r['attempts']}" + (f"  {r['error']}" if r["error"] else ""))
    if not rows:
        click.echo("The outbox is empty." if status is None else f"No {status} items.")


@outbox_group.command("retry")
@CONFIG_OPTION
@click.argument("ids", nargs=-1, type=int)
def outbox_retry(config_file: Path, ids: tuple[int, ...]) -> None:
    """Replay dead-lettered items (all of them, or the given IDS)."""
    n = _store(config_file).retry_outbox(list(ids) or None)
    click.echo(f"{n} item{'s' if n != 1 else ''} queued again.")


# -- validation points, close overrides, obligations ----------------------------------------------------
def _policy_of(config: Any) -> Any:
    from .policy import load_policy

    try:
        return load_policy(config.policy)
    except InputError as exc:
        fail(str(exc))


def _who(by: str | None) -> str:
    import getpass

    return by or getpass.getuser()


@cli.command("validate-point")
@click.argument("change_id")
@click.option("--point", required=True, help="The validation point: 0h, 24h, 7d (one of the policy's).")
@click.option("--result", "verdict", type=click.Choice(["pass", "fail"]), required=True)
@click.option("--note", help="What was checked and seen.")
@click.option("--by", help="Who checked (default: your user name).")
@click.option("--at", "at_text", metavar="TIME", help="When it was checked, ISO 8601 with a zone (default: now).")
@CONFIG_OPTION
def validate_point_cmd(change_id: str, point: str, verdict: str, note: str | None, by: str | None,
                       at_text: str | None, config_file: Path) -> None:
    """Record the result of a post-implementation validation point in the daemon's store."""
    from .daemon.scheduler import parse_point, record_validation
    from .model import Verdict, point_label

    config = _config(config_file)
    store = _store(config_file)
    try:
        offset = parse_point(point)
        change = record_validation(store, _policy_of(config), change_id, offset, Verdict(verdict), by=_who(by),
                                   at=parse_at(at_text), note=note)
    except ChgsyncError as exc:
        fail(str(exc))
    finally:
        store.close()
    pending = [point_label(p) for p in _policy_of(config).validation_points if change.validation(p) is None]
    click.echo(f"{change_id}: {point_label(offset)} validation recorded as {verdict}."
               + (f" Still to check: {', '.join(pending)}." if pending else " Every validation point has a result."))


@cli.command("close-override")
@click.argument("change_id")
@click.option("--reason", required=True, help="Why it may close as successful without every validation passed.")
@click.option("--by", help="Who decides (default: your user name).")
@CONFIG_OPTION
def close_override_cmd(change_id: str, reason: str, by: str | None, config_file: Path) -> None:
    """Let a change close as successful before all its validation points passed (recorded with who and why)."""
    from .daemon.scheduler import record_close_override

    store = _store(config_file)
    try:
        record_close_override(store, change_id, by=_who(by), reason=reason, at=parse_at(None))
    except ChgsyncError as exc:
        fail(str(exc))
    finally:
        store.close()
    click.echo(f"{change_id} may now close as successful; the override is recorded on the change.")


@cli.command("obligations")
@click.argument("change_id", required=False)
@click.option("--json", "as_json", is_flag=True)
@CONFIG_OPTION
def obligations_cmd(change_id: str | None, as_json: bool, config_file: Path) -> None:
    """List timed obligations: a change's (all of them), or every one still owed."""
    from .daemon.scheduler import list_obligations

    store = _store(config_file)
    try:
        rows = list_obligations(store, change_id)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    for r in rows:
        click.echo(f"{r['due_at'].isoformat():<26} {r['status']:<9} {r['change_id']:<12} {r['kind']}")
    if not rows:
        click.echo(f"{change_id} has no obligations." if change_id else "Nothing is owed.")


# -- mapping check, normalize ---------------------------------------------------------------------------
def _adapter_for(system: str, mapping_file: Path | None, url: str | None) -> Any:
    """Build an adapter from the CLI: credentials come from SYSTEM_USER and SYSTEM_TOKEN/SYSTEM_PASSWORD."""
    import os

    from .mapping import load_mapping
    from .plugins import get_plugins

    adapters = get_plugins().adapters()
    if system not in adapters:
        fail(f"No adapter named '{system}' is installed; installed: {', '.join(sorted(adapters)) or 'none'}.")
    settings: dict[str, Any] = {"name": system, "url": url or "http://127.0.0.1:9"}
    prefix = system.upper().replace("-", "_")
    user = os.environ.get(f"{prefix}_USER")
    secret = os.environ.get(f"{prefix}_TOKEN") or os.environ.get(f"{prefix}_PASSWORD")
    if url is not None and (not user or not secret):
        fail(f"Set {prefix}_USER and {prefix}_TOKEN (or {prefix}_PASSWORD) in the environment to reach {url}.")
    if user:
        settings["user"] = user
    if secret:
        settings["token"] = settings["password"] = secret
    if mapping_file is not None:
        try:
            mapping = load_mapping(mapping_file)
        except InputError as exc:
            fail(str(exc))
        if mapping.system != adapters[system].name and mapping.system != system:
            fail(f"{mapping_file} is a mapping for '{mapping.system}', not for '{system}'.")
        settings["mapping"] = mapping
    try:
        return adapters[system].factory(settings)
    except InputError as exc:
        fail(str(exc))


@cli.group("mapping")
def mapping_group() -> None:
    """Mapping files: canonical fields and states ↔ a ticketing tool's fields and workflow."""


@mapping_group.command("check")
@click.option("--mapping", "mapping_file", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--url", required=True, help="Base URL of the live instance (credentials from the environment).")
def mapping_check(mapping_file: Path, url: str) -> None:
    """List every mismatch between a mapping file and a live instance (fields, transitions, states)."""
    from .errors import RemoteError
    from .mapping import load_mapping

    try:
        system = load_mapping(mapping_file).system
    except InputError as exc:
        fail(str(exc))
    adapter = _adapter_for(system, mapping_file, url)
    try:
        problems = adapter.check()
    except RemoteError as exc:
        fail(f"Cannot check {mapping_file} against {url}: {exc}")
    if not problems:
        click.echo(f"{mapping_file} matches {url}.")
        return
    click.echo(f"{mapping_file} does not match {url} ({len(problems)} problem{'s' if len(problems) != 1 else ''}):")
    for problem in problems:
        click.echo(f"  - {problem}")
    sys.exit(EXIT_VIOLATIONS)


@cli.command("normalize")
@click.option("--from", "system", required=True, help="The adapter that reads the payload (jira, servicenow).")
@click.option("--mapping", "mapping_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Mapping file (default: the adapter's default mapping).")
@click.argument("payload", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
def normalize_cmd(system: str, mapping_file: Path | None, payload: Path) -> None:
    """Turn a raw record or webhook body (a JSON file, or - for stdin) into the canonical change."""
    from .files import read_source

    text, source = read_source(payload, InputError)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{source} is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.")
    if not isinstance(data, dict):
        fail(f"{source} must hold a JSON object (a record or a webhook body), not {type(data).__name__}.")
    adapter = _adapter_for(system, mapping_file, None)
    try:
        change = adapter.normalize(data)
    except (InputError, ValueError) as exc:
        fail(f"{source} cannot be turned into a change: {exc}")
    click.echo(change.model_dump_json(indent=2, by_alias=True, exclude_none=True))


# -- plugins -------------------------------------------------------------------------------------------
@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins_cmd(as_json: bool) -> None:
    """List the loaded plugins, their versions and the hooks they implement."""
    from .plugins import get_plugins

    infos = get_plugins().describe()
    if as_json:
        click.echo(json.dumps([{"name": i.name, "distribution": i.distribution, "version": i.version,
                                "builtin": i.builtin, "hooks": list(i.hooks)} for i in infos], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("plugin", "distribution", "version", "hooks")
    for i in infos:
        table.add_row(i.name, i.distribution, i.version, ", ".join(i.hooks))
    Console().print(table)


# -- emulate -------------------------------------------------------------------------------------------
def _load_data_file(path: Path) -> Any:
    from .files import load_document

    return load_document(path, kind="seed")


@cli.command("emulate")
@click.argument("name")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=0, help="Port to listen on (0 picks a free one).")
@click.option("--user", help="User (Jira: an email address) the emulator accepts.")
@click.option("--token", help="Jira API token the emulator accepts.")
@click.option("--password", help="ServiceNow password the emulator accepts.")
@click.option("--tls", is_flag=True, help="Serve HTTPS with a generated self-signed certificate.")
@click.option("--seed", "seed_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="YAML or JSON file with initial data.")
@click.option("--webhook", "webhooks", multiple=True, help="URL to receive webhooks (repeatable).")
@click.option("--webhook-secret", help="Secret used to sign webhook deliveries.")
@click.option("--latency", type=float, default=0.0, help="Seconds added to every response.")
@click.option("--rate-limit", type=int, help="Requests per second before answering 429.")
@click.option("--fail-next", type=int, default=0, help="Answer the first N requests with 503.")
@click.option("--drop-webhooks", type=int, default=0, help="Drop the next N webhook deliveries.")
@click.option("--duplicate-webhooks", type=int, default=0, help="Deliver the next N webhooks twice.")
@click.option("--reorder-webhooks", type=int, default=0, help="Hold N deliveries and send them reversed.")
def emulate_cmd(name: str, host: str, port: int, user: str | None, token: str | None, password: str | None,
                tls: bool, seed_file: Path | None, webhooks: tuple[str, ...], webhook_secret: str | None,
                latency: float, rate_limit: int | None, fail_next: int, drop_webhooks: int,
                duplicate_webhooks: int, reorder_webhooks: int) -> None:
    """Serve the emulator NAME on loopback until interrupted (see `chgsync plugins` for what is loaded)."""
    from .plugins import get_plugins

    emulators = get_plugins().emulators()
    if name not in emulators:
        known = ", ".join(sorted(emulators)) or "none (install an adapter plugin such as chgsync-jira)"
        fail(f"There is no emulator named '{name}'. Available: {known}.")
    seed = _load_data_file(seed_file) if seed_file else None
    try:
        emulator = emulators[name].factory(host=host, port=port, user=user, secret=token or password,
                                           tls=tls, seed=seed)
    except InputError as exc:
        fail(str(exc))
    emulator.faults.latency = latency
    if rate_limit:
        emulator.faults.rate_limit(rate_limit, per=1.0)
    if fail_next:
        emulator.faults.fail_next(fail_next)
    emulator.faults.webhooks.drop_next(drop_webhooks)
    emulator.faults.webhooks.duplicate_next(duplicate_webhooks)
    if reorder_webhooks:
        emulator.faults.webhooks.reorder_next(reorder_webhooks)
    for url in webhooks:
        emulator.webhooks.subscribe(url, secret=webhook_secret)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # before the URL is printed, so a caller may stop it
    try:
        emulator.start()
    except OSError as exc:
        fail(f"Cannot listen on {host}:{port}: {exc.strerror or exc}.")
    info = emulator.describe()
    click.echo(f"{name} emulator listening on {info.pop('url')}")
    for key, value in info.items():
        click.echo(f"  {key}: {value}")
    for url in webhooks:
        click.echo(f"  webhook: {url}" + (" (signed)" if webhook_secret else ""))
    click.echo("Press Ctrl+C to stop.", err=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()


def main() -> None:
    try:
        cli(standalone_mode=True)
    except ChgsyncError as exc:  # anything typed that escaped a command is still a sentence, not a trace
        fail(str(exc))


if __name__ == "__main__":  # pragma: no cover
    main()
