"""Store URLs for tests: an SQLite file and, when reachable, a fresh PostgreSQL schema per test.

PostgreSQL comes from ``CHGSYNC_TEST_POSTGRES`` (default ``postgresql://postgres@127.0.0.1:5432/test``).
When it is unreachable the PostgreSQL variant is skipped with the reason printed, except under CI
(``CI`` set), where a missing server fails the test: CI must exercise both stores.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_base() -> str:
    return os.environ.get("CHGSYNC_TEST_POSTGRES", DEFAULT_PG)


def _psycopg_url(url: str) -> str:
    return "postgresql+psycopg://" + url.split("://", 1)[1] if url.startswith("postgresql://") else url


def postgres_schema_url() -> Iterator[str]:
    """Create a throw-away schema, yield a URL whose search_path is that schema, drop it afterwards."""
    import psycopg

    base = postgres_base()
    try:
        conn = psycopg.connect(base, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        reason = f"PostgreSQL at {base} is unreachable ({str(exc).strip().splitlines()[0]})"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the PostgreSQL variant.")
        pytest.skip(reason)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        sep = "&" if "?" in base else "?"
        try:
            yield f"{base}{sep}options=-csearch_path%3D{schema}"
        finally:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test using this runs twice: on an SQLite file and on a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'chgsync.sqlite'}"
    else:
        yield from postgres_schema_url()
