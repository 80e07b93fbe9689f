"""The tables SnoozeDB keeps, and the only module that talks SQL.

What is stored: which AWS account (by role ARN and External ID) is connected to which
Slack channel, which requests were already handled, and an audit log of actions. What
is never stored: AWS credentials of any kind, Slack tokens, request bodies.

SQLite is the embedded default; PostgreSQL is what several replicas share.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, create_engine, delete, select

from bot.domain import Account, AccountStatus, Action, AuditEntry, Outcome, OutcomeKind

logger = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


class AccountRow(SQLModel, table=True):
    """A connection between one Slack channel and one customer role."""

    __tablename__ = "account"

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(index=True)
    channel_id: str = Field(index=True)
    external_id: str = Field(unique=True)
    role_arn: str | None = Field(default=None, unique=True)
    aws_account_id: str = ""
    status: str = AccountStatus.PENDING.value
    regions: str = ""
    attention: str = ""
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


def _account(row: AccountRow) -> Account:
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
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    # WAL lets the web and scheduler processes share the file; the busy timeout turns
    # a lock held by the other process into a short wait instead of an instant error.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """Create the engine for `url`: SQLite in WAL mode, or a pre-pinged PostgreSQL pool."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


class Storage:
    """Every read and write of SnoozeDB's tables."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)

    def create_tables(self) -> None:
        """Create missing tables (idempotent)."""
        SQLModel.metadata.create_all(self.engine)

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

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
        deployed from the first reply still matches.

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
                session.commit()
                session.refresh(row)
                logger.info("issued External ID for team=%s channel=%s", team_id, channel_id)
            return _account(row), created

    def accounts(self, team_id: str, channel_id: str | None = None) -> list[Account]:
        """The team's accounts with a role (not pending), optionally of one channel."""
        with self._session() as session:
            query = select(AccountRow).where(
                AccountRow.team_id == team_id,
                AccountRow.status != AccountStatus.PENDING.value,
            )
            if channel_id is not None:
                query = query.where(AccountRow.channel_id == channel_id)
            rows = session.exec(query.order_by(col(AccountRow.id))).all()
            return [_account(row) for row in rows]

    def pending(self, team_id: str, channel_id: str) -> Account | None:
        """The channel's pending connection, if any."""
        with self._session() as session:
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
        with self._session() as session:
            row = session.get(AccountRow, account_id)
            return None if row is None else _account(row)

    def all_active_accounts(self) -> list[Account]:
        """Every account of every team that has a verified role."""
        with self._session() as session:
            rows = session.exec(
                select(AccountRow).where(AccountRow.status != AccountStatus.PENDING.value)
            ).all()
            return [_account(row) for row in rows]

    def role_arn_taken(self, role_arn: str, account_id: int) -> bool:
        """True when another connection already holds this role ARN."""
        with self._session() as session:
            row = session.exec(
                select(AccountRow).where(
                    AccountRow.role_arn == role_arn, AccountRow.id != account_id
                )
            ).first()
            return row is not None

    def activate(
        self, account_id: int, role_arn: str, aws_account_id: str, regions: Sequence[str]
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

    def remove_account(self, account_id: int) -> None:
        """Forget a connection. Access really ends when the customer deletes the stack."""
        with self._session() as session:
            session.exec(delete(AccountRow).where(col(AccountRow.id) == account_id))
            session.commit()

    # --- Requests --------------------------------------------------------------

    def claim_request(self, key: str) -> bool:
        """Claim a request key once; False when it was already claimed.

        Slack may deliver the same signed request twice within five minutes; the
        unique key turns the second delivery into a no-op.
        """
        with self._session() as session:
            session.add(RequestClaimRow(key=key))
            try:
                session.commit()
            except IntegrityError:
                return False
            return True

    def forget_old_claims(self, older_than: timedelta = timedelta(hours=1)) -> None:
        """Drop request claims past Slack's replay window."""
        with self._session() as session:
            cutoff = _now() - older_than
            session.exec(delete(RequestClaimRow).where(col(RequestClaimRow.claimed_at) < cutoff))
            session.commit()

    # --- Audit log -------------------------------------------------------------

    def record_outcomes(
        self, team_id: str, channel_id: str, actor: str, outcomes: Sequence[Outcome]
    ) -> None:
        """Write one audit entry per outcome."""
        with self._session() as session:
            for outcome in outcomes:
                session.add(
                    AuditRow(
                        team_id=team_id,
                        channel_id=channel_id,
                        actor=actor,
                        action=outcome.action.value,
                        instance=outcome.ref.qualified,
                        outcome=outcome.kind.value,
                        detail=(outcome.reason or "") + (f":{outcome.detail}" if outcome.detail else ""),
                    )
                )
            session.commit()

    def history(
        self, team_id: str, channel_id: str, identifier: str | None = None, limit: int = 20
    ) -> list[AuditEntry]:
        """The channel's most recent audit entries, newest first."""
        with self._session() as session:
            query = select(AuditRow).where(
                AuditRow.team_id == team_id, AuditRow.channel_id == channel_id
            )
            if identifier:
                query = query.where(col(AuditRow.instance).endswith("/" + identifier))
            rows = session.exec(query.order_by(col(AuditRow.at).desc()).limit(limit)).all()
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
