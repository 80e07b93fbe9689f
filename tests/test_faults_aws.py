"""AWS faults end to end: each one, injected while the real bot runs, ends as a sentence.

Signed `/snooze` commands go into the real app and scheduled runs go through the real
scheduler; AWS is the stand-in, which answers with the fault (an error answer, a slow
or closed endpoint, an instance deleted in the middle of the work). Each test reads
what the channel sees, then runs the next command or run to show the bot still works.

botocore's retry pauses are recorded instead of slept (`botocore_waits`) and capacity
retries run on an injected clock, so no test waits for a clock.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import botocore.endpoint
import pytest

from bot import messages
from bot.aws_bridge import MAX_ATTEMPTS, AwsBridge
from bot.demo import BOT_TOKEN, CUSTOMER_ACCOUNT, OfflineWorld
from bot.domain import Account
from bot.scheduler import Poster, run_due, scheduler_operations
from bot.server import Runtime
from bot.slack_app import web_client
from bot.standins.slack import render

ROLE_NAME = "SnoozeDBAccess"
OFFICE_UTC = "mon-fri 08:00-20:00 tz UTC"
MONDAY_2000 = datetime(2026, 3, 30, 20, 0, tzinfo=UTC)
TUESDAY_2000 = MONDAY_2000 + timedelta(days=1)


# --- the running bot -----------------------------------------------------------------


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OfflineWorld]:
    """The real bot with the sample account connected to T1/C1 and counts reset."""
    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv(
        "AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials")
    )
    with OfflineWorld(f"sqlite:///{tmp_path / 'bot.sqlite3'}") as offline:
        offline.seed_sample_account()
        _connect(offline)
        offline.aws.reset_counts()
        yield offline


@pytest.fixture
def botocore_waits(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """The pauses botocore's retry mode asks for, recorded instead of slept.

    botocore sleeps between retries in `botocore.endpoint` (and only there); the
    tests check that the retries happen, not that the clock moves.
    """
    waits: list[float] = []
    monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=waits.append))
    yield waits


class FakeClock:
    """A monotonic clock that moves only when the bridge sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.pauses: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds


def say(world: OfflineWorld, line: str) -> str:
    """Type a /snooze line in T1/C1; return everything the user reads afterwards."""
    assert world.requests is not None
    before = len(world.slack.responses)
    status, _ = world.requests.command(line)
    assert status == 200
    world.settle()
    later = [posted.body for posted in world.slack.responses[before:]]
    text = "\n".join(render(posted) for posted in later)
    assert messages.INTERNAL_ERROR not in text
    assert "Traceback" not in text
    return text


def _connect(world: OfflineWorld) -> None:
    say(world, "connect")
    pending = _runtime(world).storage.pending("T1", "C1")
    assert pending is not None
    role_arn = world.aws.deploy_role_stack(
        CUSTOMER_ACCOUNT,
        pending.external_id,
        world.own_account_id,
        stack_name=ROLE_NAME,
    )
    assert "connected AWS account" in say(world, f"connect {role_arn}")


def _runtime(world: OfflineWorld) -> Runtime:
    assert world.runtime is not None
    return world.runtime


def account(world: OfflineWorld) -> Account:
    [connected] = _runtime(world).storage.accounts("T1", "C1")
    return connected


def use_bridge(world: OfflineWorld, **options: Any) -> AwsBridge:
    """Give the running bot a bridge built with `options`; return the one it had."""
    operations = _runtime(world).context.operations
    previous = operations.bridge
    operations.bridge = AwsBridge(
        regions=world.regions, own_account_id=world.own_account_id, **options
    )
    return previous


def restore_bridge(world: OfflineWorld, bridge: AwsBridge) -> None:
    _runtime(world).context.operations.bridge = bridge


