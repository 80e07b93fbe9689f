"""The schedule tables' contract, on SQLite and (when available) on PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain import Action
from bot.storage import DEFAULT_NOTICE_MINUTES, Storage
from tests.databases import BACKENDS, database_url, postgres_url  # noqa: F401

NOW = datetime(2026, 3, 30, 12, 0, tzinfo=UTC)
OFFICE = "mon-fri 08:00-20:00 tz Europe/London"
QA_DB = "111122223333/us-east-1/qa-db"


@pytest.fixture(params=BACKENDS)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    store = Storage(database_url(request.param, tmp_path, request))
    store.create_tables()
    yield store
    store.close()


def test_defining_a_schedule_twice_replaces_its_text(storage: Storage):
    first = storage.define_schedule("T1", "C1", "office-hours", OFFICE, "U1")
    again = storage.define_schedule(
        "T1", "C1", "office-hours", "daily 07:00-19:00 tz UTC", "U2"
    )

    assert again.id == first.id
    assert storage.named_schedule("T1", "C1", "office-hours") == again
    assert again.text == "daily 07:00-19:00 tz UTC"
    assert storage.named_schedule("T2", "C1", "office-hours") is None


def test_named_schedules_lists_names_only_not_inline_texts(storage: Storage):
    storage.define_schedule("T1", "C1", "nights", "daily stop 20:00 tz UTC", "U1")
    storage.define_schedule("T1", "C1", "office-hours", OFFICE, "U1")
    storage.assign_schedule("T1", "C1", "qa-db", "daily 09:00-17:00 tz UTC", "U1")

    names = [s.name for s in storage.named_schedules("T1", "C1")]

    assert names == ["nights", "office-hours"]


def test_a_schedule_name_belongs_to_its_channel(storage: Storage):
    """The same name in two channels is two schedules; neither sees the other."""
    mine = storage.define_schedule("T1", "C1", "office-hours", OFFICE, "U1")
    storage.assign_schedule("T1", "C1", "qa-db", mine, "U1")

    theirs = storage.define_schedule("T1", "C2", "office-hours", "daily tz UTC", "U9")
    refused_elsewhere = storage.remove_named_schedule("T1", "C2", "office-hours")

    assert theirs.id != mine.id
    assert storage.named_schedule("T1", "C1", "office-hours") == mine
    assert storage.named_schedules("T1", "C2") == []
    assert refused_elsewhere == []
    assert storage.named_schedules("T1", "C3") == []
    assert storage.named_schedules("T2", "C1") == []


def test_assigning_upserts_by_channel_and_target(storage: Storage):
    office = storage.define_schedule("T1", "C1", "office-hours", OFFICE, "U1")
    storage.assign_schedule("T1", "C1", "qa-db", office, "U1")
    storage.assign_schedule("T1", "C1", "qa-db", "daily 09:00-17:00 tz UTC", "U2")
    storage.assign_schedule("T1", "C2", "tag:env=dev", "weekends tz UTC", "U1")

    in_c1 = storage.assignments("T1", "C1")

    assert [(a.target, a.schedule.name, a.schedule.text) for a in in_c1] == [
        ("qa-db", None, "daily 09:00-17:00 tz UTC")
    ]
    assert in_c1[0].created_by == "U2"
    assert len(storage.assignments("T1")) == 2
    assert len(storage.all_assignments()) == 2


def test_a_named_schedule_in_use_is_not_removed(storage: Storage):
    office = storage.define_schedule("T1", "C1", "office-hours", OFFICE, "U1")
    storage.assign_schedule("T1", "C1", "qa-db", office, "U1")
    storage.assign_schedule("T1", "C1", "tag:env=dev", office, "U1")

    refused = storage.remove_named_schedule("T1", "C1", "office-hours")
    storage.unassign("T1", "C1", "qa-db")
    storage.unassign("T1", "C1", "tag:env=dev")
    removed = storage.remove_named_schedule("T1", "C1", "office-hours")

    assert refused == ["qa-db", "tag:env=dev"]
    assert removed == []
    assert storage.named_schedule("T1", "C1", "office-hours") is None


def test_unassign_says_whether_there_was_anything_to_remove(storage: Storage):
    storage.assign_schedule("T1", "C1", "qa-db", "daily 09:00-17:00 tz UTC", "U1")

    assert storage.unassign("T1", "C1", "qa-db") is True
    assert storage.unassign("T1", "C1", "qa-db") is False
    assert storage.assignments("T1") == []


def test_a_new_one_off_replaces_the_pending_one_of_the_same_instance(storage: Storage):
    storage.add_one_off("T1", "C1", QA_DB, Action.START, NOW + timedelta(hours=3), "U1")
    latest = storage.add_one_off(
        "T1", "C1", QA_DB, Action.START, NOW + timedelta(hours=1), "U2"
    )

    pending = storage.one_offs("T1")

    assert pending == [latest]
    assert pending[0].due_at == NOW + timedelta(hours=1)
    assert pending[0].action is Action.START


def test_due_one_offs_are_those_at_or_before_now_and_not_yet_done(storage: Storage):
    due = storage.add_one_off("T1", "C1", QA_DB, Action.START, NOW, "U1")
    storage.add_one_off(
        "T1",
        "C1",
        "111122223333/us-east-1/b",
        Action.STOP,
        NOW + timedelta(minutes=1),
        "U1",
    )

    found = storage.due_one_offs(NOW)
    storage.finish_one_off(due.id, NOW)

    assert found == [due]
    assert storage.due_one_offs(NOW) == []
    assert [o.instance for o in storage.one_offs("T1")] == ["111122223333/us-east-1/b"]


def test_a_one_off_due_before_the_catch_up_window_is_dropped_and_logged(
    storage: Storage, caplog: pytest.LogCaptureFixture
):
    """A way back missed by more than a day is settled, not carried out late."""
    late = storage.add_one_off(
        "T1", "C1", QA_DB, Action.START, NOW - timedelta(hours=23), "U1"
    )
    stale = storage.add_one_off(
        "T1",
        "C1",
        "111122223333/us-east-1/b",
        Action.START,
        NOW - timedelta(days=2),
        "U1",
    )

    with caplog.at_level(logging.WARNING, logger="bot.storage"):
        found = storage.due_one_offs(NOW)

    assert [o.id for o in found] == [late.id]
    assert [o.id for o in storage.one_offs("T1")] == [late.id]
    assert f"dropped one-off {stale.id} of 111122223333/us-east-1/b" in caplog.text


def test_removing_an_account_forgets_its_one_offs_overrides_and_busy_retries(
    storage: Storage,
):
    """Only the account's instances in its channel; other accounts keep theirs."""
    pending, _ = storage.pending_account("T1", "C1", "U1")
    account = storage.activate(
        pending.id, "arn:aws:iam::111122223333:role/SnoozeDBAccess", "111122223333", []
    )
    assert account is not None
    other = "444455556666/us-east-1/qa-db"
    later = NOW + timedelta(hours=3)
    for instance in (QA_DB, other):
        storage.add_one_off("T1", "C1", instance, Action.START, later, "U1")
        storage.add_override("T1", "C1", instance, later, "U1")
        storage.add_busy_retry(
            "T1", "C1", instance, Action.STOP, "schedule", NOW, later, "backing-up"
        )
    elsewhere = later + timedelta(minutes=1)
    storage.add_one_off("T1", "C2", QA_DB, Action.START, elsewhere, "U1")

    storage.remove_account(account.id)

    assert [(o.channel_id, o.instance) for o in storage.one_offs("T1")] == [
        ("C1", other),
        ("C2", QA_DB),
    ]
    assert [o.instance for o in storage.overrides("T1", NOW)] == [other]
    assert [r.instance for r in storage.busy_retries()] == [other]
    assert storage.accounts("T1") == []


