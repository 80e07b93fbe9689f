"""Database fixtures: SQLite always, PostgreSQL when SNOOZEDB_TEST_DATABASE_URL is set.

Each PostgreSQL-backed test gets a database of its own, created from the server named
by the variable and dropped afterwards, so tests never see each other's rows.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
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


# --- A throwaway PostgreSQL cluster, for tests that restart the server -------------


class ThrowawayPostgres:
    """A PostgreSQL cluster of one test's own, on a spare port, that it may restart.

    Made with `initdb --auth=trust` and run with `pg_ctl` as the `postgres` user
    (PostgreSQL refuses to run as root), with `fsync=off`: nothing here must survive
    a power cut, and a cluster starts in about a second.
    """

    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.port = port
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/snoozedb"

    def _as_postgres(self, *command: str) -> None:
        subprocess.run(  # noqa: S603 - fixed binaries, arguments of our own
            ["runuser", "-u", "postgres", "--", *command],  # noqa: S607
            check=True,
            capture_output=True,
            cwd="/",
        )

    def init(self) -> None:
        """Create the cluster, start it and create the `snoozedb` database."""
        data = str(self.folder / "data")
        self._as_postgres("initdb", "-D", data, "--auth=trust", "-U", "postgres")
        self.start()
        conninfo = f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"
        with psycopg.connect(conninfo, autocommit=True) as admin:
            admin.execute("CREATE DATABASE snoozedb")

    def _pg_ctl(self, *arguments: str) -> None:
        options = (
            f"-p {self.port} -c fsync=off -c listen_addresses=127.0.0.1"
            f" -k {self.folder}"
        )
        self._as_postgres(
            "pg_ctl",
            "-D",
            str(self.folder / "data"),
            "-o",
            options,
            "-l",
            str(self.folder / "server.log"),
            "-w",
            *arguments,
        )

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self._pg_ctl("start")

    def restart(self) -> None:
        """Restart the server (`-m fast`: open connections are cut, as in a failover)."""
        self._pg_ctl("restart", "-m", "fast")

    def stop(self) -> None:
        """Stop the server at once."""
        self._pg_ctl("stop", "-m", "immediate")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    """A running PostgreSQL cluster of the test's own; skipped where none can be made."""
    if shutil.which("initdb") is None or shutil.which("pg_ctl") is None:
        pytest.skip("PostgreSQL's initdb and pg_ctl are not installed")
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        pytest.skip("a throwaway cluster needs root, to run it as the postgres user")
    try:
        owner = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("there is no postgres user to run a throwaway cluster")
    # Not pytest's tmp_path: its parents are private to root, and the server runs
    # as postgres.
    folder = Path(tempfile.mkdtemp(prefix="snoozedb-pg-"))
    os.chown(folder, owner.pw_uid, owner.pw_gid)
    cluster = ThrowawayPostgres(folder, _free_port())
    try:
        cluster.init()
        yield cluster
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)
