"""Worker processes for scheduled runs: a large fleet's accounts on every core.

A process runs Python on one core at a time, however many of its threads wait on AWS.
A run over a thousand accounts spends more than a minute of one core in botocore alone
(creating each account's client, signing each request, parsing each account's
DescribeDBInstances answer), so one process cannot stop such a fleet within a minute.
`AccountProcesses` spreads a run's accounts over worker processes, each with its own
database connections, AWS bridge and Slack poster, built once when the process starts.

Exactly-once holds as it does across replicas: each transition is claimed in the shared
tables before it is acted on. All accounts of one channel go to one process, so the
channel's messages keep Slack's pace of one a second. Workers are started with the
`spawn` method: forking a process that runs threads (the web server's, APScheduler's)
can copy a lock held by another thread, and the child then hangs on it.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.config import LOG_FORMAT, Settings
from bot.domain import Account

if TYPE_CHECKING:
    from bot.operations import Operations
    from bot.scheduler import Flag, Handled, Poster, RunWorld
    from bot.storage import Storage

logger = logging.getLogger(__name__)

# A worker's log lines name its process.
WORKER_LOG_FORMAT = LOG_FORMAT.replace("%(name)s", "%(name)s[%(process)d]")
# How long closing or restarting the pool waits for busy workers to finish the
# accounts they started before it kills them.
WORKER_EXIT_SECONDS = 120.0
SIGTERM_EVERY = 0.5


@dataclass(frozen=True)
class WorkerSetup:
    """What a worker process needs to build its own storage, AWS bridge and poster.

    It travels to each worker once, through the pipe that starts it; the bot token
    is never written anywhere and never shown by `repr`.
    """

    database_url: str = field(repr=False)  # may hold a password
    regions: tuple[str, ...]
    own_account_id: str
    slack_bot_token: str = field(repr=False)
    slack_api_url: str
    log_level: int = logging.INFO

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkerSetup:
        """The setup of the process's own settings and logging level."""
        return cls(
            database_url=settings.database_url,
            regions=tuple(settings.snoozedb_regions),
            own_account_id=settings.snoozedb_aws_account_id,
            slack_bot_token=settings.slack_bot_token,
            slack_api_url=settings.slack_api_url,
            log_level=logging.getLogger().getEffectiveLevel(),
        )


class AccountProcesses:
    """A pool of worker processes that handle groups of a run's accounts."""

    def __init__(self, setup: WorkerSetup, count: int) -> None:
        """Prepare `count` workers; they start at `warm_up` or at the first run.

        Args:
            setup: what each worker builds its storage, bridge and poster from.
            count: how many worker processes.
        """
        self.setup = setup
        self.count = count
        self._context = multiprocessing.get_context("spawn")
        self.stopping = self._context.Event()
        self._lock = threading.Lock()
        self._closed = False
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.count,
            mp_context=self._context,
            initializer=_start_worker,
            initargs=(self.setup, self.stopping),
        )

    def warm_up(self) -> None:
        """Start every worker now, so the first run does not wait for their imports."""
        # Each submission finds no idle worker yet and starts one.
        futures = [self._pool.submit(_ready) for _ in range(self.count)]
        for future in futures:
            future.result()

    def run(
        self, world: RunWorld, accounts: Sequence[Account], workers: int
    ) -> Handled:
        """Handle `accounts` in the workers, one group of channels each; wait for all.

        A group whose worker died (killed, out of memory) is counted as left: its
        claims stay open under this process's name and the next run takes them at
        once. If AWS carries out a stop that worker sent only after that next run
        has looked, the instance is stopped a second time (a refused call, or a
        second "stopping now" in the channel).

        Args:
            world: what the run read from storage once.
            accounts: the accounts the run must handle.
            workers: how many accounts each process handles at once.

        Returns:
            The outcomes of every group, and the accounts left.
        """
        from bot.scheduler import Handled

        groups = channel_groups(accounts, self.count)
        try:
            futures = self._submit(world, groups, workers)
        except BrokenProcessPool:  # a worker died since the last run
            logger.warning("a scheduler worker process had ended; starting them again")
            self._restart()
            futures = self._submit(world, groups, workers)
        handled = Handled()
        broken = False
        for group, future in zip(groups, futures, strict=True):
            try:
                part = future.result()
            except BrokenProcessPool:
                broken = True
                part = Handled(left=list(group))
            except Exception:
                logger.exception("a scheduler worker process failed its accounts")
                part = Handled(left=list(group))
            handled.outcomes.extend(part.outcomes)
            handled.dropped += part.dropped
            handled.messages += part.messages
            handled.left.extend(part.left)
        if broken and self.stopping.is_set():
            logger.info("scheduler worker processes ended while stopping")
        elif broken:
            logger.error(
                "a scheduler worker process ended abruptly; its accounts are retried "
                "next run and the workers are started again"
            )
            self._restart()
        return handled

    def _submit(
        self, world: RunWorld, groups: list[list[Account]], workers: int
    ) -> list[Future[Handled]]:
        return [self._pool.submit(_run_group, world, g, workers) for g in groups]

    def _restart(self) -> None:
        # Waits until the old workers have ended, so no account of this run is still
        # being handled when the next run starts.
        with self._lock:
            if self._closed:
                return
            self._end_pool()
            self._pool = self._new_pool()

    def _end_pool(self) -> None:
        """End the pool's workers: idle ones at once, busy ones after their accounts.

        A worker that died may have left the pool's queue locked: the others would
        then never read the pool's own request to exit, and waiting for them would
        never end. SIGTERM reaches them whatever the queue's state (`_on_sigterm`).
        """
        # The executor keeps no public list of its processes. Their sentinels tell
        # when they end, whichever thread reaps them (the executor's own does).
        workers = (getattr(self._pool, "_processes", None) or {}).values()
        running = {process.sentinel: process for process in workers}
        deadline = time.monotonic() + WORKER_EXIT_SECONDS
        while running and time.monotonic() < deadline:
            for process in running.values():
                # Again each time: a busy worker ends at the first one after its
                # accounts in progress are finished.
                process.terminate()
            ended = multiprocessing.connection.wait(list(running), SIGTERM_EVERY)
            for sentinel in ended:
                running.pop(sentinel)
        for process in running.values():
            # Its claims stay open: the work is redone after the lease.
            logger.error("scheduler worker %s did not end; killing it", process.pid)
            process.kill()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def stop(self) -> None:
        """Ask the workers to leave the accounts they have not started."""
        self.stopping.set()

    def close(self) -> None:
        """Stop the workers once their accounts in progress are finished."""
        self.stop()
        with self._lock:
            if not self._closed:
                self._closed = True
                self._end_pool()


