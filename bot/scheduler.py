"""The scheduler: carry out due transitions exactly once and tell the channel.

APScheduler only says "look now", once a minute. What is due is read from our own
tables each time (`run_due`), and every unit of work is claimed with an INSERT of a
unique key before it is done, so one process or several replicas sharing PostgreSQL
act once per transition (APScheduler 3 cannot share a job store, see FACTS).

Claims are leases (`Storage.take_claim`): an account's claims are marked done in the
commit that records its outcomes and keeps its channel message. A process killed in
between leaves them open; once the lease runs out the next run looks back far enough
to find those transitions again, takes them over and redoes them. Redoing is safe:
an instance the dead run already stopped is reported "already stopped", no call made.

A run looks at the window (last run, now]. Per account it assumes the role once,
lists each region once, decides per instance (one-offs, overrides, the schedule in
force), acts, and posts one message per account and channel. Accounts are handled
concurrently, and over several worker processes when SNOOZEDB_SCHEDULER_PROCESSES
says so (`bot.account_processes`). Busy instances are tried again on later runs until
a deadline; nothing here sleeps except the Slack pacing of one message a second per
channel.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import OperationalError

from bot import messages, notices, planning, rules
from bot.account_processes import AccountProcesses, WorkerSetup
from bot.aws_bridge import AccountSession
from bot.blocks import Block, sections
from bot.config import Settings
from bot.domain import (
    Account,
    Action,
    Assignment,
    BusyRetry,
    Instance,
    Notice,
    OneOff,
    Outcome,
    OutcomeKind,
    Override,
    Reason,
    SavedSchedule,
)
from bot.operations import AccountProblem, Operations
from bot.schedule import Desired, Transition
from bot.storage import CLAIM_LEASE, DEFAULT_NOTICE_MINUTES, Claim, Storage

logger = logging.getLogger(__name__)

OWNER = f"{socket.gethostname()}:{os.getpid()}"
TICK = timedelta(minutes=1)
CATCH_UP = timedelta(hours=24)
BUSY_DEADLINE = timedelta(minutes=30)
SEVEN_DAYS = timedelta(days=7)
# RDS restarts "about" seven days after the stop; the hourly sweep sees it late.
SEVEN_DAYS_EARLIEST = SEVEN_DAYS - timedelta(hours=1)
SEVEN_DAYS_LATEST = SEVEN_DAYS + timedelta(days=1)
ACCOUNT_WORKERS = 32
# Stop and start calls in flight at once: per account (its instances are independent)
# and in the whole process (AwsBridge's connection pools hold as many).
ACCOUNT_CALLS = 8
AWS_CALLS = 64
_AWS_CALLS = threading.BoundedSemaphore(AWS_CALLS)
# Channel messages Slack refused are tried again on later runs: each run spends at
# most RETRY_BUDGET_SECONDS on them, each is tried RETRY_ATTEMPTS times in all within
# RETRY_FOR of being kept, then given up (`/snooze history` still lists it).
RETRY_BUDGET_SECONDS = 10.0
RETRY_ATTEMPTS = 30
RETRY_FOR = timedelta(hours=24)
UNDELIVERABLE = frozenset({"not_in_channel", "channel_not_found", "is_archived"})
_ALREADY = frozenset({OutcomeKind.ALREADY_STOPPED, OutcomeKind.ALREADY_RUNNING})
# Outcomes the retry queue waits out: a busy instance, a start AWS has no room for.
_WAITED_FOR = frozenset({Reason.BUSY, Reason.NO_CAPACITY})
# The `last_status` of a queued start that AWS had no capacity for.
_NO_CAPACITY = "no capacity"

Clock = Callable[[], datetime]


class Flag(Protocol):
    """A stop flag: a threading.Event, or a multiprocessing one seen by worker processes."""

    def is_set(self) -> bool:
        """Whether the flag has been set."""
        ...


def utc_now() -> datetime:
    """The current instant, aware, in UTC."""
    return datetime.now(UTC)


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        return instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC)


def _minute(instant: datetime) -> str:
    return _utc(instant).replace(second=0, microsecond=0).isoformat()


def _clock(instant: datetime) -> str:
    return _utc(instant).strftime("%Y-%m-%d %H:%M UTC")


# --- Posting ---------------------------------------------------------------------------


class Poster:
    """Posts channel messages with chat.postMessage, about one a second per channel.

    Every message is kept in storage first and marked delivered when Slack accepts
    it; one the bot cannot post (not in the channel) stays undelivered and is tried
    again on later runs, after the run's own work and for a bounded time per run,
    up to `RETRY_ATTEMPTS` tries or `RETRY_FOR`, then given up (still listed in
    `/snooze history`). 429 answers are retried by the client's handler.
    """

    def __init__(
        self,
        storage: Storage,
        client: WebClient,
        *,
        clock: Clock = utc_now,
        pace_seconds: float = 1.0,
        pause: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """Wrap a Web API client.

        Args:
            storage: where messages wait until delivered.
            client: a WebClient with the bot token (see `bot.slack_app.web_client`).
            clock: the current instant.
            pace_seconds: the least time between two posts to one channel.
            pause: how to wait for the pace (tests pass a no-op).
            monotonic: seconds for the pace and the retry budget (tests pass a
                clock that `pause` moves).
        """
        self.storage = storage
        self.client = client
        self.clock = clock
        self.pace_seconds = pace_seconds
        self.pause = pause
        self.monotonic = monotonic
        self._locks: dict[str, threading.Lock] = defaultdict(threading.Lock)
        self._last: dict[str, float] = {}
        self._guard = threading.Lock()

    def post(
        self, team_id: str, channel_id: str, text: str, blocks: Sequence[Block] = ()
    ) -> bool:
        """Keep and deliver one message; False when Slack refused it (kept for retry)."""
        notice = self.storage.add_notice(
            team_id, channel_id, text, json.dumps(list(blocks)) if blocks else ""
        )
        return self.send(notice)

    def send(self, notice: Notice) -> bool:
        """Deliver a message already kept in storage; False when Slack refused it."""
        return self._deliver(notice.id, notice.channel_id, notice.text, notice.blocks)

    def retry_undelivered(
        self,
        kept_up_to: int | None = None,
        *,
        now: datetime | None = None,
        budget_seconds: float = RETRY_BUDGET_SECONDS,
    ) -> int:
        """Try again the messages Slack refused before, for at most `budget_seconds`.

        Messages tried `RETRY_ATTEMPTS` times or kept longer than `RETRY_FOR` are
        given up first; teams marked inactive are skipped (their messages wait for
        the team to come back, within the same bounds). What the budget leaves is
        tried on the next run, oldest first.

        Args:
            kept_up_to: only messages kept up to this id (the run's own messages,
                kept after it, were just tried).
            now: the run's instant, for the age limit (default: the clock).
            budget_seconds: how long this call may spend, pacing included.

        Returns:
            How many messages went out.
        """
        now = now or self.clock()
        given_up = self.storage.give_up_notices(now - RETRY_FOR, RETRY_ATTEMPTS, now)
        if given_up:
            logger.warning("gave up delivering %s channel message(s)", given_up)
        started = self.monotonic()
        active: dict[str, bool] = {}
        sent = 0
        pending = self.storage.undelivered_notices(up_to_id=kept_up_to)
        for index, notice in enumerate(pending):
            if notice.team_id not in active:
                active[notice.team_id] = self.storage.team_active(notice.team_id)
            if not active[notice.team_id]:
                continue
            if self.monotonic() - started >= budget_seconds:
                logger.info(
                    "%s undelivered message(s) left for the next run",
                    len(pending) - index,
                )
                break
            sent += self.send(notice)
        return sent

    def _deliver(self, notice_id: int, channel_id: str, text: str, blocks: str) -> bool:
        with self._guard:
            lock = self._locks[channel_id]
        with lock:
            wait = (
                self._last.get(channel_id, -1e9) + self.pace_seconds - self.monotonic()
            )
            if wait > 0:
                self.pause(wait)
            try:
                self.client.chat_postMessage(
                    channel=channel_id,
                    text=text,
                    blocks=json.loads(blocks) if blocks else None,
                )
            except SlackApiError as error:
                code = str(error.response.get("error", "unknown"))
                self.storage.notice_failed(notice_id, code)
                level = logging.WARNING if code in UNDELIVERABLE else logging.ERROR
                logger.log(
                    level,
                    "could not post to channel=%s (%s); kept for retry",
                    channel_id,
                    code,
                )
                return False
            except OSError:
                self.storage.notice_failed(notice_id, "unreachable")
                logger.warning("Slack did not answer for channel=%s; kept", channel_id)
                return False
            finally:
                self._last[channel_id] = self.monotonic()
        self.storage.notice_delivered(notice_id, self.clock())
        return True


# --- One run ---------------------------------------------------------------------------


@dataclass
class RunReport:
    """What one run did, for logs and tests."""

    since: datetime
    now: datetime
    accounts_surveyed: int = 0
    outcomes: list[Outcome] = field(default_factory=list)
    messages: int = 0
    dropped: int = 0
    unfinished: int = 0  # accounts left to the next run (shutdown, database busy)


@dataclass(frozen=True)
class RunWorld:
    """Everything read from storage once per run, shared by the account workers."""

    since: datetime
    now: datetime
    owner: str
    assignments: dict[tuple[str, str], list[Assignment]]
    named: dict[tuple[str, str], dict[str, SavedSchedule]]
    one_offs: dict[str, list[OneOff]]
    due_one_offs: dict[str, list[OneOff]]
    overrides: dict[str, list[Override]]
    ending: dict[str, list[Override]]
    busy: dict[str, list[Any]]
    sweep: bool
    notice_minutes: dict[tuple[str, str], int] = field(default_factory=dict)


@dataclass
class _AccountRun:
    """The lines and outcomes one account produced in one run."""

    lines: list[str] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    acted: set[str] = field(default_factory=set)
    enforced: list[str] = field(default_factory=list)
    done: list[tuple[str, Action]] = field(default_factory=list)
    dropped: int = 0
    claims: list[str] = field(default_factory=list)
    one_offs: list[int] = field(default_factory=list)


def run_due(
    storage: Storage,
    operations: Operations,
    poster: Poster,
    now: datetime,
    *,
    since: datetime | None = None,
    owner: str = OWNER,
    workers: int = ACCOUNT_WORKERS,
    stopping: Flag | None = None,
    processes: AccountProcesses | None = None,
) -> RunReport:
    """Carry out every transition due in (`since`, `now`], each exactly once.

    The window reaches further back when a claim whose lease ran out is found (a
    process died mid-run): its transitions are found again and taken over.

    Args:
        storage: the tables (the truth), shared by every replica.
        operations: surveys accounts with one role assumption each.
        poster: posts the channel messages.
        now: the current instant (injected; nothing here reads the clock).
        since: the end of the previous run; the stored mark when None, at most
            24 hours back (older transitions are dropped).
        owner: names this process in claims.
        workers: how many accounts are handled at once (in each process).
        stopping: set on SIGTERM: accounts already started are finished (their
            calls, records and messages), the others are left, and the stored mark
            stays put so the next process runs them.
        processes: worker processes to spread the accounts over; None handles
            them on this process's threads. Their workers do not see `stopping`:
            `AccountProcesses.stop` tells them (`Engine.shutdown` does both).

    Returns:
        What the run did.
    """
    now = _utc(now)
    if since is None:
        since = storage.mark("last_run") or now - TICK
    expired = storage.expired_claims(now - CLAIM_LEASE)
    if expired:
        logger.warning(
            "%s scheduled unit(s) left unfinished by a stopped process; looking back",
            len(expired),
        )
        since = min([_utc(since), *(_utc(at) for at in expired.values())])
    since = max(_utc(since), now - CATCH_UP)
    report = RunReport(since, now)
    kept_up_to = storage.last_notice_id()

    world = _read_world(storage, since, now, owner)
    accounts = [a for a in storage.all_active_accounts() if _needs_survey(world, a)]
    accounts = [a for a in accounts if storage.team_active(a.team_id)]
    report.accounts_surveyed = len(accounts)
    if processes is not None and len(accounts) > 1:
        handled = processes.run(world, accounts, workers)
    else:
        handled = run_accounts(
            storage, operations, poster, world, accounts, workers, stopping
        )
    report.outcomes = handled.outcomes
    report.dropped = handled.dropped
    report.messages = handled.messages
    left = handled.left
    # After the accounts, so old messages never delay this run's stops and starts.
    poster.retry_undelivered(kept_up_to, now=now)
    if left:
        # The mark stays put, so the next run looks at this window again.
        report.unfinished = len(left)
        logger.info("%s account(s) left for the next run", len(left))
        return report
    for key in storage.abandon_claims(list(expired), now - CLAIM_LEASE, now):
        logger.warning("dropped unfinished %s: its effect is no longer wanted", key)
    storage.advance_mark("last_run", now)
    storage.forget_scheduler_claims(now - 2 * CATCH_UP)
    return report


@dataclass
class Handled:
    """What a group of accounts produced in one run: outcomes, and the accounts left."""

    outcomes: list[Outcome] = field(default_factory=list)
    dropped: int = 0
    messages: int = 0
    left: list[Account] = field(default_factory=list)


def run_accounts(
    storage: Storage,
    operations: Operations,
    poster: Poster,
    world: RunWorld,
    accounts: Sequence[Account],
    workers: int = ACCOUNT_WORKERS,
    stopping: Flag | None = None,
) -> Handled:
    """Handle `accounts` of one run, `workers` at a time, on this process's threads.

    Args:
        storage: the tables.
        operations: surveys accounts with one role assumption each.
        poster: posts the channel messages.
        world: what the run read from storage once.
        accounts: the accounts to handle.
        workers: how many accounts are handled at once.
        stopping: once set, accounts not yet started are left for the next run.

    Returns:
        The outcomes, and the accounts left (shutdown, database busy).
    """
    handled = Handled()

    def one(account: Account) -> _AccountRun:
        if stopping is not None and stopping.is_set():
            handled.left.append(account)
            return _AccountRun()
        try:
            return _run_account(storage, operations, poster, world, account)
        except OperationalError as error:
            # SQLite's other writer held the file past the busy timeout, or the
            # database was unreachable. The account's claims stay open under our
            # name, so the next tick (which keeps this window) takes them again.
            logger.error(
                "database busy or unreachable for account=%s (%s); retried next tick",
                account.aws_account_id,
                str(error.orig).splitlines()[0] if error.orig else "?",
            )
            handled.left.append(account)
            return _AccountRun()
        except Exception:
            # Its claims stay open: the work is redone once the lease runs out.
            logger.exception(
                "scheduled run failed for account=%s", account.aws_account_id
            )
            return _AccountRun()

    if not accounts:
        return handled
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(accounts)))) as pool:
        for done in pool.map(one, accounts):
            handled.outcomes.extend(done.outcomes)
            handled.dropped += done.dropped
            handled.messages += bool(done.lines)
    return handled


def _read_world(
    storage: Storage, since: datetime, now: datetime, owner: str
) -> RunWorld:
    assignments: dict[tuple[str, str], list[Assignment]] = defaultdict(list)
    for assignment in storage.all_assignments():
        assignments[(assignment.team_id, assignment.channel_id)].append(assignment)
    channels = {(a.team_id, a.channel_id) for a in storage.all_active_accounts()}
    named = {
        channel: {s.name: s for s in storage.named_schedules(*channel) if s.name}
        for channel in channels
    }
    one_offs: dict[str, list[OneOff]] = defaultdict(list)
    for one_off in storage.all_one_offs():
        one_offs[one_off.team_id].append(one_off)
    due: dict[str, list[OneOff]] = defaultdict(list)
    for one_off in storage.due_one_offs(now):
        due[_account_of(one_off.instance)].append(one_off)
    overrides: dict[str, list[Override]] = defaultdict(list)
    for override in storage.all_overrides(now):
        overrides[override.team_id].append(override)
    ending: dict[str, list[Override]] = defaultdict(list)
    for override in storage.overrides_ending(since, now):
        ending[_account_of(override.instance)].append(override)
    busy: dict[str, list[Any]] = defaultdict(list)
    for retry in storage.busy_retries():
        busy[_account_of(retry.instance)].append(retry)
    hour = now.replace(minute=0, second=0, microsecond=0)
    return RunWorld(
        since=since,
        now=now,
        owner=owner,
        assignments=dict(assignments),
        named=named,
        one_offs=dict(one_offs),
        due_one_offs=dict(due),
        overrides=dict(overrides),
        ending=dict(ending),
        busy=dict(busy),
        sweep=since < hour <= now,
        notice_minutes=storage.all_notice_minutes(),
    )


def _account_of(qualified: str) -> str:
    return qualified.split("/", 1)[0]


def _schedules_of(world: RunWorld, account: Account) -> list[SavedSchedule]:
    mine = world.assignments.get((account.team_id, account.channel_id), [])
    return [a.schedule for a in mine] + list(
        world.named.get((account.team_id, account.channel_id), {}).values()
    )


def _needs_survey(world: RunWorld, account: Account) -> bool:
    """True when something may be due in the account: only then is AWS asked."""
    aws_id = account.aws_account_id
    if (
        world.due_one_offs.get(aws_id)
        or world.busy.get(aws_id)
        or world.ending.get(aws_id)
        or account.unreachable_since is not None
    ):
        return True
    schedules = _schedules_of(world, account)
    if not schedules:
        return False
    if world.sweep:
        return True
    ahead = timedelta(minutes=_notice_minutes(world, account))
    for saved in schedules:
        if _steps(saved.text, world.since, world.now):
            return True
        if ahead and any(
            s.action is Action.STOP
            for s in _steps(saved.text, world.since + ahead, world.now + ahead)
        ):
            return True
    return False


def _notice_minutes(world: RunWorld, account: Account) -> int:
    key = (account.team_id, account.channel_id)
    return world.notice_minutes.get(key, DEFAULT_NOTICE_MINUTES)


def _steps(text: str, since: datetime, until: datetime) -> list[Transition]:
    """The schedule's transitions in (since, until], instants in UTC."""
    return _cached_steps(text, since, until)