def closed_port_url() -> str:
    """An address on this machine where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def calls(world: OfflineWorld, action: str) -> int:
    return world.aws.calls[(CUSTOMER_ACCOUNT, action)]


def stop_qa_db_says(world: OfflineWorld, expected: str) -> None:
    """The check every test ends with: the next command works normally."""
    assert expected in say(world, "stop qa-db")


# --- throttling ----------------------------------------------------------------------


def test_throttled_listing_is_retried_and_status_lists_the_databases(
    world: OfflineWorld, botocore_waits: list[float]
) -> None:
    world.aws.fail_next(
        "DescribeDBInstances",
        "Throttling",
        2,
        account_id=CUSTOMER_ACCOUNT,
        region="us-east-1",
    )

    shown = say(world, "status")

    assert "`qa-db` us-east-1 · mysql" in shown
    assert "throttling" not in shown
    describes = world.aws.calls_by_region[
        (CUSTOMER_ACCOUNT, "us-east-1", "DescribeDBInstances")
    ]
    assert describes == 3
    assert len(botocore_waits) == 2


def test_throttled_stop_is_retried_and_stops(
    world: OfflineWorld, botocore_waits: list[float]
) -> None:
    world.aws.fail_next("StopDBInstance", "Throttling", 2)

    shown = say(world, "stop qa-db")

    assert "`qa-db` (us-east-1): stopping now." in shown
    assert calls(world, "StopDBInstance") == 3
    assert len(botocore_waits) == 2


def test_stop_throttled_beyond_the_retries_says_aws_is_throttling(
    world: OfflineWorld, botocore_waits: list[float]
) -> None:
    world.aws.fail_next("StopDBInstance", "Throttling", MAX_ATTEMPTS)

    shown = say(world, "stop qa-db")

    assert "`qa-db` (us-east-1): not stopped: AWS is throttling" in shown
    assert "(Throttling)" in shown and "try again in a few minutes" in shown
    assert "Rate exceeded" not in shown
    assert calls(world, "StopDBInstance") == MAX_ATTEMPTS
    stop_qa_db_says(world, "`qa-db` (us-east-1): stopping now.")


def test_listing_throttled_beyond_the_retries_says_aws_is_throttling(
    world: OfflineWorld, botocore_waits: list[float]
) -> None:
    world.aws.fail_next(
        "DescribeDBInstances", "Throttling", MAX_ATTEMPTS, region="us-east-1"
    )

    shown = say(world, "status")

    assert "AWS is throttling SnoozeDB's calls (Throttling)" in shown
    assert "listing the databases of account 111122223333 in us-east-1" in shown
    assert "try again in a few minutes" in shown
    assert "`qa-db` us-east-1" in say(world, "status")


# --- timeouts and the endpoint down --------------------------------------------------


def test_stop_while_aws_is_down_says_aws_did_not_answer(
    world: OfflineWorld, botocore_waits: list[float]
) -> None:
    role_arn = account(world).role_arn
    working = use_bridge(world, endpoint_url=closed_port_url())

    shown = say(world, "stop qa-db")

    assert (
        f"AWS did not answer while SnoozeDB was assuming the role `{role_arn}`" in shown
    )
    assert "Nothing was changed; try again in a few minutes." in shown
    assert len(botocore_waits) == MAX_ATTEMPTS - 1
    assert calls(world, "StopDBInstance") == 0
    assert account(world).attention == ""
    restore_bridge(world, working)
    stop_qa_db_says(world, "`qa-db` (us-east-1): stopping now.")


def test_aws_too_slow_to_answer_says_aws_did_not_answer_within_the_timeouts(
    world: OfflineWorld, botocore_waits: list[float]
) -> None:
    use_bridge(world, connect_timeout=0.2, read_timeout=0.2)
    world.aws.latency_seconds = 0.5
    started = time.monotonic()

    shown = say(world, "status")

    assert "AWS did not answer while SnoozeDB was assuming the role" in shown
    assert time.monotonic() - started < MAX_ATTEMPTS * 0.2 + 3
    world.aws.latency_seconds = 0
    assert "`qa-db` us-east-1" in say(world, "status")


def test_stop_whose_answer_never_comes_says_so_and_the_next_stop_sees_it_stopped(
    world: OfflineWorld, botocore_waits: list[float]
) -> None:
    """AWS slows down just as the stop is sent: it acts, but the answer is lost."""
    slow = [True]

    def slow_down_the_stop(**_: Any) -> None:
        world.aws.latency_seconds = 0.5 if slow[0] else 0.0

    session = boto3.Session()
    session.events.register("before-send.rds.StopDBInstance", slow_down_the_stop)
    use_bridge(world, session=session, connect_timeout=0.2, read_timeout=0.2)

    shown = say(world, "stop qa-db")
    slow[0] = False
    world.aws.latency_seconds = 0.0

    assert "`qa-db` (us-east-1): AWS did not answer, even after retrying" in shown
    assert "cannot tell whether the stop went through" in shown
    assert len(botocore_waits) == MAX_ATTEMPTS - 1
    stop_qa_db_says(world, "`qa-db` (us-east-1): already stopped, nothing to do.")


# --- the role refused mid-run --------------------------------------------------------


def test_role_deleted_between_two_runs_is_announced_and_redeploying_restores_it(
    world: OfflineWorld,
) -> None:
    """R5, then the way back: the same stack deployed again makes stop work."""
    connected = account(world)
    cloudformation = world.aws.customer_session(CUSTOMER_ACCOUNT).client(
        "cloudformation"
    )
    assert "`qa-db` us-east-1" in say(world, "status")
    cloudformation.delete_stack(StackName=ROLE_NAME)

    shown = say(world, "stop qa-db")

    assert f"could not assume `{connected.role_arn}`" in shown
    assert "redeploy" in shown
    assert account(world).attention == "AccessDenied"
    assert calls(world, "StopDBInstance") == 0
    world.aws.deploy_role_stack(
        CUSTOMER_ACCOUNT,
        connected.external_id,
        world.own_account_id,
        stack_name=ROLE_NAME,
    )
    stop_qa_db_says(world, "`qa-db` (us-east-1): stopping now.")
    assert account(world).attention == ""


def test_stop_denied_by_the_role_policy_names_the_permission_and_the_fix(
    world: OfflineWorld,
) -> None:
    """The customer edited the role's policy: AssumeRole works, StopDBInstance not."""
    role_arn = account(world).role_arn
    world.aws.fail_next(
        "StopDBInstance",
        "AccessDenied",
        status=403,
        message=f"User: {role_arn} is not authorized to perform: rds:StopDBInstance",
    )

    shown = say(world, "stop qa-db")

    assert (
        f"`qa-db` (us-east-1): not stopped: AWS denied the SnoozeDB role `{role_arn}` "
        "rds:StopDBInstance." in shown
    )
    assert "`/snooze connect`" in shown and "redeploy the stack" in shown
    assert "is not authorized" not in shown
    stop_qa_db_says(world, "`qa-db` (us-east-1): stopping now.")


