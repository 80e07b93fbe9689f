"""One-off times: `for 3h` and `until tomorrow 9am`, read against a fixed `now`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import TimeNotUnderstood
from bot.snooze_time import resolve_until, warm_up

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")

# Saturday 2025-03-29, 12:00 in London (GMT); the clocks go forward the next night.
SATURDAY_NOON = datetime(2025, 3, 29, 12, 0, tzinfo=UTC)


def in_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


@pytest.mark.parametrize(
    ("text", "later"),
    [
        ("for 3h", timedelta(hours=3)),
        ("for 90 minutes", timedelta(minutes=90)),
        ("for 2 hours", timedelta(hours=2)),
        ("for 1h30m", timedelta(hours=1, minutes=30)),
        ("for 1 hour and 30 minutes", timedelta(hours=1, minutes=30)),
        ("for 45 min", timedelta(minutes=45)),
        ("for 2 days", timedelta(days=2)),
        ("for 1 week", timedelta(weeks=1)),
        ("FOR 3H", timedelta(hours=3)),
        ("for\t3h", timedelta(hours=3)),
    ],
)
def test_a_duration_counts_from_now(text: str, later: timedelta) -> None:
    until = resolve_until(text, SATURDAY_NOON, LONDON)

    assert until == SATURDAY_NOON + later


def test_a_duration_is_elapsed_time_across_the_spring_change() -> None:
    """00:30 GMT plus three hours is 03:30 UTC, which London's clocks show as 04:30 BST."""
    now = datetime(2025, 3, 30, 0, 30, tzinfo=UTC)

    until = resolve_until("for 3h", now, LONDON)

    assert in_utc(until) == "2025-03-30T03:30:00+00:00"
    assert until.isoformat() == "2025-03-30T04:30:00+01:00"


def test_two_days_across_the_change_is_48_hours_not_the_same_clock_time() -> None:
    until = resolve_until("for 2 days", SATURDAY_NOON, LONDON)

    assert until.isoformat() == "2025-03-31T13:00:00+01:00"


def test_the_result_is_aware_and_in_the_users_zone() -> None:
    until = resolve_until("for 3h", SATURDAY_NOON, NEW_YORK)

    assert until.tzinfo == NEW_YORK
    assert until.isoformat() == "2025-03-29T11:00:00-04:00"


@pytest.mark.parametrize(
    ("text", "local"),
    [
        ("until tomorrow 9am", "2025-03-30T09:00:00+01:00"),
        ("until monday 08:00", "2025-03-31T08:00:00+01:00"),
        ("until 18:00", "2025-03-29T18:00:00+00:00"),
        ("until 9am", "2025-03-30T09:00:00+01:00"),
        ("until tomorrow at noon", "2025-03-30T12:00:00+01:00"),
        ("until midnight", "2025-03-30T00:00:00+00:00"),
        ("until 2025-04-02 10:00", "2025-04-02T10:00:00+01:00"),
    ],
)
def test_until_reads_the_users_wall_clock(text: str, local: str) -> None:
    until = resolve_until(text, SATURDAY_NOON, LONDON)

    assert until.isoformat() == local


def test_until_tomorrow_9am_the_day_before_the_spring_change_is_9_bst() -> None:
    """The clocks go forward overnight: 09:00 BST is 08:00 UTC, not an hour off."""
    until = resolve_until("until tomorrow 9am", SATURDAY_NOON, LONDON)

    assert in_utc(until) == "2025-03-30T08:00:00+00:00"


def test_until_tomorrow_9am_the_day_before_the_autumn_change_in_new_york() -> None:
    """New York falls back on 2025-11-02: 09:00 EST is 14:00 UTC."""
    now = datetime(2025, 11, 1, 16, 0, tzinfo=UTC)

    until = resolve_until("until tomorrow 9am", now, NEW_YORK)

    assert until.isoformat() == "2025-11-02T09:00:00-05:00"
    assert in_utc(until) == "2025-11-02T14:00:00+00:00"


def test_a_time_skipped_by_the_clocks_lands_just_after_the_gap() -> None:
    """London has no 01:30 on 2025-03-30; the stop lasts until 02:00 BST."""
    until = resolve_until("until tomorrow 01:30", SATURDAY_NOON, LONDON)

    assert until.isoformat() == "2025-03-30T02:00:00+01:00"


