"""The schedule language: what users type, what SnoozeDB wants, and when it acts."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import cli
from bot.domain import Action
from bot.errors import ScheduleNotUnderstood
from bot.schedule import Desired, Schedule, Transition, explain, parse_schedule

NEW_YORK = ZoneInfo("America/New_York")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def steps(schedule: Schedule, after: str, count: int) -> list[tuple[str, str]]:
    """The coming transitions as (action, UTC ISO time) pairs, easy to compare."""
    found = schedule.transitions(utc(after), count)
    return [(step.action.value, step.at.astimezone(UTC).isoformat()) for step in found]


# --- The shared cases (/work/shared/cases/schedules.json) -------------------------

# A verbatim copy of the cases, reflowed to fit 100 columns, so the suite stands alone.
SHARED_JSON = """
[
  {"id": "window-edges", "text": "mon-fri 10:00-20:00 tz UTC",
   "checks": [
     {"at": "2026-12-07T05:00:00Z", "desired": "stopped",
      "next": [["start", "2026-12-07T10:00:00+00:00"], ["stop", "2026-12-07T20:00:00+00:00"]]},
     {"at": "2026-12-07T10:00:00Z", "desired": "running"},
     {"at": "2026-12-07T15:00:00Z", "desired": "running"},
     {"at": "2026-12-07T20:00:00Z", "desired": "stopped", "why": "a window's end is exclusive"},
     {"at": "2026-12-05T12:00:00Z", "desired": "stopped", "why": "Saturday"}
   ]},
  {"id": "whole-days", "text": "mon,thu,sat 00:00-24:00 tz UTC",
   "checks": [
     {"at": "2026-12-07T12:00:00Z", "desired": "running"},
     {"at": "2026-12-08T12:00:00Z", "desired": "stopped"},
     {"at": "2026-12-10T12:00:00Z", "desired": "running"},
     {"at": "2026-12-12T23:59:00Z", "desired": "running"},
     {"at": "2026-12-13T00:00:00Z", "desired": "stopped"}
   ]},
  {"id": "fixed-offset-zones", "text": "daily 00:00-12:00 tz {zone}",
   "at": "2023-06-09T12:00:00Z",
   "by_zone": {"Etc/GMT+12": "running", "Etc/GMT+5": "running", "UTC": "stopped",
               "Etc/GMT-5": "stopped", "Etc/GMT-10": "stopped", "Etc/GMT-13": "running"},
   "why": "POSIX Etc/GMT+N means N hours behind UTC"},
  {"id": "overnight-window", "text": "mon-fri 22:00-06:00 tz UTC",
   "why": "the days name the day a window starts; Friday's window runs into Saturday",
   "checks": [
     {"at": "2026-12-11T22:05:00Z", "desired": "running"},
     {"at": "2026-12-12T05:59:00Z", "desired": "running"},
     {"at": "2026-12-12T06:00:00Z", "desired": "stopped"},
     {"at": "2026-12-12T22:05:00Z", "desired": "stopped"},
     {"at": "2026-12-14T05:00:00Z", "desired": "stopped", "why": "no window starts on Sunday"}
   ]},
  {"id": "adjacent-windows-bridge-midnight",
   "text": "daily 05:00-24:00; daily 00:00-03:00 tz UTC",
   "checks": [
     {"at": "2026-12-07T23:30:00Z", "desired": "running",
      "next": [["stop", "2026-12-08T03:00:00+00:00"]]},
     {"at": "2026-12-08T00:00:00Z", "desired": "running"}
   ]},
  {"id": "nth-weekday", "text": "first sun 00:00-24:00 tz UTC",
   "checks": [
     {"at": "2024-09-01T12:00:00Z", "desired": "running"},
     {"at": "2024-09-08T12:00:00Z", "desired": "stopped"}
   ]},
  {"id": "last-weekday", "text": "last fri 09:00-17:00 tz UTC",
   "checks": [
     {"at": "2024-09-27T12:00:00Z", "desired": "running"},
     {"at": "2024-09-20T12:00:00Z", "desired": "stopped"}
   ]},
  {"id": "stop-follows-summer-time", "text": "weekdays stop 20:00 tz Europe/London",
   "why": "a UTC cron would stop an hour late after the clocks change",
   "checks": [
     {"at": "2025-03-31T00:00:00Z", "next": [["stop", "2025-03-31T20:00:00+01:00"]]}
   ]}
]
"""


def shared_checks() -> list[Any]:
    """One pytest param per check, named for its case id and its zone or instant."""
    params = []
    for case in json.loads(SHARED_JSON):
        if "by_zone" in case:
            for zone, want in case["by_zone"].items():
                text = case["text"].replace("{zone}", zone)
                check = {"at": case["at"], "desired": want}
                params.append(pytest.param(text, check, id=f"{case['id']}-{zone}"))
            continue
        for check in case["checks"]:
            params.append(
                pytest.param(case["text"], check, id=f"{case['id']}-{check['at']}")
            )
    return params


SHARED_REFUSED = [
    ("empty", ""),
    ("unknown-zone", "tz Mars/Olympus"),
    ("hour-25", "mon-fri 25:00-06:00"),
    ("start-equals-end", "mon-fri 08:00-08:00"),
    ("unknown-day", "funday 08:00-10:00"),
    ("bare-hours-and-extra-words", "mon-fri 8-20 tz Europe/Paris extra words"),
    ("bare-number", "9"),
]


@pytest.mark.parametrize(("text", "check"), shared_checks())
def test_shared_case_explains_as_expected(text: str, check: dict[str, Any]) -> None:
    coming = check.get("next", [])

    result = explain(text, utc(check["at"]), max(len(coming), 1))

    if "desired" in check:
        assert result["desired"] == check["desired"]
    shown = result["next"]
    assert isinstance(shown, list)
    got = [(step["action"], datetime.fromisoformat(step["at"])) for step in shown]
    wanted = [(action, datetime.fromisoformat(when)) for action, when in coming]
    assert got[: len(wanted)] == wanted


@pytest.mark.parametrize(
    "text",
    [text for _, text in SHARED_REFUSED],
    ids=[name for name, _ in SHARED_REFUSED],
)
def test_shared_refusal_exits_2_with_a_sentence(
    text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["schedule", "explain", text, "--at", "2026-12-07T12:00:00Z"])

    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.startswith("I could not read the schedule at `")
    assert "Try something like `mon-fri 08:00-20:00 tz Europe/London`." in err


# --- Windows -----------------------------------------------------------------------


def test_explain_prints_desired_state_and_next_transitions_with_offsets() -> None:
    result = explain(
        "mon-fri 08:00-20:00 tz Europe/London", utc("2025-06-02T06:00:00Z"), 2
    )

    assert result == {
        "desired": "stopped",
        "next": [
            {"action": "start", "at": "2025-06-02T08:00:00+01:00"},
            {"action": "stop", "at": "2025-06-02T20:00:00+01:00"},
        ],
    }


def test_transitions_are_strictly_after_the_instant_given() -> None:
    schedule = parse_schedule("daily 08:00-20:00 tz UTC")

    assert steps(schedule, "2026-12-07T08:00:00Z", 1) == [
        ("stop", "2026-12-07T20:00:00+00:00")
    ]


def test_transitions_are_given_in_the_schedules_zone() -> None:
    schedule = parse_schedule("daily 08:00-20:00 tz America/New_York")

    [first] = schedule.transitions(utc("2025-06-02T00:00:00Z"), 1)

    assert first == Transition(Action.START, datetime(2025, 6, 2, 8, tzinfo=NEW_YORK))
    assert first.at.isoformat() == "2025-06-02T08:00:00-04:00"


def test_days_name_the_day_a_window_starts() -> None:
    """R8: Friday's overnight window runs into Saturday; none starts on Saturday night."""
    schedule = parse_schedule("mon-fri 22:00-06:00 tz UTC")

    assert steps(schedule, "2026-12-11T12:00:00Z", 3) == [
        ("start", "2026-12-11T22:00:00+00:00"),
        ("stop", "2026-12-12T06:00:00+00:00"),
        ("start", "2026-12-14T22:00:00+00:00"),
    ]


