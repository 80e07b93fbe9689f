"""The `snoozedb` command line, run as a user runs it: a separate process.

Each process gets a clean environment (no Slack or AWS settings, a throwaway home),
so what it prints is what a newcomer sees on a fresh machine. Socket Mode's SIGTERM
path runs in this process instead, with a stand-in for the Slack connection.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest
from cfnlint.decode.cfn_yaml import loads as load_cloudformation
from slack_bolt import App

from bot import scheduler
from bot.config import Settings
from bot.server import _serve_socket

SNOOZEDB = Path(sys.executable).with_name("snoozedb")
# The checkout under test comes first on the path, ahead of whichever tree the
# virtualenv's `snoozedb` was installed from, so the processes run this code.
CHECKOUT = Path(__file__).resolve().parents[1]
ROLE_ACTIONS = {
    "rds:DescribeDBInstances",
    "rds:ListTagsForResource",
    "rds:StartDBInstance",
    "rds:StopDBInstance",
}


def run(
    tmp_path: Path,
    *arguments: str,
    environment: dict[str, str] | None = None,
    stdin: str = "",
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run a command in a clean environment, in an empty folder, feeding it stdin.

    The environment holds no settings, only the path to this checkout's code.
    """
    clean = {
        "PATH": str(SNOOZEDB.parent),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(CHECKOUT),
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
    }
    return subprocess.run(  # noqa: S603 - our own executables, fixed arguments
        list(arguments),
        input=stdin,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**clean, **(environment or {})},
        timeout=timeout,
        check=False,
    )


def assert_one_sentence(text: str) -> None:
    message = text.strip()
    assert "Traceback" not in message
    assert "\n" not in message, f"more than one line: {message!r}"
    assert message.endswith(".")


def test_help_lists_the_subcommands(tmp_path: Path):
    result = run(tmp_path, str(SNOOZEDB), "--help")

    assert result.returncode == 0
    for subcommand in ("serve", "socket", "demo", "template"):
        assert subcommand in result.stdout


def test_python_dash_m_bot_runs_the_same_command_line(tmp_path: Path):
    result = run(tmp_path, sys.executable, "-m", "bot", "--help")

    assert result.returncode == 0
    assert result.stdout.startswith("usage: ")
    assert "demo" in result.stdout


