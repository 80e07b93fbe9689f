"""The storage contract, run on SQLite and (when available) on PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from bot.domain import AccountStatus, Action, InstanceRef, Outcome, OutcomeKind
from bot.storage import Storage
from tests.databases import BACKENDS, database_url, postgres_url  # noqa: F401

ROLE = "arn:aws:iam::111122223333:role/SnoozeDBAccess"


@pytest.fixture(params=BACKENDS)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    store = Storage(database_url(request.param, tmp_path, request))
    store.create_tables()
    yield store
    store.close()


def test_connect_issues_a_random_external_id_once_per_channel(storage: Storage):
    first, created = storage.pending_account("T1", "C1", "U1")
    again, created_again = storage.pending_account("T1", "C1", "U2")
    other, _ = storage.pending_account("T1", "C2", "U1")

    assert created and not created_again
    assert again.external_id == first.external_id
    assert other.external_id != first.external_id
    assert uuid.UUID(first.external_id).version == 4


def test_activated_account_is_listed_for_its_channel_only(storage: Storage):
    pending, _ = storage.pending_account("T1", "C1", "U1")

    storage.activate(pending.id, ROLE, "111122223333", ["eu-west-1"])

    [account] = storage.accounts("T1", "C1")
    assert account.status is AccountStatus.ACTIVE
    assert account.regions == ("eu-west-1",)
    assert storage.accounts("T1", "C2") == []
    assert storage.accounts("T2", "C1") == []


def test_a_role_arn_can_be_connected_only_once(storage: Storage):
    first, _ = storage.pending_account("T1", "C1", "U1")
    second, _ = storage.pending_account("T2", "C9", "U9")
    storage.activate(first.id, ROLE, "111122223333", [])

    assert storage.role_arn_taken(ROLE, second.id)
    assert storage.activate(second.id, ROLE, "111122223333", []) is None
    assert storage.accounts("T2") == []


def test_needs_attention_is_reported_once_then_cleared(storage: Storage):
    """R5: a broken role is announced once, not on every run."""
    pending, _ = storage.pending_account("T1", "C1", "U1")
    storage.activate(pending.id, ROLE, "111122223333", [])

    first = storage.mark_needs_attention(pending.id, "AccessDenied")
    second = storage.mark_needs_attention(pending.id, "AccessDenied")
    flagged = storage.accounts("T1", "C1")[0]
    storage.mark_healthy(pending.id)

    assert (first, second) == (True, False)
    assert flagged.status is AccountStatus.NEEDS_ATTENTION
    assert storage.accounts("T1", "C1")[0].status is AccountStatus.ACTIVE


def test_connect_typed_twice_at_once_issues_one_external_id(storage: Storage):
    """Racing `/snooze connect`s in one channel share one pending connection."""
    start = threading.Barrier(8)

    def connect(user: int) -> tuple[str, bool]:
        start.wait()
        account, created = storage.pending_account("T1", "C1", f"U{user}")
        return account.external_id, created

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(connect, range(8)))

    assert len({external_id for external_id, _ in results}) == 1
    assert [created for _, created in results].count(True) == 1
    pending = storage.pending("T1", "C1")
    assert pending is not None
    assert pending.external_id == results[0][0]


def test_a_channel_with_an_active_account_may_still_get_one_pending(
    storage: Storage,
):
    """The unique index holds pending rows only: connecting a second account works."""
    first, _ = storage.pending_account("T1", "C1", "U1")
    storage.activate(first.id, ROLE, "111122223333", [])

    second, created = storage.pending_account("T1", "C1", "U1")

    assert created
    assert second.id != first.id
    assert [a.id for a in storage.accounts("T1", "C1")] == [first.id]


def test_a_request_key_is_claimed_once_even_when_raced(storage: Storage):
    """R14: a replayed request acts once, even when both copies arrive together."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(lambda _: storage.claim_request("T1:trigger-1"), range(8))
        )

    assert results.count(True) == 1


def test_sqlite_reads_go_on_while_a_write_transaction_is_open(tmp_path: Path):
    """A command's reads (team, accounts) never queue behind the write lock."""
    store = Storage(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    store.create_tables()
    pending, _ = store.pending_account("T1", "C1", "U1")
    store.activate(pending.id, ROLE, "111122223333", ["eu-west-1"])
    active: list[bool] = []
    accounts: list[int] = []

    def read() -> None:
        active.append(store.team_active("T1"))
        accounts.extend(account.id for account in store.accounts("T1"))

    reader = threading.Thread(target=read)

    with store.engine.begin() as writing:
        writing.exec_driver_sql(
            "INSERT INTO request_claim (key, claimed_at) VALUES ('held', '2026-01-01')"
        )
        reader.start()
        # Without the fix this waits for the busy timeout (30 s), not 10.
        reader.join(timeout=10)
        finished = not reader.is_alive()
    reader.join()
    store.close()

    assert finished
    assert active == [True]
    assert accounts == [pending.id]


def test_sqlite_read_only_methods_cannot_write(tmp_path: Path):
    store = Storage(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    store.create_tables()

    refused = pytest.raises(OperationalError, match="readonly")
    with refused, store.reader.begin() as reading:
        reading.exec_driver_sql("DELETE FROM request_claim")
    store.close()


def test_history_lists_newest_first_and_filters_by_instance(storage: Storage):
    ref = InstanceRef("111122223333", "eu-west-1", "staging-db")
    other = InstanceRef("111122223333", "eu-west-1", "billing-db")
    first = datetime(2025, 3, 27, 12, 0, tzinfo=UTC)
    for minutes, outcome in enumerate(
        [
            Outcome(ref, Action.STOP, OutcomeKind.STOPPED),
            Outcome(ref, Action.START, OutcomeKind.STARTED),
            Outcome(other, Action.STOP, OutcomeKind.STOPPED),
        ]
    ):
        at = first + timedelta(minutes=minutes)
        storage.record_outcomes("T1", "C1", "user:U1", [outcome], at)

    entries = storage.history("T1", "C1", "staging-db")

    assert [e.action for e in entries] == [Action.START, Action.STOP]
    assert storage.history("T2", "C1") == []


def test_disconnect_forgets_the_account(storage: Storage):
    pending, _ = storage.pending_account("T1", "C1", "U1")
    storage.activate(pending.id, ROLE, "111122223333", [])

    storage.remove_account(pending.id)

    assert storage.accounts("T1") == []
