"""One-off times: how long a manual stop lasts, as in `/snooze stop db1 for 3h`.

Two forms follow the database name:

- `for <duration>`: `for 3h`, `for 90 minutes`, `for 2 hours`, `for 1h30m`, `for 2 days`.
  Units are minutes (m, min), hours (h, hr), days (d) and weeks (w), whole numbers only.
  A duration is elapsed time added to the current instant, so `for 2 days` across a
  clock change ends 48 hours later, at a different wall-clock hour.
- `until <date and time>`: `until tomorrow 9am`, `until monday 08:00`, `until 18:00`.
  dateparser reads the calendar part on the user's wall clock, then the zone is attached
  (a time skipped by a clock change takes effect just after the gap; a time that occurs
  twice, at its first occurrence). A clock time is required: `until friday` is refused,
  because dateparser would read it as Friday 00:00, which is rarely what anyone means;
  a day already past (`until yesterday`) or too far (`until 2099-01-01`) is refused for
  that reason first, since a clock time would not help. Today's weekday with a time
  still ahead (`until monday 08:00` typed on Monday at 07:00) means today, not a week
  later; `next monday` keeps its week. Bare numbers (`until 9`) and day/month dates
  (`until 12/05 10:00`) are refused as ambiguous.

Results must lie in the future and within a limit (30 days unless told otherwise). Every
refusal is a `TimeNotUnderstood`. Nothing here reads the clock: `now` is a parameter.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

import dateparser

from bot import messages
from bot.errors import TimeNotUnderstood
from bot.schedule import resolve_local

MAX_TEXT = 100

_UNITS = {
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("d", "day", "days"), 86400),
    **dict.fromkeys(("w", "week", "weeks"), 604800),
}
_DURATION = re.compile(r"(?:[0-9]{1,6}\s*[a-z]+(?:\s*,?\s*(?:and\s+)?)?)+", re.ASCII)
_DURATION_PART = re.compile(r"([0-9]{1,6})\s*([a-z]+)", re.ASCII)
_BARE_NUMBER = re.compile(r"[0-9]+(?:[.,][0-9]+)?", re.ASCII)
_SLASH_DATE = re.compile(r"\b[0-9]{1,2}/[0-9]{1,2}\b", re.ASCII)
_WEEKDAYS = {
    name: number
    for number, names in enumerate(
        (
            ("mon", "monday"),
            ("tue", "tues", "tuesday"),
            ("wed", "wednesday"),
            ("thu", "thur", "thurs", "thursday"),
            ("fri", "friday"),
            ("sat", "saturday"),
            ("sun", "sunday"),
        )
    )
    for name in names
}
_WORD = re.compile(r"[a-z]+", re.ASCII)
_CLOCK_TIME = re.compile(
    r"\b(?:[0-9]{1,2}:[0-9]{2}|[0-9]{1,2}(?::[0-9]{2})?\s*(?:am|pm)|noon|midnight)\b",
    re.ASCII,
)


def resolve_until(
    text: str, now: datetime, zone: ZoneInfo, *, limit: timedelta = timedelta(days=30)
) -> datetime:
    """Turn `for 3h` or `until tomorrow 9am` into the instant a manual stop ends.

    Args:
        text: What the user typed after the database name.
        now: The current instant, aware.
        zone: The user's zone: `until` times are read on its wall clock.
        limit: How far ahead the result may lie.

    Returns:
        An aware datetime in `zone`, strictly after `now` and at most `limit` later.

    Raises:
        TimeNotUnderstood: The text is not a duration or date we read, or the result
            is not in the future or lies beyond `limit`.
        ValueError: `now` is naive.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if len(text) > MAX_TEXT:
        _refuse(text, messages.TIME_TOO_LONG)
    verb, _, rest = " ".join(text.lower().split()).partition(" ")

    if verb == "for":
        moment = now.astimezone(UTC) + _duration(text, rest, limit)
    elif verb == "until":
        moment = _calendar(text, rest, now, zone, limit)
    else:
        _refuse(text, messages.TIME_NO_VERB)

    if moment <= now:
        _refuse(text, messages.time_not_future(_shown(moment, zone)))
    if moment - now > limit:
        _refuse(text, messages.time_too_far(_span(limit)))
    return moment.astimezone(zone)