def test_a_time_that_happens_twice_means_the_first() -> None:
    now = datetime(2025, 10, 25, 12, 0, tzinfo=UTC)

    until = resolve_until("until tomorrow 01:30", now, LONDON)

    assert until.isoformat() == "2025-10-26T01:30:00+01:00"


def test_until_a_time_already_past_today_means_tomorrow() -> None:
    now = datetime(2025, 6, 2, 19, 0, tzinfo=UTC)  # 20:00 in London

    until = resolve_until("until 18:00", now, LONDON)

    assert until.isoformat() == "2025-06-03T18:00:00+01:00"


# Monday 2025-03-31, 07:00 in London (BST).
MONDAY_SEVEN = datetime(2025, 3, 31, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "local"),
    [
        ("until monday 08:00", "2025-03-31T08:00:00+01:00"),
        ("until mon 8am", "2025-03-31T08:00:00+01:00"),
        ("until Monday 07:30", "2025-03-31T07:30:00+01:00"),
        ("until monday 06:00", "2025-04-07T06:00:00+01:00"),
        ("until next monday 08:00", "2025-04-07T08:00:00+01:00"),
        ("until tuesday 08:00", "2025-04-01T08:00:00+01:00"),
    ],
)
def test_todays_weekday_with_a_time_still_ahead_means_today(
    text: str, local: str
) -> None:
    """On Monday at 07:00, `monday 08:00` is in an hour; `06:00` has passed today."""
    until = resolve_until(text, MONDAY_SEVEN, LONDON)

    assert until.isoformat() == local


def test_todays_weekday_in_a_named_zone_still_ahead_means_today() -> None:
    until = resolve_until("until monday 08:00 UTC", MONDAY_SEVEN, LONDON)

    assert in_utc(until) == "2025-03-31T08:00:00+00:00"


def test_a_named_zone_in_the_text_is_respected() -> None:
    until = resolve_until("until 18:00 UTC", SATURDAY_NOON, NEW_YORK)

    assert in_utc(until) == "2025-03-29T18:00:00+00:00"


TOKYO = ZoneInfo("Asia/Tokyo")
# Saturday 2027-03-20 00:00 UTC: 09:00 in Tokyo, 20:00 on Friday in New York (EDT).
SATURDAY_MIDNIGHT_UTC = datetime(2027, 3, 20, 0, 0, tzinfo=UTC)
# Saturday 2027-03-20 12:00 UTC: 21:00 in Tokyo, 08:00 in New York (EDT).
SATURDAY_NOON_UTC = datetime(2027, 3, 20, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("user", "now", "text", "utc"),
    [
        # The typed zone's clock is behind the user's: the time is still ahead there.
        (TOKYO, SATURDAY_MIDNIGHT_UTC, "until 05:00 UTC", "2027-03-20T05:00:00"),
        (TOKYO, SATURDAY_NOON_UTC, "until 09:00 -05:00", "2027-03-20T14:00:00"),
        (TOKYO, SATURDAY_NOON_UTC, "until 9am -5", "2027-03-20T14:00:00"),
        (TOKYO, SATURDAY_MIDNIGHT_UTC, "until 05:00 est", "2027-03-20T10:00:00"),
        (
            TOKYO,
            SATURDAY_MIDNIGHT_UTC,
            "until 08:00 Europe/London",
            "2027-03-20T08:00:00",
        ),
        # The typed zone's clock is ahead of the user's: the time has passed there.
        (NEW_YORK, SATURDAY_NOON_UTC, "until 11:00 UTC", "2027-03-21T11:00:00"),
        (NEW_YORK, SATURDAY_NOON_UTC, "until 10:00 utc", "2027-03-21T10:00:00"),
        (NEW_YORK, SATURDAY_NOON_UTC, "until 07:00 UTC", "2027-03-21T07:00:00"),
        (NEW_YORK, SATURDAY_NOON_UTC, "until 13:00 +02:00", "2027-03-21T11:00:00"),
        (NEW_YORK, SATURDAY_NOON_UTC, "until 13:00+0200", "2027-03-21T11:00:00"),
        (NEW_YORK, SATURDAY_NOON_UTC, "until 13:00 UTC+2", "2027-03-21T11:00:00"),
        (NEW_YORK, SATURDAY_NOON_UTC, "until 17:00 +5:30", "2027-03-21T11:30:00"),
        (NEW_YORK, SATURDAY_NOON_UTC, "until 12:30 cet", "2027-03-21T11:30:00"),
        (
            NEW_YORK,
            SATURDAY_NOON_UTC,
            "until 11:00 tz asia/tokyo",
            "2027-03-21T02:00:00",
        ),
        # Ahead on both clocks, and days named on the typed zone's calendar.
        (NEW_YORK, SATURDAY_NOON_UTC, "until 13:00 UTC", "2027-03-20T13:00:00"),
        (NEW_YORK, SATURDAY_NOON_UTC, "until 13:00Z", "2027-03-20T13:00:00"),
        (NEW_YORK, SATURDAY_NOON_UTC, "until 13:00 gmt", "2027-03-20T13:00:00"),
        (TOKYO, SATURDAY_NOON_UTC, "until saturday 13:00 UTC", "2027-03-20T13:00:00"),
        (TOKYO, SATURDAY_NOON_UTC, "until tomorrow 05:00 UTC", "2027-03-21T05:00:00"),
        (TOKYO, SATURDAY_NOON_UTC, "until 2027-03-21T05:00Z", "2027-03-21T05:00:00"),
        (TOKYO, SATURDAY_NOON_UTC, "until 10:00 tz UTC", "2027-03-21T10:00:00"),
    ],
)
def test_a_time_with_a_zone_is_read_and_rolled_over_on_that_zones_clock(
    user: ZoneInfo, now: datetime, text: str, utc: str
) -> None:
    """`until 05:00 UTC` is the next 05:00 UTC, whatever the user's own clock says."""
    until = resolve_until(text, now, user)

    assert until.astimezone(UTC).replace(tzinfo=None).isoformat() == utc
    assert until.tzinfo == user


