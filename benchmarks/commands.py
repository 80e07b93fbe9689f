"""Load benchmark: concurrent signed `/snooze` commands against `snoozedb serve`.

The real production server (gunicorn, gthread, bolt's WSGI adapter) runs as a child
process. AWS is the stand-in in a process of its own, answering every call after a
delay (1 s by default, as issue 4 asks): its work must not hold up the clients'
threads here, whose clocks measure the acknowledgements. Slack's Web API and
response_urls are the Slack stand-in, in this process. A customer account with a few
databases is connected through `/snooze connect` as a customer would, then N commands
(status, stop, start, and `schedule` when the bot has it) are sent with at most C in
flight, each built and signed beforehand.

Printed: ack latency percentiles (request sent to HTTP response), errors (non-200 or
a body without text), the time until every command's result reached its
response_url, and the machine. Targets in issue 4: 200 commands at 50 in flight,
every ack under 1 s, p99 under 300 ms, zero errors, every result posted.

Run: `.venv/bin/python benchmarks/commands.py [-n 200] [-c 50]`.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.managers import BaseManager
from pathlib import Path
from typing import Any

from bot.commands import SUBCOMMANDS
from bot.standins.aws import SNOOZEDB_ACCOUNT_ID, AwsStandIn
from bot.standins.slack import ResponsePost, SignedRequests, SlackStandIn
from bot.storage import Storage

SIGNING_SECRET = "benchmark-signing-secret"  # noqa: S105 - known only to the stand-ins
BOT_TOKEN = "xoxb-benchmark"  # noqa: S105
CUSTOMER_ACCOUNT = "111122223333"
REGION = "us-east-1"
TEAM_ID = "T1"
CHANNEL_ID = "C1"

# Variables that could point the child at a real AWS account; never passed on.
_AWS_VARIABLES_TO_DROP = (
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "MOTO_ACCOUNT_ID",
)


class AwsHost:
    """The AWS stand-in, served from a child process through a manager's proxy."""

    def __init__(self) -> None:
        self.aws = AwsStandIn()

    def start(self) -> None:
        self.aws.start()

    def endpoint_url(self) -> str:
        return self.aws.endpoint_url

    def stop(self) -> None:
        self.aws.stop()

    def set_latency(self, seconds: float) -> None:
        self.aws.latency_seconds = seconds

    def seed(self, count: int) -> None:
        """Create `count` stoppable PostgreSQL databases in the customer account."""
        rds = self.aws.customer_session(CUSTOMER_ACCOUNT, REGION).client("rds")
        for number in range(1, count + 1):
            rds.create_db_instance(
                DBInstanceIdentifier=_database(number),
                Engine="postgres",
                DBInstanceClass="db.t3.micro",
                MasterUsername="admin",
                MasterUserPassword="not-a-real-password",
                AllocatedStorage=20,
            )

    def deploy_role_stack(self, account_id: str, external_id: str) -> str:
        return self.aws.deploy_role_stack(account_id, external_id, SNOOZEDB_ACCOUNT_ID)


class _Manager(BaseManager):
    """Hosts the AWS stand-in in a child process."""


_Manager.register("AwsHost", AwsHost)


@contextmanager
def _aws_in_child() -> Iterator[Any]:
    manager = _Manager()
    manager.start()
    try:
        host: Any = manager.AwsHost()  # type: ignore[attr-defined]
        host.start()
        try:
            yield host
        finally:
            host.stop()
    finally:
        manager.shutdown()


@dataclass(frozen=True)
class Sent:
    """One command of the load: what was typed, how long its ack took, and if it failed."""

    text: str
    response_url: str
    ack_seconds: float
    error: str | None


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--commands", type=int, default=200)
    parser.add_argument("-c", "--concurrency", type=int, default=50)
    parser.add_argument("--databases", type=int, default=10)
    parser.add_argument(
        "--aws-latency", type=float, default=1.0, help="seconds per AWS call"
    )
    parser.add_argument(
        "--results-timeout",
        type=float,
        default=600.0,
        help="seconds to wait for every result to be posted",
    )
    parser.add_argument(
        "--database-url",
        default="",
        help="the server's database (default: a new SQLite file); a PostgreSQL "
        "database given here is emptied first",
    )
    parser.add_argument(
        "--snoozedb",
        default=str(Path(sys.executable).with_name("snoozedb")),
        help="the snoozedb executable to serve with",
    )
    args = parser.parse_args(argv)

    with (
        tempfile.TemporaryDirectory(prefix="snoozedb-bench-") as folder,
        _aws_in_child() as aws,
        SlackStandIn() as slack,
    ):
        database_url = (
            args.database_url or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        )
        if args.database_url:
            _empty(database_url)
        aws.seed(args.databases)
        port = _free_port()
        environment = _server_environment(
            aws.endpoint_url(), slack, database_url, port, folder
        )
        log_path = Path(folder) / "server.log"
        with _serving(args.snoozedb, environment, port, log_path):
            client = SignedRequests(
                f"http://127.0.0.1:{port}/slack/events",
                SIGNING_SECRET,
                slack,
                timeout=30.0,
            )
            connect(client, aws, slack, database_url)
            aws.set_latency(args.aws_latency)
            run_load(client, slack, args)
    return 0


