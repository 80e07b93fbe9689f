"""The scheduler through faults: SIGKILL and SIGTERM mid-run, PostgreSQL restarted,
two processes on one SQLite file.

The scheduler runs as a real child process (`tests/scheduler_child.py`) with its
clock fixed; the AWS stand-in answers slowly (0.3 s a call) so a signal lands in the
middle of a run. The tests wait on the stand-in's call counter, never on a clock, and
move time past the lease by passing a later instant to the next run.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from bot.demo import CUSTOMER_ACCOUNT, OfflineWorld
from bot.domain import Action, OutcomeKind
from bot.storage import CLAIM_LEASE, Storage
from tests.databases import ThrowawayPostgres, throwaway_postgres  # noqa: F401
from tests.test_scheduler import channel, connect, run, storage_of

MONDAY_2000 = datetime(2026, 3, 30, 20, 0, 3, tzinfo=UTC)
TUESDAY_0800 = datetime(2026, 3, 31, 8, 0, 3, tzinfo=UTC)
OFFICE_UTC = "mon-fri 08:00-20:00 tz UTC"
SLOW_AWS = 0.3
REPO = Path(__file__).resolve().parent.parent
DONE_WELL = {OutcomeKind.STOPPED, OutcomeKind.ALREADY_STOPPED}


@pytest.fixture
def isolated_aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv(
        "AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials")
    )


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'bot.sqlite3'}"


def open_world(url: str) -> OfflineWorld:
    world = OfflineWorld(url)
    world.__enter__()
    world.seed_sample_account()
    connect(world)
    return world


@pytest.fixture
def world(isolated_aws: None, sqlite_url: str) -> Iterator[OfflineWorld]:
    offline = open_world(sqlite_url)
    yield offline
    offline.__exit__(None, None, None)


def add_fleet(world: OfflineWorld, count: int, tag: str = "fleet") -> list[str]:
    """`count` running instances tagged env=`tag` in us-east-1; their identifiers."""
    rds = world.aws.customer_session(CUSTOMER_ACCOUNT, "us-east-1").client("rds")
    names = [f"{tag}-{n:02d}" for n in range(count)]
    for name in names:
        rds.create_db_instance(
            DBInstanceIdentifier=name,
            Engine="postgres",
            DBInstanceClass="db.t3.micro",
            MasterUsername="admin",
            MasterUserPassword="not-a-real-password",
            AllocatedStorage=20,
            Tags=[{"Key": "env", "Value": tag}],
        )
    world.aws.reset_counts()
    return names


def statuses(world: OfflineWorld, names: list[str]) -> dict[str, str]:
    rds = world.aws.customer_session(CUSTOMER_ACCOUNT, "us-east-1").client("rds")
    found = rds.describe_db_instances()["DBInstances"]
    return {
        i["DBInstanceIdentifier"]: i["DBInstanceStatus"]
        for i in found
        if i["DBInstanceIdentifier"] in names
    }


def stop_calls(world: OfflineWorld) -> int:
    return world.aws.calls[(CUSTOMER_ACCOUNT, "StopDBInstance")]


def scheduled_stops(storage: Storage) -> Counter[tuple[str, OutcomeKind]]:
    """Audit entries of scheduled stops, per (identifier, outcome)."""
    return Counter(
        (entry.instance.rsplit("/", 1)[1], entry.outcome)
        for entry in storage.history("T1", "C1", limit=1000)
        if entry.actor == "schedule" and entry.action is Action.STOP
    )


def assert_stopped_once_each(world: OfflineWorld, names: list[str]) -> None:
    """Each instance ends stopped, with one stop call and one audit entry apiece."""
    audit = scheduled_stops(storage_of(world))

    assert set(statuses(world, names).values()) == {"stopped"}
    # Every instance started out available and needed a call to stop: as many calls
    # as instances means one call each, none repeated.
    assert stop_calls(world) == len(names)
    assert sorted(name for name, _kind in audit) == sorted(names)
    assert {kind for _name, kind in audit} <= DONE_WELL
    assert sum(audit.values()) == len(names)


def child(
    world: OfflineWorld, *arguments: str, log: Path, own_group: bool = False
) -> subprocess.Popen[bytes]:
    """Start `tests/scheduler_child.py` against the world's stand-ins.

    `own_group` puts it in a process group of its own, as a service manager does.
    """
    environment = {
        **os.environ,
        "SNOOZEDB_TEST_SLACK_API_URL": world.slack.base_url,
        "PYTHONPATH": str(REPO),
    }
    with log.open("wb") as output:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "tests.scheduler_child", *arguments],
            cwd=REPO,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=own_group,
        )


def wait_until(
    condition: Callable[[], bool],
    what: str,
    process: subprocess.Popen[bytes] | None = None,
    limit: float = 120.0,
) -> None:
    """Poll `condition` every 50 ms: a guard against hanging, not a clock to wait on."""
    poll = threading.Event()
    deadline = time.monotonic() + limit
    while not condition():
        if process is not None:
            assert process.poll() is None, f"the scheduler exited before {what}"
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        poll.wait(0.05)


def scheduled_messages(world: OfflineWorld) -> list[str]:
    return [text for text in channel(world) if text.startswith("Scheduled run")]


# --- SIGKILL -----------------------------------------------------------------------


def test_a_run_killed_midway_is_finished_once_after_the_lease(
    world: OfflineWorld, sqlite_url: str, tmp_path: Path
):
    """kill -9 after 10 of 30 stops: the rest happen after the lease, none twice."""
    names = add_fleet(world, 30)
    storage_of(world).assign_schedule("T1", "C1", "tag:env=fleet", OFFICE_UTC, "U1")
    world.aws.latency_seconds = SLOW_AWS
    log = tmp_path / "killed.log"
    process = child(world, "forever", sqlite_url, MONDAY_2000.isoformat(), log=log)

    wait_until(lambda: stop_calls(world) >= 10, "10 stop calls", process)
    process.kill()
    process.wait()
    world.aws.latency_seconds = 0
    # Calls the dead process had in flight still land in the stand-in: let them.
    wait_until(lambda: world.aws.in_flight == 0, "the calls in flight at the kill")
    calls_at_kill = stop_calls(world)
    half_done = statuses(world, names)
    unsettled = storage_of(world).open_claims()
    posted_by_the_killed_run = scheduled_messages(world)
    within_lease = run(
        world,
        MONDAY_2000 + timedelta(minutes=1),
        since=MONDAY_2000 - timedelta(minutes=1),
    )
    calls_within_lease = stop_calls(world)
    after_lease = run(world, MONDAY_2000 + CLAIM_LEASE + timedelta(minutes=1))

    assert process.returncode == -signal.SIGKILL
    assert 10 <= list(half_done.values()).count("stopped") < len(names)
    assert len(unsettled) == 1
    assert posted_by_the_killed_run == []  # its message is settled with its claims
    assert within_lease.outcomes == []  # the lease still belonged to the dead run
    assert calls_within_lease == calls_at_kill
    assert len(after_lease.outcomes) == len(names)
    assert_stopped_once_each(world, names)
    assert storage_of(world).open_claims() == []
    posted = scheduled_messages(world)
    assert len(posted) == 1
    assert all(f"`{name}` (us-east-1)" in posted[0] for name in names)


# --- SIGTERM -----------------------------------------------------------------------


def test_sigterm_mid_run_finishes_the_account_settles_and_exits_0(
    world: OfflineWorld, sqlite_url: str, tmp_path: Path
):
    names = add_fleet(world, 12)
    storage_of(world).assign_schedule("T1", "C1", "tag:env=fleet", OFFICE_UTC, "U1")
    world.aws.latency_seconds = SLOW_AWS
    log = tmp_path / "terminated.log"
    process = child(world, "forever", sqlite_url, MONDAY_2000.isoformat(), log=log)

    wait_until(lambda: stop_calls(world) >= 3, "3 stop calls", process)
    process.send_signal(signal.SIGTERM)
    status = process.wait(timeout=120)

    assert status == 0, log.read_text()
    assert storage_of(world).open_claims() == []
    assert_stopped_once_each(world, names)
    assert len(scheduled_messages(world)) == 1
    assert "scheduler stopped" in log.read_text()


# --- PostgreSQL restarted under load ---------------------------------------------


@pytest.mark.postgres
def test_postgres_restarted_mid_run_loses_and_doubles_nothing(
    isolated_aws: None,
    throwaway_postgres: ThrowawayPostgres,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
):
    """The pool's pre-ping replaces connections the restart cut; claims survive it."""
    world = open_world(throwaway_postgres.url)
    try:
        names = add_fleet(world, 8)
        storage_of(world).assign_schedule("T1", "C1", "tag:env=fleet", OFFICE_UTC, "U1")
        world.aws.latency_seconds = SLOW_AWS
        evening: list[Any] = []

        def run_through_the_restart() -> None:
            try:
                evening.append(run(world, MONDAY_2000))
            except OperationalError as error:  # the run may die on the restart
                evening.append(error)

        running = threading.Thread(target=run_through_the_restart)
        running.start()
        wait_until(lambda: stop_calls(world) >= 2, "2 stop calls")
        throwaway_postgres.restart()
        running.join()
        world.aws.latency_seconds = 0
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            # Whether the run settled after the restart or died on it, this run
            # past the lease leaves every claim settled.
            run(world, MONDAY_2000 + CLAIM_LEASE + timedelta(minutes=1))
            again = run(world, MONDAY_2000)

        assert_stopped_once_each(world, names)
        assert again.outcomes == []
        assert storage_of(world).open_claims() == []

        with caplog.at_level(logging.WARNING):
            morning = run(world, TUESDAY_0800)
            assert world.requests is not None
            status, _reply = world.requests.command("status")

        assert {o.kind for o in morning.outcomes} == {OutcomeKind.STARTED}
        assert world.aws.calls[(CUSTOMER_ACCOUNT, "StartDBInstance")] == len(names)
        assert status == 200
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert errors == []
    finally:
        world.__exit__(None, None, None)