def test_a_named_zone_is_read_across_its_own_clock_change() -> None:
    """London has no 01:30 on 2025-03-30: asked from New York, it is 02:00 BST."""
    until = resolve_until("until tomorrow 01:30 Europe/London", SATURDAY_NOON, NEW_YORK)

    assert in_utc(until) == "2025-03-30T01:00:00+00:00"


@pytest.mark.parametrize(
    ("now", "text", "local"),
    [
        (SATURDAY_NOON, "until 24:00", "2025-03-30T00:00:00+00:00"),
        (SATURDAY_NOON, "until today 24:00", "2025-03-30T00:00:00+00:00"),
        (SATURDAY_NOON, "until tomorrow 24:00", "2025-03-31T00:00:00+01:00"),
        (SATURDAY_NOON, "until monday 24:00", "2025-04-01T00:00:00+01:00"),
        (SATURDAY_NOON, "until saturday 24:00", "2025-03-30T00:00:00+00:00"),
        (SATURDAY_NOON, "until 24:00 UTC", "2025-03-30T00:00:00+00:00"),
        (
            datetime(2025, 3, 29, 23, 30, tzinfo=UTC),
            "until 24:00",
            "2025-03-30T00:00:00+00:00",
        ),
    ],
)
def test_24_00_is_midnight_at_the_end_of_the_day_as_in_schedules(
    now: datetime, text: str, local: str
) -> None:
    until = resolve_until(text, now, LONDON)

    assert until.isoformat() == local


# Friday 2026-12-04, 15:00 in London (GMT), and the Wednesday before.
FRIDAY_AFTERNOON = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
WEDNESDAY_AFTERNOON = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "text", "local"),
    [
        (FRIDAY_AFTERNOON, "until friday midnight", "2026-12-05T00:00:00+00:00"),
        (FRIDAY_AFTERNOON, "until friday at midnight", "2026-12-05T00:00:00+00:00"),
        (FRIDAY_AFTERNOON, "until friday 24:00", "2026-12-05T00:00:00+00:00"),
        (FRIDAY_AFTERNOON, "until today midnight", "2026-12-05T00:00:00+00:00"),
        (FRIDAY_AFTERNOON, "until midnight tonight", "2026-12-05T00:00:00+00:00"),
        (FRIDAY_AFTERNOON, "until saturday midnight", "2026-12-06T00:00:00+00:00"),
        (FRIDAY_AFTERNOON, "until friday midnight UTC", "2026-12-05T00:00:00+00:00"),
        (FRIDAY_AFTERNOON, "until midnight", "2026-12-05T00:00:00+00:00"),
        (WEDNESDAY_AFTERNOON, "until tomorrow midnight", "2026-12-04T00:00:00+00:00"),
        (WEDNESDAY_AFTERNOON, "until thursday midnight", "2026-12-04T00:00:00+00:00"),
        (WEDNESDAY_AFTERNOON, "until midnight", "2026-12-03T00:00:00+00:00"),
    ],
)
def test_midnight_after_a_day_is_the_end_of_that_day_like_24_00(
    now: datetime, text: str, local: str
) -> None:
    """`friday midnight` typed on Friday afternoon is tonight, not a week later."""
    until = resolve_until(text, now, LONDON)

    assert until.isoformat() == local