def test_overlapping_windows_merge_into_one_run() -> None:
    schedule = parse_schedule("mon 08:00-12:00; mon 10:00-14:00 tz UTC")

    assert steps(schedule, "2026-12-07T00:00:00Z", 2) == [
        ("start", "2026-12-07T08:00:00+00:00"),
        ("stop", "2026-12-07T14:00:00+00:00"),
    ]


def test_days_without_times_mean_whole_days() -> None:
    schedule = parse_schedule("weekends tz UTC")

    assert schedule.desired_at(utc("2026-12-05T00:00:00Z")) is Desired.RUNNING
    assert schedule.desired_at(utc("2026-12-06T23:59:00Z")) is Desired.RUNNING
    assert steps(schedule, "2026-12-05T12:00:00Z", 1) == [
        ("stop", "2026-12-07T00:00:00+00:00")
    ]


def test_a_schedule_that_always_runs_has_no_transitions() -> None:
    schedule = parse_schedule("daily tz Europe/London")

    assert schedule.desired_at(utc("2025-03-30T01:30:00Z")) is Desired.RUNNING
    assert schedule.transitions(utc("2025-01-01T00:00:00Z"), 5) == []


def test_last_friday_looks_a_year_ahead() -> None:
    schedule = parse_schedule("last fri 09:00-17:00 tz Europe/London")

    found = schedule.transitions(utc("2025-01-01T00:00:00Z"), 24)

    starts = [
        step.at.date().isoformat() for step in found if step.action is Action.START
    ]
    assert starts[:5] == [
        "2025-01-31",
        "2025-02-28",
        "2025-03-28",
        "2025-04-25",
        "2025-05-30",
    ]
    assert len(found) == 24


