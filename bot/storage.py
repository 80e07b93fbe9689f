"""The tables SnoozeDB keeps, and the only module that talks SQL.

What is stored: which AWS account (by role ARN and External ID) is connected to which
Slack channel, which requests were already handled, and an audit log of actions. What
is never stored: AWS credentials of any kind, Slack tokens, request bodies.

SQLite is the embedded default; PostgreSQL is what several replicas share.
"""

from __future__ import annotations

import enum
import functools
import logging
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Engine,
    Index,
    Row,
    Select,
    UniqueConstraint,
    bindparam,
    event,
    insert,
    inspect,
    or_,
    update,
)
from sqlalchemy import select as sql_select
from sqlalchemy import text as sql_text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.pool import NullPool
from sqlmodel import Field, Session, SQLModel, col, create_engine, delete, select
from sqlmodel.sql.expression import SelectOfScalar

from bot import messages
from bot.domain import (
    TEAM_GONE_ERRORS,
    Account,
    AccountStatus,
    Action,
    AdminGrant,
    Assignment,
    AuditEntry,
    BotAction,
    BusyRetry,
    GrantKind,
    Notice,
    OneOff,
    Outcome,
    OutcomeKind,
    Override,
    SavedSchedule,
    UndeliveredNotice,
)
from bot.errors import SettingInvalid

logger = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


