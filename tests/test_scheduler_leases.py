"""Scheduler claims are leases: taken before the work, settled after, taken over late.

The storage contract runs on SQLite and (when available) on PostgreSQL. Leases are
measured on the run's own instant, so these tests move time by passing instants.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain import Action, InstanceRef, Outcome, OutcomeKind
from bot.storage import CLAIM_LEASE, Claim, Storage
from tests.databases import BACKENDS, database_url, postgres_url  # noqa: F401

NOW = datetime(2026, 3, 30, 20, 0, 3, tzinfo=UTC)
SINCE = NOW - timedelta(minutes=1)
KEY = "a1:1:2026-03-30T20:00:00+00:00:stop"
LATE = NOW + CLAIM_LEASE + timedelta(minutes=1)


@pytest.fixture(params=BACKENDS)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    store = Storage(database_url(request.param, tmp_path, request))
    store.create_tables()
    yield store
    store.close()


def test_an_open_claim_is_left_to_its_owner_while_the_lease_runs(storage: Storage):
    first = storage.take_claim(KEY, "replica-a", NOW, since=SINCE)

    during = storage.take_claim(KEY, "replica-b", NOW + CLAIM_LEASE, since=SINCE)

    assert first is Claim.NEW
    assert during is None
    assert storage.open_claims() == [KEY]


def test_an_open_claim_is_taken_over_once_its_lease_has_run_out(storage: Storage):
    """A process killed between claim and settle must not lose the transition."""
    storage.take_claim(KEY, "dead-replica", NOW, since=SINCE)

    with ThreadPoolExecutor(max_workers=8) as pool:
        taken = list(
            pool.map(
                lambda n: storage.take_claim(KEY, f"replica-{n}", LATE, since=SINCE),
                range(8),
            )
        )

    assert taken.count(Claim.RESUMED) == 1
    assert taken.count(None) == 7
    assert storage.expired_claims(LATE) == {}


def test_a_settled_claim_is_never_taken_again(storage: Storage):
    storage.take_claim(KEY, "replica-a", NOW, since=SINCE)
    storage.settle_claims([KEY], "replica-a", NOW, team_id="T1", channel_id="C1")

    much_later = storage.take_claim(KEY, "replica-b", NOW + timedelta(hours=3))
    same_owner = storage.take_claim(KEY, "replica-a", NOW + timedelta(hours=3))

    assert much_later is None
    assert same_owner is None
    assert storage.open_claims() == []


def test_an_owner_takes_its_own_unsettled_claim_again_at_once(storage: Storage):
    """A run that failed before settling (database busy) is retried on the next tick."""
    storage.take_claim(KEY, "replica-a", NOW, since=SINCE)

    again = storage.take_claim(KEY, "replica-a", NOW + timedelta(minutes=1))

    assert again is Claim.RESUMED


def test_settling_records_outcomes_message_and_done_together(storage: Storage):
    ref = InstanceRef("111122223333", "us-east-1", "qa-db")
    storage.take_claim(KEY, "replica-a", NOW, since=SINCE)

    notice = storage.settle_claims(
        [KEY],
        "replica-a",
        NOW,
        team_id="T1",
        channel_id="C1",
        outcomes=[Outcome(ref, Action.STOP, OutcomeKind.STOPPED)],
        message=("Scheduled run", ""),
    )

    assert notice is not None
    assert notice.text == "Scheduled run"
    assert [n.id for n in storage.undelivered_notices()] == [notice.id]
    history = storage.history("T1", "C1")
    assert [(e.actor, e.instance, e.outcome) for e in history] == [
        ("schedule", ref.qualified, OutcomeKind.STOPPED)
    ]
    assert storage.open_claims() == []


def test_expired_claims_name_the_window_to_look_back_to(storage: Storage):
    storage.take_claim(KEY, "dead-replica", NOW, since=SINCE)
    storage.take_claim("r7:2026-03-30T20:00:00+00:00", "dead-replica", NOW)

    early = storage.expired_claims(cutoff=NOW)
    late = storage.expired_claims(cutoff=LATE - CLAIM_LEASE)

    assert early == {}
    assert late == {KEY: SINCE}


def test_abandoning_closes_only_claims_still_expired(storage: Storage):
    storage.take_claim(KEY, "dead-replica", NOW, since=SINCE)
    other = KEY.replace("stop", "start")
    storage.take_claim(other, "dead-replica", NOW, since=SINCE)
    storage.take_claim(other, "replica-b", LATE, since=SINCE)

    closed = storage.abandon_claims([KEY, other], LATE - CLAIM_LEASE, LATE)

    assert closed == [KEY]
    assert storage.open_claims() == [other]