_STEP_CACHE: dict[tuple[str, datetime, datetime], list[Transition]] = {}
_STEP_LOCK = threading.Lock()


def _cached_steps(text: str, since: datetime, until: datetime) -> list[Transition]:
    key = (text, since, until)
    with _STEP_LOCK:
        found = _STEP_CACHE.get(key)
    if found is not None:
        return found
    found = []
    for step in planning.parsed(text).transitions(since, 200):
        at = _utc(step.at)
        if at > until:
            break
        found.append(Transition(step.action, at))
    with _STEP_LOCK:
        if len(_STEP_CACHE) > 10_000:
            _STEP_CACHE.clear()
        _STEP_CACHE[key] = found
    return found


def _claim(
    storage: Storage, world: RunWorld, run: _AccountRun, key: str, *, found: bool = True
) -> Claim | None:
    """Take a lease on `key` for this account's run; it is settled with the run.

    `found` says the work was found in the run's window (a transition, a notice),
    so a run after a crash must look back to that window to find it again; work
    read from tables every run (one-offs, busy retries) needs no looking back.
    """
    claim = storage.take_claim(
        key, world.owner, world.now, since=world.since if found else None
    )
    if claim is not None:
        run.claims.append(key)
    return claim


def _run_account(
    storage: Storage,
    operations: Operations,
    poster: Poster,
    world: RunWorld,
    account: Account,
) -> _AccountRun:
    run = _AccountRun()
    with operations.session_survey([account], "schedule") as survey:
        if survey.problems:
            _unreached(storage, poster, world, account, survey.problems[0])
            return run
        session = survey.sessions[account.id]
        try:
            instances = {i.ref.qualified: i for i in survey.instances}
            _due_one_offs(storage, session, world, account, instances, run)
            _ended_overrides(storage, session, world, account, instances, run)
            missed = _missed_window(world, account)
            _transitions(storage, session, missed, account, instances, run)
            _busy_retries(storage, session, world, account, instances, run)
            _restarted(storage, session, world, account, instances, run)
            _notices(storage, poster, world, account, instances)
        finally:
            # Written even when a step above failed: what was done must be remembered.
            storage.note_bot_actions(run.done, world.now)

    denied = operations.note_denials(account, run.outcomes)
    if denied is not None:
        run.lines.append(
            messages.role_denied_during_run(account.aws_account_id, denied)
        )
    message = None
    if run.lines:
        heading = messages.scheduled_heading(account.aws_account_id)
        shown = sections([heading, *run.lines])
        if run.enforced:
            shown.append(
                notices.keep_running_button(account.channel_id, run.enforced, world.now)
            )
        message = ("\n".join([heading, *run.lines]), json.dumps(shown))
    if not (run.claims or run.outcomes or message):
        return run
    # One commit: outcomes, the message owed and the claims' done_at (see module doc).
    notice = storage.settle_claims(
        run.claims,
        world.owner,
        world.now,
        team_id=account.team_id,
        channel_id=account.channel_id,
        outcomes=run.outcomes,
        message=message,
        one_offs=run.one_offs,
    )
    if account.unreachable_since is not None:
        # Cleared once the missed transitions are settled: killed before, the next
        # run still looks back to the start of the outage.
        storage.mark_reachable(account.id)
        logger.info("AWS reachable again for account=%s", account.aws_account_id)
    if notice is not None:
        poster.send(notice)
    return run


