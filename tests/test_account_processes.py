"""A scheduled run spread over worker processes acts once per instance and tells each channel.

The workers are real processes (started with `spawn`) with their own database
connections, AWS bridge and Slack poster; they reach the AWS and Slack stand-ins over
HTTP, as the parent does.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.account_processes import AccountProcesses, WorkerSetup, channel_groups
from bot.config import Settings
from bot.demo import BOT_TOKEN, OfflineWorld
from bot.domain import Account, AccountStatus
from bot.scheduler import (
    ACCOUNT_WORKERS,
    Engine,
    Poster,
    RunReport,
    engine_for,
    run_due,
)
from bot.slack_app import web_client
from bot.storage import Storage
from tests.databases import postgres_url  # noqa: F401
from tests.test_scheduler_faults import child, wait_until

# A Monday: the schedule's window ends at 20:00 UTC.
NOW = datetime(2026, 3, 30, 20, 0, 3, tzinfo=UTC)
SCHEDULE = "mon-fri 08:00-20:00 tz UTC"
REGION = "us-east-1"
# Account -> channel; C1 holds two accounts, which must share one worker.
ACCOUNTS = {
    "210000000001": "C1",
    "210000000002": "C1",
    "210000000003": "C2",
    "210000000004": "C3",
}
INSTANCES = 3


def fleet(
    world: OfflineWorld,
    accounts: dict[str, str] = ACCOUNTS,
    instances: int = INSTANCES,
) -> None:
    """Connect each account to its channel and give it instances tagged env=dev."""
    assert world.runtime is not None
    storage = world.runtime.storage
    for account_id, channel_id in accounts.items():
        pending, _ = storage.pending_account("T1", channel_id, "U1")
        role_arn = world.aws.deploy_role_stack(
            account_id, pending.external_id, world.own_account_id
        )
        storage.activate(pending.id, role_arn, account_id, [REGION])
        rds = world.aws.customer_session(account_id, REGION).client("rds")
        for n in range(instances):
            rds.create_db_instance(
                DBInstanceIdentifier=f"db-{n}",
                Engine="postgres",
                DBInstanceClass="db.t3.micro",
                MasterUsername="admin",
                MasterUserPassword="not-a-real-password",
                AllocatedStorage=20,
                Tags=[{"Key": "env", "Value": "dev"}],
            )
    for channel_id in set(accounts.values()):
        storage.assign_schedule("T1", channel_id, "tag:env=dev", SCHEDULE, "U1")
    world.aws.reset_counts()


def open_world(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv(
        "AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials")
    )
    return OfflineWorld(database_url, regions=(REGION,))


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OfflineWorld]:
    url = f"sqlite:///{tmp_path / 'snoozedb.sqlite3'}"
    with open_world(url, tmp_path, monkeypatch) as offline:
        fleet(offline)
        yield offline


@pytest.fixture
def processes(world: OfflineWorld) -> Iterator[AccountProcesses]:
    """Two workers, started after the world's environment names the stand-ins."""
    pool = AccountProcesses(setup_of(world), 2)
    pool.warm_up()
    yield pool
    pool.close()


def setup_of(world: OfflineWorld) -> WorkerSetup:
    return WorkerSetup(
        database_url=world.database_url,
        regions=(REGION,),
        own_account_id=world.own_account_id,
        slack_bot_token=BOT_TOKEN,
        slack_api_url=world.slack.base_url,
    )


def run(
    world: OfflineWorld,
    processes: AccountProcesses | None,
    now: datetime = NOW,
    workers: int = ACCOUNT_WORKERS,
) -> RunReport:
    """A run over the minute before NOW, `workers` accounts at a time per process."""
    assert world.runtime is not None
    storage = world.runtime.storage
    poster = Poster(
        storage, web_client(BOT_TOKEN, world.slack.base_url), pause=lambda _s: None
    )
    return run_due(
        storage,
        world.runtime.context.operations,
        poster,
        now,
        since=NOW - timedelta(minutes=1),
        workers=workers,
        processes=processes,
    )


def stop_calls(world: OfflineWorld) -> dict[str, int]:
    return {a: world.aws.calls[(a, "StopDBInstance")] for a in ACCOUNTS}


def account(number: int, channel_id: str) -> Account:
    return Account(
        id=number,
        team_id="T1",
        channel_id=channel_id,
        aws_account_id=f"{number:012d}",
        role_arn=f"arn:aws:iam::{number:012d}:role/SnoozeDBAccess",
        external_id="x",
        regions=(REGION,),
        status=AccountStatus.ACTIVE,
    )


def test_channel_groups_keep_a_channel_together_and_balance_the_rest():
    accounts = [
        account(1, "C1"),
        account(2, "C1"),
        account(3, "C1"),
        account(4, "C2"),
        account(5, "C3"),
        account(6, "C4"),
    ]

    groups = channel_groups(accounts, 2)

    assert sorted(len(group) for group in groups) == [3, 3]
    c1 = [g for g in groups if any(a.channel_id == "C1" for a in g)]
    assert len(c1) == 1
    assert {a.id for a in c1[0] if a.channel_id == "C1"} == {1, 2, 3}


