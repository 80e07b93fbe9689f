"""A scheduler process for the fault tests, with its clock fixed from the command line.

`python -m tests.scheduler_child forever URL INSTANT` runs `snoozedb scheduler`'s own
loop (`run_forever`: a first run at once, SIGTERM handled) with the clock fixed at
INSTANT. `python -m tests.scheduler_child once URL INSTANT OWNER GO_FILE` waits for
GO_FILE to exist (so two processes start together), runs `run_due` once, and prints
how many outcomes it produced. `python -m tests.scheduler_child workers URL` starts
two scheduler worker processes, prints their process ids and waits to be killed. The
AWS and Slack stand-ins are named by the environment: AWS_ENDPOINT_URL, and
SNOOZEDB_TEST_SLACK_API_URL.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import threading
from datetime import datetime
from pathlib import Path

from bot.config import Settings
from bot.demo import BOT_TOKEN, DEMO_REGIONS, SIGNING_SECRET


def _settings(url: str) -> Settings:
    return Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=os.environ["SNOOZEDB_TEST_SLACK_API_URL"],
        database_url=url,
        snoozedb_regions=DEMO_REGIONS,
    )


def _once(url: str, at: datetime, owner: str, go_file: Path) -> int:
    from bot.aws_bridge import AwsBridge
    from bot.operations import Operations
    from bot.scheduler import Poster, run_due
    from bot.slack_app import web_client
    from bot.storage import Storage

    settings = _settings(url)
    storage = Storage(url)
    bridge = AwsBridge(regions=settings.snoozedb_regions)
    poster = Poster(
        storage,
        web_client(BOT_TOKEN, settings.slack_api_url),
        pause=lambda _seconds: None,
    )
    ready = threading.Event()
    while not go_file.exists():
        ready.wait(0.01)
    report = run_due(storage, Operations(storage, bridge), poster, at, owner=owner)
    storage.close()
    print(len(report.outcomes), report.unfinished)  # noqa: T201
    return 0


def _workers(url: str) -> int:
    """Start two scheduler worker processes, print their ids, then wait to be killed."""
    from bot.account_processes import AccountProcesses, WorkerSetup

    processes = AccountProcesses(
        WorkerSetup(
            database_url=url,
            regions=DEMO_REGIONS,
            own_account_id="123456789012",
            slack_bot_token=BOT_TOKEN,
            slack_api_url=os.environ["SNOOZEDB_TEST_SLACK_API_URL"],
        ),
        2,
    )
    processes.warm_up()
    pids = [str(child.pid) for child in multiprocessing.active_children()]
    print(" ".join(pids), flush=True)  # noqa: T201
    threading.Event().wait(600)
    return 0


def main(argv: list[str]) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    if argv[0] == "workers":
        return _workers(argv[1])
    mode, url, instant = argv[:3]
    at = datetime.fromisoformat(instant)
    if mode == "once":
        return _once(url, at, argv[3], Path(argv[4]))
    from bot.scheduler import run_forever

    return run_forever(_settings(url), clock=lambda: at)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