def _unreached(
    storage: Storage,
    poster: Poster,
    world: RunWorld,
    account: Account,
    problem: AccountProblem,
) -> None:
    """Tell the channel once why the account could not be reached in this run.

    A broken role is said once until it works again (see `Operations`). AWS not
    answering (endpoint down, throttled beyond the retries) is said once per outage;
    the outage is remembered from the start of this run's window, so runs after it
    look back that far and make the transitions missed meanwhile if still wanted.
    """
    sentence = ""
    if problem.aws_down:
        if storage.mark_unreachable(account.id, world.since):
            sentence = messages.aws_down_during_run(
                account.aws_account_id, problem.sentence
            )
    elif problem.newly_broken:
        sentence = messages.role_broken_during_run(
            account.aws_account_id, problem.sentence
        )
    if sentence:
        poster.post(account.team_id, account.channel_id, sentence)


def _missed_window(world: RunWorld, account: Account) -> RunWorld:
    """The world with its window reaching back to the start of the account's outage."""
    if account.unreachable_since is None:
        return world
    since = max(min(world.since, _utc(account.unreachable_since)), world.now - CATCH_UP)
    return replace(world, since=since)


def _act(
    storage: Storage,
    session: AccountSession,
    world: RunWorld,
    account: Account,
    instance: Instance,
    action: Action,
    run: _AccountRun,
    *,
    confirmed: bool = False,
) -> Outcome:
    """Act on one instance and remember it.

    Excluded instances are skipped unless `confirmed`: the way back of a one-off
    someone confirmed on an excluded instance is carried out.
    """
    decided = rules.plan(instance, action, manual=False, confirmed=confirmed)
    outcome = decided if decided is not None else _call(session, instance, action)
    _note(storage, world, account, instance, action, outcome, run)
    return outcome


