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
the target is `--accounts 1000 --instances 20` within 60 s. The naive loop needs
about 0.2 s an instance: `--naive-accounts 20` runs it on 20 accounts only and
prints what the whole fleet would take at that pace.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import logging
import multiprocessing
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from datetime import UTC, datetime
from multiprocessing.managers import BaseManager
from pathlib import Path
from typing import Any

from moto.iam.models import iam_backends
from moto.rds.models import rds_backends

from bot.account_processes import AccountProcesses, WorkerSetup
from bot.aws_bridge import AwsBridge
from bot.operations import Operations
from bot.scheduler import Poster, run_due
from bot.slack_app import web_client
from bot.standins.aws import AwsStandIn, call_app
from bot.standins.slack import SlackStandIn
from bot.storage import Storage

REGION = "us-east-1"
BOT_TOKEN = "xoxb-bench"  # noqa: S105 - known only to the Slack stand-in
SCHEDULE = "mon-fri 08:00-20:00 tz UTC"
TRANSITION = datetime(2026, 3, 30, 20, 0, tzinfo=UTC)
OWN_ACCOUNT = "123456789012"
ROLE_NAME = "SnoozeDBAccess"
# Where the stand-in keeps a StopDBInstance request it read, for `_answer_stop`.
_STOP_REQUEST = "snoozedb.stop_request"
ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "snoozedb-bench",
    "AWS_SECRET_ACCESS_KEY": "snoozedb-bench",
    "AWS_DEFAULT_REGION": REGION,
}