def connect(
    client: SignedRequests, aws: Any, slack: SlackStandIn, database_url: str
) -> None:
    """Connect the customer account to the channel: connect, deploy the stack, paste.

    Raises:
        RuntimeError: The bot did not answer as a customer would expect.
    """
    # Connecting takes a workspace admin; the Slack stand-in says who is one.
    slack.users["U1"] = {"is_admin": True}
    status, _ = client.command("connect", team_id=TEAM_ID, channel_id=CHANNEL_ID)
    if status != 200:
        raise RuntimeError(f"/snooze connect answered HTTP {status}")
    storage = Storage(database_url)
    try:
        pending = storage.pending(TEAM_ID, CHANNEL_ID)
    finally:
        storage.close()
    if pending is None:
        raise RuntimeError("/snooze connect left no pending connection")

    role_arn = aws.deploy_role_stack(CUSTOMER_ACCOUNT, pending.external_id)
    response_url = slack.new_response_url()
    status, _ = client.command(
        f"connect {role_arn}",
        team_id=TEAM_ID,
        channel_id=CHANNEL_ID,
        response_url=response_url,
    )
    if status != 200:
        raise RuntimeError(f"/snooze connect ROLE_ARN answered HTTP {status}")
    posted = slack.wait_for(_posted_to(response_url), timeout=60.0)
    said = " ".join(
        str(record.body.get("text", ""))
        for record in posted
        if isinstance(record, ResponsePost)
    )
    if "connected" not in said:
        raise RuntimeError(f"the account did not connect: {said[:300]}")


def commands(count: int, databases: int) -> list[str]:
    """The mixed command lines of the load, in the order they are sent."""
    mix = ["status", "stop {db}", "start {db}"]
    if "schedule" in SUBCOMMANDS:
        mix.append("schedule {db} mon-fri 08:00-20:00")
    return [
        mix[index % len(mix)].format(db=_database(index % databases + 1))
        for index in range(count)
    ]


def run_load(
    client: SignedRequests, slack: SlackStandIn, args: argparse.Namespace
) -> None:
    """Send the commands, wait for their results, and print the figures.

    Each command's body is built and signed before the load starts, as Slack has
    them ready before it sends: the time measured is the request's, not the
    load generator's.
    """
    prepared = [
        prepare(client, slack, line) for line in commands(args.commands, args.databases)
    ]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
        sent = list(pool.map(lambda item: send(client, *item), prepared))
    all_acked = time.perf_counter() - started

    urls = {item.response_url for item in sent if item.error is None}
    posted_at = _wait_for_results(slack, urls, started, args.results_timeout)
    report(sent, all_acked, posted_at, args)


def prepare(
    client: SignedRequests, slack: SlackStandIn, line: str
) -> tuple[str, str, bytes, dict[str, str]]:
    """One command ready to send: a fresh trigger_id and response_url, signed."""
    response_url = slack.new_response_url()
    body = client.command_body(
        line, team_id=TEAM_ID, channel_id=CHANNEL_ID, response_url=response_url
    )
    return line, response_url, body, client.form_headers(body)


def send(
    client: SignedRequests,
    line: str,
    response_url: str,
    body: bytes,
    headers: dict[str, str],
) -> Sent:
    """Send one prepared command; time it from the request to the ack read."""
    started = time.perf_counter()
    try:
        status, answer = client.raw(body, headers)
    except OSError as error:
        elapsed = time.perf_counter() - started
        return Sent(line, response_url, elapsed, type(error).__name__)
    elapsed = time.perf_counter() - started

    error = None
    if status != 200:
        error = f"HTTP {status}"
    elif not isinstance(answer, dict) or not answer.get("text"):
        error = "no text in the ack"
    return Sent(line, response_url, elapsed, error)