@pytest.mark.parametrize(
    ("now", "text", "local"),
    [
        (FRIDAY_AFTERNOON, "until friday 00:00", "2026-12-11T00:00:00+00:00"),
        (FRIDAY_AFTERNOON, "until friday 12am", "2026-12-11T00:00:00+00:00"),
        (FRIDAY_AFTERNOON, "until 00:00", "2026-12-05T00:00:00+00:00"),
        (FRIDAY_AFTERNOON, "until 12am", "2026-12-05T00:00:00+00:00"),
        (WEDNESDAY_AFTERNOON, "until tomorrow 00:00", "2026-12-03T00:00:00+00:00"),
    ],
)
def test_00_00_and_12am_after_a_day_are_the_start_of_that_day(
    now: datetime, text: str, local: str
) -> None:
    """Only `midnight` and `24:00` mean the end of a day; alone, each is the next 00:00."""
    until = resolve_until(text, now, LONDON)

    assert until.isoformat() == local


# London's clocks go back at 02:00 BST on 2026-10-25, to 01:00 GMT: the wall clock
# shows 01:00-02:00 twice, first as BST (00:00-01:00 UTC), then as GMT (01:00-02:00).
FIRST_PASS_01_20 = datetime(2026, 10, 25, 0, 20, tzinfo=UTC)  # 01:20 BST
FIRST_PASS_01_45 = datetime(2026, 10, 25, 0, 45, tzinfo=UTC)  # 01:45 BST
SECOND_PASS_01_10 = datetime(2026, 10, 25, 1, 10, tzinfo=UTC)  # 01:10 GMT


@pytest.mark.parametrize(
    ("now", "text", "local"),
    [
        (SECOND_PASS_01_10, "until 01:30", "2026-10-25T01:30:00+00:00"),
        (SECOND_PASS_01_10, "until today 1:30am", "2026-10-25T01:30:00+00:00"),
        (SECOND_PASS_01_10, "until sunday 01:30", "2026-10-25T01:30:00+00:00"),
        (SECOND_PASS_01_10, "until 01:05", "2026-10-26T01:05:00+00:00"),
        (FIRST_PASS_01_45, "until 01:30", "2026-10-25T01:30:00+00:00"),
        (FIRST_PASS_01_45, "until 1:30am", "2026-10-25T01:30:00+00:00"),
        (FIRST_PASS_01_45, "until today 01:30", "2026-10-25T01:30:00+00:00"),
        (FIRST_PASS_01_45, "until sunday 01:30", "2026-10-25T01:30:00+00:00"),
        (FIRST_PASS_01_45, "until 01:00", "2026-10-25T01:00:00+00:00"),
        (FIRST_PASS_01_45, "until 01:50", "2026-10-25T01:50:00+01:00"),
        (FIRST_PASS_01_45, "until 00:30", "2026-10-26T00:30:00+00:00"),
        (FIRST_PASS_01_45, "until tomorrow 01:30", "2026-10-26T01:30:00+00:00"),
        (FIRST_PASS_01_20, "until 01:05", "2026-10-25T01:05:00+00:00"),
        (FIRST_PASS_01_20, "until 01:30", "2026-10-25T01:30:00+01:00"),
    ],
)
def test_a_time_the_clocks_show_twice_is_the_next_one_on_the_wall_clock(
    now: datetime, text: str, local: str
) -> None:
    """At 01:45 BST, 01:30 is still to come once the clocks go back: 01:30 GMT."""
    until = resolve_until(text, now, LONDON)

    assert until.isoformat() == local


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 11, 1, 5, 45, tzinfo=UTC),  # 01:45 EDT, the first pass
        datetime(2026, 11, 1, 6, 10, tzinfo=UTC),  # 01:10 EST, the second pass
    ],
)
def test_a_time_the_clocks_show_twice_in_new_york(now: datetime) -> None:
    """New York goes back from 02:00 EDT to 01:00 EST on 2026-11-01."""
    until = resolve_until("until 01:30", now, NEW_YORK)

    assert until.isoformat() == "2026-11-01T01:30:00-05:00"