class TimedStandIn(AwsStandIn):
    """The AWS stand-in, noting when the last StopDBInstance call reached it.

    moto renders each StopDBInstance answer through its generic serializer, about
    5 ms of CPU a call: 20,000 stops would keep one of the machine's two cores busy
    for 100 s, measuring moto rather than the bot. So the first stop is answered by
    moto in full and kept as a pattern; every later one still goes through the
    stand-in's signature, trust and fault checks and through moto's RDS backend (so
    the instance really stops, and a refused stop is answered by moto in full), and
    gets that same-sized answer with its own identifier.

    DescribeDBInstances is treated alike, for the same reason (moto's serializer spends
    about 20 ms on 20 instances): an answer is rendered by moto in full and kept; a
    later account whose instances are the same in every field the bot reads
    (identifier, status, engine, class, cluster, replicas, tags) gets that answer with
    its own account number in the ARNs. Any other account is answered by moto in full.
    """

    def __init__(self) -> None:
        super().__init__()
        self.last_stop = 0.0
        self._full = self._moto
        self._pattern: tuple[str, list[tuple[str, str]], bytes, bytes, bytes] | None
        self._pattern = None
        self._listing: dict[
            tuple[Any, ...], tuple[str, list[tuple[str, str]], bytes, bytes]
        ]
        self._listing = {}
        self._moto = self._answer_stop

    def _read_request(self, environ: dict[str, Any]) -> Any:
        request = super()._read_request(environ)
        if request is not None and request.action == "StopDBInstance":
            # CLOCK_MONOTONIC is one clock for every process of the machine.
            self.last_stop = max(self.last_stop, time.monotonic())
            environ[_STOP_REQUEST] = request
        if request is not None and request.action == "DescribeDBInstances":
            environ[_STOP_REQUEST] = request
        return request

    def _answer_stop(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = environ.get(_STOP_REQUEST)
        if request is None:
            return self._full(environ, start_response)
        if request.action == "DescribeDBInstances":
            return self._answer_listing(request, environ, start_response)
        identifier = request.params.get("DBInstanceIdentifier", "")
        if self._pattern is None:
            status, headers, body = call_app(self._full, environ)
            if status.startswith("200"):
                self._pattern = (
                    status,
                    headers,
                    body,
                    identifier.encode(),
                    request.account_id.encode(),
                )
            start_response(status, headers)
            return [body]
        try:
            rds_backends[request.account_id][request.region].stop_db_instance(
                identifier
            )
        except Exception:  # refused: moto answers again, in full
            return self._full(environ, start_response)
        status, headers, body, first, first_account = self._pattern
        body = body.replace(first, identifier.encode())
        body = body.replace(first_account, request.account_id.encode())
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        start_response(status, [*headers, ("Content-Length", str(len(body)))])
        return [body]

    def _answer_listing(
        self, request: Any, environ: dict[str, Any], start_response: Any
    ) -> Any:
        if set(request.params) - {"Action", "Version", "MaxRecords"}:
            return self._full(environ, start_response)  # a filter or a later page
        backend = rds_backends[request.account_id][request.region]
        shape = tuple(
            (
                db.db_instance_identifier,
                db.status,
                db.engine,
                db.db_instance_class,
                db.db_cluster_identifier,
                tuple(db.replicas),
                db.source_db_instance_identifier,
                json.dumps(db.tags, sort_keys=True),
            )
            for db in backend.describe_db_instances()
        )
        kept = self._listing.get(shape)
        if kept is None:
            status, headers, body = call_app(self._full, environ)
            if status.startswith("200"):
                account = request.account_id.encode()
                self._listing[shape] = (status, headers, body, account)
            start_response(status, headers)
            return [body]
        status, headers, body, account = kept
        body = body.replace(account, request.account_id.encode())
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        start_response(status, [*headers, ("Content-Length", str(len(body)))])
        return [body]


class StandInHost:
    """Runs the AWS stand-in in a process of its own, so the figures measure the bot.

    Served by a multiprocessing manager: the bot's process calls these methods
    through a proxy. Setup creates roles and instances directly in moto's backends
    (what the template and CreateDBInstance would make), not through HTTP.
    """

    def __init__(self) -> None:
        self.aws = TimedStandIn()

    def start(self) -> str:
        self.aws.start()
        return self.aws.endpoint_url

    def stop(self) -> None:
        self.aws.stop()

    def setup(
        self, accounts: list[tuple[str, str]], trusted: str, instances: int
    ) -> list[str]:
        """Create each account's SnoozeDB role and its tagged instances."""
        arns = []
        for account_id, external_id in accounts:
            iam = iam_backends[account_id]["aws"]
            role = iam.create_role(
                ROLE_NAME,
                json.dumps(_trust_policy(trusted, external_id)),
                "/",
                None,
                "",
                [],
                "3600",
            )
            iam.put_role_policy(ROLE_NAME, "SnoozeDBStopStartRDS", _ROLE_POLICY)
            rds = rds_backends[account_id][REGION]
            for i in range(instances):
                rds.create_db_instance(
                    {
                        "db_instance_identifier": f"db-{i:03d}",
                        "engine": "postgres",
                        "db_instance_class": "db.t3.micro",
                        "master_username": "admin",
                        "master_user_password": "not-a-real-password",
                        "allocated_storage": 20,
                        "tags": [{"Key": "env", "Value": "dev"}],
                    }
                )
            arns.append(role.arn)
        return arns

    def restart_all(self, ids: list[str], instances: int) -> None:
        for account_id in ids:
            for i in range(instances):
                self.aws.set_instance_status(
                    account_id, REGION, f"db-{i:03d}", "available"
                )

    def set_latency(self, seconds: float) -> None:
        self.aws.latency_seconds = seconds

    def reset_counts(self) -> None:
        self.aws.reset_counts()
        self.aws.last_stop = 0.0

    def last_stop(self) -> float:
        return self.aws.last_stop

    def calls(self) -> dict[tuple[str, str], int]:
        return dict(self.aws.calls)

    def cpu_seconds(self) -> float:
        return _cpu_seconds()

    def pid(self) -> int:
        return os.getpid()

    def assumed(self) -> dict[str, int]:
        return dict(
            Counter(call.role_arn.split(":")[4] for call in self.aws.assume_role_calls)
        )


class _Manager(BaseManager):
    """Hosts the stand-in in a child process."""


_Manager.register("StandInHost", StandInHost)


def _trust_policy(trusted: str, external_id: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "SnoozeDBWithExternalId",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{trusted}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
            }
        ],
    }


