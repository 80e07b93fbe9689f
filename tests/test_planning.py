"""Which schedule applies to an instance and why: pure, no moto, no Slack."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import (
    Action,
    Assignment,
    Instance,
    InstanceRef,
    OneOff,
    Override,
    SavedSchedule,
)
from bot.planning import (
    Source,
    applicable,
    coming,
    enforce_stops_again,
    parsed,
    targets_instance,
    underlying,
    way_back_wanted,
)
from bot.schedule import Desired

REF = InstanceRef("111122223333", "us-east-1", "batch-db")
MONDAY_NOON = datetime(2025, 3, 24, 12, 0, tzinfo=UTC)
OFFICE = SavedSchedule(1, "T1", "office-hours", "mon-fri 08:00-20:00 tz UTC")
NIGHTS = SavedSchedule(2, "T1", None, "mon-fri 22:00-06:00 tz UTC")
WEEKENDS = SavedSchedule(3, "T1", "weekends", "weekends tz UTC")


def instance(**tags: str) -> Instance:
    return Instance(REF, "postgres", "db.t3.micro", "available", tags=tags)


def assign(number: int, target: str, saved: SavedSchedule) -> Assignment:
    return Assignment(number, "T1", "C1", target, saved, "U1")


def one_off(number: int, action: Action, due: datetime) -> OneOff:
    return OneOff(number, "T1", "C1", REF.qualified, action, due, "U7")


def test_direct_assignment_beats_tag_selector_and_instance_tag():
    assignments = [assign(1, "tag:team=qa", WEEKENDS), assign(2, "batch-db", NIGHTS)]
    tagged = instance(team="qa", **{"snoozedb:schedule": "office-hours"})

    plan = applicable(
        tagged, assignments, {"office-hours": OFFICE}, [], [], MONDAY_NOON
    )

    assert plan is not None
    assert plan.source is Source.DIRECT
    assert plan.origin == "batch-db"
    assert plan.desired is Desired.STOPPED
    assert plan.schedule == parsed(NIGHTS.text)


def test_qualified_assignment_beats_bare_identifier():
    assignments = [assign(5, "batch-db", WEEKENDS), assign(1, REF.qualified, NIGHTS)]

    plan = applicable(instance(), assignments, {}, [], [], MONDAY_NOON)

    assert plan is not None and plan.origin == REF.qualified


def test_newest_matching_tag_selector_wins():
    assignments = [assign(1, "tag:team=qa", OFFICE), assign(2, "tag:env=dev", NIGHTS)]

    plan = applicable(
        instance(team="qa", env="dev"), assignments, {}, [], [], MONDAY_NOON
    )

    assert plan is not None
    assert plan.source is Source.TAG_SELECTOR
    assert plan.origin == "tag:env=dev"


def test_instance_tag_names_a_saved_schedule():
    tagged = instance(**{"snoozedb:schedule": "Office-Hours"})

    plan = applicable(tagged, [], {"office-hours": OFFICE}, [], [], MONDAY_NOON)

    assert plan is not None
    assert plan.source is Source.INSTANCE_TAG
    assert plan.origin == "snoozedb:schedule=office-hours"
    assert plan.desired is Desired.RUNNING


def test_instance_tag_naming_no_saved_schedule_applies_nothing():
    tagged = instance(**{"snoozedb:schedule": "ofice-hours"})

    assert applicable(tagged, [], {"office-hours": OFFICE}, [], [], MONDAY_NOON) is None
    assert underlying(instance(), [assign(1, "other-db", OFFICE)], {}) is None


def test_pending_one_off_overrides_the_schedule_until_due_then_schedule_resumes():
    """Stopped for 3h at noon on a weekday: back at 15:00, then the schedule's 20:00 stop."""
    due = MONDAY_NOON + timedelta(hours=3)
    assignments = [assign(1, "batch-db", OFFICE)]

    plan = applicable(
        instance(), assignments, {}, [one_off(1, Action.START, due)], [], MONDAY_NOON
    )

    assert plan is not None
    assert plan.source is Source.ONE_OFF
    assert plan.desired is Desired.STOPPED
    assert [(s.action, s.at.astimezone(UTC).hour) for s in plan.next[:2]] == [
        (Action.START, 15),
        (Action.STOP, 20),
    ]
    assert plan.underlying is not None and plan.underlying.source is Source.DIRECT