def _act_all(
    storage: Storage,
    session: AccountSession,
    world: RunWorld,
    account: Account,
    steps: Sequence[tuple[Instance, Action]],
    run: _AccountRun,
) -> list[Outcome]:
    """`_act` on many instances of one account, the AWS calls made concurrently.

    At most `ACCOUNT_CALLS` calls of the account are in flight, and `AWS_CALLS` of
    the whole process; the outcomes are noted in the order of `steps`, on this
    thread, so storage and the run's lists see one writer.
    """
    decided = [rules.plan(i, a, manual=False, confirmed=False) for i, a in steps]
    pending = [n for n, outcome in enumerate(decided) if outcome is None]

    def call(n: int) -> Outcome:
        return _call(session, *steps[n])

    def lane(numbers: Sequence[int]) -> list[tuple[int, Outcome]]:
        return [(n, call(n)) for n in numbers]

    answered: dict[int, Outcome] = {}
    if len(pending) > 1:
        # At most ACCOUNT_CALLS lanes of calls, each one call at a time, on threads
        # shared by every account: a fleet's run starts no threads per account.
        lanes = [pending[k::ACCOUNT_CALLS] for k in range(ACCOUNT_CALLS)]
        futures = [_aws_pool().submit(lane, numbers) for numbers in lanes if numbers]
        answered = dict(pair for future in futures for pair in future.result())
    else:
        answered = {n: call(n) for n in pending}

    outcomes = []
    for n, (instance, action) in enumerate(steps):
        outcome = decided[n] or answered[n]
        _note(storage, world, account, instance, action, outcome, run)
        outcomes.append(outcome)
    return outcomes


_POOL_LOCK = threading.Lock()
_POOL: ThreadPoolExecutor | None = None


def _aws_pool() -> ThreadPoolExecutor:
    """The process's threads for scheduled stop and start calls, made on first use."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(AWS_CALLS, thread_name_prefix="snoozedb-aws")
        return _POOL


def _call(session: AccountSession, instance: Instance, action: Action) -> Outcome:
    """One StopDBInstance or StartDBInstance, within the process's bound."""
    with _AWS_CALLS:
        return session.act(instance, action)