def test_a_claim_is_won_by_exactly_one_of_many_concurrent_callers(storage: Storage):
    key = "a1:2026-03-30T19:00:00+00:00:stop"

    with ThreadPoolExecutor(max_workers=8) as pool:
        won = list(pool.map(lambda n: storage.claim(key, f"replica-{n}"), range(8)))

    assert won.count(True) == 1
    assert storage.claim(key, "late") is False
    assert storage.claim(key.replace("stop", "start"), "late") is True


def test_overrides_are_active_until_they_expire(storage: Storage):
    storage.add_override("T1", "C1", QA_DB, NOW + timedelta(hours=1), "U1")

    active = storage.overrides("T1", NOW)
    later = storage.overrides("T1", NOW + timedelta(hours=1))

    assert [(o.instance, o.until, o.created_by) for o in active] == [
        (QA_DB, NOW + timedelta(hours=1), "U1")
    ]
    assert later == []


def test_notice_minutes_default_to_fifteen_and_are_set_per_channel(storage: Storage):
    storage.set_notice_minutes("T1", "C1", 30)

    assert storage.notice_minutes("T1", "C1") == 30
    assert storage.notice_minutes("T1", "C2") == DEFAULT_NOTICE_MINUTES == 15


def test_undelivered_notices_are_kept_until_delivered(storage: Storage):
    notice = storage.add_notice("T1", "C1", "stopped qa-db", "")
    storage.notice_failed(notice.id, "not_in_channel")

    kept = storage.undelivered_notices()
    storage.notice_delivered(notice.id, NOW)

    assert [(n.text, n.attempts) for n in kept] == [("stopped qa-db", 1)]
    assert storage.undelivered_notices() == []