_ROLE_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "rds:DescribeDBInstances",
                    "rds:ListTagsForResource",
                    "rds:StartDBInstance",
                    "rds:StopDBInstance",
                ],
                "Resource": "*",
            }
        ],
    }
)


def _cpu_seconds() -> float:
    """CPU time of the calling process so far, user and system, every thread."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _workers(host: Any) -> list[int]:
    """The process ids of the scheduler's worker processes (not the stand-in's)."""
    stand_in = host.pid()
    return [
        child.pid
        for child in multiprocessing.active_children()
        if child.pid is not None and child.pid != stand_in
    ]


def _bot_cpu_seconds(host: Any) -> float:
    """CPU time of this process and of its scheduler worker processes (Linux)."""
    total = _cpu_seconds()
    for pid in _workers(host):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1]
        except OSError:
            continue
        user, system = fields.split()[11:13]
        total += (int(user) + int(system)) / os.sysconf("SC_CLK_TCK")
    return total


def _workers_peak_rss_mb(host: Any) -> list[float]:
    """Each worker process's peak resident set size so far (Linux's VmHWM)."""
    peaks = []
    for pid in _workers(host):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return peaks


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def setup(host: Any, storage: Storage, accounts: int, instances: int) -> list[str]:
    """Connect `accounts` customer accounts with `instances` instances each."""
    channels = {}
    for n in range(accounts):
        channel = f"C{n:05d}"
        pending, _ = storage.pending_account("T1", channel, "U1")
        channels[f"{200000000000 + n}"] = (channel, pending)
    specs = [(a, pending.external_id) for a, (_, pending) in channels.items()]
    arns = host.setup(specs, OWN_ACCOUNT, instances)
    for (account_id, (channel, pending)), role_arn in zip(
        channels.items(), arns, strict=True
    ):
        storage.activate(pending.id, role_arn, account_id, [REGION])
        storage.assign_schedule("T1", channel, "tag:env=dev", SCHEDULE, "U1")
    return list(channels)


def per_account(host: Any, ids: list[str]) -> dict[str, tuple[int, int]]:
    assumed = host.assumed()
    calls = host.calls()
    return {
        a: (assumed.get(a, 0), calls.get((a, "DescribeDBInstances"), 0)) for a in ids
    }


def stop_calls(host: Any) -> int:
    return sum(n for (_, a), n in host.calls().items() if a == "StopDBInstance")


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
    print(f"  peak RSS of the bot's process so far: {rss:.0f} MB")
    if traced is not None:
        print(f"  peak Python allocations during the run: {traced:.1f} MB")


def run_scheduler(
    host: Any,
    storage: Storage,
    slack: SlackStandIn,
    options: argparse.Namespace,
    processes: AccountProcesses | None,
) -> tuple[float, float | None]:
    operations = Operations(
        storage, AwsBridge(regions=[REGION], own_account_id=OWN_ACCOUNT)
    )
    poster = Poster(storage, web_client(BOT_TOKEN, slack.base_url))
    traced = options.tracemalloc
    if traced:
        tracemalloc.start()
    start = time.monotonic()
    since = TRANSITION.replace(hour=19, minute=59)
    run_due(
        storage,
        operations,
        poster,
        TRANSITION,
        since=since,
        workers=options.workers,
        processes=processes,
    )
    peak = tracemalloc.get_traced_memory()[1] / 1e6 if traced else None
    if traced:
        tracemalloc.stop()
    return float(host.last_stop()) - start, peak


def run_naive(
    storage: Storage, traced: bool, accounts: int
) -> tuple[float, float | None]:
    """One AssumeRole per instance, one instance at a time, in the first `accounts`."""
    bridge = AwsBridge(regions=[REGION], own_account_id=OWN_ACCOUNT)
    if traced:
        tracemalloc.start()
    start = time.monotonic()
    last = start
    for account in storage.all_active_accounts()[:accounts]:
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
    parser.add_argument(
        "--workers", type=int, default=32, help="accounts at once, per process"
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="scheduler worker processes (SNOOZEDB_SCHEDULER_PROCESSES)",
    )
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument(
        "--naive-accounts",
        type=int,
        default=0,
        help="run the naive loop on this many accounts only (default: all)",
    )
    parser.add_argument(
        "--database-url", default="", help="the bot's database (a temporary SQLite)"
    )
    parser.add_argument(
        "--profile", default="", help="write cProfile stats of the run to this file"
    )
    options = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    os.environ.update(ENVIRONMENT)

    manager = _Manager()
    manager.start()
    host: Any = manager.StandInHost()  # type: ignore[attr-defined]
    try:
        with tempfile.TemporaryDirectory() as folder, SlackStandIn() as slack:
            os.environ["AWS_ENDPOINT_URL"] = host.start()
            url = options.database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
            storage = Storage(url)
            storage.create_tables()
            began = time.monotonic()
            ids = setup(host, storage, options.accounts, options.instances)
            print(
                f"{options.accounts} accounts x {options.instances} instances, "
                f"{options.latency * 1000:.0f} ms per AWS call, {options.processes} "
                f"scheduler process(es) of {options.workers} workers, "
                f"{os.cpu_count()} CPUs, AWS stand-in in its own process, "
                f"{url.split(':', 1)[0]} (setup {time.monotonic() - began:.0f} s)"
            )
            processes = None
            if options.processes > 1:
                # Started before the transition, as a running scheduler's are.
                setup_ = WorkerSetup(
                    database_url=url,
                    regions=(REGION,),
                    own_account_id=OWN_ACCOUNT,
                    slack_bot_token=BOT_TOKEN,
                    slack_api_url=slack.base_url,
                    log_level=logging.WARNING,
                )
                processes = AccountProcesses(setup_, options.processes)
                processes.warm_up()
            try:
                measure(host, storage, slack, ids, options, processes)
            finally:
                if processes is not None:
                    processes.close()
            storage.close()
            host.stop()
    finally:
        manager.shutdown()
    return 0


def measure(
    host: Any,
    storage: Storage,
    slack: SlackStandIn,
    ids: list[str],
    options: argparse.Namespace,
    processes: AccountProcesses | None,
) -> None:
    """Run the scheduler, then the naive loop, and print their figures."""
    host.reset_counts()
    host.set_latency(options.latency)
    profiler = cProfile.Profile() if options.profile else None
    if profiler is not None:
        profiler.enable()
    cpu = (_bot_cpu_seconds(host), float(host.cpu_seconds()))
    seconds, traced = run_scheduler(host, storage, slack, options, processes)
    bot_cpu = _bot_cpu_seconds(host) - cpu[0]
    stand_in_cpu = host.cpu_seconds() - cpu[1]
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(options.profile)
    summary(
        "scheduler (run_due)",
        seconds,
        per_account(host, ids),
        stop_calls(host),
        _peak_rss_mb(),
        traced,
    )
    peaks = _workers_peak_rss_mb(host)
    if peaks:
        shown = ", ".join(f"{peak:.0f}" for peak in peaks)
        print(f"  peak RSS of each scheduler worker process: {shown} MB")
    print(f"  channel messages: {len(slack.messages())}")
    print(
        f"  CPU time during the run: bot {bot_cpu:.1f} s, "
        f"AWS stand-in {stand_in_cpu:.1f} s"
    )

    if options.skip_naive:
        return
    host.set_latency(0.0)
    host.restart_all(ids, options.instances)
    host.reset_counts()
    host.set_latency(options.latency)
    sample = options.naive_accounts or len(ids)
    seconds, traced = run_naive(storage, options.tracemalloc, sample)
    summary(
        f"naive loop (AssumeRole per instance, one at a time) on {sample} accounts",
        seconds,
        per_account(host, ids[:sample]),
        stop_calls(host),
        _peak_rss_mb(),
        traced,
    )
    if sample < len(ids):
        whole = seconds * len(ids) / sample
        print(f"  at that pace, all {len(ids)} accounts: {whole:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