def _note(
    storage: Storage,
    world: RunWorld,
    account: Account,
    instance: Instance,
    action: Action,
    outcome: Outcome,
    run: _AccountRun,
) -> None:
    """Queue what must be waited out, and remember the outcome in the run."""
    if outcome.reason in _WAITED_FOR:
        storage.add_busy_retry(
            account.team_id,
            account.channel_id,
            instance.ref.qualified,
            action,
            "schedule",
            world.now,
            world.now + BUSY_DEADLINE,
            _NO_CAPACITY if outcome.reason is Reason.NO_CAPACITY else outcome.detail,
        )
    _record(instance, action, outcome, run)


def _record(
    instance: Instance, action: Action, outcome: Outcome, run: _AccountRun
) -> None:
    """Remember an outcome in the account's run (audit, message, seven-day rule)."""
    run.outcomes.append(outcome)
    run.acted.add(instance.ref.qualified)
    if outcome.kind in {OutcomeKind.STOPPED, OutcomeKind.STARTED}:
        run.done.append((instance.ref.qualified, action))
    logger.info(
        "scheduled %s %s: %s", action.value, instance.ref.qualified, outcome.kind.value
    )


def _line(outcome: Outcome, cause: str, world: RunWorld) -> str:
    return messages.scheduled_line(outcome_text(outcome, world.now), cause)


def _due_one_offs(
    storage: Storage,
    session: AccountSession,
    world: RunWorld,
    account: Account,
    instances: dict[str, Instance],
    run: _AccountRun,
) -> None:
    for one_off in world.due_one_offs.get(account.aws_account_id, []):
        # An AWS account may be connected in several channels, each through its own
        # role: the one-off is the business of the channel it was typed in, judged
        # by that channel's schedules and told there.
        if (one_off.team_id, one_off.channel_id) != (
            account.team_id,
            account.channel_id,
        ):
            continue
        instance = instances.get(one_off.instance)
        if not _claim(storage, world, run, f"o{one_off.id}", found=False):
            continue
        run.one_offs.append(one_off.id)  # finished when the run is settled
        if instance is None:
            logger.warning("one-off %s: %s is gone", one_off.id, one_off.instance)
            continue
        base = planning.underlying(
            instance,
            world.assignments.get((account.team_id, account.channel_id), []),
            world.named.get((account.team_id, account.channel_id), {}),
        )
        due = planning.stored_utc(one_off.due_at)
        excluded = instance.excluded
        if not planning.way_back_wanted(one_off.action, due, base, excluded=excluded):
            run.lines.append(
                messages.one_off_ended_schedule_resumes(
                    instance.ref, one_off.created_by, one_off.action
                )
            )
            continue
        # The person who asked for the one-off confirmed it if the instance is
        # excluded: its way back is theirs too.
        outcome = _act(
            storage,
            session,
            world,
            account,
            instance,
            one_off.action,
            run,
            confirmed=True,
        )
        run.lines.append(
            _line(outcome, messages.cause_one_off(one_off.created_by), world)
        )


def _ended_overrides(
    storage: Storage,
    session: AccountSession,
    world: RunWorld,
    account: Account,
    instances: dict[str, Instance],
    run: _AccountRun,
) -> None:
    """A keep-running override ended: stop the instance if its schedule wants it."""
    for override in world.ending.get(account.aws_account_id, []):
        instance = instances.get(override.instance)
        if instance is None or override.team_id != account.team_id:
            continue
        applied = _applicable(world, account, instance)
        if applied is None or applied.desired is not Desired.STOPPED:
            continue
        if applied.source in {planning.Source.ONE_OFF, planning.Source.OVERRIDE}:
            continue
        if not _claim(storage, world, run, f"x{override.id}"):
            continue
        outcome = _act(storage, session, world, account, instance, Action.STOP, run)
        cause = messages.cause_override_ended(override.created_by)
        run.lines.append(_line(outcome, cause, world))


def _applicable(
    world: RunWorld, account: Account, instance: Instance
) -> planning.Applicable | None:
    return planning.applicable(
        instance,
        world.assignments.get((account.team_id, account.channel_id), []),
        world.named.get((account.team_id, account.channel_id), {}),
        world.one_offs.get(account.team_id, []),
        world.overrides.get(account.team_id, []),
        world.now,
        count=1,
    )


def _group(base: planning.Underlying, account: Account) -> str:
    head = f"a{base.assignment.id}" if base.assignment else f"n{base.saved.id}"
    return f"{head}:{account.id}"


def _due_step(
    base: planning.Underlying, world: RunWorld
) -> tuple[Transition | None, int]:
    """The one transition to carry out now, and how many stale ones were dropped.

    Of several transitions in the window only the last can still be wanted; it is
    carried out only while the schedule still wants its effect (a missed stop whose
    window has not reopened), so a catch-up after downtime never undoes the present.
    """
    steps = _steps(base.saved.text, world.since, world.now)
    if not steps:
        return None, 0
    last = steps[-1]
    desired = base.schedule.desired_at(world.now)
    wanted = (
        desired is Desired.ANY
        or (last.action is Action.STOP and desired is Desired.STOPPED)
        or (last.action is Action.START and desired is Desired.RUNNING)
    )
    if not wanted:
        return None, len(steps)
    return last, len(steps) - 1


def _transitions(
    storage: Storage,
    session: AccountSession,
    world: RunWorld,
    account: Account,
    instances: dict[str, Instance],
    run: _AccountRun,
) -> None:
    groups: dict[str, list[tuple[Instance, planning.Underlying, Transition]]] = {}
    for instance in instances.values():
        if instance.ref.qualified in run.acted:
            continue
        applied = _applicable(world, account, instance)
        if applied is None or applied.underlying is None:
            continue
        base = applied.underlying
        step, dropped = _due_step(base, world)
        if dropped:
            run.dropped += dropped
            logger.info(
                "dropped %s stale transition(s) of %s for %s",
                dropped,
                base.origin,
                instance.ref.qualified,
            )
        if step is None:
            continue
        if applied.source is planning.Source.ONE_OFF:
            continue
        if applied.source is planning.Source.OVERRIDE and step.action is Action.STOP:
            override = applied.override
            assert override is not None
            if _claim(storage, world, run, f"k{override.id}:{_minute(step.at)}"):
                run.lines.append(
                    messages.scheduled_line(
                        messages.kept_running(
                            instance.ref, _clock(override.until), override.created_by
                        ),
                        messages.cause_schedule(base.saved.name, base.origin),
                    )
                )
            continue
        key = f"{_group(base, account)}:{_utc(step.at).isoformat()}:{step.action.value}"
        groups.setdefault(key, []).append((instance, base, step))

    claimed: list[tuple[Claim, Instance, planning.Underlying, Transition]] = []
    for key, members in groups.items():
        claim = _claim(storage, world, run, key)
        if claim is None:
            continue
        if _utc(members[0][2].at) < world.now - 2 * TICK:
            logger.info("catching up %s missed at %s", key, _utc(members[0][2].at))
        claimed.extend(
            (claim, instance, base, step) for instance, base, step in members
        )

    steps = [(instance, step.action) for _, instance, _, step in claimed]
    outcomes = _act_all(storage, session, world, account, steps, run)
    for (claim, instance, base, step), outcome in zip(claimed, outcomes, strict=True):
        if claim is Claim.RESUMED and outcome.kind in _ALREADY:
            # Most likely the dead run's own call: remember it as the bot's, so
            # the seven-day rule still knows who stopped the instance.
            run.done.append((instance.ref.qualified, step.action))
        cause = messages.cause_schedule(base.saved.name, base.origin)
        run.lines.append(_line(outcome, cause, world))


