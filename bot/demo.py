"""`snoozedb demo`: the whole product offline, with no Slack or AWS account.

An AWS stand-in (moto's server, with trust policies enforced) holds a sample customer
account; a local stand-in plays the Slack Web API; the real bot answers on its real
HTTP endpoint, reached with signed requests. You type `/snooze ...` lines and read
what Slack would show. The test suite drives the same `OfflineWorld`.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from werkzeug.serving import WSGIRequestHandler, make_server

from bot import messages
from bot.config import Settings
from bot.errors import TimeNotUnderstood
from bot.scheduler import TICK, Engine, Poster, scheduler_operations
from bot.server import EVENTS_PATH, Runtime, build_runtime, wsgi_app
from bot.slack_app import web_client
from bot.snooze_time import resolve_until
from bot.standins.aws import AwsStandIn
from bot.standins.slack import SignedRequests, SlackStandIn, render

# Fixed values known only to the local stand-ins; they open nothing real.
SIGNING_SECRET = "offline-demo-signing-secret"  # noqa: S105
BOT_TOKEN = "xoxb-offline-demo"  # noqa: S105
CUSTOMER_ACCOUNT = "111122223333"
DEMO_USER = "U0DEMO"
DEMO_REGIONS = ("us-east-1", "eu-west-1")

# The bot's own credentials in the stand-in; moto files unknown keys under its
# default account, 123456789012, which plays SnoozeDB's AWS account.
_BOT_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "snoozedb-offline",
    "AWS_SECRET_ACCESS_KEY": "snoozedb-offline",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class _QuietRequestHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Say nothing per request: the demo prints what Slack shows instead."""