def test_newest_one_off_wins_and_past_ones_are_ignored():
    early = one_off(1, Action.START, MONDAY_NOON + timedelta(hours=3))
    later = one_off(2, Action.STOP, MONDAY_NOON + timedelta(hours=2))
    past = one_off(3, Action.START, MONDAY_NOON - timedelta(hours=1))

    plan = applicable(instance(), [], {}, [early, later, past], [], MONDAY_NOON)

    assert plan is not None and plan.one_off == later
    assert plan.desired is Desired.RUNNING


def test_override_keeps_running_then_stops_when_the_schedule_wants_it_stopped():
    until = datetime(2025, 3, 24, 21, 0, tzinfo=UTC)
    kept = Override(1, "T1", "C1", REF.qualified, until, "U9")
    assignments = [assign(1, "batch-db", OFFICE)]
    evening = datetime(2025, 3, 24, 20, 30, tzinfo=UTC)

    plan = applicable(instance(), assignments, {}, [], [kept], evening)

    assert plan is not None
    assert plan.source is Source.OVERRIDE
    assert plan.desired is Desired.RUNNING
    assert plan.next[0].action is Action.STOP
    assert plan.next[0].at.astimezone(UTC) == until
    assert plan.next[1].action is Action.START


def test_expired_override_is_ignored():
    kept = Override(1, "T1", "C1", REF.qualified, MONDAY_NOON, "U9")

    plan = applicable(
        instance(), [assign(1, "batch-db", NIGHTS)], {}, [], [kept], MONDAY_NOON
    )

    assert plan is not None and plan.source is Source.DIRECT


def test_nothing_applies_without_any_rule():
    assert applicable(instance(), [], {}, [], [], MONDAY_NOON) is None


def test_stored_naive_instants_are_read_as_utc():
    due = (MONDAY_NOON + timedelta(hours=1)).replace(tzinfo=None)

    plan = applicable(
        instance(), [], {}, [one_off(1, Action.START, due)], [], MONDAY_NOON
    )

    assert plan is not None and plan.next[0].at == MONDAY_NOON + timedelta(hours=1)


def test_naive_now_is_refused():
    with pytest.raises(ValueError):
        applicable(instance(), [], {}, [], [], MONDAY_NOON.replace(tzinfo=None))


def test_overnight_window_runs_from_friday_night_to_saturday_morning():
    """R8: `mon-fri 22:00-06:00`: Friday's window ends Saturday 06:00."""
    friday_noon = datetime(2025, 3, 28, 12, 0, tzinfo=UTC)

    plan = applicable(
        instance(), [assign(1, "batch-db", NIGHTS)], {}, [], [], friday_noon
    )

    assert plan is not None
    assert [(s.action, f"{s.at:%a %H:%M}") for s in plan.next[:2]] == [
        (Action.START, "Fri 22:00"),
        (Action.STOP, "Sat 06:00"),
    ]


def test_parsed_schedules_are_cached_by_text():
    assert parsed(OFFICE.text) is parsed(OFFICE.text)


def test_targets_instance_reads_identifier_qualified_and_ignores_selectors():
    assert targets_instance("batch-db", REF)
    assert targets_instance("111122223333/us-east-1/batch-db", REF)
    assert not targets_instance("111122223333/eu-west-1/batch-db", REF)
    assert not targets_instance("tag:Name=batch-db", REF)


def test_coming_merges_schedules_and_one_offs_and_holds_schedules_behind_one_offs():
    due = MONDAY_NOON + timedelta(hours=10)  # 22:00, past the 20:00 stop
    assignments = [assign(1, "batch-db", OFFICE), assign(2, "tag:team=qa", NIGHTS)]

    # Started by hand for the evening: stopped again at 22:00, as the schedule wants.
    found = coming(assignments, [one_off(1, Action.STOP, due)], MONDAY_NOON, count=4)

    assert [(c.target, c.action, c.at.astimezone(UTC).hour) for c in found] == [
        (REF.qualified, Action.STOP, 22),
        ("tag:team=qa", Action.START, 22),
        ("tag:team=qa", Action.STOP, 6),
        ("batch-db", Action.START, 8),
    ]
    assert [c.source for c in found[:2]] == [Source.ONE_OFF, Source.TAG_SELECTOR]


