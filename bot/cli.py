"""The `snoozedb` command line: serve, socket, demo, template, schedule explain.

Imports of the heavier parts happen inside each subcommand, so `snoozedb schedule
explain` answers quickly and `snoozedb --help` needs no settings at all.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime

from bot import messages
from bot.errors import SnoozeError

# The years bot.schedule can walk from: a day either side must still be a date.
FIRST_YEAR = 2
LAST_YEAR = 9998


def _instant(text: str) -> datetime | None:
    """The instant `--at` names, or None when it is not an aware ISO-8601 instant."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None or not FIRST_YEAR <= moment.year <= LAST_YEAR:
        return None
    return moment


def _count(text: str) -> int | None:
    """The number `--count` names, or None when it is not one from 1 to the limit."""
    from bot.schedule import MAX_TRANSITIONS

    if not text.strip().isdecimal():
        return None
    count = int(text)
    return count if 1 <= count <= MAX_TRANSITIONS else None


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
    # Both are checked in `_explain`, not by argparse, so a bad value gets one
    # sentence naming the allowed values instead of a usage dump.
    explain.add_argument("--at", required=True, help="ISO-8601 instant with offset")
    explain.add_argument("--count", default="2", help="how many transitions (1-1000)")
    return parser


def _explain(text: str, at_text: str, count_text: str) -> int:
    from bot import schedule

    at = _instant(at_text)
    if at is None:
        print(messages.explain_at_invalid(at_text), file=sys.stderr)
        return 2
    count = _count(count_text)
    if count is None:
        limit = schedule.MAX_TRANSITIONS
        print(messages.explain_count_invalid(count_text, limit), file=sys.stderr)
        return 2
    try:
        result = schedule.explain(text, at, count)
    except SnoozeError as error:
        print(error, file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the process exit status."""
    try:
        return _main(argv)
    except BrokenPipeError:
        # The reader went away (`snoozedb demo | head`): nothing more can be said,
        # and Python would print a traceback while flushing at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def _main(argv: Sequence[str] | None) -> int:
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