# --- the instance gone, no capacity, anything else -----------------------------------


def test_instance_deleted_between_list_and_stop_no_longer_exists(
    world: OfflineWorld,
) -> None:
    """The customer deletes it while SnoozeDB is about to stop it."""
    rds = world.aws.customer_session(CUSTOMER_ACCOUNT).client("rds")

    def delete_it_first(**_: Any) -> None:
        rds.delete_db_instance(DBInstanceIdentifier="qa-db", SkipFinalSnapshot=True)

    session = boto3.Session()
    session.events.register("before-send.rds.StopDBInstance", delete_it_first)
    use_bridge(world, session=session)

    shown = say(world, "stop qa-db")

    assert "`qa-db` (us-east-1): it no longer exists in this account" in shown
    assert calls(world, "StopDBInstance") == 1
    stop_qa_db_says(world, "No database called `qa-db`")
    assert "`staging-db` us-east-1" in say(world, "status")


def test_start_without_capacity_succeeds_on_the_third_try(world: OfflineWorld) -> None:
    say(world, "stop qa-db")
    clock = FakeClock()
    use_bridge(world, sleep=clock.sleep, clock=clock)
    world.aws.fail_next("StartDBInstance", "InsufficientDBInstanceCapacity", 2)

    shown = say(world, "start qa-db")

    assert "`qa-db` (us-east-1): starting now." in shown
    assert "capacity" not in shown
    assert calls(world, "StartDBInstance") == 3
    assert clock.pauses == [30.0, 60.0]


def test_start_without_capacity_gives_up_after_ten_minutes_naming_the_problem(
    world: OfflineWorld,
) -> None:
    say(world, "stop qa-db")
    clock = FakeClock()
    use_bridge(world, sleep=clock.sleep, clock=clock)
    tries = 8  # at 0, 30, 90, 210, 330, 450, 570 and 600 seconds
    world.aws.fail_next("StartDBInstance", "InsufficientDBInstanceCapacity", tries)

    shown = say(world, "start qa-db")

    assert (
        "`qa-db` (us-east-1): not started: AWS has no capacity for db.t3.micro" in shown
    )
    assert "InsufficientDBInstanceCapacity" in shown
    assert "another instance class or availability zone" in shown
    assert calls(world, "StartDBInstance") == tries
    assert sum(clock.pauses) == timedelta(minutes=10).total_seconds()
    assert "`qa-db` (us-east-1): starting now." in say(world, "start qa-db")


