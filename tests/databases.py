"""Database fixtures: SQLite always, PostgreSQL when SNOOZEDB_TEST_DATABASE_URL is set.

Each PostgreSQL-backed test gets a database of its own, created from the server named
by the variable and dropped afterwards, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

POSTGRES_URL = os.environ.get("SNOOZEDB_TEST_DATABASE_URL", "")
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgres",
        id="postgres",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(
                not POSTGRES_URL, reason="SNOOZEDB_TEST_DATABASE_URL is not set"
            ),
        ],
    ),
]


def _admin_conninfo(url: str) -> str:
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    if not POSTGRES_URL:
        pytest.skip("SNOOZEDB_TEST_DATABASE_URL is not set")
    name = f"snoozedb_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin_conninfo(POSTGRES_URL), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield (
            make_url(POSTGRES_URL)
            .set(drivername="postgresql+psycopg", database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with psycopg.connect(_admin_conninfo(POSTGRES_URL), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The URL of an empty database of the given backend."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'snoozedb.sqlite3'}"
    return str(request.getfixturevalue("postgres_url"))