def warm_up() -> None:
    """Parse one date so the first user does not wait for dateparser to load its data."""
    dateparser.parse(
        "tomorrow 9am", languages=["en"], settings=_settings(datetime(2000, 1, 3))
    )


def _refuse(text: str, problem: str) -> NoReturn:
    raise TimeNotUnderstood(text, problem)


def _duration(text: str, words: str, limit: timedelta) -> timedelta:
    if not _DURATION.fullmatch(words):
        _refuse(text, messages.TIME_BAD_DURATION)
    seconds = 0
    seen: set[int] = set()

    for amount, unit in _DURATION_PART.findall(words):
        size = _UNITS.get(unit)
        if size is None or size in seen:
            _refuse(text, messages.TIME_BAD_DURATION)
        seen.add(size)
        seconds += int(amount) * size

    if seconds > limit.total_seconds():
        _refuse(text, messages.time_too_far(_span(limit)))
    return timedelta(seconds=seconds)


def _calendar(
    text: str, words: str, now: datetime, zone: ZoneInfo, limit: timedelta
) -> datetime:
    """Read a date and time with dateparser on the user's wall clock; return it in UTC."""
    if _BARE_NUMBER.fullmatch(words):
        _refuse(text, messages.TIME_BARE_NUMBER)
    if _SLASH_DATE.search(words):
        _refuse(text, messages.TIME_SLASH_DATE)

    # A naive base on the user's wall clock and no timezone settings: the combination
    # that reads bare times and keeps "tomorrow 9am" at 09:00 across a clock change.
    base = now.astimezone(zone).replace(tzinfo=None)
    try:
        found = dateparser.parse(words, languages=["en"], settings=_settings(base))
    except (
        Exception
    ):  # dateparser raises assorted errors on odd text; all mean "unread"
        found = None
    if not _CLOCK_TIME.search(words):
        _refuse_day_only(text, found, now, zone, limit)
    if found is None:
        _refuse(text, messages.TIME_UNREADABLE)

    moment = _instant(found, zone)
    if _names_today(words, base) and found.date() - base.date() == timedelta(days=7):
        # dateparser prefers a future date, so today's weekday becomes next week's
        # even when the time is still ahead today.
        today = _instant(found - timedelta(days=7), zone)
        if today > now:
            return today
    return moment


def _refuse_day_only(
    text: str, found: datetime | None, now: datetime, zone: ZoneInfo, limit: timedelta
) -> NoReturn:
    """Refuse a day without a clock time, naming a past or too far day first."""
    if found is not None:
        day = found.astimezone(zone) if found.tzinfo is not None else found
        today = now.astimezone(zone)
        if day.date() < today.date():
            _refuse(text, messages.time_not_future(f"{day:%a %d %b %Y}"))
        start = resolve_local(datetime.combine(day.date(), datetime.min.time()), zone)
        if start - now > limit:
            _refuse(text, messages.time_too_far(_span(limit)))
    _refuse(text, messages.TIME_NO_CLOCK)


def _instant(found: datetime, zone: ZoneInfo) -> datetime:
    if found.tzinfo is not None:  # the text named a zone, as in "18:00 UTC"
        return found.astimezone(UTC)
    return resolve_local(found, zone)


def _names_today(words: str, base: datetime) -> bool:
    """True when the text names today's weekday, and not as `next monday`."""
    named = [_WEEKDAYS[word] for word in _WORD.findall(words) if word in _WEEKDAYS]
    return named == [base.weekday()] and "next" not in _WORD.findall(words)


def _settings(base: datetime) -> dict[str, Any]:
    return {"PREFER_DATES_FROM": "future", "RELATIVE_BASE": base}


def _shown(moment: datetime, zone: ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%a %d %b %H:%M} {zone.key}"


def _span(limit: timedelta) -> str:
    if limit.total_seconds() % 86400 == 0:
        return f"{limit.days} days"
    if limit.total_seconds() % 3600 == 0:
        return f"{int(limit.total_seconds() // 3600)} hours"
    return f"{int(limit.total_seconds() // 60)} minutes"