def test_unknown_aws_error_shows_its_code_never_its_text(world: OfflineWorld) -> None:
    world.aws.fail_next(
        "StopDBInstance", "BrandNewFault", message="internal text not for users"
    )

    shown = say(world, "stop qa-db")

    assert "`qa-db` (us-east-1): AWS refused to stop it (BrandNewFault)." in shown
    assert "internal text" not in shown
    stop_qa_db_says(world, "`qa-db` (us-east-1): stopping now.")


# --- scheduled runs ------------------------------------------------------------------


def run(world: OfflineWorld, now: datetime) -> None:
    """One scheduler run over the minute before `now`, as the engine makes it."""
    runtime = _runtime(world)
    poster = Poster(
        runtime.storage,
        web_client(BOT_TOKEN, world.slack.base_url),
        pause=lambda _seconds: None,
    )
    run_due(
        runtime.storage,
        scheduler_operations(runtime.context.operations),
        poster,
        now,
        since=now - timedelta(minutes=1),
    )


def channel(world: OfflineWorld) -> list[str]:
    return [render(params) for params in world.slack.messages("C1")]


def test_scheduled_stop_throttled_beyond_the_retries_is_reported_and_next_run_works(
    world: OfflineWorld, botocore_waits: list[float]
) -> None:
    _runtime(world).storage.assign_schedule("T1", "C1", "qa-db", OFFICE_UTC, "U1")
    world.aws.fail_next("StopDBInstance", "Throttling", MAX_ATTEMPTS)

    run(world, MONDAY_2000 + timedelta(seconds=5))
    run(world, TUESDAY_2000 + timedelta(seconds=5))

    first, second = channel(world)
    assert "`qa-db` (us-east-1): not stopped: AWS is throttling" in first
    assert "`qa-db` (us-east-1): stopping now." in second
    assert calls(world, "StopDBInstance") == MAX_ATTEMPTS + 1


def test_scheduled_run_with_aws_down_leaves_the_next_run_working(
    world: OfflineWorld, botocore_waits: list[float]
) -> None:
    _runtime(world).storage.assign_schedule("T1", "C1", "qa-db", OFFICE_UTC, "U1")
    working = use_bridge(world, endpoint_url=closed_port_url())

    run(world, MONDAY_2000 + timedelta(seconds=5))
    restore_bridge(world, working)
    run(world, TUESDAY_2000 + timedelta(seconds=5))

    assert "`qa-db` (us-east-1): stopping now." in channel(world)[-1]
    assert calls(world, "StopDBInstance") == 1
    assert account(world).attention == ""


def test_scheduled_run_with_aws_down_is_reported_in_the_channel(
    world: OfflineWorld, botocore_waits: list[float]
) -> None:
    _runtime(world).storage.assign_schedule("T1", "C1", "qa-db", OFFICE_UTC, "U1")
    use_bridge(world, endpoint_url=closed_port_url())

    run(world, MONDAY_2000 + timedelta(seconds=5))

    [posted] = channel(world)
    assert "could not reach AWS account 111122223333" in posted
    assert "AWS did not answer" in posted


def test_aws_down_for_several_runs_is_said_once_and_the_missed_stop_made_after(
    world: OfflineWorld, botocore_waits: list[float]
) -> None:
    """The outage is announced once; Monday's stop is made when AWS answers again."""
    _runtime(world).storage.assign_schedule("T1", "C1", "qa-db", OFFICE_UTC, "U1")
    working = use_bridge(world, endpoint_url=closed_port_url())

    run(world, MONDAY_2000 + timedelta(seconds=5))
    run(world, MONDAY_2000 + timedelta(minutes=1, seconds=5))
    restore_bridge(world, working)
    run(world, MONDAY_2000 + timedelta(minutes=2, seconds=5))
    run(world, MONDAY_2000 + timedelta(minutes=3, seconds=5))

    announced, done = channel(world)
    assert "could not reach AWS account 111122223333" in announced
    assert "says this once per outage" in announced
    assert "`qa-db` (us-east-1): stopping now." in done
    assert calls(world, "StopDBInstance") == 1
    assert account(world).unreachable_since is None
    assert account(world).attention == ""


