"""The `snoozedb` command line: serve, socket, demo, template, schedule explain.

Imports of the heavier parts happen inside each subcommand, so `snoozedb schedule
explain` answers quickly and `snoozedb --help` needs no settings at all.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime

from bot.errors import SnoozeError


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(
            "give an offset, for example 2026-12-07T12:00:00Z"
        )
    return moment


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="snoozedb",
        description="Stop idle RDS databases from Slack and start them on time.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("serve", help="run the HTTP endpoint for Slack (production)")
    commands.add_parser("socket", help="run in Socket Mode (development)")
    commands.add_parser("demo", help="run the whole product offline, no Slack or AWS")
    commands.add_parser(
        "template", help="print the CloudFormation template for customers"
    )
    commands.add_parser(
        "scheduler", help="run only the scheduler, without the HTTP endpoint"
    )

    schedule = commands.add_parser("schedule", help="work with schedule texts")
    schedule_commands = schedule.add_subparsers(dest="schedule_command", required=True)
    explain = schedule_commands.add_parser(
        "explain",
        help="print the desired state and next transitions of a schedule as JSON",
    )
    explain.add_argument(
        "text", help='a schedule, for example "mon-fri 08:00-20:00 tz UTC"'
    )
    explain.add_argument("--at", type=_instant, required=True, help="ISO-8601 instant")
    explain.add_argument("--count", type=int, default=2, help="how many transitions")
    return parser


def _explain(text: str, at: datetime, count: int) -> int:
    from bot import schedule

    try:
        result = schedule.explain(text, at, count)
    except SnoozeError as error:
        print(error, file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the process exit status."""
    options = _build_parser().parse_args(argv)

    if options.command == "schedule":
        return _explain(options.text, options.at, options.count)

    try:
        if options.command == "template":
            from bot.template import render_template

            print(render_template(), end="")
            return 0
        if options.command == "demo":
            from bot.demo import run_demo

            return run_demo()
        from bot.server import run

        return run(options.command)
    except SnoozeError as error:
        print(error, file=sys.stderr)
        return 2