def report(
    sent: Sequence[Sent],
    all_acked: float,
    posted_at: tuple[float | None, int],
    args: argparse.Namespace,
) -> None:
    """Print the figures, one per line."""
    acks = sorted(item.ack_seconds * 1000 for item in sent)
    errors = [item for item in sent if item.error is not None]
    last_post, posted = posted_at
    expected = len(sent) - len(errors)
    kinds = sorted({item.text.split()[0] for item in sent})

    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print(
        f"commands: {len(sent)} ({', '.join(kinds)}), at most {args.concurrency} "
        f"in flight, AWS {args.aws_latency:g} s per call"
    )
    print(
        f"ack ms: p50 {_percentile(acks, 50):.0f}  p95 {_percentile(acks, 95):.0f}  "
        f"p99 {_percentile(acks, 99):.0f}  max {acks[-1]:.0f}"
    )
    print(f"acks over 1 s: {sum(1 for ack in acks if ack >= 1000)}")
    print(f"errors: {len(errors)}")
    for kind in sorted({item.error or "" for item in errors}):
        print(f"  {kind}: {sum(1 for item in errors if item.error == kind)}")
    print(f"all acked after: {all_acked:.1f} s")
    if last_post is None:
        print(f"results posted: {posted} of {expected} (gave up)")
    else:
        print(f"results posted: {posted} of {expected}, all after {last_post:.1f} s")


def _wait_for_results(
    slack: SlackStandIn, urls: set[str], started: float, timeout: float
) -> tuple[float | None, int]:
    """Wait until each response_url got a post; the seconds taken and how many did."""
    deadline = time.monotonic() + timeout
    wanted = len(urls)
    while True:
        try:
            records = slack.wait_for(
                lambda record: isinstance(record, ResponsePost) and record.url in urls,
                timeout=max(0.0, deadline - time.monotonic()),
                count=wanted,
            )
        except AssertionError:
            return None, len({r.url for r in slack.responses if r.url in urls})
        done = {r.url for r in records if isinstance(r, ResponsePost)}
        if len(done) == len(urls):
            return time.perf_counter() - started, len(done)
        # Some URLs got several posts: wait for at least one more per URL still bare.
        wanted = len(records) + len(urls) - len(done)


def _posted_to(response_url: str) -> Any:
    return lambda record: (
        isinstance(record, ResponsePost) and record.url == response_url
    )


def _percentile(ordered: Sequence[float], percent: int) -> float:
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[percent - 1]


def _database(number: int) -> str:
    return f"bench-db-{number:02d}"


def _empty(database_url: str) -> None:
    """Drop SnoozeDB's tables, so each run starts from a database without accounts."""
    from sqlmodel import SQLModel

    storage = Storage(database_url)
    SQLModel.metadata.drop_all(storage.engine)
    storage.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _server_environment(
    aws_endpoint_url: str,
    slack: SlackStandIn,
    database_url: str,
    port: int,
    folder: str,
) -> dict[str, str]:
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in _AWS_VARIABLES_TO_DROP
    }
    environment.update(
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL=slack.base_url,
        DATABASE_URL=database_url,
        PORT=str(port),
        SNOOZEDB_REGIONS=REGION,
        SNOOZEDB_AWS_ACCOUNT_ID=SNOOZEDB_ACCOUNT_ID,
        AWS_ENDPOINT_URL=aws_endpoint_url,
        AWS_ACCESS_KEY_ID="snoozedb-benchmark",
        AWS_SECRET_ACCESS_KEY="snoozedb-benchmark",  # noqa: S106 - moto checks none
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=str(Path(folder) / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(Path(folder) / "no-aws-credentials"),
    )
    return environment


@contextmanager
def _serving(
    executable: str, environment: dict[str, str], port: int, log_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `snoozedb serve` until the block ends; its output goes to `log_path`."""
    with log_path.open("wb") as log:
        server = subprocess.Popen(  # noqa: S603 - our own executable, fixed arguments
            [executable, "serve"], env=environment, stdout=log, stderr=log
        )
        try:
            _wait_until_healthy(server, port, log_path)
            yield server
        finally:
            server.terminate()
            try:
                server.wait(timeout=90)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    _print_server_problems(log_path)


def _wait_until_healthy(
    server: subprocess.Popen[bytes], port: int, log_path: Path
) -> None:
    deadline = time.monotonic() + 60
    url = f"http://127.0.0.1:{port}/healthz"
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(
                f"snoozedb serve exited with {server.returncode}:\n"
                f"{log_path.read_text(errors='replace')[-2000:]}"
            )
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        # A script waiting for a child process to bind its port; not a test.
        threading.Event().wait(0.1)
    raise RuntimeError("snoozedb serve did not answer /healthz within 60 s")


def _print_server_problems(log_path: Path) -> None:
    lines = log_path.read_text(errors="replace").splitlines()
    problems = [line for line in lines if " WARNING " in line or " ERROR " in line]
    print(f"server log: {len(lines)} lines, {len(problems)} warnings or errors")
    for line in problems[:10]:
        print(f"  {line[:160]}")


if __name__ == "__main__":
    sys.exit(main())