def test_missed_stop_whose_window_reopened_during_the_outage_is_not_made(
    world: OfflineWorld, botocore_waits: list[float]
) -> None:
    """AWS is back only on Tuesday at 08:01: the database should run by then."""
    _runtime(world).storage.assign_schedule("T1", "C1", "qa-db", OFFICE_UTC, "U1")
    working = use_bridge(world, endpoint_url=closed_port_url())

    run(world, MONDAY_2000 + timedelta(seconds=5))
    restore_bridge(world, working)
    run(world, MONDAY_2000 + timedelta(hours=12, minutes=1, seconds=5))

    announced, caught_up = channel(world)
    assert "could not reach AWS account 111122223333" in announced
    assert "`qa-db` (us-east-1): already running" in caught_up
    assert calls(world, "StopDBInstance") == 0
    assert account(world).unreachable_since is None


def test_scheduled_stop_denied_by_the_role_policy_flags_the_account_once(
    world: OfflineWorld,
) -> None:
    """The customer edited the role's policy: each run says so, the flag is said once."""
    _runtime(world).storage.assign_schedule("T1", "C1", "qa-db", OFFICE_UTC, "U1")
    world.aws.fail_next("StopDBInstance", "AccessDenied", 2, status=403)

    run(world, MONDAY_2000 + timedelta(seconds=5))
    run(world, TUESDAY_2000 + timedelta(seconds=5))
    flagged = account(world).attention
    run(world, TUESDAY_2000 + timedelta(days=1, seconds=5))

    first, second, third = channel(world)
    assert "AWS denied the SnoozeDB role" in first
    assert "needs attention: AWS denied its SnoozeDB role rds:StopDBInstance" in first
    assert "AWS denied the SnoozeDB role" in second
    assert "needs attention" not in second
    assert "`qa-db` (us-east-1): stopping now." in third
    assert flagged == "rds:StopDBInstance"
    assert account(world).attention == ""


def test_manual_stop_denied_by_the_role_policy_marks_the_account_until_one_works(
    world: OfflineWorld,
) -> None:
    world.aws.fail_next("StopDBInstance", "AccessDenied", status=403)

    say(world, "stop qa-db")
    flagged = account(world)
    say(world, "status")
    still = account(world).attention

    assert flagged.attention == "rds:StopDBInstance"
    assert flagged.status.value == "needs_attention"
    assert still == "rds:StopDBInstance"
    stop_qa_db_says(world, "`qa-db` (us-east-1): stopping now.")
    assert account(world).attention == ""


def test_scheduled_start_without_capacity_is_queued_and_made_on_a_later_run(
    world: OfflineWorld,
) -> None:
    """No capacity waits inside the run: the start is asked again a minute later."""
    say(world, "stop qa-db")
    _runtime(world).storage.assign_schedule("T1", "C1", "qa-db", OFFICE_UTC, "U1")
    clock = FakeClock()
    use_bridge(world, sleep=clock.sleep, clock=clock)
    world.aws.fail_next("StartDBInstance", "InsufficientDBInstanceCapacity", 2)
    tuesday_0800 = TUESDAY_2000 - timedelta(hours=12)

    for minute in range(3):
        run(world, tuesday_0800 + timedelta(minutes=minute, seconds=5))

    waiting, started = channel(world)
    assert "`qa-db` (us-east-1): not started yet: AWS has no capacity" in waiting
    assert "tries again every minute until 2026-03-31 08:30 UTC" in waiting
    assert "`qa-db` (us-east-1): starting now." in started
    assert "tried again after no capacity" in started
    assert calls(world, "StartDBInstance") == 3
    assert clock.pauses == []


def test_scheduled_start_without_capacity_until_the_deadline_is_reported_once(
    world: OfflineWorld,
) -> None:
    say(world, "stop qa-db")
    _runtime(world).storage.assign_schedule("T1", "C1", "qa-db", OFFICE_UTC, "U1")
    world.aws.fail_next("StartDBInstance", "InsufficientDBInstanceCapacity", 4)
    tuesday_0800 = TUESDAY_2000 - timedelta(hours=12)

    for minutes in (0, 10, 20, 30, 31):
        run(world, tuesday_0800 + timedelta(minutes=minutes, seconds=5))

    waiting, gave_up = channel(world)
    assert "not started yet: AWS has no capacity for db.t3.micro" in waiting
    assert "`qa-db` (us-east-1): not started: AWS has no capacity for db.t3.micro" in (
        gave_up
    )
    assert "still had none when SnoozeDB stopped retrying" in gave_up
    assert "(no capacity for 30 minutes)" in gave_up
    assert calls(world, "StartDBInstance") == 4
    assert "`qa-db` (us-east-1): starting now." in say(world, "start qa-db")