def test_busy_retries_are_pending_until_finished(storage: Storage):
    retry = storage.add_busy_retry(
        "T1",
        "C1",
        QA_DB,
        Action.STOP,
        "schedule:a1",
        NOW,
        NOW + timedelta(minutes=30),
        "backing-up",
    )
    storage.note_busy(retry.id, "modifying")

    pending = storage.busy_retries()
    storage.finish_busy_retry(retry.id, NOW)

    assert [(r.instance, r.last_status, r.deadline) for r in pending] == [
        (QA_DB, "modifying", NOW + timedelta(minutes=30))
    ]
    assert storage.busy_retries() == []


def test_bot_actions_remember_the_last_stop_and_start(storage: Storage):
    storage.note_bot_action(QA_DB, Action.STOP, NOW)
    storage.note_bot_action(QA_DB, Action.START, NOW + timedelta(hours=1))
    storage.note_bot_action(QA_DB, Action.STOP, NOW + timedelta(hours=2))

    found = storage.bot_actions([QA_DB, "111122223333/us-east-1/other"])

    assert list(found) == [QA_DB]
    assert found[QA_DB].last_stop_at == NOW + timedelta(hours=2)
    assert found[QA_DB].last_start_at == NOW + timedelta(hours=1)


def test_a_mark_only_moves_forward(storage: Storage):
    storage.advance_mark("last_run", NOW)
    storage.advance_mark("last_run", NOW - timedelta(hours=1))

    assert storage.mark("last_run") == NOW
    assert storage.mark("other") is None


def test_bot_actions_keep_the_last_stop_and_start_of_each_instance(storage: Storage):
    """The seven-day rule reads these: a later run overwrites only its own column."""
    other = "111122223333/us-east-1/reports-db"
    storage.note_bot_actions([(QA_DB, Action.STOP), (other, Action.START)], NOW)
    later = NOW + timedelta(days=1)

    storage.note_bot_actions([(QA_DB, Action.START), (QA_DB, Action.START)], later)

    found = storage.bot_actions([QA_DB, other, "111122223333/us-east-1/none"])
    assert set(found) == {QA_DB, other}
    assert found[QA_DB].last_stop_at == NOW
    assert found[QA_DB].last_start_at == later
    assert found[other].last_stop_at is None
    assert found[other].last_start_at == NOW


def test_removing_an_account_returns_the_one_offs_it_cancelled(storage: Storage):
    """Disconnect names them: a database stopped "for 2h" now stays stopped."""
    pending, _ = storage.pending_account("T1", "C1", "U1")
    account = storage.activate(
        pending.id, "arn:aws:iam::111122223333:role/SnoozeDBAccess", "111122223333", []
    )
    assert account is not None
    later = NOW + timedelta(hours=2)
    storage.add_one_off("T1", "C1", QA_DB, Action.START, later, "U1")
    storage.add_one_off("T1", "C1", "444455556666/us-east-1/x", Action.START, NOW, "U1")

    cancelled = storage.remove_account(account.id)

    assert [(o.instance, o.action, o.due_at) for o in cancelled] == [
        (QA_DB, Action.START, later)
    ]
    assert storage.remove_account(account.id) == []
