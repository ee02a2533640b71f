"""Schema migrations (Alembic), run by ``chgsync db upgrade`` and checked whenever a Store opens.

A brand-new database is created at the head revision (the embedded default needs no set-up). A
database at another revision is refused with a sentence saying what to run: an older schema needs
``chgsync db upgrade``; a newer one belongs to a newer chgsync.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from .store import SchemaMismatch

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Migrate to ``revision``; (revision before, after). A schema from a newer chgsync is refused, untouched."""
    before = current_revision(engine)
    if before is not None and before not in _known():
        raise SchemaMismatch(_newer(engine, before))
    command.upgrade(alembic_config(engine), revision)
    after = current_revision(engine)
    assert after is not None
    return before, after


def ensure_schema(engine: Engine) -> None:
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return
    if current is None:
        existing = set(inspect(engine).get_table_names())
        if existing - {"alembic_version"} and current_revision(engine) == head:
            return  # another replica created the schema while we looked
        if existing - {"alembic_version"}:
            raise SchemaMismatch(
                f"The database at {engine.url.render_as_string(hide_password=True)} has tables but no chgsync "
                "schema version; point chgsync at an empty database or its own."
            )
        upgrade(engine)
        return
    if current in _known():
        where = engine.url.render_as_string(hide_password=True)
        raise SchemaMismatch(
            f"The database at {where} has schema revision {current}, older than this chgsync's {head}. "
            "Run `chgsync db upgrade` first."
        )
    raise SchemaMismatch(_newer(engine, current))


def _known() -> set[str]:
    return {rev.revision for rev in ScriptDirectory(str(MIGRATIONS)).walk_revisions()}


def _newer(engine: Engine, current: str) -> str:
    where = engine.url.render_as_string(hide_password=True)
    return (f"The database at {where} has schema revision {current}, which this chgsync does not know: it was "
            f"written by a newer chgsync (this one expects {head_revision()}). Upgrade chgsync, or use another "
            "database.")