def test_nth_weekday_counts_within_the_month() -> None:
    schedule = parse_schedule("second mon 09:00-10:00 tz UTC")

    assert steps(schedule, "2026-12-01T00:00:00Z", 1) == [
        ("start", "2026-12-14T09:00:00+00:00")
    ]


def test_fixed_offset_zone_etc_gmt_plus_5_is_behind_utc() -> None:
    """POSIX signs are inverted: Etc/GMT+5 is five hours behind UTC."""
    schedule = parse_schedule("daily 08:00-09:00 tz Etc/GMT+5")

    assert steps(schedule, "2026-12-07T00:00:00Z", 1) == [
        ("start", "2026-12-07T13:00:00+00:00")
    ]


# --- Clock changes -----------------------------------------------------------------


def test_weekdays_stop_follows_british_summer_time() -> None:
    """R9: after the clocks go forward, 20:00 in London is 19:00 UTC."""
    schedule = parse_schedule("weekdays stop 20:00 tz Europe/London")

    assert steps(schedule, "2025-03-31T00:00:00Z", 1) == [
        ("stop", "2025-03-31T19:00:00+00:00")
    ]


def test_a_start_in_the_spring_gap_happens_when_the_clocks_reach_three() -> None:
    """New York skips 02:00-03:00 on 2025-03-09: 02:30 takes effect at 03:00 EDT."""
    schedule = parse_schedule("daily 02:30-04:00 tz America/New_York")

    found = schedule.transitions(utc("2025-03-09T00:00:00Z"), 2)

    assert [step.at.isoformat() for step in found] == [
        "2025-03-09T03:00:00-04:00",
        "2025-03-09T04:00:00-04:00",
    ]
    assert schedule.desired_at(utc("2025-03-09T06:59:59Z")) is Desired.STOPPED
    assert schedule.desired_at(utc("2025-03-09T07:00:00Z")) is Desired.RUNNING


def test_a_london_window_starting_in_the_gap_opens_at_two_bst() -> None:
    """London skips 01:00-02:00 on 2025-03-30: a 01:30 start waits until 02:00 BST."""
    schedule = parse_schedule("daily 01:30-03:00 tz Europe/London")

    assert steps(schedule, "2025-03-29T12:00:00Z", 2) == [
        ("start", "2025-03-30T01:00:00+00:00"),
        ("stop", "2025-03-30T02:00:00+00:00"),
    ]


def test_a_window_wholly_inside_the_gap_is_skipped_that_day() -> None:
    """Both ends fall in the missing hour, so the window has no length on 2025-03-30."""
    schedule = parse_schedule("daily 01:15-01:45 tz Europe/London")

    found = schedule.transitions(utc("2025-03-29T12:00:00Z"), 1)

    assert found[0].at.isoformat() == "2025-03-31T01:15:00+01:00"


def test_a_repeated_time_in_autumn_acts_once_at_its_first_occurrence_in_london() -> (
    None
):
    """01:30 happens twice on 2025-10-26; the start happens once, at 01:30 BST."""
    schedule = parse_schedule("daily start 01:30 tz Europe/London")

    found = schedule.transitions(utc("2025-10-25T12:00:00Z"), 2)

    assert [step.at.isoformat() for step in found] == [
        "2025-10-26T01:30:00+01:00",
        "2025-10-27T01:30:00+00:00",
    ]