def _busy_retries(
    storage: Storage,
    session: AccountSession,
    world: RunWorld,
    account: Account,
    instances: dict[str, Instance],
    run: _AccountRun,
) -> None:
    for retry in world.busy.get(account.aws_account_id, []):
        if retry.team_id != account.team_id or retry.instance in run.acted:
            continue
        if _utc(retry.first_at) >= world.now:
            continue
        key = f"r{retry.id}:{_minute(world.now)}"
        if not _claim(storage, world, run, key, found=False):
            continue
        instance = instances.get(retry.instance)
        if instance is None:
            storage.finish_busy_retry(retry.id, world.now)
            continue
        decided = rules.plan(instance, retry.action, manual=False, confirmed=False)
        if decided is not None and decided.reason is Reason.BUSY:
            outcome = decided
        elif decided is None and retry.last_status == _NO_CAPACITY:
            # The instance is ready, but AWS had no room for it: ask again, once.
            outcome = session.act(instance, retry.action)
        else:
            outcome = None
        if outcome is not None and outcome.reason in _WAITED_FOR:
            if world.now < _utc(retry.deadline):
                waiting = _NO_CAPACITY if outcome.reason is Reason.NO_CAPACITY else ""
                storage.note_busy(retry.id, waiting or instance.status)
                continue
            _gave_up(storage, world, retry, instance, outcome, run)
            continue
        if outcome is not None:
            _record(instance, retry.action, outcome, run)
        else:
            outcome = _act(
                storage, session, world, account, instance, retry.action, run
            )
        # Finished after the call: killed in between, the next tick calls again
        # (harmless: the instance is then reported "already" stopped or running).
        storage.finish_busy_retry(retry.id, world.now)
        waited = "no capacity" if retry.last_status == _NO_CAPACITY else instance.status
        run.lines.append(_line(outcome, f"tried again after {waited}", world))


def _gave_up(
    storage: Storage,
    world: RunWorld,
    retry: BusyRetry,
    instance: Instance,
    outcome: Outcome,
    run: _AccountRun,
) -> None:
    """The deadline passed: settle the retry and report how the last try ended."""
    storage.finish_busy_retry(retry.id, world.now)
    minutes = round((world.now - _utc(retry.first_at)).total_seconds() / 60)
    if outcome.reason is Reason.NO_CAPACITY:
        # The outcome's own sentence says SnoozeDB stopped retrying and what to do.
        final = outcome
        sentence = messages.outcome_sentence(outcome)
        cause = f"no capacity for {minutes} minutes"
    else:
        final = Outcome(
            instance.ref,
            retry.action,
            OutcomeKind.FAILED,
            Reason.BUSY,
            instance.status,
        )
        sentence = messages.gave_up(
            instance.ref, retry.action, minutes, instance.status
        )
        cause = "busy"
    run.outcomes.append(final)
    run.lines.append(messages.scheduled_line(sentence, cause))
    logger.warning(
        "gave up %s of %s after %s min (%s)",
        retry.action,
        retry.instance,
        minutes,
        final.reason.value if final.reason else "",
    )


def _restarted(
    storage: Storage,
    session: AccountSession,
    world: RunWorld,
    account: Account,
    instances: dict[str, Instance],
    run: _AccountRun,
) -> None:
    """Stop again what RDS restarted after seven days, or what `enforce` keeps down."""
    running = [
        i
        for q, i in instances.items()
        if i.status == "available" and q not in run.acted
    ]
    if not running:
        return
    done = storage.bot_actions([i.ref.qualified for i in running])
    for instance in running:
        applied = _applicable(world, account, instance)
        if applied is None or applied.underlying is None:
            continue
        if applied.source in {planning.Source.ONE_OFF, planning.Source.OVERRIDE}:
            continue
        if applied.desired is not Desired.STOPPED:
            continue
        base = applied.underlying
        cause = messages.cause_schedule(base.saved.name, base.origin)
        last = done.get(instance.ref.qualified)
        stopped_at = _utc(last.last_stop_at) if last and last.last_stop_at else None
        started_at = _utc(last.last_start_at) if last and last.last_start_at else None
        restarted = (
            stopped_at is not None
            and (started_at is None or started_at < stopped_at)
            and SEVEN_DAYS_EARLIEST <= world.now - stopped_at <= SEVEN_DAYS_LATEST
        )
        if restarted and stopped_at is not None:
            key = f"d7:{instance.ref.qualified}:{stopped_at.isoformat()}"
            if _claim(storage, world, run, key, found=False):
                outcome = _act(
                    storage, session, world, account, instance, Action.STOP, run
                )
                sentence = messages.restarted_after_seven_days(
                    messages.outcome_sentence(outcome)
                )
                run.lines.append(messages.scheduled_line(sentence, cause))
            continue
        if world.sweep and planning.enforce_stops_again(instance, applied):
            key = f"e:{instance.ref.qualified}:{_minute(world.now)}"
            if _claim(storage, world, run, key, found=False):
                outcome = _act(
                    storage, session, world, account, instance, Action.STOP, run
                )
                sentence = messages.enforced(messages.outcome_sentence(outcome))
                run.lines.append(messages.scheduled_line(sentence, cause))
                if outcome.kind is OutcomeKind.STOPPED:
                    run.enforced.append(instance.ref.qualified)