def test_template_prints_cloudformation_allowing_exactly_four_rds_actions(
    tmp_path: Path,
):
    result = run(tmp_path, str(SNOOZEDB), "template")
    template = load_cloudformation(result.stdout)

    assert result.returncode == 0
    role = template["Resources"]["SnoozeDBRole"]["Properties"]
    (policy,) = role["Policies"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert set(statement["Action"]) == ROLE_ACTIONS
    assert "RoleArn" in template["Outputs"]


def test_serve_without_signing_secret_exits_with_one_sentence_naming_it(
    tmp_path: Path,
):
    result = run(tmp_path, str(SNOOZEDB), "serve")

    assert result.returncode == 2
    assert "SLACK_SIGNING_SECRET" in result.stderr
    assert_one_sentence(result.stderr)
    assert result.stdout == ""


def test_serve_with_an_unknown_region_exits_with_one_sentence_naming_the_variable(
    tmp_path: Path,
):
    result = run(
        tmp_path,
        str(SNOOZEDB),
        "serve",
        environment={"SLACK_SIGNING_SECRET": "secret", "SNOOZEDB_REGIONS": "mars-1"},
    )

    assert result.returncode == 2
    assert "SNOOZEDB_REGIONS" in result.stderr
    assert "mars-1" in result.stderr
    assert "Value error" not in result.stderr
    assert_one_sentence(result.stderr)


@pytest.mark.parametrize("variable", ["PORT", "SNOOZEDB_AWS_ACCOUNT_ID"])
def test_serve_with_a_malformed_setting_names_that_variable(
    tmp_path: Path, variable: str
):
    result = run(
        tmp_path,
        str(SNOOZEDB),
        "serve",
        environment={"SLACK_SIGNING_SECRET": "secret", variable: "not-a-number"},
    )

    assert result.returncode == 2
    assert variable in result.stderr
    assert_one_sentence(result.stderr)


def test_demo_reads_a_script_from_stdin_and_prints_the_help_list(tmp_path: Path):
    """The demo starts the AWS and Slack stand-ins, so this takes a few seconds."""
    result = run(tmp_path, str(SNOOZEDB), "demo", stdin="/snooze help\nquit\n")

    assert result.returncode == 0, result.stderr
    assert "> /snooze help" in result.stdout
    for subcommand in ("connect", "disconnect", "status", "stop", "start", "help"):
        assert f"`/snooze {subcommand}" in result.stdout
    assert "> /snooze connect" not in result.stdout, "the script ran, not the tour"


def test_a_reader_that_stops_reading_ends_the_demo_without_a_traceback(
    tmp_path: Path,
):
    """`snoozedb demo | head -1`: head closes the pipe after the first line."""
    demo = subprocess.Popen(  # noqa: S603 - our own executable, fixed arguments
        [str(SNOOZEDB), "demo"],
        env={
            "PATH": str(SNOOZEDB.parent),
            "HOME": str(tmp_path),
            "PYTHONPATH": str(CHECKOUT),
        },
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert demo.stdout is not None
    first = demo.stdout.readline()
    demo.stdout.close()
    code = demo.wait(timeout=120)
    assert demo.stderr is not None
    errors = demo.stderr.read()
    demo.stderr.close()

    assert first.startswith("SnoozeDB offline demo")
    assert "Traceback" not in errors
    assert code in (0, 1)


SERVER_SETTINGS = {
    "SLACK_SIGNING_SECRET": "secret",
    "SLACK_APP_TOKEN": "xapp-test",
    "SNOOZEDB_AWS_ACCOUNT_ID": "123456789012",
}


def closed_port() -> int:
    """A local port nothing listens on: bound once by the OS, then released."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("command", ["serve", "socket", "scheduler"])
def test_a_malformed_database_url_stops_the_start_with_one_sentence(
    tmp_path: Path, command: str
):
    result = run(
        tmp_path,
        str(SNOOZEDB),
        command,
        environment={**SERVER_SETTINGS, "DATABASE_URL": "nonsense"},
    )

    assert result.returncode == 2
    assert result.stderr.startswith("SnoozeDB cannot start: DATABASE_URL is not valid")
    assert "postgresql+psycopg://USER:PASSWORD@HOST:5432/DATABASE" in result.stderr
    assert_one_sentence(result.stderr)


@pytest.mark.parametrize("command", ["serve", "socket", "scheduler"])
def test_a_database_that_does_not_answer_stops_the_start_without_its_password(
    tmp_path: Path, command: str
):
    url = f"postgresql+psycopg://snoozedb:hunter2-pw@127.0.0.1:{closed_port()}/bot"
    result = run(
        tmp_path,
        str(SNOOZEDB),
        command,
        environment={**SERVER_SETTINGS, "DATABASE_URL": url},
    )

    assert result.returncode == 2
    assert result.stderr.startswith(
        "SnoozeDB cannot start: DATABASE_URL names a database SnoozeDB could not "
        "connect to (postgresql+psycopg://snoozedb:***@127.0.0.1:"
    )
    assert "hunter2-pw" not in result.stderr + result.stdout
    assert_one_sentence(result.stderr)


def test_a_sqlite_file_in_a_missing_folder_stops_the_start_with_one_sentence(
    tmp_path: Path,
):
    url = f"sqlite:///{tmp_path / 'no-such-folder' / 'snoozedb.sqlite3'}"
    result = run(
        tmp_path,
        str(SNOOZEDB),
        "serve",
        environment={**SERVER_SETTINGS, "DATABASE_URL": url},
    )

    assert result.returncode == 2
    assert "DATABASE_URL names a SQLite file SnoozeDB could not open" in result.stderr
    assert "check that its folder exists" in result.stderr
    assert_one_sentence(result.stderr)


def test_serve_on_a_port_in_use_exits_with_one_sentence_naming_port(tmp_path: Path):
    """gunicorn would retry the bind and log each failure; serve stops at once."""
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        port = other_program.getsockname()[1]
        result = run(
            tmp_path,
            str(SNOOZEDB),
            "serve",
            environment={**SERVER_SETTINGS, "PORT": str(port)},
            timeout=30,
        )

    assert result.returncode == 2
    assert result.stderr == (
        f"SnoozeDB cannot start: PORT {port} is already in use by another program; "
        "stop that program or set PORT to a free port.\n"
    )


def test_serve_without_aws_credentials_exits_with_one_sentence(tmp_path: Path):
    """The account lookup happens before gunicorn forks, so no worker fails to boot."""
    result = run(
        tmp_path, str(SNOOZEDB), "serve", environment={"SLACK_SIGNING_SECRET": "secret"}
    )

    assert result.returncode == 2
    assert result.stderr.startswith(
        "SnoozeDB cannot start: AWS credentials are missing or incomplete: set "
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
    )
    assert_one_sentence(result.stderr)


def test_serve_answers_health_checks_and_exits_cleanly_on_sigterm(tmp_path: Path):
    """What an orchestrator does: start, probe /healthz, stop with SIGTERM."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {
        "SLACK_SIGNING_SECRET": "secret",
        "SNOOZEDB_AWS_ACCOUNT_ID": "123456789012",
        "SNOOZEDB_REGIONS": "us-east-1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        "PORT": str(port),
        "PATH": str(SNOOZEDB.parent),
        "HOME": str(tmp_path),
    }
    server = subprocess.Popen(  # noqa: S603 - our own executable, fixed arguments
        [str(SNOOZEDB), "serve"],
        env=environment,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        answered = wait_for_health(f"http://127.0.0.1:{port}/healthz", server)
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
    _, errors = server.communicate()

    assert answered == "ok"
    assert code == 0
    assert "Traceback" not in errors


def wait_for_health(url: str, server: subprocess.Popen[str]) -> str:
    """Ask `url` until the server answers (it needs a few seconds to start)."""
    pause = threading.Event()
    for _ in range(300):
        if server.poll() is not None:
            return f"exited with {server.returncode}"
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310
                return str(answer.read().decode().strip())
        except OSError:
            pause.wait(0.1)
    return "no answer"


EXPLAIN = (str(SNOOZEDB), "schedule", "explain", "mon-fri 08:00-20:00 tz UTC")


def test_schedule_explain_lists_as_many_transitions_as_count_asks(tmp_path: Path):
    result = run(tmp_path, *EXPLAIN, "--at", "2026-12-07T12:00:00Z", "--count", "3")

    assert result.returncode == 0, result.stderr
    assert result.stdout.count('"action"') == 3


@pytest.mark.parametrize("count", ["100000", "1001", "-3", "0", "three"])
def test_schedule_explain_refuses_a_bad_count_naming_the_allowed_range(
    tmp_path: Path, count: str
):
    result = run(tmp_path, *EXPLAIN, "--at", "2026-12-07T12:00:00Z", "--count", count)

    assert result.returncode == 2
    assert result.stdout == ""
    assert "from 1 to 1000" in result.stderr
    assert f"`{count}`" in result.stderr
    assert_one_sentence(result.stderr)


@pytest.mark.parametrize(
    "at",
    ["tomorrow", "2026-02-30T12:00:00Z", "2026-12-07T12:00:00", "9999-12-31T23:00Z"],
)
def test_schedule_explain_refuses_a_malformed_at_with_an_example(
    tmp_path: Path, at: str
):
    result = run(tmp_path, *EXPLAIN, "--at", at)

    assert result.returncode == 2
    assert result.stdout == ""
    assert "--at 2026-12-07T12:00:00Z" in result.stderr
    assert_one_sentence(result.stderr)


class FakeSocketConnection:
    """Stands in for bolt's SocketModeHandler; connecting sends this process SIGTERM."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.scheduler_ran_while_connected = False

    def connect(self) -> None:
        self.calls.append("connect")
        self.scheduler_ran_while_connected = bool(scheduler._ENGINES)
        # From another thread, as an orchestrator's signal arrives while the main
        # thread waits; Python runs the handler in the main thread.
        threading.Thread(target=os.kill, args=(os.getpid(), signal.SIGTERM)).start()

    def close(self) -> None:
        self.calls.append("close")


def give_up_waiting(signum: int, frame: object) -> None:
    raise AssertionError("snoozedb socket was still waiting 30 s after SIGTERM")


def test_socket_mode_closes_its_connection_and_returns_0_on_sigterm(tmp_path: Path):
    """bolt's start() blocks forever; SIGTERM must end the wait, not only the engine."""
    settings = Settings(
        slack_app_token="xapp-test",
        slack_bot_token="xoxb-test",
        slack_signing_secret="secret",
        slack_api_url="http://127.0.0.1:9/api/",
        database_url=f"sqlite:///{tmp_path / 'socket.sqlite3'}",
        snoozedb_aws_account_id="123456789012",
        snoozedb_regions=("us-east-1",),
    )
    connection = FakeSocketConnection()
    made_for: list[tuple[App, str]] = []

    def connection_for(app: App, app_token: str) -> FakeSocketConnection:
        made_for.append((app, app_token))
        return connection

    handler_before = signal.getsignal(signal.SIGTERM)
    previous_alarm = signal.signal(signal.SIGALRM, give_up_waiting)
    signal.alarm(30)
    try:
        code = _serve_socket(settings, connection_for)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous_alarm)

    assert code == 0
    assert connection.calls == ["connect", "close"]
    assert [token for _, token in made_for] == ["xapp-test"]
    assert connection.scheduler_ran_while_connected
    assert scheduler._ENGINES == {}, "the scheduler was not shut down"
    assert signal.getsignal(signal.SIGTERM) == handler_before


def test_demo_with_empty_input_runs_the_tour_from_connect_to_start(tmp_path: Path):
    """What a newcomer sees from `make demo < /dev/null`, as a user would read it."""
    result = run(tmp_path, str(SNOOZEDB), "demo", timeout=120)
    shown = result.stdout

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in shown + result.stderr
    assert "Deployed the SnoozeDB stack in account 111122223333." in shown
    assert "> /snooze connect arn:aws:iam::111122223333:role/SnoozeDBAccess" in shown
    assert "> /snooze connect ROLE_ARN" not in shown
    assert "@you connected AWS account 111122223333 to this channel" in shown
    assert "AWS account 111122223333 · 6 databases" in shown
    assert "`qa-db` (us-east-1): stopping now." in shown
    assert "It belongs to Aurora cluster `app-cluster`" in shown
    assert "It has read replicas (staging-db-ro)" in shown
    assert "[ Stop anyway ]" in shown
    assert "`qa-db` (us-east-1): starting now." in shown
    assert "`reports-db` (eu-west-1): starting now. (one-off snooze by @you)" in shown
    assert shown.rstrip().endswith("come on the way) and `/snooze history`.")
    assert "Try a schedule next: `/snooze schedule qa-db daily " in shown