class OfflineWorld:
    """AWS and Slack stand-ins plus the real bot on a local port.

    Args:
        database_url: where the bot keeps its tables.
        regions: SNOOZEDB_REGIONS for the bot.
        latency_seconds: delay the AWS stand-in adds to every call.

    Attributes:
        installers: users taken as workspace admins without asking users.info, as
            the person who installs an app usually is; connecting needs one. Other
            users are asked of the Slack stand-in (`slack.users[...]["is_admin"]`).
    """

    def __init__(
        self,
        database_url: str,
        regions: Sequence[str] = DEMO_REGIONS,
        latency_seconds: float = 0.0,
    ) -> None:
        self.database_url = database_url
        self.regions = tuple(regions)
        self.aws = AwsStandIn(latency_seconds=latency_seconds)
        self.slack = SlackStandIn()
        self.installers: set[str] = {"U1", DEMO_USER}
        self._saved_environment: dict[str, str | None] = {}
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.runtime: Runtime | None = None
        self.requests: SignedRequests | None = None

    def __enter__(self) -> OfflineWorld:
        self.aws.start()
        self.slack.start()
        self._set_environment(
            {**_BOT_ENVIRONMENT, "AWS_ENDPOINT_URL": self.aws.endpoint_url}
        )
        settings = Settings(
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=self.slack.base_url,
            database_url=self.database_url,
            snoozedb_regions=self.regions,
        )
        self.runtime = build_runtime(settings)
        asked = self.runtime.context.is_admin

        def is_admin(team_id: str, user_id: str) -> bool | None:
            return True if user_id in self.installers else asked(team_id, user_id)

        self.runtime.context.is_admin = is_admin
        self._server = make_server(
            "127.0.0.1",
            0,
            wsgi_app(self.runtime.app),
            threaded=True,
            request_handler=_QuietRequestHandler,
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.requests = SignedRequests(self.endpoint_url, SIGNING_SECRET, self.slack)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self.runtime is not None:
            self.runtime.close()
        self.slack.close()
        self.aws.stop()
        for name, value in self._saved_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def _set_environment(self, values: dict[str, str]) -> None:
        for name, value in values.items():
            self._saved_environment.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    @property
    def endpoint_url(self) -> str:
        """The bot's Slack endpoint, as Slack would call it."""
        return f"http://127.0.0.1:{self._server.server_port}{EVENTS_PATH}"

    @property
    def own_account_id(self) -> str:
        """The AWS account SnoozeDB runs in, which customers' roles trust."""
        assert self.runtime is not None
        return self.runtime.context.own_account_id

    def settle(self) -> None:
        """Wait until every command's slow work has posted its messages."""
        assert self.runtime is not None
        self.runtime.responder.wait_idle()

    def seed_sample_account(self, account_id: str = CUSTOMER_ACCOUNT) -> None:
        """Create the sample customer databases the demo and tests talk about.

        `us-east-1`: `staging-db` (postgres) with read replica `staging-db-ro`;
        `qa-db` (mysql); `analytics-db` tagged `snoozedb:exclude=true`; Aurora cluster
        `app-cluster` with instance `app-writer-1`. `eu-west-1`: `reports-db`.
        """
        east = self.aws.customer_session(account_id, "us-east-1").client("rds")
        west = self.aws.customer_session(account_id, "eu-west-1").client("rds")
        plain: dict[str, Any] = {
            "DBInstanceClass": "db.t3.micro",
            "MasterUsername": "admin",
            "MasterUserPassword": "not-a-real-password",
            "AllocatedStorage": 20,
        }
        east.create_db_instance(
            DBInstanceIdentifier="staging-db", Engine="postgres", **plain
        )
        east.create_db_instance_read_replica(
            DBInstanceIdentifier="staging-db-ro",
            SourceDBInstanceIdentifier="staging-db",
        )
        east.create_db_instance(DBInstanceIdentifier="qa-db", Engine="mysql", **plain)
        east.create_db_instance(
            DBInstanceIdentifier="analytics-db",
            Engine="postgres",
            Tags=[{"Key": "snoozedb:exclude", "Value": "true"}],
            **plain,
        )
        east.create_db_cluster(
            DBClusterIdentifier="app-cluster",
            Engine="aurora-postgresql",
            MasterUsername="admin",
            MasterUserPassword="not-a-real-password",
        )
        east.create_db_instance(
            DBInstanceIdentifier="app-writer-1",
            Engine="aurora-postgresql",
            DBInstanceClass="db.r6g.large",
            DBClusterIdentifier="app-cluster",
        )
        west.create_db_instance(
            DBInstanceIdentifier="reports-db", Engine="postgres", **plain
        )


INTRO = """SnoozeDB offline demo: AWS and Slack are played by local stand-ins.
A sample customer account ({account}) holds a few RDS databases; the workspace
has a colleague @ada and a user group @dba-team to name with /snooze admins.
Type /snooze lines as you would in Slack, `deploy` to deploy the SnoozeDB
stack in the customer account (after /snooze connect), `wait 2h` (or
`wait until tomorrow 08:00`) to move the clock on and let the scheduler act,
`tour` for a guided run, or `quit`.
"""

# How far one `wait` may move the demo's clock: the scheduler runs once for every
# minute in between, as `snoozedb scheduler` would.
WAIT_LIMIT = timedelta(days=3)


class Demo:
    """The prompt: turns typed lines into signed requests and prints what Slack shows."""

    def __init__(self, world: OfflineWorld, out: TextIO) -> None:
        self.world = world
        self.out = out
        self.role_arn = ""
        self._seen = 0
        self._posted = 0
        # The workspace: you, a colleague and a user group to name in /snooze admins.
        world.slack.users[DEMO_USER] = {"real_name": "You"}
        world.slack.users["U1"] = {"real_name": "Ada"}
        world.slack.usergroups["S0DBA"] = {"handle": "dba-team"}
        # The demo's clock runs `ahead` of the real one once `wait` has moved it.
        self.ahead = timedelta(0)
        assert world.runtime is not None
        runtime = world.runtime
        runtime.context.clock = self.now
        poster = Poster(
            runtime.storage,
            web_client(BOT_TOKEN, world.slack.base_url),
            pause=lambda _seconds: None,
        )
        operations = scheduler_operations(runtime.context.operations)
        self.scheduler = Engine(runtime.storage, operations, poster, clock=self.now)

    def now(self) -> datetime:
        """The demo's clock: the real one, moved on by every `wait` so far."""
        return datetime.now(UTC) + self.ahead

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def run_line(self, line: str) -> bool:
        """Handle one typed line; False when the user asked to quit."""
        line = line.strip()
        if not line or line.startswith("#"):
            return True
        if line in {"quit", "exit"}:
            return False
        if line == "deploy":
            self._deploy()
        elif line == "wait" or line.startswith("wait "):
            self._wait(line[len("wait") :].strip())
        elif line == "tour":
            for step in self.tour():
                # The role ARN exists once `deploy` has run: show the real one.
                step = step.replace("ROLE_ARN", self.role_arn or "ROLE_ARN")
                self.say(f"\n> {step}")
                self.run_line(step)
            self.say(f"\n{self._tour_done()}")
        elif line.startswith("/snooze"):
            self._command(line[len("/snooze") :].strip())
        else:
            self.say("Type a /snooze command, `deploy`, `wait 2h`, `tour` or `quit`.")
        return True

    def _tour_done(self) -> str:
        """Suggest a window opening in half an hour or so and closing an hour later,
        on the demo's clock (UTC), so that `wait 2h` shows both of its changes."""
        soon = self.now() + timedelta(minutes=30)
        opens = soon.replace(minute=soon.minute - soon.minute % 5, second=0)
        closes = opens + timedelta(hours=1)
        return messages.demo_tour_done(f"{opens:%H:%M}", f"{closes:%H:%M}")

    def tour(self) -> list[str]:
        """The guided walk: connect, deploy, verify, status, stop, start, a way back."""
        return [
            "/snooze help",
            "/snooze connect",
            "deploy",
            "/snooze connect ROLE_ARN",
            "/snooze status",
            "/snooze stop qa-db",
            "/snooze stop app-writer-1",
            "/snooze stop staging-db",
            "/snooze stop analytics-db",
            "/snooze start qa-db",
            "/snooze stop qa-db",
            "/snooze stop qa-dbb",
            "/snooze stop reports-db for 1h",
            "wait 1h",
            "/snooze history reports-db",
        ]

    def _command(self, text: str) -> None:
        assert self.world.requests is not None
        text = text.replace("ROLE_ARN", self.role_arn or "ROLE_ARN")
        # Slack escapes a person or group picked from the @ list (`should_escape`).
        text = self.world.slack.escape_mentions(text)
        status, body = self.world.requests.command(
            text, user_id=DEMO_USER, user_name="you"
        )
        if status != 200:
            self.say(f"(Slack would show an error: HTTP {status})")
            return
        if isinstance(body, dict) and (body.get("text") or body.get("blocks")):
            self.say(_indent(render(self.world.slack.label_mentions(body))))
        self.world.settle()
        self._print_new_posts()
        # Posts a command made through chat.postMessage are not the scheduler's.
        self._posted = len(self.world.slack.messages())

    def _wait(self, text: str) -> None:
        """Move the clock on by a duration or to an instant, a scheduler run a minute."""
        if not text.startswith(("for ", "until ")):
            text = f"for {text}"
        start = self.now()
        try:
            end = resolve_until(text, start, ZoneInfo("UTC"), limit=WAIT_LIMIT)
        except TimeNotUnderstood as error:
            self.say(messages.demo_wait_refused(error.problem))
            return
        while self.now() < end:
            self.ahead += min(TICK, end - self.now())
            self.scheduler.tick()
            self._print_channel_posts()
        self.say(messages.demo_waited(self.now()))

    def _print_channel_posts(self) -> None:
        """What the scheduler posted in the channel, stamped with the demo's clock."""
        posted = self.world.slack.messages()
        for message in posted[self._posted :]:
            self.say(f"  (in the channel, {messages.when_in_zone(self.now())})")
            self.say(_indent(render(self.world.slack.label_mentions(message))))
        self._posted = len(posted)

    def _print_new_posts(self) -> None:
        responses = self.world.slack.responses
        for posted in responses[self._seen :]:
            visibility = (
                "in the channel"
                if posted.body.get("response_type") == "in_channel"
                else "only you see"
            )
            self.say(f"  ({visibility})")
            self.say(_indent(render(self.world.slack.label_mentions(posted.body))))
        self._seen = len(responses)

    def _deploy(self) -> None:
        assert self.world.runtime is not None
        storage = self.world.runtime.storage
        pending = storage.pending("T1", "C1")
        if pending is None:
            self.say(messages.DEMO_CONNECT_FIRST)
            return
        existing = self.world.aws.role_stack_arn(CUSTOMER_ACCOUNT)
        if existing is not None and any(
            account.role_arn == existing for account in storage.accounts("T1", "C1")
        ):
            # Redeploying would make the role trust the new External ID only, and
            # cut the connection the channel has through it.
            self.say(messages.demo_stack_in_use(CUSTOMER_ACCOUNT, existing))
            return

        self.role_arn = self.world.aws.deploy_role_stack(
            CUSTOMER_ACCOUNT, pending.external_id, self.world.own_account_id
        )
        if existing is None:
            self.say(messages.demo_deployed(CUSTOMER_ACCOUNT, self.role_arn))
        else:
            self.say(
                messages.demo_redeployed(
                    CUSTOMER_ACCOUNT, pending.external_id, self.role_arn
                )
            )


def _indent(text: str) -> str:
    return "\n".join("  | " + line if line else "  |" for line in text.splitlines())


def run_demo(stdin: TextIO | None = None, out: TextIO | None = None) -> int:
    """Run the offline demo; reads commands from stdin, or runs the tour if it is empty."""
    stdin = stdin or sys.stdin
    out = out or sys.stdout
    with tempfile.TemporaryDirectory(prefix="snoozedb-demo-") as folder:
        url = f"sqlite:///{Path(folder) / 'demo.sqlite3'}"
        with OfflineWorld(url) as world:
            world.seed_sample_account()
            demo = Demo(world, out)
            demo.say(INTRO.format(account=CUSTOMER_ACCOUNT))
            if stdin.isatty():
                return _interactive(demo, stdin)
            lines = stdin.read().splitlines()
            for line in lines or ["tour"]:
                if not lines or line.strip():
                    demo.say(f"> {line}")
                if not demo.run_line(line):
                    break
    return 0


def _interactive(demo: Demo, stdin: TextIO) -> int:
    while True:
        demo.out.write("> ")
        demo.out.flush()
        line = stdin.readline()
        if not line or not demo.run_line(line):
            return 0