class AccountRow(SQLModel, table=True):
    """A connection between one Slack channel and one customer role."""

    __tablename__ = "account"
    # At most one pending connection (one External ID handed out) per channel, even
    # when `/snooze connect` is typed twice at once: the second insert fails and
    # `pending_account` reads the first one's row instead.
    __table_args__ = (
        Index(
            "one_pending_account_per_channel",
            "team_id",
            "channel_id",
            unique=True,
            sqlite_where=sql_text("status = 'pending'"),
            postgresql_where=sql_text("status = 'pending'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True)
    channel_id: str = Field(index=True)
    external_id: str = Field(unique=True)
    role_arn: str | None = Field(default=None, unique=True)
    aws_account_id: str = ""
    status: str = AccountStatus.PENDING.value
    regions: str = ""
    attention: str = ""
    # Set by the first scheduled run that could not reach AWS for this account (to
    # the start of its window), cleared by the first that could: the channel is
    # told once per outage, and transitions missed meanwhile are looked for again.
    unreachable_since: datetime | None = None
    connected_by: str = ""
    created_at: datetime = Field(default_factory=_now)
    updated_at: datetime = Field(default_factory=_now)


class RequestClaimRow(SQLModel, table=True):
    """A state-changing request already taken, so a replayed one acts only once."""

    __tablename__ = "request_claim"

    key: str = Field(primary_key=True)
    claimed_at: datetime = Field(default_factory=_now, index=True)


class AuditRow(SQLModel, table=True):
    """One action taken or tried, for `/snooze history`."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True)
    channel_id: str
    at: datetime = Field(default_factory=_now, index=True)
    actor: str
    action: str
    instance: str = Field(index=True)
    outcome: str
    detail: str = ""


@functools.cache
def _accounts_query(of_channel: bool) -> Select[Any]:
    """The connected accounts of `:team_id` (and `:channel_id`), oldest first."""
    table = SQLModel.metadata.tables[AccountRow.__tablename__]
    query = sql_select(table).where(
        table.c.team_id == bindparam("team_id"),
        table.c.status != AccountStatus.PENDING.value,
    )
    if of_channel:
        query = query.where(table.c.channel_id == bindparam("channel_id"))
    return query.order_by(table.c.id)


def _account(row: AccountRow | Row[Any]) -> Account:
    assert row.id is not None
    return Account(
        id=row.id,
        team_id=row.team_id,
        channel_id=row.channel_id,
        external_id=row.external_id,
        status=AccountStatus(row.status),
        role_arn=row.role_arn or "",
        aws_account_id=row.aws_account_id,
        regions=tuple(r for r in row.regions.split(",") if r),
        attention=row.attention,
        unreachable_since=row.unreachable_since,
    )


# 30 s: tens of scheduler threads queue for the one write lock during a large run,
# and a wait costs less than a stop retried a minute later.
SQLITE_BUSY_SECONDS = 30


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    # WAL lets the web and scheduler processes share the file; the busy timeout turns
    # a lock held by the other process into a short wait instead of an instant error.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
    # In WAL mode NORMAL stays safe from corruption and skips an fsync per commit,
    # which is most of the time a request claim takes inside Slack's 3 seconds.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    # SQLAlchemy's `begin` listeners open the transactions, not the driver.
    dbapi_connection.isolation_level = None


class _SqliteWriteTurn:
    """Gives this process's transactions on one SQLite file the write lock in turn.

    Every SQLite transaction here takes the write lock at BEGIN (see `begin`). SQLite
    makes a transaction that finds the lock taken poll for it, sleeping longer and
    longer between tries (up to 100 ms each), so under fifty concurrent Slack
    commands an acknowledgement could sleep long after the lock was free. Threads of
    one process instead wait on a Python lock, which wakes the next one as soon as a
    transaction ends; only another process's writer is left to SQLite's busy timeout.
    """

    _HELD = "snoozedb_write_turn"

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def begin(self, connection: Any) -> None:
        """The engine's `begin` event: wait for this process's turn, then BEGIN.

        A transaction that reads first and writes later cannot wait for another
        writer in WAL mode: SQLite fails it at once with "database is locked" when
        the other commits in between. Taking the write lock at BEGIN makes every
        transaction wait its turn (up to the busy timeout) instead, so the
        scheduler's account workers never lose a stop to each other.
        """
        info = connection.connection.record_info
        if not info.get(self._HELD):
            # Past the busy timeout, SQLite decides as it would without this lock.
            info[self._HELD] = self._lock.acquire(timeout=SQLITE_BUSY_SECONDS)
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    def end(self, _dbapi_connection: Any, record: Any) -> None:
        """The pool's `checkin` event: the transaction is over, the next may begin."""
        if record.record_info.pop(self._HELD, False):
            self._lock.release()


def _sqlite_read_only(dbapi_connection: Any, _record: object) -> None:
    # A statement that would write fails at once on this engine's connections, so a
    # method that reads through it cannot write by mistake.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()


def _sqlite_begin_read(connection: Any) -> None:
    # A plain BEGIN takes no lock until the first read, and in WAL mode a reader
    # neither waits for the writer nor holds it up: it sees the last commit.
    connection.exec_driver_sql("BEGIN")


def make_engine(url: str, *, reading: bool = False) -> Engine:
    """Create the engine for `url`: SQLite in WAL mode, or a pre-pinged PostgreSQL pool.

    Args:
        url: DATABASE_URL.
        reading: For SQLite, an engine whose transactions only read: they take no
            write lock and refuse to write. Ignored for PostgreSQL, whose readers
            never wait for writers.

    Returns:
        The engine.
    """
    if url.startswith("sqlite"):
        # A connection per thread that may hold one at once (request, responder
        # and scheduler threads): an SQLite connection costs a file handle, and
        # one opened past the pool would repeat the pragmas on every use.
        engine = create_engine(
            url, connect_args={"check_same_thread": False}, pool_size=64, max_overflow=0
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        if reading:
            event.listen(engine, "connect", _sqlite_read_only)
            event.listen(engine, "begin", _sqlite_begin_read)
            return engine
        turn = _SqliteWriteTurn()
        event.listen(engine, "begin", turn.begin)
        event.listen(engine.pool, "checkin", turn.end)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _reader_for(url: str, engine: Engine) -> Engine:
    """The engine read-only methods use: a second pool on the same SQLite file.

    An in-memory SQLite database exists once per connection, so it (like
    PostgreSQL) is read through `engine` itself.
    """
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return engine
    return make_engine(url, reading=True)


# How long the start-up check waits for PostgreSQL to accept a connection.
CONNECT_TIMEOUT_SECONDS = 10


def check_database(url: str) -> None:
    """Connect to the database once, so a start fails at once if it does not answer.

    Args:
        url: DATABASE_URL, already checked for its shape.

    Raises:
        SettingInvalid: the database refused or did not answer; the sentence shows
            the URL with its password and query replaced.
    """
    parsed = make_url(url)
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
    try:
        with engine.connect():
            pass
    except SQLAlchemyError:
        shown = parsed.set(query={}).render_as_string(hide_password=True)
        raise SettingInvalid(
            "DATABASE_URL",
            messages.database_unreachable(shown, parsed.get_backend_name() == "sqlite"),
        ) from None
    finally:
        engine.dispose()


# --- Schedules -------------------------------------------------------------------------
#
# Saved schedules, who follows them, one-off snoozes, overrides, and the scheduler's
# own bookkeeping. The scheduler treats these tables as the truth: APScheduler only
# says "look now", and `claim` decides which replica carries out a transition.

DEFAULT_NOTICE_MINUTES = 15
# How late a one-off is still carried out, as the scheduler's catch-up window: a
# way back that was due longer ago is dropped, not done weeks late.
ONE_OFF_CATCH_UP = timedelta(hours=24)
# How long a claim is left to the process that took it. Longer than one account's
# share of a run (one AssumeRole, a few reads, a stop or start per instance), so a
# live process never loses its work; short enough that a transition interrupted by a
# crash is redone within minutes of the restart.
CLAIM_LEASE = timedelta(minutes=5)


class Claim(enum.Enum):
    """How `take_claim` took a unit of scheduled work."""

    NEW = "new"
    RESUMED = "resumed"  # taken over from a process whose lease ran out


class SavedScheduleRow(SQLModel, table=True):
    """A schedule text of a channel; `name` is None for one typed inline.

    Names belong to a channel, not to the team: another channel of the workspace
    must neither read nor change them, nor learn which databases follow them.
    """

    __tablename__ = "saved_schedule"
    __table_args__ = (UniqueConstraint("team_id", "channel_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True)
    channel_id: str = ""
    name: str | None = None
    text: str
    created_by: str = ""
    updated_at: datetime = Field(default_factory=_now)


class AssignmentRow(SQLModel, table=True):
    """A schedule given to a target (DB, qualified DB or tag selector) in a channel."""

    __tablename__ = "schedule_assignment"
    __table_args__ = (UniqueConstraint("team_id", "channel_id", "target"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True)
    channel_id: str
    target: str
    schedule_id: int = Field(index=True)
    created_by: str = ""
    created_at: datetime = Field(default_factory=_now)


class OneOffRow(SQLModel, table=True):
    """The way back from a one-off snooze; `done_at` is set once carried out."""

    __tablename__ = "one_off"

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True)
    channel_id: str
    instance: str = Field(index=True)
    action: str
    due_at: datetime = Field(index=True)
    created_by: str = ""
    done_at: datetime | None = None


class OverrideRow(SQLModel, table=True):
    """Keep an instance running until a time, whatever its schedule says."""

    __tablename__ = "schedule_override"

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True)
    channel_id: str
    instance: str = Field(index=True)
    until: datetime = Field(index=True)
    created_by: str = ""
    created_at: datetime = Field(default_factory=_now)


class SchedulerClaimRow(SQLModel, table=True):
    """A lease on a unit of scheduled work; the unique key decides races.

    `done_at` is set in the same transaction that records the work's outcomes. A row
    without it whose `claimed_at` is older than `CLAIM_LEASE` belongs to a process
    that died mid-run, and may be taken over. `since` is the start of the window the
    claiming run looked at, so a later run can look back far enough to find the
    transition again.
    """

    __tablename__ = "scheduler_claim"

    key: str = Field(primary_key=True)
    owner: str = ""
    claimed_at: datetime = Field(default_factory=_now, index=True)
    done_at: datetime | None = Field(default=None, index=True)
    since: datetime | None = None


class ChannelSettingRow(SQLModel, table=True):
    """Scheduler settings of one channel."""

    __tablename__ = "channel_setting"

    team_id: str = Field(primary_key=True)
    channel_id: str = Field(primary_key=True)
    notice_minutes: int = DEFAULT_NOTICE_MINUTES


class NoticeRow(SQLModel, table=True):
    """A channel message the scheduler owes; kept until Slack accepts it."""

    __tablename__ = "scheduler_notice"

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True)
    channel_id: str
    text: str
    blocks: str = ""
    attempts: int = 0
    last_error: str = ""
    created_at: datetime = Field(default_factory=_now)
    delivered_at: datetime | None = Field(default=None, index=True)
    # Set when SnoozeDB stopped trying (too many attempts, or too old): the message
    # stays undelivered, so `/snooze history` still shows it, but is not sent again.
    gave_up_at: datetime | None = None


class BusyRetryRow(SQLModel, table=True):
    """A scheduled action waiting for a busy instance; `done_at` set when settled."""

    __tablename__ = "busy_retry"

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True)
    channel_id: str
    instance: str = Field(index=True)
    action: str
    actor: str
    first_at: datetime
    deadline: datetime
    last_status: str = ""
    done_at: datetime | None = Field(default=None, index=True)


class BotActionRow(SQLModel, table=True):
    """The last stop and start SnoozeDB made on an instance, for the seven-day rule."""

    __tablename__ = "bot_action"

    instance: str = Field(primary_key=True)
    last_stop_at: datetime | None = None
    last_start_at: datetime | None = None


class SchedulerMarkRow(SQLModel, table=True):
    """Named instants of the scheduler, such as the end of the last run."""

    __tablename__ = "scheduler_mark"

    name: str = Field(primary_key=True)
    at: datetime


def _named(
    team_id: str, channel_id: str, name: str
) -> SelectOfScalar[SavedScheduleRow]:
    """The query for the channel's saved schedule called `name`."""
    return select(SavedScheduleRow).where(
        SavedScheduleRow.team_id == team_id,
        SavedScheduleRow.channel_id == channel_id,
        SavedScheduleRow.name == name,
    )


def _saved(row: SavedScheduleRow) -> SavedSchedule:
    assert row.id is not None
    return SavedSchedule(id=row.id, team_id=row.team_id, name=row.name, text=row.text)


def _one_off(row: OneOffRow) -> OneOff:
    assert row.id is not None
    return OneOff(
        id=row.id,
        team_id=row.team_id,
        channel_id=row.channel_id,
        instance=row.instance,
        action=Action(row.action),
        due_at=row.due_at,
        created_by=row.created_by,
    )


def _override(row: OverrideRow) -> Override:
    assert row.id is not None
    return Override(
        id=row.id,
        team_id=row.team_id,
        channel_id=row.channel_id,
        instance=row.instance,
        until=row.until,
        created_by=row.created_by,
    )


def _notice(row: NoticeRow) -> Notice:
    assert row.id is not None
    return Notice(
        id=row.id,
        team_id=row.team_id,
        channel_id=row.channel_id,
        text=row.text,
        blocks=row.blocks,
        attempts=row.attempts,
    )


def _audit_values(
    team_id: str, channel_id: str, actor: str, outcome: Outcome, at: datetime
) -> dict[str, Any]:
    """The columns of one audit entry, for an INSERT of many rows at once."""
    return {
        "team_id": team_id,
        "channel_id": channel_id,
        "at": at,
        "actor": actor,
        "action": outcome.action.value,
        "instance": outcome.ref.qualified,
        "outcome": outcome.kind.value,
        "detail": (outcome.reason or "")
        + (f":{outcome.detail}" if outcome.detail else ""),
    }


def _busy(row: BusyRetryRow) -> BusyRetry:
    assert row.id is not None
    return BusyRetry(
        id=row.id,
        team_id=row.team_id,
        channel_id=row.channel_id,
        instance=row.instance,
        action=Action(row.action),
        actor=row.actor,
        first_at=row.first_at,
        deadline=row.deadline,
        last_status=row.last_status,
    )


class ScheduleStorage:
    """The schedule tables; mixed into `Storage` so callers hold one object."""

    engine: Engine
    reader: Engine

    @contextmanager
    def _schedule_session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        """A session for a method that only reads: on SQLite it never waits for the
        write lock, so Slack's acknowledgements do not queue behind writers."""
        with Session(self.reader, expire_on_commit=False) as session:
            yield session

    # Saved schedules

    def define_schedule(
        self, team_id: str, channel_id: str, name: str, text: str, user_id: str
    ) -> SavedSchedule:
        """Save a named schedule, replacing the text of one with the same name.

        Args:
            team_id: the Slack team.
            channel_id: the channel the name belongs to.
            name: the schedule's name, unique in the channel.
            text: canonical schedule text, with its `tz` zone.
            user_id: who saved it.

        Returns:
            The saved schedule; assignments naming it follow the new text at once.
        """
        with self._schedule_session() as session:
            row = session.exec(_named(team_id, channel_id, name)).first()
            if row is None:
                row = SavedScheduleRow(
                    team_id=team_id, channel_id=channel_id, name=name, text=text
                )
                session.add(row)
            row.text = text
            row.created_by = user_id
            row.updated_at = _now()
            try:
                session.commit()
            except IntegrityError:
                # Another request saved the same name at the same moment: update it.
                session.rollback()
                return self.define_schedule(team_id, channel_id, name, text, user_id)
            session.refresh(row)
            return _saved(row)

    def named_schedule(
        self, team_id: str, channel_id: str, name: str
    ) -> SavedSchedule | None:
        """The channel's schedule called `name`, if any."""
        with self._reading() as session:
            row = session.exec(_named(team_id, channel_id, name)).first()
            return None if row is None else _saved(row)

    def named_schedules(self, team_id: str, channel_id: str) -> list[SavedSchedule]:
        """The channel's named schedules, by name."""
        with self._reading() as session:
            rows = session.exec(
                select(SavedScheduleRow)
                .where(
                    SavedScheduleRow.team_id == team_id,
                    SavedScheduleRow.channel_id == channel_id,
                    col(SavedScheduleRow.name).is_not(None),
                )
                .order_by(col(SavedScheduleRow.name))
            ).all()
            return [_saved(row) for row in rows]

    def remove_named_schedule(
        self, team_id: str, channel_id: str, name: str
    ) -> list[str]:
        """Remove a named schedule of the channel that nothing uses any more.

        Returns:
            The targets still assigned to it (then nothing is removed), or an empty
            list once it is gone (or when it never existed).
        """
        with self._schedule_session() as session:
            row = session.exec(_named(team_id, channel_id, name)).first()
            if row is None:
                return []
            users = session.exec(
                select(AssignmentRow).where(AssignmentRow.schedule_id == row.id)
            ).all()
            if users:
                return sorted(assignment.target for assignment in users)
            session.delete(row)
            session.commit()
            return []

    # Assignments

    def assign_schedule(
        self,
        team_id: str,
        channel_id: str,
        target: str,
        schedule: SavedSchedule | str,
        user_id: str,
        replaces: Sequence[str] = (),
    ) -> Assignment:
        """Give `target` a schedule in a channel, replacing the one it had.

        Args:
            team_id: the Slack team.
            channel_id: the channel whose accounts hold the target.
            target: identifier, `account/region/identifier` or `tag:KEY=VALUE`.
            schedule: a saved schedule, or canonical text for an inline one.
            user_id: who assigned it.
            replaces: other targets of the channel naming the same instance, whose
                assignments are taken off in the same commit.

        Returns:
            The assignment.
        """
        with self._schedule_session() as session:
            if isinstance(schedule, str):
                saved_row = SavedScheduleRow(
                    team_id=team_id,
                    channel_id=channel_id,
                    name=None,
                    text=schedule,
                    created_by=user_id,
                )
                session.add(saved_row)
                session.flush()
                saved = _saved(saved_row)
            else:
                saved = schedule

            row = session.exec(
                select(AssignmentRow).where(
                    AssignmentRow.team_id == team_id,
                    AssignmentRow.channel_id == channel_id,
                    AssignmentRow.target == target,
                )
            ).first()
            if row is None:
                row = AssignmentRow(
                    team_id=team_id,
                    channel_id=channel_id,
                    target=target,
                    schedule_id=saved.id,
                )
                session.add(row)
            previous = row.schedule_id
            row.schedule_id = saved.id
            row.created_by = user_id
            session.flush()
            self._drop_inline(session, previous, keep=saved.id)
            others = [other for other in replaces if other != target]
            replaced = session.exec(
                select(AssignmentRow).where(
                    AssignmentRow.team_id == team_id,
                    AssignmentRow.channel_id == channel_id,
                    col(AssignmentRow.target).in_(others),
                )
            ).all()
            for old in replaced:
                session.delete(old)
                session.flush()
                self._drop_inline(session, old.schedule_id, keep=saved.id)
            session.commit()
            session.refresh(row)
            assert row.id is not None
            return Assignment(row.id, team_id, channel_id, target, saved, user_id)

    def assignments(
        self, team_id: str, channel_id: str | None = None
    ) -> list[Assignment]:
        """The team's assignments, optionally of one channel, oldest first."""
        query = select(AssignmentRow, SavedScheduleRow).where(
            AssignmentRow.schedule_id == SavedScheduleRow.id,
            AssignmentRow.team_id == team_id,
        )
        if channel_id is not None:
            query = query.where(AssignmentRow.channel_id == channel_id)
        return self._assignments(query)

    def all_assignments(self) -> list[Assignment]:
        """Every assignment of every team, oldest first."""
        query = select(AssignmentRow, SavedScheduleRow).where(
            AssignmentRow.schedule_id == SavedScheduleRow.id
        )
        return self._assignments(query)

    def _assignments(self, query: Any) -> list[Assignment]:
        with self._reading() as session:
            pairs = session.exec(query.order_by(col(AssignmentRow.id))).all()
            found = []
            for row, saved in pairs:
                assert row.id is not None
                found.append(
                    Assignment(
                        id=row.id,
                        team_id=row.team_id,
                        channel_id=row.channel_id,
                        target=row.target,
                        schedule=_saved(saved),
                        created_by=row.created_by,
                    )
                )
            return found

    def unassign(self, team_id: str, channel_id: str, target: str) -> bool:
        """Take the schedule off a target; False when it had none in that channel."""
        with self._schedule_session() as session:
            row = session.exec(
                select(AssignmentRow).where(
                    AssignmentRow.team_id == team_id,
                    AssignmentRow.channel_id == channel_id,
                    AssignmentRow.target == target,
                )
            ).first()
            if row is None:
                return False
            schedule_id = row.schedule_id
            session.delete(row)
            session.flush()
            self._drop_inline(session, schedule_id, keep=None)
            session.commit()
            return True

    @staticmethod
    def _drop_inline(session: Session, schedule_id: int, keep: int | None) -> None:
        """Delete an inline schedule no assignment points at any more."""
        if schedule_id == keep:
            return
        saved = session.get(SavedScheduleRow, schedule_id)
        if saved is None or saved.name is not None:
            return
        others = session.exec(
            select(AssignmentRow).where(AssignmentRow.schedule_id == schedule_id)
        ).all()
        if not others:
            session.delete(saved)

    # One-off snoozes

    def add_one_off(
        self,
        team_id: str,
        channel_id: str,
        instance: str,
        action: Action,
        due_at: datetime,
        user_id: str,
    ) -> OneOff:
        """Persist the way back of a one-off snooze, replacing a pending one.

        Args:
            team_id: the Slack team.
            channel_id: the channel told when it happens.
            instance: qualified `account/region/identifier`.
            action: what to do at `due_at` (start after a stop, stop after a start).
            due_at: an aware instant.
            user_id: who asked.

        Returns:
            The pending one-off.
        """
        with self._schedule_session() as session:
            session.exec(
                delete(OneOffRow).where(
                    col(OneOffRow.team_id) == team_id,
                    col(OneOffRow.instance) == instance,
                    col(OneOffRow.done_at).is_(None),
                )
            )
            row = OneOffRow(
                team_id=team_id,
                channel_id=channel_id,
                instance=instance,
                action=action.value,
                due_at=due_at,
                created_by=user_id,
            )
            session.add(row)
            session.commit()
            session.refresh(row)
            return _one_off(row)

    def one_offs(self, team_id: str, channel_id: str | None = None) -> list[OneOff]:
        """The team's pending one-offs, optionally of one channel, soonest first."""
        with self._reading() as session:
            query = select(OneOffRow).where(
                OneOffRow.team_id == team_id, col(OneOffRow.done_at).is_(None)
            )
            if channel_id is not None:
                query = query.where(OneOffRow.channel_id == channel_id)
            rows = session.exec(query.order_by(col(OneOffRow.due_at))).all()
            return [_one_off(row) for row in rows]

    def all_one_offs(self) -> list[OneOff]:
        """Every pending one-off of every team, soonest first."""
        with self._reading() as session:
            rows = session.exec(
                select(OneOffRow)
                .where(col(OneOffRow.done_at).is_(None))
                .order_by(col(OneOffRow.due_at))
            ).all()
            return [_one_off(row) for row in rows]

    def due_one_offs(self, now: datetime) -> list[OneOff]:
        """Pending one-offs due at or before `now`, soonest first.

        One-offs due before the catch-up window (`ONE_OFF_CATCH_UP`) are settled
        without being carried out: starting a database days after the moment
        someone asked for is not what they asked for.
        """
        cutoff = now - ONE_OFF_CATCH_UP
        with self._schedule_session() as session:
            stale = session.exec(
                select(OneOffRow).where(
                    col(OneOffRow.done_at).is_(None), OneOffRow.due_at < cutoff
                )
            ).all()
            for row in stale:
                logger.warning(
                    "dropped one-off %s of %s due %s: older than the catch-up window",
                    row.id,
                    row.instance,
                    row.due_at.isoformat(),
                )
                row.done_at = now
            session.commit()
            rows = session.exec(
                select(OneOffRow)
                .where(col(OneOffRow.done_at).is_(None), OneOffRow.due_at <= now)
                .order_by(col(OneOffRow.due_at))
            ).all()
            return [_one_off(row) for row in rows]

    def finish_one_off(self, one_off_id: int, now: datetime) -> None:
        """Mark a one-off as carried out; it stops overriding the schedule."""
        with self._schedule_session() as session:
            row = session.get(OneOffRow, one_off_id)
            if row is not None and row.done_at is None:
                row.done_at = now
                session.commit()

    def cancel_one_off(self, team_id: str, instance: str) -> bool:
        """Drop the pending one-off of an instance; False when there was none."""
        with self._schedule_session() as session:
            rows = session.exec(
                select(OneOffRow).where(
                    OneOffRow.team_id == team_id,
                    OneOffRow.instance == instance,
                    col(OneOffRow.done_at).is_(None),
                )
            ).all()
            for row in rows:
                session.delete(row)
            session.commit()
            return bool(rows)

    # Claims: leases on scheduled work

    def claim(self, key: str, owner: str, now: datetime | None = None) -> bool:
        """Take a unit of scheduled work; True when this call took it.

        A shorthand for `take_claim` for callers that do not care whether the work
        was fresh or resumed.
        """
        return self.take_claim(key, owner, now or _now()) is not None

    def take_claim(
        self,
        key: str,
        owner: str,
        now: datetime,
        *,
        since: datetime | None = None,
        lease: timedelta = CLAIM_LEASE,
    ) -> Claim | None:
        """Take a lease on a unit of scheduled work, exactly once across processes.

        The work is claimed before it is done and marked done (`settle_claims`) after
        its outcomes are recorded. A process killed in between leaves the claim open;
        once the lease has run out another process, or the restarted one, takes it
        over and does the work again. That is safe because stopping a stopped
        instance and starting a running one are reported as "already", not acted on.
        The owner's own open claim is taken again at once: its earlier run failed
        before settling (runs of one owner never overlap: `Engine` serialises them).

        Both steps are atomic on SQLite and PostgreSQL: the INSERT of a unique key lets
        one replica win a fresh claim, and the conditional UPDATE of an expired one
        changes one row for one replica only (PostgreSQL re-checks the condition after
        waiting for the row lock; SQLite has one writer at a time).

        Args:
            key: names the work, such as `a12:3:2026-03-30T19:00:00+00:00:stop`.
            owner: the process taking it, for the logs and `settle_claims`.
            now: the run's instant; leases are measured on the same clock.
            since: the start of the claiming run's window, when the work was found
                in a window (see `expired_claims`).
            lease: how long an open claim is left to its owner.

        Returns:
            `Claim.NEW` or `Claim.RESUMED` when this call took the work, else None.
        """
        with self._schedule_session() as session:
            session.add(
                SchedulerClaimRow(key=key, owner=owner, claimed_at=now, since=since)
            )
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
            else:
                return Claim.NEW

            previous = session.get(SchedulerClaimRow, key)
            taken = session.connection().execute(
                update(SchedulerClaimRow)
                .where(
                    col(SchedulerClaimRow.key) == key,
                    col(SchedulerClaimRow.done_at).is_(None),
                    or_(
                        col(SchedulerClaimRow.claimed_at) < now - lease,
                        col(SchedulerClaimRow.owner) == owner,
                    ),
                )
                .values(owner=owner, claimed_at=now, since=since)
            )
            session.commit()
            if taken.rowcount != 1:
                return None
            logger.warning(
                "took over scheduled work %s left unfinished by %s",
                key,
                previous.owner if previous is not None else "?",
            )
            return Claim.RESUMED

    def settle_claims(
        self,
        keys: Sequence[str],
        owner: str,
        now: datetime,
        *,
        team_id: str,
        channel_id: str,
        outcomes: Sequence[Outcome] = (),
        message: tuple[str, str] | None = None,
        one_offs: Sequence[int] = (),
    ) -> Notice | None:
        """Mark claimed work done together with everything it produced, in one commit.

        The audit entries, the channel message owed (kept until Slack accepts it),
        the one-off snoozes carried out and the `done_at` of the claims are written
        together: a process killed before the commit leaves the claims open, to be
        redone whole after the lease; killed after it, nothing is redone and the kept
        message is delivered by the next run. Either way each outcome is recorded
        and announced once.

        Args:
            keys: the claims this process took for the work.
            owner: the process that took them.
            now: the run's instant.
            team_id: the team of the channel told.
            channel_id: the channel told.
            outcomes: one per instance acted on, for the audit log (actor "schedule").
            message: the channel message as (text, blocks JSON), if any.
            one_offs: the one-off snoozes carried out.

        Returns:
            The kept message, to be delivered, or None without one.
        """
        with self._schedule_session() as session:
            if outcomes:
                # One statement for every row: the ORM's unit of work took longer
                # than the INSERTs for a fleet's twenty outcomes an account.
                at = now.astimezone(UTC)
                session.connection().execute(
                    insert(AuditRow),
                    [
                        _audit_values(team_id, channel_id, "schedule", outcome, at)
                        for outcome in outcomes
                    ],
                )
            notice = None
            if message is not None:
                notice = NoticeRow(
                    team_id=team_id,
                    channel_id=channel_id,
                    text=message[0],
                    blocks=message[1],
                )
                session.add(notice)
            if one_offs:
                session.connection().execute(
                    update(OneOffRow)
                    .where(
                        col(OneOffRow.id).in_(list(one_offs)),
                        col(OneOffRow.done_at).is_(None),
                    )
                    .values(done_at=now)
                )
            settled = 0
            if keys:
                settled = (
                    session.connection()
                    .execute(
                        update(SchedulerClaimRow)
                        .where(
                            col(SchedulerClaimRow.key).in_(list(keys)),
                            col(SchedulerClaimRow.owner) == owner,
                            col(SchedulerClaimRow.done_at).is_(None),
                        )
                        .values(done_at=now)
                    )
                    .rowcount
                )
            session.commit()
            if settled != len(set(keys)):
                # Our lease ran out and another process took the work over: it acts
                # again (idempotently) and may announce it a second time.
                logger.warning(
                    "%s of %s claims were taken over before they were settled",
                    len(set(keys)) - settled,
                    len(set(keys)),
                )
            if notice is None:
                return None
            session.refresh(notice)
            return _notice(notice)

    def expired_claims(self, cutoff: datetime) -> dict[str, datetime]:
        """Open claims taken before `cutoff` in a window, with the window's start.

        A run looks back to the earliest of these starts so that the transitions of
        a run that died are found again and taken over (see `take_claim`).
        """
        with self._reading() as session:
            rows = session.exec(
                select(SchedulerClaimRow).where(
                    col(SchedulerClaimRow.done_at).is_(None),
                    col(SchedulerClaimRow.claimed_at) < cutoff,
                    col(SchedulerClaimRow.since).is_not(None),
                )
            ).all()
            return {row.key: row.since for row in rows if row.since is not None}

    def abandon_claims(
        self, keys: Sequence[str], cutoff: datetime, now: datetime
    ) -> list[str]:
        """Close expired claims a run looked back for and found no longer wanted.

        Without this a transition whose effect is no longer wanted (its window
        reopened while the claim waited) would make every run look back again.

        Returns:
            The keys closed; claims taken over meanwhile are left alone.
        """
        if not keys:
            return []
        with self._schedule_session() as session:
            rows = session.exec(
                select(SchedulerClaimRow).where(
                    col(SchedulerClaimRow.key).in_(list(keys)),
                    col(SchedulerClaimRow.done_at).is_(None),
                    col(SchedulerClaimRow.claimed_at) < cutoff,
                )
            ).all()
            for row in rows:
                row.done_at = now
                row.owner = f"{row.owner} (abandoned)"
            session.commit()
            return [row.key for row in rows]

    def open_claims(self) -> list[str]:
        """Keys of claims not yet settled, for tests and operators."""
        with self._reading() as session:
            rows = session.exec(
                select(SchedulerClaimRow.key).where(
                    col(SchedulerClaimRow.done_at).is_(None)
                )
            ).all()
            return list(rows)

    def forget_scheduler_claims(self, before: datetime) -> None:
        """Drop claims older than `before` (the catch-up window never looks back there)."""
        with self._schedule_session() as session:
            session.exec(
                delete(SchedulerClaimRow).where(
                    col(SchedulerClaimRow.claimed_at) < before
                )
            )
            session.commit()

    # Overrides

    def add_override(
        self,
        team_id: str,
        channel_id: str,
        instance: str,
        until: datetime,
        user_id: str,
    ) -> Override:
        """Keep `instance` (qualified) running until `until`; it expires by itself."""
        with self._schedule_session() as session:
            row = OverrideRow(
                team_id=team_id,
                channel_id=channel_id,
                instance=instance,
                until=until,
                created_by=user_id,
            )
            session.add(row)
            session.commit()
            session.refresh(row)
            return _override(row)

    def end_overrides(
        self, team_id: str, instances: Sequence[str], now: datetime
    ) -> int:
        """End the overrides active at `now` of these instances: someone stopped them.

        Args:
            team_id: the Slack team.
            instances: qualified `account/region/identifier` names.
            now: the current instant, aware.

        Returns:
            How many overrides ended.
        """
        if not instances:
            return 0
        with self._schedule_session() as session:
            rows = session.exec(
                select(OverrideRow).where(
                    OverrideRow.team_id == team_id,
                    col(OverrideRow.instance).in_(list(instances)),
                    OverrideRow.until > now,
                )
            ).all()
            for row in rows:
                session.delete(row)
            session.commit()
            return len(rows)

    def overrides(self, team_id: str, now: datetime) -> list[Override]:
        """The team's overrides still active at `now`, latest ending first."""
        with self._reading() as session:
            rows = session.exec(
                select(OverrideRow)
                .where(OverrideRow.team_id == team_id, OverrideRow.until > now)
                .order_by(col(OverrideRow.until).desc())
            ).all()
            return [_override(row) for row in rows]

    def all_overrides(self, now: datetime) -> list[Override]:
        """Every team's overrides still active at `now`."""
        with self._reading() as session:
            rows = session.exec(
                select(OverrideRow).where(OverrideRow.until > now)
            ).all()
            return [_override(row) for row in rows]

    def overrides_ending(self, since: datetime, now: datetime) -> list[Override]:
        """Overrides that expired in (`since`, `now`], so the schedule takes over again."""
        with self._reading() as session:
            rows = session.exec(
                select(OverrideRow).where(
                    OverrideRow.until > since, OverrideRow.until <= now
                )
            ).all()
            return [_override(row) for row in rows]

    # Channel settings

    def notice_minutes(self, team_id: str, channel_id: str) -> int:
        """Minutes before a scheduled stop the channel is warned (0 = never)."""
        with self._reading() as session:
            row = session.get(ChannelSettingRow, (team_id, channel_id))
            return DEFAULT_NOTICE_MINUTES if row is None else row.notice_minutes

    def all_notice_minutes(self) -> dict[tuple[str, str], int]:
        """Notice minutes of every channel that changed the default, by (team, channel)."""
        with self._reading() as session:
            rows = session.exec(select(ChannelSettingRow)).all()
            return {(row.team_id, row.channel_id): row.notice_minutes for row in rows}

    def set_notice_minutes(self, team_id: str, channel_id: str, minutes: int) -> None:
        """Set how many minutes before a scheduled stop the channel is warned."""
        with self._schedule_session() as session:
            row = session.get(ChannelSettingRow, (team_id, channel_id))
            if row is None:
                row = ChannelSettingRow(team_id=team_id, channel_id=channel_id)
                session.add(row)
            row.notice_minutes = minutes
            session.commit()

    # Notices owed to channels

    def add_notice(
        self, team_id: str, channel_id: str, text: str, blocks: str
    ) -> Notice:
        """Keep a channel message until it is delivered."""
        with self._schedule_session() as session:
            row = NoticeRow(
                team_id=team_id, channel_id=channel_id, text=text, blocks=blocks
            )
            session.add(row)
            session.commit()
            session.refresh(row)
            return _notice(row)

    def last_notice_id(self) -> int:
        """The id of the newest message kept so far (0 when none was)."""
        with self._reading() as session:
            newest = session.exec(
                select(NoticeRow.id).order_by(col(NoticeRow.id).desc()).limit(1)
            ).first()
            return newest or 0

    def undelivered_notices(self, up_to_id: int | None = None) -> list[Notice]:
        """Messages Slack has not accepted yet and still to be tried, oldest first.

        Args:
            up_to_id: only messages kept up to this id (see `last_notice_id`).
        """
        with self._reading() as session:
            query = select(NoticeRow).where(
                col(NoticeRow.delivered_at).is_(None),
                col(NoticeRow.gave_up_at).is_(None),
            )
            if up_to_id is not None:
                query = query.where(col(NoticeRow.id) <= up_to_id)
            rows = session.exec(query.order_by(col(NoticeRow.id))).all()
            return [_notice(row) for row in rows]

    def give_up_notices(
        self, created_before: datetime, max_attempts: int, now: datetime
    ) -> int:
        """Stop trying messages tried `max_attempts` times or made before a cutoff.

        They stay undelivered (and listed in `/snooze history`), never sent again.

        Args:
            created_before: messages kept before this instant are given up.
            max_attempts: messages tried this many times are given up.
            now: recorded as the instant SnoozeDB gave up.

        Returns:
            How many messages were given up.
        """
        with self._schedule_session() as session:
            given_up = session.connection().execute(
                update(NoticeRow)
                .where(
                    col(NoticeRow.delivered_at).is_(None),
                    col(NoticeRow.gave_up_at).is_(None),
                    or_(
                        col(NoticeRow.attempts) >= max_attempts,
                        col(NoticeRow.created_at) < created_before,
                    ),
                )
                .values(gave_up_at=now)
            )
            session.commit()
            return int(given_up.rowcount)

    def notice_delivered(self, notice_id: int, now: datetime) -> None:
        """Mark a message as accepted by Slack."""
        with self._schedule_session() as session:
            row = session.get(NoticeRow, notice_id)
            if row is not None:
                row.delivered_at = now
                row.attempts += 1
                session.commit()

    def notice_failed(self, notice_id: int, error: str) -> None:
        """Count a failed delivery and keep the Slack error code."""
        with self._schedule_session() as session:
            row = session.get(NoticeRow, notice_id)
            if row is not None:
                row.attempts += 1
                row.last_error = error
                _note_team_gone(session, row.team_id, error)
                session.commit()

    # Busy instances waiting to be acted on

    def add_busy_retry(
        self,
        team_id: str,
        channel_id: str,
        instance: str,
        action: Action,
        actor: str,
        first_at: datetime,
        deadline: datetime,
        status: str,
    ) -> BusyRetry:
        """Remember a scheduled action that met a busy instance, replacing a pending one."""
        with self._schedule_session() as session:
            for old in session.exec(
                select(BusyRetryRow).where(
                    BusyRetryRow.instance == instance,
                    col(BusyRetryRow.done_at).is_(None),
                )
            ).all():
                old.done_at = first_at
            row = BusyRetryRow(
                team_id=team_id,
                channel_id=channel_id,
                instance=instance,
                action=action.value,
                actor=actor,
                first_at=first_at,
                deadline=deadline,
                last_status=status,
            )
            session.add(row)
            session.commit()
            session.refresh(row)
            return _busy(row)

    def busy_retries(self) -> list[BusyRetry]:
        """Every pending busy retry, oldest first."""
        with self._reading() as session:
            rows = session.exec(
                select(BusyRetryRow)
                .where(col(BusyRetryRow.done_at).is_(None))
                .order_by(col(BusyRetryRow.id))
            ).all()
            return [_busy(row) for row in rows]

    def note_busy(self, retry_id: int, status: str) -> None:
        """Record the state a waiting instance was seen in."""
        with self._schedule_session() as session:
            row = session.get(BusyRetryRow, retry_id)
            if row is not None:
                row.last_status = status
                session.commit()

    def finish_busy_retry(self, retry_id: int, now: datetime) -> None:
        """Settle a busy retry (acted on, given up, or no longer wanted)."""
        with self._schedule_session() as session:
            row = session.get(BusyRetryRow, retry_id)
            if row is not None and row.done_at is None:
                row.done_at = now
                session.commit()

    # What the bot did, for the seven-day rule

    def note_bot_action(self, instance: str, action: Action, at: datetime) -> None:
        """Record that SnoozeDB stopped or started `instance` (qualified) at `at`."""
        self.note_bot_actions([(instance, action)], at)

    def note_bot_actions(
        self, actions: Sequence[tuple[str, Action]], at: datetime
    ) -> None:
        """Record several stops and starts of one run in one transaction.

        One write per account and run, not per instance: many accounts finishing
        at once would otherwise queue on SQLite's single writer.
        """
        if not actions:
            return
        # An upsert per column rather than a read and a write per instance: a fleet's
        # run records thousands of them, and each ORM round trip costs the
        # scheduler's CPU while other accounts wait for it.
        postgres = self.engine.dialect.name == "postgresql"
        with self._schedule_session() as session:
            for action, column in (
                (Action.STOP, "last_stop_at"),
                (Action.START, "last_start_at"),
            ):
                instances = dict.fromkeys(i for i, a in actions if a is action)
                if not instances:
                    continue
                if postgres:
                    statement: Any = postgresql.insert(BotActionRow)
                else:
                    statement = sqlite.insert(BotActionRow)
                session.connection().execute(
                    statement.on_conflict_do_update(
                        index_elements=["instance"],
                        set_={column: statement.excluded[column]},
                    ),
                    [{"instance": instance, column: at} for instance in instances],
                )
            session.commit()

    def bot_actions(self, instances: Sequence[str]) -> dict[str, BotAction]:
        """The last stop and start SnoozeDB made, for each of these instances it touched."""
        if not instances:
            return {}
        with self._reading() as session:
            rows = session.exec(
                select(BotActionRow).where(
                    col(BotActionRow.instance).in_(list(instances))
                )
            ).all()
            return {
                row.instance: BotAction(
                    row.instance, row.last_stop_at, row.last_start_at
                )
                for row in rows
            }

    # Marks

    def mark(self, name: str) -> datetime | None:
        """A named instant of the scheduler, such as `last_run`."""
        with self._reading() as session:
            row = session.get(SchedulerMarkRow, name)
            return None if row is None else row.at

    def advance_mark(self, name: str, at: datetime) -> None:
        """Move a named instant forward to `at` (never backward)."""
        with self._schedule_session() as session:
            row = session.get(SchedulerMarkRow, name)
            if row is None:
                session.add(SchedulerMarkRow(name=name, at=at))
            elif row.at < at:
                row.at = at
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                self.advance_mark(name, at)


class Storage(ScheduleStorage):
    """Every read and write of SnoozeDB's tables."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.reader = _reader_for(url, self.engine)

    def create_tables(self) -> None:
        """Create missing tables and missing nullable columns (idempotent)."""
        SQLModel.metadata.create_all(self.engine)
        _add_missing_nullable_columns(self.engine)

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()
        self.reader.dispose()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    # --- Accounts --------------------------------------------------------------

    def pending_account(
        self, team_id: str, channel_id: str, user_id: str
    ) -> tuple[Account, bool]:
        """Return the channel's pending connection, creating one with a new External ID.

        The External ID is a uuid4 from the operating system's random source. A second
        `/snooze connect` before the role is pasted returns the same one, so a stack
        deployed from the first reply still matches; two typed at the same moment
        also get one, as the unique index on pending rows refuses the second insert.

        Returns:
            The pending account, and True when it was created by this call.
        """
        with self._session() as session:
            row = session.exec(
                select(AccountRow).where(
                    AccountRow.team_id == team_id,
                    AccountRow.channel_id == channel_id,
                    AccountRow.status == AccountStatus.PENDING.value,
                )
            ).first()
            created = row is None
            if row is None:
                row = AccountRow(
                    team_id=team_id,
                    channel_id=channel_id,
                    external_id=str(uuid.uuid4()),
                    connected_by=user_id,
                )
                session.add(row)
                try:
                    session.commit()
                except IntegrityError:
                    # Another request issued the channel's External ID first: use it.
                    session.rollback()
                    return self.pending_account(team_id, channel_id, user_id)
                session.refresh(row)
                logger.info(
                    "issued External ID for team=%s channel=%s", team_id, channel_id
                )
            return _account(row), created

    def accounts(self, team_id: str, channel_id: str | None = None) -> list[Account]:
        """The team's accounts with a role (not pending), optionally of one channel."""
        # Every command reads this before Slack's acknowledgement: a statement
        # built once and plain rows cost a fraction of an ORM query built per call.
        values = {"team_id": team_id, "channel_id": channel_id}
        with self.reader.connect() as connection:
            rows = connection.execute(_accounts_query(channel_id is not None), values)
            return [_account(row) for row in rows]

    def pending(self, team_id: str, channel_id: str) -> Account | None:
        """The channel's pending connection, if any."""
        with self._reading() as session:
            row = session.exec(
                select(AccountRow).where(
                    AccountRow.team_id == team_id,
                    AccountRow.channel_id == channel_id,
                    AccountRow.status == AccountStatus.PENDING.value,
                )
            ).first()
            return None if row is None else _account(row)

    def account(self, account_id: int) -> Account | None:
        """One account by its id."""
        with self._reading() as session:
            row = session.get(AccountRow, account_id)
            return None if row is None else _account(row)

    def all_active_accounts(self) -> list[Account]:
        """Every account of every team that has a verified role."""
        with self._reading() as session:
            rows = session.exec(
                select(AccountRow).where(
                    AccountRow.status != AccountStatus.PENDING.value
                )
            ).all()
            return [_account(row) for row in rows]

    def role_arn_taken(self, role_arn: str, account_id: int) -> bool:
        """True when another connection already holds this role ARN."""
        with self._reading() as session:
            row = session.exec(
                select(AccountRow).where(
                    AccountRow.role_arn == role_arn, AccountRow.id != account_id
                )
            ).first()
            return row is not None

    def activate(
        self,
        account_id: int,
        role_arn: str,
        aws_account_id: str,
        regions: Sequence[str],
    ) -> Account | None:
        """Turn a pending connection active with its verified role.

        Returns:
            The account, or None when the role ARN was taken by another connection
            in the meantime (the unique index decides races).
        """
        with self._session() as session:
            row = session.get(AccountRow, account_id)
            if row is None:
                return None
            row.role_arn = role_arn
            row.aws_account_id = aws_account_id
            row.regions = ",".join(regions)
            row.status = AccountStatus.ACTIVE.value
            row.attention = ""
            row.updated_at = _now()
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return None
            return _account(row)

    def note_regions(self, account_id: int, regions: Sequence[str]) -> None:
        """Remember the regions where the account has instances."""
        self._update(account_id, regions=",".join(regions))

    def mark_needs_attention(self, account_id: int, aws_code: str) -> bool:
        """Flag an account whose role could not be assumed.

        Returns:
            True when the account was not flagged before, so the channel is told once
            and a broken role does not cause a message on every run.
        """
        with self._session() as session:
            row = session.get(AccountRow, account_id)
            if row is None:
                return False
            first_time = row.status != AccountStatus.NEEDS_ATTENTION.value
            row.status = AccountStatus.NEEDS_ATTENTION.value
            row.attention = aws_code
            row.updated_at = _now()
            session.commit()
            return first_time

    def mark_unreachable(self, account_id: int, since: datetime) -> bool:
        """Remember that a scheduled run could not reach the account's AWS.

        Args:
            account_id: the account.
            since: the start of the window of the first run that failed.

        Returns:
            True for the first failure of an outage, in one process only (the
            UPDATE is conditional), so the channel is told once.
        """
        with self._session() as session:
            changed = session.connection().execute(
                update(AccountRow)
                .where(
                    col(AccountRow.id) == account_id,
                    col(AccountRow.unreachable_since).is_(None),
                )
                .values(unreachable_since=since)
            )
            session.commit()
            return changed.rowcount == 1

    def mark_reachable(self, account_id: int) -> None:
        """End the account's outage once a scheduled run reached AWS again."""
        with self._session() as session:
            session.connection().execute(
                update(AccountRow)
                .where(col(AccountRow.id) == account_id)
                .values(unreachable_since=None)
            )
            session.commit()

    def mark_healthy(self, account_id: int) -> None:
        """Clear the attention flag after a successful role assumption."""
        self._update(account_id, status=AccountStatus.ACTIVE.value, attention="")

    def _update(self, account_id: int, **values: str) -> None:
        with self._session() as session:
            row = session.get(AccountRow, account_id)
            if row is None:
                return
            for name, value in values.items():
                setattr(row, name, value)
            row.updated_at = _now()
            session.commit()

    def remove_account(self, account_id: int) -> list[OneOff]:
        """Forget a connection and what was pending for its databases, in one commit.

        The channel's one-offs, keep-running overrides and busy retries of the
        account's instances (qualified `account/region/identifier`) go with it, so
        nothing fires if the account is connected again later. Access really ends
        when the customer deletes the stack.

        Returns:
            The one-offs still pending that were cancelled, soonest first.
        """
        with self._session() as session:
            row = session.get(AccountRow, account_id)
            if row is None:
                return []
            forgotten = [0, 0, 0]
            cancelled: list[OneOff] = []
            if row.aws_account_id:  # a pending connection has no instances yet
                prefix = f"{row.aws_account_id}/"
                pending = session.exec(
                    select(OneOffRow)
                    .where(
                        OneOffRow.team_id == row.team_id,
                        OneOffRow.channel_id == row.channel_id,
                        col(OneOffRow.instance).startswith(prefix, autoescape=True),
                        col(OneOffRow.done_at).is_(None),
                    )
                    .order_by(col(OneOffRow.due_at))
                ).all()
                cancelled = [_one_off(one_off) for one_off in pending]
                forgotten = [
                    session.connection()
                    .execute(
                        delete(table).where(
                            col(table.team_id) == row.team_id,
                            col(table.channel_id) == row.channel_id,
                            col(table.instance).startswith(prefix, autoescape=True),
                        )
                    )
                    .rowcount
                    for table in (OneOffRow, OverrideRow, BusyRetryRow)
                ]
            session.delete(row)
            session.commit()
            logger.info(
                "forgot account=%s team=%s channel=%s with %s one-offs, "
                "%s overrides and %s busy retries",
                row.aws_account_id or "(pending)",
                row.team_id,
                row.channel_id,
                *forgotten,
            )
            return cancelled

    # --- Requests --------------------------------------------------------------

    def claim_request(self, key: str) -> bool:
        """Claim a request key once; False when it was already claimed.

        Slack may deliver the same signed request twice within five minutes; the
        unique key turns the second delivery into a no-op.
        """
        # Core, not the ORM: this runs inside Slack's three seconds on every
        # state-changing command, where the unit of work's bookkeeping is pure cost.
        claim = insert(RequestClaimRow).values(key=key, claimed_at=_now())
        try:
            with self.engine.begin() as connection:
                connection.execute(claim)
        except IntegrityError:
            return False
        return True

    def forget_old_claims(self, older_than: timedelta = timedelta(hours=1)) -> None:
        """Drop request claims past Slack's replay window."""
        with self._session() as session:
            cutoff = _now() - older_than
            session.exec(
                delete(RequestClaimRow).where(col(RequestClaimRow.claimed_at) < cutoff)
            )
            session.commit()

    # --- Audit log -------------------------------------------------------------

    def record_outcomes(
        self,
        team_id: str,
        channel_id: str,
        actor: str,
        outcomes: Sequence[Outcome],
        at: datetime,
    ) -> None:
        """Write one audit entry per outcome, dated `at` (the request's instant)."""
        with self._session() as session:
            for outcome in outcomes:
                session.add(
                    AuditRow(
                        team_id=team_id,
                        channel_id=channel_id,
                        at=at.astimezone(UTC),
                        actor=actor,
                        action=outcome.action.value,
                        instance=outcome.ref.qualified,
                        outcome=outcome.kind.value,
                        detail=(outcome.reason or "")
                        + (f":{outcome.detail}" if outcome.detail else ""),
                    )
                )
            session.commit()

    def history(
        self,
        team_id: str,
        channel_id: str,
        identifier: str | None = None,
        limit: int = 20,
    ) -> list[AuditEntry]:
        """The channel's most recent audit entries, newest first.

        `identifier` narrows them to one database: a DBInstanceIdentifier, or
        `account/region/identifier` for one account's database of that name.
        """
        with self._reading() as session:
            query = select(AuditRow).where(
                AuditRow.team_id == team_id, AuditRow.channel_id == channel_id
            )
            if identifier and identifier.count("/") == 2:
                query = query.where(AuditRow.instance == identifier)
            elif identifier:
                query = query.where(
                    col(AuditRow.instance).endswith("/" + identifier, autoescape=True)
                )
            rows = session.exec(
                query.order_by(col(AuditRow.at).desc(), col(AuditRow.id).desc()).limit(
                    limit
                )
            ).all()
            return [
                AuditEntry(
                    at=row.at,
                    actor=row.actor,
                    action=Action(row.action),
                    instance=row.instance,
                    outcome=OutcomeKind(row.outcome),
                    detail=row.detail,
                )
                for row in rows
            ]

    # --- Teams and admins ------------------------------------------------------
    #
    # A team turns inactive when Slack says the app was removed or its token
    # revoked; its data stays, nothing is posted there, and its next command turns
    # it active again. Admin grants name who besides workspace admins may connect.

    def team_active(self, team_id: str) -> bool:
        """False only for a team marked inactive; teams never seen are active."""
        with self.reader.connect() as connection:
            active = connection.execute(_team_active_query(), {"team_id": team_id})
            found = active.scalar()
        return found is None or bool(found)

    def mark_team_inactive(self, team_id: str, reason: str) -> bool:
        """Stop posting to a team, keeping its data.

        Args:
            team_id: The Slack team.
            reason: The Slack event or error code that said so.

        Returns:
            True when the team was active before this call.
        """
        return self._set_team(team_id, active=False, reason=reason)

    def mark_team_active(self, team_id: str) -> bool:
        """Resume posting to a team; True when it was inactive before."""
        return self._set_team(team_id, active=True, reason="")

    def _set_team(self, team_id: str, *, active: bool, reason: str) -> bool:
        with self._session() as session:
            row = session.get(TeamRow, team_id)
            was_active = row is None or row.active
            if row is None:
                row = TeamRow(team_id=team_id)
                session.add(row)
            row.active = active
            row.inactive_reason = reason
            row.updated_at = _now()
            try:
                session.commit()
            except IntegrityError:
                # Another process created the row first: apply ours on top.
                session.rollback()
                return self._set_team(team_id, active=active, reason=reason)
            return was_active != active

    def grant_admin(
        self, team_id: str, subject_id: str, kind: GrantKind, granted_by: str
    ) -> bool:
        """Allow a person or user group to connect and disconnect accounts.

        Returns:
            False when the grant already existed (nothing changes).
        """
        with self._session() as session:
            session.add(
                AdminGrantRow(
                    team_id=team_id,
                    subject_id=subject_id,
                    kind=kind.value,
                    granted_by=granted_by,
                )
            )
            try:
                session.commit()
            except IntegrityError:
                return False
            return True

    def revoke_admin(self, team_id: str, subject_id: str) -> bool:
        """Withdraw a grant; False when there was none."""
        with self._session() as session:
            row = session.get(AdminGrantRow, (team_id, subject_id))
            if row is None:
                return False
            session.delete(row)
            session.commit()
            return True

    def admin_grants(self, team_id: str) -> list[AdminGrant]:
        """The team's grants, oldest first."""
        with self._reading() as session:
            rows = session.exec(
                select(AdminGrantRow)
                .where(AdminGrantRow.team_id == team_id)
                .order_by(col(AdminGrantRow.granted_at))
            ).all()
            return [
                AdminGrant(
                    team_id=row.team_id,
                    subject_id=row.subject_id,
                    kind=GrantKind(row.kind),
                    granted_by=row.granted_by,
                )
                for row in rows
            ]

    def undelivered_in(
        self, team_id: str, channel_id: str, limit: int = 5
    ) -> list[UndeliveredNotice]:
        """The channel's messages Slack has not accepted yet, newest first."""
        with self._reading() as session:
            rows = session.exec(
                select(NoticeRow)
                .where(
                    NoticeRow.team_id == team_id,
                    NoticeRow.channel_id == channel_id,
                    col(NoticeRow.delivered_at).is_(None),
                )
                .order_by(col(NoticeRow.id).desc())
                .limit(limit)
            ).all()
            return [
                UndeliveredNotice(
                    id=row.id or 0,
                    channel_id=row.channel_id,
                    created_at=row.created_at,
                    attempts=row.attempts,
                    last_error=row.last_error,
                    text=row.text,
                    gave_up=row.gave_up_at is not None,
                )
                for row in rows
            ]


class TeamRow(SQLModel, table=True):
    """A Slack team SnoozeDB has heard of, and whether it may be posted to."""

    __tablename__ = "team"

    team_id: str = Field(primary_key=True)
    active: bool = True
    inactive_reason: str = ""
    updated_at: datetime = Field(default_factory=_now)


@functools.cache
def _team_active_query() -> Select[Any]:
    """Whether the team `:team_id` may be posted to; no row when never seen."""
    table = SQLModel.metadata.tables[TeamRow.__tablename__]
    return sql_select(table.c.active).where(table.c.team_id == bindparam("team_id"))


class AdminGrantRow(SQLModel, table=True):
    """A person or user group a workspace admin allowed to connect accounts."""

    __tablename__ = "admin_grant"

    team_id: str = Field(primary_key=True)
    subject_id: str = Field(primary_key=True)
    kind: str
    granted_by: str
    granted_at: datetime = Field(default_factory=_now)


def _add_missing_nullable_columns(engine: Engine) -> None:
    """Add columns that newer versions made, nullable ones only, to existing tables.

    `create_all` creates missing tables but leaves existing ones as they are; a
    nullable column can be added in place without touching the rows.
    """
    inspector = inspect(engine)
    for table in SQLModel.metadata.sorted_tables:
        if not inspector.has_table(table.name):
            continue
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present or not column.nullable or column.primary_key:
                continue
            kind = column.type.compile(dialect=engine.dialect)
            with engine.begin() as connection:
                connection.execute(
                    sql_text(
                        f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}"
                    )
                )
            logger.info("added column %s.%s", table.name, column.name)


def _note_team_gone(session: Session, team_id: str, error: str) -> None:
    """Mark the team inactive in `session` when a Slack error says the app is gone."""
    if error not in TEAM_GONE_ERRORS:
        return
    row = session.get(TeamRow, team_id)
    if row is None:
        row = TeamRow(team_id=team_id)
        session.add(row)
    if row.active:
        logger.info("team=%s marked inactive after Slack answered %s", team_id, error)
    row.active = False
    row.inactive_reason = error
    row.updated_at = _now()