def _notices(
    storage: Storage,
    poster: Poster,
    world: RunWorld,
    account: Account,
    instances: dict[str, Instance],
) -> None:
    """Warn the channel before a scheduled stop, with keep-running buttons."""
    minutes = _notice_minutes(world, account)
    if minutes <= 0:
        return
    ahead = timedelta(minutes=minutes)
    groups: dict[str, tuple[datetime, datetime | None, list[Instance]]] = {}
    for instance in instances.values():
        if rules.plan(instance, Action.STOP, manual=False, confirmed=False) is not None:
            continue
        applied = _applicable(world, account, instance)
        if applied is None or applied.underlying is None:
            continue
        if applied.source in {planning.Source.ONE_OFF, planning.Source.OVERRIDE}:
            continue
        base = applied.underlying
        for step in _steps(base.saved.text, world.since + ahead, world.now + ahead):
            if step.action is not Action.STOP:
                continue
            following = _steps(base.saved.text, step.at, step.at + timedelta(days=400))
            reopen = next((s.at for s in following if s.action is Action.START), None)
            key = f"n:{_group(base, account)}:{_utc(step.at).isoformat()}"
            groups.setdefault(key, (step.at, reopen, []))[2].append(instance)

    for key, (stop_at, reopen, members) in groups.items():
        since = world.since
        if storage.take_claim(key, world.owner, world.now, since=since) is None:
            continue
        qualified = [i.ref.qualified for i in members]
        text, blocks = notices.prestop(
            account.team_id, account.channel_id, qualified, stop_at, reopen, minutes
        )
        # Kept and marked done in one commit, so a crash neither loses nor repeats it.
        notice = storage.settle_claims(
            [key],
            world.owner,
            world.now,
            team_id=account.team_id,
            channel_id=account.channel_id,
            message=(text, json.dumps(list(blocks)) if blocks else ""),
        )
        if notice is not None:
            poster.send(notice)


# --- Acting on demand (the notice's buttons) ----------------------------------------


def stop_now(
    storage: Storage,
    operations: Operations,
    team_id: str,
    channel_id: str,
    qualified: Iterable[str],
    now: datetime,
    *,
    actor: str,
) -> list[Outcome]:
    """Stop the named instances now ("Stop now"), with one role assumption per account.

    Stopping ends their keep-running overrides: the latest request wins, so neither
    `/snooze explain` nor the scheduler still takes them for kept running.

    Args:
        storage: the tables.
        operations: reaches the accounts.
        team_id: the team whose channel asked.
        channel_id: the channel whose accounts hold the instances.
        qualified: `account/region/identifier` names.
        now: the current instant.
        actor: who clicked, as manual commands name them (`user:U123`), for the
            audit log and so `/snooze history`.

    Returns:
        One outcome per instance found.
    """
    outcomes, _ = act_now(
        storage, operations, team_id, channel_id, qualified, Action.STOP, now
    )
    stopped = [o.ref.qualified for o in outcomes if o.kind.succeeded]
    storage.end_overrides(team_id, stopped, now)
    storage.record_outcomes(team_id, channel_id, actor, outcomes, now)
    return outcomes


def start_now(
    storage: Storage,
    operations: Operations,
    team_id: str,
    channel_id: str,
    qualified: Iterable[str],
    now: datetime,
    *,
    actor: str,
) -> tuple[list[Outcome], list[AccountProblem]]:
    """Start those of the named instances that are not running ("Keep running").

    A keep-running press on a database already stopped (by `enforce`, or by "Stop
    now") means the person wants it up. Instances already running are left alone
    and kept out of the audit log: for them the press only records the override.

    Args:
        storage: the tables.
        operations: reaches the accounts.
        team_id: the team whose channel asked.
        channel_id: the channel whose accounts hold the instances.
        qualified: `account/region/identifier` names.
        now: the current instant.
        actor: who clicked (`user:U123`), for the audit log.

    Returns:
        The outcome of each instance found, and the accounts that could not be read.
    """
    outcomes, problems = act_now(
        storage, operations, team_id, channel_id, qualified, Action.START, now
    )
    acted = [o for o in outcomes if o.kind is not OutcomeKind.ALREADY_RUNNING]
    storage.record_outcomes(team_id, channel_id, actor, acted, now)
    return outcomes, problems


def act_now(
    storage: Storage,
    operations: Operations,
    team_id: str,
    channel_id: str,
    qualified: Iterable[str],
    action: Action,
    now: datetime,
) -> tuple[list[Outcome], list[AccountProblem]]:
    """Stop or start the named instances now, with one role assumption per account.

    As in a scheduled run, excluded instances are skipped and a busy one is queued
    and tried again by the next runs. Nothing goes to the audit log here.

    Args:
        storage: the tables.
        operations: reaches the accounts.
        team_id: the team whose channel asked.
        channel_id: the channel whose accounts hold the instances.
        qualified: `account/region/identifier` names.
        action: stop or start.
        now: the current instant.

    Returns:
        One outcome per instance found, and the accounts that could not be read.
    """
    wanted = set(qualified)
    accounts = [
        a
        for a in storage.accounts(team_id, channel_id)
        if a.aws_account_id in {_account_of(q) for q in wanted}
    ]
    outcomes = []
    with operations.session_survey(accounts, action.value) as survey:
        for account in accounts:
            session = survey.sessions.get(account.id)
            if session is None:
                continue
            run = _AccountRun()
            world = RunWorld(now, now, OWNER, {}, {}, {}, {}, {}, {}, {}, False)
            for instance in survey.instances_of(account):
                if instance.ref.qualified in wanted:
                    _act(storage, session, world, account, instance, action, run)
            storage.note_bot_actions(run.done, now)
            outcomes.extend(run.outcomes)
    return outcomes, list(survey.problems)


def outcome_text(outcome: Outcome, now: datetime) -> str:
    """How an action ended, saying when a busy instance is tried again until.

    Args:
        outcome: the outcome of a scheduled or on-demand action.
        now: when it was acted on.

    Returns:
        One sentence for the channel.
    """
    if outcome.reason is Reason.BUSY:
        until = _clock(now + BUSY_DEADLINE)
        return messages.busy_waiting(outcome.ref, outcome.detail, until)
    if outcome.reason is Reason.NO_CAPACITY:
        until = _clock(now + BUSY_DEADLINE)
        return messages.no_capacity_waiting(outcome.ref, outcome.detail, until)
    return messages.outcome_sentence(outcome)


# --- Timing ----------------------------------------------------------------------------