def test_a_window_in_the_repeated_hour_runs_only_the_first_time_in_new_york() -> None:
    """01:00-01:30 happens twice on 2025-11-02; the database runs in the EDT one only."""
    schedule = parse_schedule("daily 01:00-01:30 tz America/New_York")

    first_time = schedule.desired_at(utc("2025-11-02T05:15:00Z"))
    second_time = schedule.desired_at(utc("2025-11-02T06:15:00Z"))

    assert first_time is Desired.RUNNING
    assert second_time is Desired.STOPPED
    assert steps(schedule, "2025-11-02T04:00:00Z", 2) == [
        ("start", "2025-11-02T05:00:00+00:00"),
        ("stop", "2025-11-02T05:30:00+00:00"),
    ]


def test_an_overnight_window_across_the_autumn_change_lasts_an_hour_longer() -> None:
    schedule = parse_schedule("sat 22:00-06:00 tz Europe/London")

    found = schedule.transitions(utc("2025-10-25T12:00:00Z"), 2)

    assert found[1].at.astimezone(UTC) - found[0].at.astimezone(UTC) == timedelta(
        hours=9
    )


# --- One-sided rules -----------------------------------------------------------------


def test_one_sided_rules_have_no_opinion_between_their_actions() -> None:
    schedule = parse_schedule("weekdays start 07:00; weekdays stop 20:00 tz UTC")

    assert schedule.desired_at(utc("2026-12-07T12:00:00Z")) is Desired.ANY
    assert steps(schedule, "2026-12-07T00:00:00Z", 3) == [
        ("start", "2026-12-07T07:00:00+00:00"),
        ("stop", "2026-12-07T20:00:00+00:00"),
        ("start", "2026-12-08T07:00:00+00:00"),
    ]


def test_the_same_action_named_twice_happens_once() -> None:
    schedule = parse_schedule("weekdays stop 20:00; fri stop 20:00 tz UTC")

    assert steps(schedule, "2026-12-11T00:00:00Z", 2) == [
        ("stop", "2026-12-11T20:00:00+00:00"),
        ("stop", "2026-12-14T20:00:00+00:00"),
    ]


def test_stop_at_midnight_means_the_end_of_the_day() -> None:
    schedule = parse_schedule("fri stop midnight tz UTC")

    assert schedule.text == "fri stop 24:00 tz UTC"
    assert steps(schedule, "2026-12-11T00:00:00Z", 1) == [
        ("stop", "2026-12-12T00:00:00+00:00")
    ]


# --- Reading the text ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("mon-fri 08:00-20:00 tz UTC", "mon-fri 08:00-20:00 tz UTC"),
        ("weekdays 8am-8pm tz UTC", "weekdays 08:00-20:00 tz UTC"),
        ("Mon - Fri 8 AM – 8:30 PM tz utc", "mon-fri 08:00-20:30 tz UTC"),
        ("monday,wed,Friday 9:00-17:00 tz UTC", "mon,wed,fri 09:00-17:00 tz UTC"),
        ("sat 12:00-midnight tz UTC", "sat 12:00-24:00 tz UTC"),
        ("daily noon-12am tz UTC", "daily 12:00-24:00 tz UTC"),
        ("daily 12am-12pm tz UTC", "daily 00:00-12:00 tz UTC"),
        ("1st thu 18:50-23:00 tz UTC", "first thu 18:50-23:00 tz UTC"),
        ("fri-mon 22:00-06:00 tz UTC", "fri-mon 22:00-06:00 tz UTC"),
        ("mon start 07:00 tz europe/london", "mon start 07:00 tz Europe/London"),
        ("weekend tz UTC enforce", "weekends tz UTC enforce"),
        ("daily 07:00-19:00 enforce tz UTC", "daily 07:00-19:00 tz UTC enforce"),
    ],
)
def test_schedule_text_is_echoed_in_canonical_form(typed: str, canonical: str) -> None:
    schedule = parse_schedule(typed)

    assert schedule.text == canonical
    assert parse_schedule(canonical).text == canonical


def test_a_range_that_wraps_the_weekend_covers_the_days_between() -> None:
    schedule = parse_schedule("fri-mon 10:00-11:00 tz UTC")

    running = [
        schedule.desired_at(utc(f"2026-12-{day:02d}T10:30:00Z")) is Desired.RUNNING
        for day in range(7, 14)
    ]
    assert running == [True, False, False, False, True, True, True]


def test_enforce_is_a_flag_on_the_schedule() -> None:
    assert parse_schedule("daily 07:00-19:00 tz UTC enforce").enforce
    assert not parse_schedule("daily 07:00-19:00 tz UTC").enforce


