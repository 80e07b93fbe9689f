"""Fleet benchmark: N accounts x M instances, all scheduled to stop at the same minute.

The AWS stand-in (moto's server with trust policies enforced) answers every call after
a delay (50 ms by default, as real AWS roughly does); Slack is the Slack stand-in. Each
account is connected to its own channel as a customer would (its own External ID and
role stack), its instances carry `env=dev`, and the channel schedules `tag:env=dev`
with `mon-fri 08:00-20:00 tz UTC`. One scheduler run at Monday 20:00:00 UTC stops them.

Printed, for the scheduler and for a naive loop (one AssumeRole per instance, one
instance at a time, in the same process): the time from the start of the run (the
transition instant) to the last StopDBInstance call, AWS calls per account
(AssumeRole, DescribeDBInstances), and peak memory (resident set size of the process;
with --tracemalloc, also Python allocations during the run).

Run: `.venv/bin/python benchmarks/fleet.py [--accounts 20] [--instances 10]`;
the issue's target is `--accounts 1000 --instances 20` within 60 s.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.aws_bridge import AwsBridge
from bot.operations import Operations
from bot.scheduler import Poster, run_due
from bot.slack_app import web_client
from bot.standins.aws import AwsStandIn
from bot.standins.slack import SlackStandIn
from bot.storage import Storage

REGION = "us-east-1"
SCHEDULE = "mon-fri 08:00-20:00 tz UTC"
TRANSITION = datetime(2026, 3, 30, 20, 0, tzinfo=UTC)
ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "snoozedb-bench",
    "AWS_SECRET_ACCESS_KEY": "snoozedb-bench",
    "AWS_DEFAULT_REGION": REGION,
}


class StopClock:
    """Records when the last StopDBInstance call reached the stand-in."""

    def __init__(self, aws: AwsStandIn) -> None:
        self.aws = aws
        self.last = 0.0
        self._lock = threading.Lock()
        self._seen = 0

    def poll(self) -> None:
        with self._lock:
            total = sum(
                n
                for (_, action), n in self.aws.calls.items()
                if action == "StopDBInstance"
            )
            if total != self._seen:
                self._seen = total
                self.last = time.monotonic()


def _watch(clock: StopClock, done: threading.Event) -> None:
    while not done.is_set():
        clock.poll()
        done.wait(0.005)
    clock.poll()


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def setup(
    aws: AwsStandIn, storage: Storage, accounts: int, instances: int
) -> list[str]:
    """Connect `accounts` customer accounts with `instances` instances each."""
    own = "123456789012"
    ids = []
    for n in range(accounts):
        account_id = f"{200000000000 + n}"
        channel = f"C{n:05d}"
        pending, _ = storage.pending_account("T1", channel, "U1")
        role_arn = aws.deploy_role_stack(account_id, pending.external_id, own)
        storage.activate(pending.id, role_arn, account_id, [REGION])
        rds = aws.customer_session(account_id, REGION).client("rds")
        for i in range(instances):
            rds.create_db_instance(
                DBInstanceIdentifier=f"db-{i:03d}",
                Engine="postgres",
                DBInstanceClass="db.t3.micro",
                MasterUsername="admin",
                MasterUserPassword="not-a-real-password",
                AllocatedStorage=20,
                Tags=[{"Key": "env", "Value": "dev"}],
            )
        storage.assign_schedule("T1", channel, "tag:env=dev", SCHEDULE, "U1")
        ids.append(account_id)
    return ids


def restart_all(aws: AwsStandIn, ids: list[str], instances: int) -> None:
    for account_id in ids:
        for i in range(instances):
            aws.set_instance_status(account_id, REGION, f"db-{i:03d}", "available")


def per_account(aws: AwsStandIn, ids: list[str]) -> dict[str, tuple[int, int]]:
    assumed = Counter(call.role_arn.split(":")[4] for call in aws.assume_role_calls)
    return {a: (assumed[a], aws.calls[(a, "DescribeDBInstances")]) for a in ids}


def summary(
    name: str,
    seconds: float,
    calls: dict[str, tuple[int, int]],
    stops: int,
    rss: float,
    traced: float | None,
) -> None:
    assume = [c[0] for c in calls.values()]
    describe = [c[1] for c in calls.values()]
    print(f"{name}:")
    print(f"  transition -> last StopDBInstance: {seconds:.2f} s ({stops} stops)")
    print(f"  AssumeRole per account: min {min(assume)} max {max(assume)}")
    print(f"  DescribeDBInstances per account: min {min(describe)} max {max(describe)}")
    print(f"  peak RSS of the process so far: {rss:.0f} MB")
    if traced is not None:
        print(f"  peak Python allocations during the run: {traced:.1f} MB")


def run_scheduler(
    aws: AwsStandIn, storage: Storage, slack: SlackStandIn, workers: int, traced: bool
) -> tuple[float, float | None]:
    operations = Operations(
        storage, AwsBridge(regions=[REGION], own_account_id="123456789012")
    )
    poster = Poster(storage, web_client("xoxb-bench", slack.base_url))
    clock = StopClock(aws)
    done = threading.Event()
    watcher = threading.Thread(target=_watch, args=(clock, done))
    watcher.start()
    if traced:
        tracemalloc.start()
    start = time.monotonic()
    since = TRANSITION.replace(hour=19, minute=59)
    run_due(storage, operations, poster, TRANSITION, since=since, workers=workers)
    peak = tracemalloc.get_traced_memory()[1] / 1e6 if traced else None
    if traced:
        tracemalloc.stop()
    done.set()
    watcher.join()
    return clock.last - start, peak


def run_naive(
    aws: AwsStandIn, storage: Storage, traced: bool
) -> tuple[float, float | None]:
    """One AssumeRole per instance, one instance at a time."""
    bridge = AwsBridge(regions=[REGION], own_account_id="123456789012")
    if traced:
        tracemalloc.start()
    start = time.monotonic()
    last = start
    for account in storage.all_active_accounts():
        names = [i.identifier for i in _list(bridge, account)]
        for name in names:
            with bridge.open(
                account.role_arn, account.external_id, "naive", "T1"
            ) as session:
                found = session.scan([REGION])
                instance = next(i for i in found.instances if i.identifier == name)
                session.act(instance, _stop())
                last = time.monotonic()
    peak = tracemalloc.get_traced_memory()[1] / 1e6 if traced else None
    if traced:
        tracemalloc.stop()
    return last - start, peak


def _list(bridge: AwsBridge, account: Any) -> list[Any]:
    with bridge.open(account.role_arn, account.external_id, "naive", "T1") as session:
        return list(session.scan([REGION]).instances)


def _stop() -> Any:
    from bot.domain import Action

    return Action.STOP


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--instances", type=int, default=10)
    parser.add_argument(
        "--latency", type=float, default=0.05, help="seconds per AWS call"
    )
    parser.add_argument("--workers", type=int, default=32, help="accounts at once")
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--skip-naive", action="store_true")
    options = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    os.environ.update(ENVIRONMENT)

    with (
        tempfile.TemporaryDirectory() as folder,
        AwsStandIn() as aws,
        SlackStandIn() as slack,
    ):
        os.environ["AWS_ENDPOINT_URL"] = aws.endpoint_url
        storage = Storage(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        storage.create_tables()
        began = time.monotonic()
        ids = setup(aws, storage, options.accounts, options.instances)
        print(
            f"{options.accounts} accounts x {options.instances} instances, "
            f"{options.latency * 1000:.0f} ms per AWS call, {options.workers} workers, "
            f"{os.cpu_count()} CPUs (setup {time.monotonic() - began:.0f} s)"
        )

        aws.reset_counts()
        aws.latency_seconds = options.latency
        seconds, traced = run_scheduler(
            aws, storage, slack, options.workers, options.tracemalloc
        )
        stops = sum(n for (_, a), n in aws.calls.items() if a == "StopDBInstance")
        summary(
            "scheduler (run_due)",
            seconds,
            per_account(aws, ids),
            stops,
            _peak_rss_mb(),
            traced,
        )
        print(f"  channel messages: {len(slack.messages())}")

        if not options.skip_naive:
            aws.latency_seconds = 0.0
            restart_all(aws, ids, options.instances)
            aws.reset_counts()
            aws.latency_seconds = options.latency
            seconds, traced = run_naive(aws, storage, options.tracemalloc)
            stops = sum(n for (_, a), n in aws.calls.items() if a == "StopDBInstance")
            summary(
                "naive loop (AssumeRole per instance, one at a time)",
                seconds,
                per_account(aws, ids),
                stops,
                _peak_rss_mb(),
                traced,
            )
        storage.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