def channel_groups(accounts: Sequence[Account], count: int) -> list[list[Account]]:
    """Split `accounts` into at most `count` groups of near-equal size, by channel.

    Args:
        accounts: the run's accounts.
        count: how many groups at most.

    Returns:
        Non-empty groups; the accounts of one channel are always in one group.
    """
    by_channel: dict[tuple[str, str], list[Account]] = {}
    for account in accounts:
        by_channel.setdefault((account.team_id, account.channel_id), []).append(account)
    groups: list[list[Account]] = [[] for _ in range(max(1, count))]
    for channel in sorted(by_channel.values(), key=len, reverse=True):
        min(groups, key=len).extend(channel)
    return [group for group in groups if group]


# --- Inside a worker process ---------------------------------------------------------

_parts: tuple[Storage, Operations, Poster] | None = None
_stopping: Flag | None = None
# Set on SIGTERM while the worker handles a group: it finishes the accounts it has
# started, starts no other, answers, and takes no further group.
_terminating = threading.Event()
_busy = threading.Event()


class _EitherFlag:
    """Set when the parent's stop flag or this worker's own SIGTERM flag is set."""

    def __init__(self, *flags: Flag) -> None:
        self.flags = flags

    def is_set(self) -> bool:
        return any(flag.is_set() for flag in self.flags)


def _start_worker(setup: WorkerSetup, stopping: Any) -> None:
    """Build the worker's storage, AWS bridge and poster (the pool's initializer)."""
    # Ctrl-C reaches the whole process group: the parent decides what stops, and
    # tells the workers through `stopping`.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_sigterm)
    logging.basicConfig(level=setup.log_level, format=WORKER_LOG_FORMAT)

    # Imported here: bot.scheduler imports this module.
    from bot.aws_bridge import AwsBridge
    from bot.operations import Operations
    from bot.scheduler import Poster
    from bot.slack_app import web_client
    from bot.storage import Storage

    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(
            target=_end_with_parent,
            args=(parent.sentinel,),
            name="snoozedb-parent-watch",
            daemon=True,
        ).start()

    global _parts, _stopping
    storage = Storage(setup.database_url)
    bridge = AwsBridge(regions=setup.regions, own_account_id=setup.own_account_id)
    operations = Operations(storage, bridge.without_capacity_retries())
    poster = Poster(storage, web_client(setup.slack_bot_token, setup.slack_api_url))
    _parts = (storage, operations, poster)
    _stopping = _EitherFlag(stopping, _terminating)


def _on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM: end now when idle; otherwise after the accounts already started.

    The pool sends it when it restarts or closes (after another worker died, the
    queues may be locked for good, so a worker may never read the pool's own
    request to exit), and a service manager may send it to every process of the
    service. Either way the accounts in progress are finished, so their claims are
    settled, and no new one is started; the pool's next SIGTERM ends it.
    """
    if not _busy.is_set():
        os._exit(0)
    _terminating.set()


def _end_with_parent(sentinel: int) -> None:
    """End this worker as soon as the scheduler process is gone.

    A scheduler killed outright (SIGKILL, out of memory) cannot tell its workers;
    left alone they would wait for work forever. Accounts a worker was handling then
    keep their claims open, and the next scheduler redoes them after the lease, as
    it does for a killed single process.
    """
    multiprocessing.connection.wait([sentinel])
    logger.warning("the scheduler process is gone; its worker %s ends too", os.getpid())
    os._exit(1)


def _ready() -> bool:
    return _parts is not None


def _run_group(world: RunWorld, accounts: list[Account], workers: int) -> Handled:
    from bot.scheduler import run_accounts

    if _parts is None:  # the initializer failed; the pool reports that itself
        raise RuntimeError("scheduler worker process not set up")
    if _terminating.is_set():  # told to end while busy: take no further group
        os._exit(0)
    storage, operations, poster = _parts
    _busy.set()
    try:
        return run_accounts(
            storage, operations, poster, world, accounts, workers, _stopping
        )
    finally:
        _busy.clear()