def test_the_default_zone_applies_when_the_text_names_none() -> None:
    schedule = parse_schedule("mon-fri 08:00-20:00", default_zone="Europe/Paris")

    assert schedule.zone == ZoneInfo("Europe/Paris")
    assert schedule.text == "mon-fri 08:00-20:00 tz Europe/Paris"


def test_the_texts_zone_wins_over_the_default() -> None:
    schedule = parse_schedule(
        "mon-fri 08:00-20:00 tz Asia/Tokyo", default_zone="Europe/Paris"
    )

    assert schedule.zone.key == "Asia/Tokyo"


def test_explain_without_a_zone_tells_the_user_to_add_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = cli.main(
        ["schedule", "explain", "mon-fri 08:00-20:00", "--at", "2026-12-07T12:00Z"]
    )

    assert code == 2
    assert "at the end, as in `tz Europe/London`" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "part", "problem"),
    [
        ("", "", "the schedule is empty"),
        ("9", "9", "start with the days"),
        ("08:00-20:00 tz UTC", "08:00-20:00", "start with the days"),
        ("funday 08:00-10:00 tz UTC", "funday", "use mon, tue"),
        ("mon-mon 08:00-10:00 tz UTC", "mon-mon", "two different days"),
        ("mon-fri 8-20 tz UTC", "8-20", "bare number is ambiguous"),
        ("mon-fri 9 tz UTC", "9", "bare number is ambiguous"),
        ("mon-fri 25:00-06:00 tz UTC", "25:00-06:00", "hours go from 00 to 24"),
        ("mon-fri 24:30-06:00 tz UTC", "24:30-06:00", "hours go from 00 to 24"),
        ("mon-fri 08:75-10:00 tz UTC", "08:75-10:00", "minutes go from 00 to 59"),
        ("mon-fri 13pm-2pm tz UTC", "13pm-2pm", "with am or pm"),
        ("mon 24:00-06:00 tz UTC", "24:00-06:00", "24:00 can only end"),
        ("mon start 24:00 tz UTC", "24:00", "24:00 can only end"),
        (
            "mon-fri 08:00-08:00 tz UTC",
            "08:00-08:00",
            "cannot start and end at the same",
        ),
        ("mon 08:00 tz UTC", "08:00", "needs a start and an end"),
        (
            "mon 08:00-10:00-12:00 tz UTC",
            "08:00-10:00-12:00",
            "needs a start and an end",
        ),
        ("mon eight-ten tz UTC", "eight-ten", "write times as"),
        ("mon stop tz UTC", "stop", "give a time after it"),
        ("last 08:00-10:00 tz UTC", "last 08:00-10:00", "name a day after it"),
        ("mon 08:00-10:00 please tz UTC", "please", "not part of a schedule"),
        (
            "mon-fri 08:00-20:00 tz UTC extra words",
            "extra words",
            "not part of a schedule",
        ),
        ("mon 08:00-10:00 tz UTC; tue 09:00-10:00", "tz", "go once, at the very end"),
        ("mon 08:00-10:00 tz UTC tz UTC", "tz", "go once, at the very end"),
        ("mon 08:00-10:00 tz", "tz", "name a time zone after `tz`"),
        ("mon 08:00-10:00 tz Mars/Olympus", "Mars/Olympus", "not a time zone I know"),
        ("mon 08:00-10:00 tz ../../etc/passwd", "../../etc/passwd", "not a time zone"),
        ("mon 08:00-10:00 tz localtime", "localtime", "not a time zone I know"),
        ("mon 08:00-10:00 tz posixrules", "posixrules", "not a time zone I know"),
        ("mon 08:00-10:00 tz Factory", "Factory", "not a time zone I know"),
        (
            "mon 08:00-10:00 tz right/Europe/London",
            "right/Europe/London",
            "not a time zone I know",
        ),
        ("mon 08:00-10:00 tz posix/Factory", "posix/Factory", "not a time zone I know"),
        ("tz Europe/London", "tz Europe/London", "days and times come first"),
        (
            "mon 08:00-10:00;; tue tz UTC",
            "mon 08:00-10:00;; tue tz UTC",
            "nothing between",
        ),
        ("mon 08:00-10:00", "mon 08:00-10:00", "no time zone given"),
        (
            "mon 08:00-10:00; fri stop 12:00 tz UTC",
            "fri stop 12:00",
            "cannot mix windows",
        ),
    ],
)
def test_refusal_names_the_part_that_failed(text: str, part: str, problem: str) -> None:
    with pytest.raises(ScheduleNotUnderstood) as refused:
        parse_schedule(text)

    assert refused.value.part == part
    assert problem in refused.value.problem
    assert problem in str(refused.value)