# --- SQLite shared by two processes -----------------------------------------------


def test_two_processes_on_one_sqlite_file_do_each_transition_once(
    world: OfflineWorld, sqlite_url: str, tmp_path: Path
):
    """24 schedules due at once, raced by two processes released together."""
    names = add_fleet(world, 24)
    for name in names:
        storage_of(world).assign_schedule("T1", "C1", name, OFFICE_UTC, "U1")
    world.aws.latency_seconds = 0.05
    go = tmp_path / "go"
    logs = [tmp_path / f"replica-{n}.log" for n in range(2)]
    processes = [
        child(
            world,
            "once",
            sqlite_url,
            MONDAY_2000.isoformat(),
            f"replica-{n}",
            str(go),
            log=logs[n],
        )
        for n in range(2)
    ]

    go.touch()
    statuses_ = [p.wait(timeout=120) for p in processes]
    texts = [log.read_text() for log in logs]
    printed = [text.strip().splitlines()[-1].split() for text in texts]

    assert statuses_ == [0, 0], texts
    assert all("database is locked" not in text for text in texts)
    assert [unfinished for _outcomes, unfinished in printed] == ["0", "0"]
    assert sum(int(outcomes) for outcomes, _unfinished in printed) == len(names)
    assert_stopped_once_each(world, names)
    posted = "\n".join(scheduled_messages(world))
    assert all(posted.count(f"`{name}` (us-east-1)") == 1 for name in names)
    assert storage_of(world).open_claims() == []