def test_a_one_off_ending_where_the_schedule_wants_its_state_has_no_way_back():
    # Stopped by hand until 22:00, past the 20:00 stop: the schedule wants it stopped
    # then, so it is not started at 22:00 and next morning's start is the next step.
    due = MONDAY_NOON + timedelta(hours=10)
    held = one_off(1, Action.START, due)
    assignments = [assign(1, "batch-db", OFFICE)]

    found = coming(assignments, [held], MONDAY_NOON, count=2)
    plan = applicable(instance(), assignments, {}, [held], [], MONDAY_NOON, count=2)

    assert [(c.action, c.at.astimezone(UTC).hour) for c in found] == [
        (Action.START, 8),
        (Action.STOP, 20),
    ]
    assert plan is not None
    assert plan.desired is Desired.STOPPED
    assert [(s.action, s.at.astimezone(UTC).hour) for s in plan.next] == [
        (Action.START, 8),
        (Action.STOP, 20),
    ]
    assert not way_back_wanted(held.action, due, plan.underlying)


def test_coming_holds_a_direct_schedule_behind_an_override_until_it_ends():
    until = MONDAY_NOON + timedelta(hours=9)  # 21:00, past the 20:00 stop
    kept = Override(1, "T1", "C1", REF.qualified, until, "U9")
    assignments = [assign(1, "batch-db", OFFICE)]

    found = coming(assignments, [], MONDAY_NOON, overrides=[kept], count=3)

    assert [(c.target, c.action, c.at.astimezone(UTC)) for c in found] == [
        (REF.qualified, Action.STOP, until),
        ("batch-db", Action.START, datetime(2025, 3, 25, 8, 0, tzinfo=UTC)),
        ("batch-db", Action.STOP, datetime(2025, 3, 25, 20, 0, tzinfo=UTC)),
    ]
    assert found[0].source is Source.OVERRIDE and found[0].saved == OFFICE


def test_coming_lists_a_saved_schedule_by_the_instance_tag_that_selects_it():
    found = coming([], [], MONDAY_NOON, named=[WEEKENDS], count=1)

    assert [(c.target, c.action, c.source) for c in found] == [
        ("tag:snoozedb:schedule=weekends", Action.START, Source.INSTANCE_TAG)
    ]


ENFORCED = SavedSchedule(4, "T1", None, "mon-fri 08:00-20:00 tz UTC enforce")
MONDAY_NIGHT = datetime(2025, 3, 24, 23, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("saved", "at", "tags", "one_offs", "overrides", "stops_again"),
    [
        (ENFORCED, MONDAY_NIGHT, {}, [], [], True),
        (ENFORCED, MONDAY_NOON, {}, [], [], False),
        (OFFICE, MONDAY_NIGHT, {}, [], [], False),
        (ENFORCED, MONDAY_NIGHT, {"snoozedb:exclude": "true"}, [], [], False),
        (
            ENFORCED,
            MONDAY_NIGHT,
            {},
            [one_off(1, Action.STOP, MONDAY_NIGHT + timedelta(hours=2))],
            [],
            False,
        ),
        (
            ENFORCED,
            MONDAY_NIGHT,
            {},
            [],
            [
                Override(
                    1,
                    "T1",
                    "C1",
                    REF.qualified,
                    MONDAY_NIGHT + timedelta(hours=1),
                    "U9",
                )
            ],
            False,
        ),
    ],
    ids=["outside", "inside", "no-enforce", "excluded", "one-off", "kept-running"],
)
def test_enforce_stops_again_only_outside_the_window_with_nothing_holding_it(
    saved: SavedSchedule,
    at: datetime,
    tags: dict[str, str],
    one_offs: list[OneOff],
    overrides: list[Override],
    stops_again: bool,
):
    """What `/snooze start` warns about and the hourly check does: the same answer."""
    subject = instance(**tags)
    plan = applicable(
        subject, [assign(1, "batch-db", saved)], {}, one_offs, overrides, at
    )

    assert enforce_stops_again(subject, plan) is stops_again