def test_an_unknown_default_zone_is_refused_like_a_typed_one() -> None:
    with pytest.raises(ScheduleNotUnderstood) as refused:
        parse_schedule("mon 08:00-10:00", default_zone="Mars/Olympus")

    assert refused.value.part == "Mars/Olympus"


def test_a_naive_instant_is_a_programming_error() -> None:
    schedule = parse_schedule("daily 08:00-20:00 tz UTC")

    with pytest.raises(ValueError, match="timezone-aware"):
        schedule.desired_at(datetime(2026, 12, 7, 12))


@pytest.mark.parametrize(
    "text",
    [
        "mon 08:00-10:00 tz UTC " + "x" * 4096,
        "mon\x00 08:00-10:00 tz UTC",
        "mon 08:00-10:00 tz \x1b[31mUTC",
        "mon '08:00'-\"10:00\" tz UTC",
        "mon ٠٨:٠٠-١٠:٠٠ tz UTC",  # Arabic-Indic digits are not ASCII hours
        "mon ²:00-10:00 tz UTC",
        "mon 08:00-10:00 tz Europe/London\u200b",
    ],
)
def test_strange_input_is_refused_politely(text: str) -> None:
    with pytest.raises(ScheduleNotUnderstood):
        parse_schedule(text)


# --- Properties ------------------------------------------------------------------------

WORDS = [
    "mon", "fri", "sat", "sun", "mon-fri", "fri-mon", "mon,wed", "weekdays", "weekends",
    "daily", "first", "last", "thu", "08:00-20:00", "22:00-06:00", "00:00-24:00", "8am-8pm",
    "noon-midnight", "01:30-03:00", "02:30-02:45", "start", "stop", "07:00", "24:00", "9",
    "8-20", ";", "tz", "UTC", "Europe/London", "America/New_York", "enforce", "-", ",",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=200) | st.lists(st.sampled_from(WORDS), max_size=10).map(" ".join)
)
def test_any_text_is_a_schedule_or_a_refusal(text: str) -> None:
    """Whatever is typed, parsing either succeeds or raises ScheduleNotUnderstood."""
    try:
        schedule = parse_schedule(text, default_zone="Europe/London")
    except ScheduleNotUnderstood as refused:
        assert str(refused)
        return

    assert parse_schedule(schedule.text).text == schedule.text
    explain(schedule.text, utc("2025-03-29T12:00:00Z"), 3)


WINDOW_RULES = st.sampled_from(
    [
        "daily 01:30-03:00",
        "mon-fri 08:00-20:00",
        "fri 22:00-06:00",
        "sat 00:30-01:45",
        "sun 01:00-01:30",
        "weekends",
        "last sun 00:00-02:30",
        "first mon 23:00-01:00",
        "daily 05:00-24:00",
        "daily 00:00-03:00",
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    rules=st.lists(WINDOW_RULES, min_size=1, max_size=3),
    zone=st.sampled_from(
        ["Europe/London", "America/New_York", "UTC", "Australia/Lord_Howe"]
    ),
    hours=st.integers(min_value=0, max_value=24 * 400),
)
def test_window_transitions_agree_with_the_desired_state(
    rules: list[str], zone: str, hours: int
) -> None:
    """Each start is followed by running and preceded by stopped, and the reverse for stops."""
    schedule = parse_schedule(f"{'; '.join(rules)} tz {zone}")
    after = utc("2025-01-01T00:00:00Z") + timedelta(hours=hours)

    found = schedule.transitions(after, 6)

    expected = {Action.START: Desired.RUNNING, Action.STOP: Desired.STOPPED}
    opposite = {Action.START: Desired.STOPPED, Action.STOP: Desired.RUNNING}
    for earlier, later in itertools.pairwise(found):
        assert earlier.at.astimezone(UTC) < later.at.astimezone(UTC)
        assert earlier.action is not later.action
    for step in found:
        moment = step.at.astimezone(UTC)
        assert moment > after
        assert schedule.desired_at(moment) is expected[step.action]
        assert (
            schedule.desired_at(moment - timedelta(seconds=1)) is opposite[step.action]
        )