def test_channel_groups_never_gives_an_empty_group():
    groups = channel_groups([account(1, "C1"), account(2, "C1")], 4)

    assert [[a.id for a in group] for group in groups] == [[1, 2]]


def test_two_worker_processes_stop_every_instance_once_and_tell_each_channel(
    world: OfflineWorld, processes: AccountProcesses
):
    report = run(world, processes)
    again = run(world, processes)

    assert stop_calls(world) == dict.fromkeys(ACCOUNTS, INSTANCES)
    assert len(report.outcomes) == len(ACCOUNTS) * INSTANCES
    assert report.unfinished == 0
    assert again.outcomes == []
    assert len(world.slack.messages("C1")) == 2
    assert len(world.slack.messages("C2")) == 1
    assert len(world.slack.messages("C3")) == 1
    text = world.slack.messages("C2")[0]["text"]
    assert "`db-0` (us-east-1): stopping now." in text


def test_a_run_after_the_stop_flag_leaves_every_account_for_the_next_process(
    world: OfflineWorld, processes: AccountProcesses
):
    """As on SIGTERM: nothing is started, and the stored mark stays put."""
    assert world.runtime is not None
    processes.stop()

    report = run(world, processes)
    taken_over = run(world, None)

    assert report.unfinished == len(ACCOUNTS)
    assert report.outcomes == []
    assert len(taken_over.outcomes) == len(ACCOUNTS) * INSTANCES
    assert stop_calls(world) == dict.fromkeys(ACCOUNTS, INSTANCES)


def test_killed_workers_are_replaced_and_every_instance_is_still_stopped_once(
    world: OfflineWorld, processes: AccountProcesses
):
    """The pool learns of the deaths at the first run or during it; either way the
    accounts are done once, by new workers, within two runs."""
    for worker in multiprocessing.active_children():
        assert worker.pid is not None
        os.kill(worker.pid, signal.SIGKILL)
        worker.join()

    first = run(world, processes)
    second = run(world, processes)

    assert first.unfinished in (0, len(ACCOUNTS))
    assert len(first.outcomes) + len(second.outcomes) == len(ACCOUNTS) * INSTANCES
    assert second.unfinished == 0
    assert stop_calls(world) == dict.fromkeys(ACCOUNTS, INSTANCES)


def test_the_setup_sent_to_workers_never_shows_the_token_or_the_database_url():
    setup = WorkerSetup(
        database_url="postgresql+psycopg://snoozedb:hunter2@db/snoozedb",
        regions=(REGION,),
        own_account_id="123456789012",
        slack_bot_token="xoxb-not-to-be-shown",
        slack_api_url="https://slack.com/api/",
    )

    shown = repr(setup)

    assert "xoxb" not in shown
    assert "hunter2" not in shown


@pytest.mark.postgres
def test_worker_processes_on_postgresql_stop_every_instance_once(
    postgres_url: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    with open_world(postgres_url, tmp_path, monkeypatch) as world:
        fleet(world)
        processes = AccountProcesses(setup_of(world), 2)
        try:
            report = run(world, processes)
        finally:
            processes.close()
        storage = Storage(postgres_url)
        mark = storage.mark("last_run")
        storage.close()

    assert stop_calls(world) == dict.fromkeys(ACCOUNTS, INSTANCES)
    assert len(report.outcomes) == len(ACCOUNTS) * INSTANCES
    assert mark == NOW


def test_an_engine_set_to_two_processes_runs_through_them_and_ends_them(
    world: OfflineWorld,
):
    assert world.runtime is not None
    settings = Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret="unused",
        slack_api_url=world.slack.base_url,
        database_url=world.database_url,
        snoozedb_regions=(REGION,),
        snoozedb_aws_account_id=world.own_account_id,
        snoozedb_scheduler_processes=2,
    )
    engine = engine_for(
        settings,
        world.runtime.storage,
        world.runtime.context.operations,
        clock=lambda: NOW,
    )
    engine.last_tick = NOW - timedelta(minutes=1)

    report = engine.tick()
    engine.shutdown()

    assert report is not None
    assert len(report.outcomes) == len(ACCOUNTS) * INSTANCES
    assert stop_calls(world) == dict.fromkeys(ACCOUNTS, INSTANCES)
    assert multiprocessing.active_children() == []