class Engine:
    """One process's scheduler: APScheduler calls `tick` every minute.

    The engine keeps the end of its own last run; at start it resumes from the
    stored mark so transitions missed while down are caught up (within 24 hours),
    with a first run right away rather than at the next full minute.
    """

    def __init__(
        self,
        storage: Storage,
        operations: Operations,
        poster: Poster,
        *,
        clock: Clock = utc_now,
        owner: str = OWNER,
        processes: AccountProcesses | None = None,
    ) -> None:
        """Prepare an engine; nothing runs until `start` or `tick`.

        Args:
            storage: the tables.
            operations: surveys accounts with one role assumption each.
            poster: posts the channel messages.
            clock: the current instant.
            owner: names this process in claims.
            processes: worker processes that handle the accounts of each run;
                None handles them on this process's threads.
        """
        self.storage = storage
        self.operations = operations
        self.poster = poster
        self.clock = clock
        self.owner = owner
        self.processes = processes
        self.last_tick: datetime | None = None
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._scheduler: Any = None

    def tick(self) -> RunReport | None:
        """Run everything due since the last tick (or since the stored mark at start).

        Returns:
            What the run did; None when the engine is shutting down.
        """
        with self._lock:
            if self.stopping.is_set():
                return None
            now = _utc(self.clock())
            since = self.last_tick
            if since is None:
                since = self.storage.mark("last_run") or now - TICK
            report = run_due(
                self.storage,
                self.operations,
                self.poster,
                now,
                since=since,
                owner=self.owner,
                stopping=self.stopping,
                processes=self.processes,
            )
            if not report.unfinished:
                self.last_tick = now
            logger.info(
                "scheduler run %s..%s: %s accounts, %s outcomes, %s dropped",
                report.since.isoformat(),
                report.now.isoformat(),
                report.accounts_surveyed,
                len(report.outcomes),
                report.dropped,
            )
            return report

    def start(self) -> None:
        """Start APScheduler in a background thread, ticking at second 0 of every minute."""
        from apscheduler.jobstores.memory import MemoryJobStore
        from apscheduler.schedulers.background import BackgroundScheduler
        from apscheduler.triggers.cron import CronTrigger

        _ENGINES[self.owner] = self
        if self.processes is not None:
            try:
                self.processes.warm_up()
            except BrokenProcessPool:
                # Slower, but every transition still happens.
                logger.exception(
                    "scheduler worker processes could not start; this process "
                    "handles every account of each run"
                )
                self.processes.close()
                self.processes = None
        scheduler = BackgroundScheduler(
            jobstores={"default": MemoryJobStore()}, timezone=UTC
        )
        # The first run is at once, not at the next full minute, to catch up after a
        # restart (a lease left by a killed run included). One recurring job rather
        # than an extra run-once job: APScheduler removes a run-once job after it
        # fires, and a shutdown at that moment made its thread die on JobLookupError.
        scheduler.add_job(
            "bot.scheduler:tick",
            trigger=CronTrigger(second=0, timezone=UTC),
            args=[self.owner],
            id=f"snoozedb-tick-{self.owner}",
            next_run_time=datetime.now(UTC),
            misfire_grace_time=3600,
            coalesce=True,
            max_instances=1,
            replace_existing=True,
        )
        scheduler.start()
        self._scheduler = scheduler
        logger.info("scheduler started as %s", self.owner)

    def shutdown(self) -> None:
        """Stop ticking: accounts already being handled are finished, then it returns.

        Their AWS calls complete and their outcomes, messages and claims are
        recorded, so nothing is left to the lease; accounts not yet started are left
        to the next process (the stored mark is not moved past them).
        """
        self.stopping.set()
        if self.processes is not None:
            self.processes.stop()
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
        with self._lock:  # a tick called directly (not by APScheduler) ends too
            pass
        if self.processes is not None:
            self.processes.close()
        _ENGINES.pop(self.owner, None)


_ENGINES: dict[str, Engine] = {}


def tick(owner: str) -> None:
    """The APScheduler job: run the engine registered under `owner`.

    Args:
        owner: the engine's name, given when the job was added.
    """
    engine = _ENGINES.get(owner)
    if engine is None:
        logger.warning("no scheduler engine named %s", owner)
        return
    try:
        engine.tick()
    except Exception:
        logger.exception("scheduler run failed")


# --- Wiring ----------------------------------------------------------------------------


def engine_for(
    settings: Settings,
    storage: Storage,
    operations: Operations,
    *,
    clock: Clock = utc_now,
) -> Engine:
    """An engine posting with the bot token of `settings`.

    Args:
        settings: the checked settings (bot token, Slack API URL).
        storage: the process's storage.
        operations: the process's operations.
        clock: the current instant (tests pass a fixed one).

    Returns:
        The engine, not started.
    """
    from bot.slack_app import web_client

    client = web_client(settings.slack_bot_token, settings.slack_api_url)
    scheduled = scheduler_operations(operations)
    processes = None
    if settings.snoozedb_scheduler_processes > 1:
        processes = AccountProcesses(
            WorkerSetup.from_settings(settings), settings.snoozedb_scheduler_processes
        )
    return Engine(
        storage, scheduled, Poster(storage, client), clock=clock, processes=processes
    )


def scheduler_operations(operations: Operations) -> Operations:
    """The scheduler's operations: no capacity waits inside an account's worker.

    A start AWS refuses for lack of capacity goes to the retry queue like a busy
    instance (tried every minute until `BUSY_DEADLINE`, then reported).

    Args:
        operations: the process's operations (commands wait out capacity briefly).

    Returns:
        Operations on the same storage with a bridge that does not wait.
    """
    bridge = operations.bridge.without_capacity_retries()
    return Operations(operations.storage, bridge)


def run_forever(settings: Settings, *, clock: Clock = utc_now) -> int:
    """`snoozedb scheduler`: tick every minute until SIGTERM or SIGINT.

    On the signal the accounts being handled are finished (see `Engine.shutdown`)
    and the process exits 0, so an orchestrator's stop never leaves work to a lease.

    Args:
        settings: the checked settings.
        clock: the current instant (tests pass a fixed one).

    Returns:
        The exit status.
    """
    from bot.aws_bridge import AwsBridge

    storage = Storage(settings.database_url)
    storage.create_tables()
    bridge = AwsBridge(
        regions=settings.snoozedb_regions,
        own_account_id=settings.snoozedb_aws_account_id,
    )
    engine = engine_for(settings, storage, Operations(storage, bridge), clock=clock)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    engine.start()
    stop.wait()
    logger.info("stopping: finishing the accounts in progress")
    engine.shutdown()
    storage.close()
    logger.info("scheduler stopped")
    return 0