def test_a_time_shown_twice_on_a_named_zones_clock_is_its_next_one() -> None:
    """Asked from Tokyo at 01:45 BST, `01:30 Europe/London` is 01:30 GMT."""
    until = resolve_until("until 01:30 Europe/London", FIRST_PASS_01_45, TOKYO)

    assert in_utc(until) == "2026-10-25T01:30:00+00:00"


def test_a_dotted_time_after_a_day_keeps_its_minutes() -> None:
    until = resolve_until("until tomorrow 9.30am", SATURDAY_NOON, LONDON)

    assert until.isoformat() == "2025-03-30T09:30:00+01:00"


def test_a_longer_limit_allows_a_longer_stop() -> None:
    until = resolve_until(
        "for 40 days", SATURDAY_NOON, LONDON, limit=timedelta(days=60)
    )

    assert until - SATURDAY_NOON == timedelta(days=40)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "start with `for`"),
        ("3h", "start with `for`"),
        ("in 3 hours", "start with `for`"),
        ("for", "write a duration"),
        ("for 3", "write a duration"),
        ("for three hours", "write a duration"),
        ("for 3 parsecs", "write a duration"),
        ("for 3h3h", "write a duration"),
        ("for 1.5h", "write a duration"),
        ("for 0h", "which is not in the future"),
        ("for 31 days", "more than 30 days away"),
        ("for 999999 weeks", "more than 30 days away"),
        ("until 9", "a bare number is ambiguous"),
        ("until friday", "say what time"),
        ("until tomorrow", "say what time"),
        ("until in 2 hours", "say what time"),
        ("until 12/05 10:00", "day and month order is ambiguous"),
        (
            "until today 11:00",
            "Sat 29 Mar 11:00 Europe/London, which is not in the future",
        ),
        ("until next year 9am", "more than 30 days away"),
        ("until yesterday", "Fri 28 Mar 2025, which is not in the future"),
        ("until last monday", "Mon 24 Mar 2025, which is not in the future"),
        ("until 2025-01-01", "Wed 01 Jan 2025, which is not in the future"),
        ("until 2099-01-01", "more than 30 days away"),
        ("until next year", "more than 30 days away"),
        ("until today", "say what time"),
        ("until blah 9am", "I do not recognise that date and time"),
        ("until 24:30", "24:00 is midnight at the end of the day"),
        ("until 25:00", "hours go from 00 to 24"),
        ("until today 25:00", "hours go from 00 to 24"),
        ("until 18:60", "minutes from 00 to 59"),
        ("until 13:00 Europe/Lodnon", "`europe/lodnon` is not a time zone I know"),
        ("until 13:00 +15:00", "an offset from UTC goes from -14:00 to +14:00"),
        ("until 9 UTC", "a bare number is ambiguous"),
        ("until 10:00 +02:00 UTC", "name one time zone"),
        ("until 9999-12-31 24:00", "more than 30 days away"),
        ("until 0001-01-01 00:00 +14:00", "which is not in the future"),
        ("until friday UTC", "say what time"),
        ("until " + "x" * 200, "too long"),
    ],
)
def test_refusal_says_what_was_wrong(text: str, problem: str) -> None:
    with pytest.raises(TimeNotUnderstood) as refused:
        resolve_until(text, SATURDAY_NOON, LONDON)

    assert problem in str(refused.value)
    assert "Try `for 3h`" in str(refused.value)


def test_a_shorter_limit_is_named_in_the_refusal() -> None:
    with pytest.raises(TimeNotUnderstood) as refused:
        resolve_until("for 13h", SATURDAY_NOON, LONDON, limit=timedelta(hours=12))

    assert "more than 12 hours away" in str(refused.value)


def test_a_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        resolve_until("for 3h", datetime(2025, 3, 29, 12), LONDON)


def test_warm_up_parses_once_without_error() -> None:
    warm_up()


@settings(max_examples=200, deadline=None)
@given(
    verb=st.sampled_from(["for ", "until ", "until tomorrow ", "until 9am ", ""]),
    tail=st.text(max_size=40),
)
def test_any_text_is_a_time_or_a_refusal(verb: str, tail: str) -> None:
    """Whatever follows the database name, the answer is a future time or a refusal."""
    try:
        until = resolve_until(verb + tail, SATURDAY_NOON, LONDON)
    except TimeNotUnderstood:
        return

    assert SATURDAY_NOON < until <= SATURDAY_NOON + timedelta(days=30)