def gone(pid: int) -> bool:
    """True once the process has exited (a zombie not yet reaped counts as exited)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "\nState:\tZ" in status


def test_workers_end_when_the_scheduler_process_is_killed_outright(
    world: OfflineWorld, tmp_path: Path
):
    """SIGKILL leaves no chance to stop them: each worker notices its parent is gone."""
    log = tmp_path / "child.log"
    scheduler = child(world, "workers", world.database_url, log=log)
    try:
        wait_until(lambda: log.read_text().strip() != "", "the worker ids", scheduler)
        workers = [int(pid) for pid in log.read_text().split()[:2]]
        scheduler.kill()
        scheduler.wait(timeout=60)

        wait_until(lambda: all(gone(pid) for pid in workers), "the workers to end")
    finally:
        if scheduler.poll() is None:
            scheduler.kill()

    assert len(workers) == 2


def test_workers_that_cannot_start_leave_the_engine_running_in_its_own_process(
    world: OfflineWorld,
):
    assert world.runtime is not None
    broken = replace(setup_of(world), database_url="not a database url")
    engine = Engine(
        world.runtime.storage,
        world.runtime.context.operations,
        Poster(
            world.runtime.storage,
            web_client(BOT_TOKEN, world.slack.base_url),
            pause=lambda _s: None,
        ),
        clock=lambda: NOW,
        processes=AccountProcesses(broken, 2),
    )
    engine.last_tick = NOW - timedelta(minutes=1)

    engine.start()  # its first run starts at once, on APScheduler's thread
    engine.tick()
    engine.shutdown()  # waits for that run

    assert engine.processes is None
    assert stop_calls(world) == dict.fromkeys(ACCOUNTS, INSTANCES)
    assert len(world.slack.messages("C1")) == 2


# Two channels of three accounts: a worker handles one channel's accounts in turn.
SLOW_ACCOUNTS = {f"22000000000{n}": "C1" if n <= 3 else "C2" for n in range(1, 7)}


def test_a_worker_killed_mid_run_leaves_no_account_done_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The other worker finishes the account it is on and stops before the next run
    takes its group over, so no instance gets a second StopDBInstance."""
    url = f"sqlite:///{tmp_path / 'snoozedb.sqlite3'}"
    with open_world(url, tmp_path, monkeypatch) as world:
        fleet(world, SLOW_ACCOUNTS, instances=2)
        world.aws.latency_seconds = 3.0
        processes = AccountProcesses(setup_of(world), 2)
        processes.warm_up()
        victim = min(w.pid for w in multiprocessing.active_children() if w.pid)
        killer = threading.Timer(4.0, os.kill, (victim, signal.SIGKILL))
        killer.start()
        try:
            first = run(world, processes, NOW, workers=1)
            second = run(world, processes, NOW + timedelta(seconds=30), workers=1)
        finally:
            killer.join()
            processes.close()
        stops = {a: world.aws.calls[(a, "StopDBInstance")] for a in SLOW_ACCOUNTS}
        posted = [m["text"] for c in ("C1", "C2") for m in world.slack.messages(c)]

    assert first.unfinished == len(SLOW_ACCOUNTS)
    assert second.unfinished == 0
    assert stops == dict.fromkeys(SLOW_ACCOUNTS, 2)
    headings = [text.splitlines()[0] for text in posted]
    assert sorted(headings) == sorted(set(headings))  # one message per account
    assert len(headings) == len(SLOW_ACCOUNTS)


def worker_pids(parent: int) -> list[int]:
    """The scheduler worker processes started by `parent` (Linux's /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == parent and b"spawn_main" in command:
            found.append(int(stat.parent.name))
    return sorted(found)


def test_a_scheduler_whose_worker_died_still_ends_on_sigterm(
    world: OfflineWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The pool ends the other worker itself; shutting down must not wait on it."""
    monkeypatch.setenv("SNOOZEDB_SCHEDULER_PROCESSES", "2")
    log = tmp_path / "scheduler.log"
    scheduler = child(world, "forever", world.database_url, NOW.isoformat(), log=log)
    try:
        wait_until(lambda: "scheduler run " in log.read_text(), "a run", scheduler)
        workers = worker_pids(scheduler.pid)
        os.kill(workers[0], signal.SIGKILL)
        wait_until(lambda: gone(workers[0]), "the killed worker to end", scheduler)
        scheduler.send_signal(signal.SIGTERM)
        code = scheduler.wait(timeout=60)
    finally:
        if scheduler.poll() is None:
            scheduler.kill()

    assert len(workers) == 2
    assert code == 0, log.read_text()
    assert "scheduler stopped" in log.read_text()
    assert all(gone(pid) for pid in workers)


def test_sigterm_to_every_process_mid_run_finishes_reports_and_exits_0(
    world: OfflineWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """What a service manager does on stop: the scheduler and its workers all get it."""
    monkeypatch.setenv("SNOOZEDB_SCHEDULER_PROCESSES", "2")
    world.aws.latency_seconds = 1.0
    log = tmp_path / "scheduler.log"
    scheduler = child(
        world, "forever", world.database_url, NOW.isoformat(), log=log, own_group=True
    )
    try:
        wait_until(
            lambda: sum(world.aws.calls.values()) > 0, "the first AWS call", scheduler
        )
        os.killpg(scheduler.pid, signal.SIGTERM)
        code = scheduler.wait(timeout=120)
    finally:
        if scheduler.poll() is None:
            os.killpg(scheduler.pid, signal.SIGKILL)
    said = log.read_text()
    assert world.runtime is not None
    storage = world.runtime.storage

    assert code == 0, said
    assert " ERROR " not in said
    assert sum(stop_calls(world).values()) <= len(ACCOUNTS) * INSTANCES
    assert max(stop_calls(world).values()) <= INSTANCES
    assert storage.open_claims() == []
    assert "scheduler stopped" in said
