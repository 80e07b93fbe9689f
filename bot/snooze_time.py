"""One-off times: how long a manual stop lasts, as in `/snooze stop db1 for 3h`.

Two forms follow the database name:

- `for <duration>`: `for 3h`, `for 90 minutes`, `for 2 hours`, `for 1h30m`, `for 2 days`.
  Units are minutes (m, min), hours (h, hr), days (d) and weeks (w), whole numbers only.
  A duration is elapsed time added to the current instant, so `for 2 days` across a
  clock change ends 48 hours later, at a different wall-clock hour.
- `until <date and time>`: `until tomorrow 9am`, `until monday 08:00`, `until 18:00`.
  dateparser reads the calendar part on the user's wall clock, then the zone is attached
  (a time skipped by a clock change takes effect just after the gap). A time that occurs
  twice when the clocks go back means its first occurrence still in the future: on the
  night London's clocks go back, `until 01:30` typed at 01:45 BST is 01:30 GMT the same
  night, 45 minutes later, and typed at 01:10 GMT it is 01:30 GMT, not the 01:30 BST
  that has passed. A clock time is required: `until friday` is refused,
  because dateparser would read it as Friday 00:00, which is rarely what anyone means;
  a day already past (`until yesterday`) or too far (`until 2099-01-01`) is refused for
  that reason first, since a clock time would not help. Today's weekday with a time
  still ahead (`until monday 08:00` typed on Monday at 07:00) means today, not a week
  later; `next monday` keeps its week. Bare numbers (`until 9`) and day/month dates
  (`until 12/05 10:00`) are refused as ambiguous. `24:00` and `midnight` are midnight
  at the end of the day, as in schedules: `until 24:00` and `until midnight` are
  tonight's midnight, `until friday 24:00` and `until friday midnight` the end of Friday
  (typed on a Friday afternoon, that night), `until tomorrow midnight` the end of
  tomorrow. `00:00` and `12am` are what they say, the start of a day: alone they mean
  the next midnight, as `midnight` does, but `until friday 00:00` is the start of
  Friday. Hours past 24 and minutes past 59 are refused.

  A time may name its zone: `UTC`, `GMT` or `Z`; an offset (`+02:00`, `+0530`, `-5`,
  `UTC+2`); an IANA name (`Europe/London`, also after `tz`); or an abbreviation
  dateparser knows (`EST`, `CET`; a fixed offset, and `IST` is Israel's). The whole
  text is then read on that zone's clock: `until 05:00 UTC` is the next 05:00 UTC and
  `until tomorrow 09:00 Europe/London` is tomorrow as London counts days, whatever the
  user's own zone. The zone is taken out before dateparser sees the text: given a zone,
  dateparser decides whether a time has passed on another clock, a day early or late.

Results must lie in the future and within a limit (30 days unless told otherwise). Every
refusal is a `TimeNotUnderstood`. Nothing here reads the clock: `now` is a parameter.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

import dateparser
from dateparser.timezone_parser import pop_tz_offset_from_string

from bot import messages
from bot.errors import TimeNotUnderstood
from bot.schedule import find_zone, offset_change, resolve_local

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
_HOURS_MINUTES = re.compile(r"\b([0-9]{1,2}):([0-9]{2})\b", re.ASCII)
_ISO_T = re.compile(r"\b([0-9]{4}-[0-9]{2}-[0-9]{2})t([0-9])", re.ASCII)
_DOTTED_TIME = re.compile(r"\b([0-9]{1,2})\.([0-9]{2})\s*(am|pm)\b", re.ASCII)
_END_OF_DAY = re.compile(r"\b(?:24:00|midnight)\b", re.ASCII)
# A zone the text names, each as a whole word: an IANA name;
# an offset after a space, a clock time or `utc`/`gmt` (never inside a date such as
# 2025-03-21); or `utc`, `gmt` or `z` alone or right after a clock time.
_IANA = re.compile(r"\b([a-z][a-z0-9_+-]*(?:/[a-z0-9_+-]+)+)(?![\w/])", re.ASCII)
_TZ_WORD = re.compile(r"\btz\b", re.ASCII)
_OFFSET = re.compile(
    r"(?:(?<=\s)|^|(?<=[0-9]:[0-9]{2})|(?<=[ap]m))"
    r"(?:(?:utc|gmt)\s*)?([+-])([0-9]{1,2})(?::?([0-9]{2}))?(?![\w:])",
    re.ASCII,
)
_UTC_WORD = re.compile(r"(?:\b|(?<=[0-9]:[0-9]{2}))(?:utc|gmt|z)\b", re.ASCII)
_LARGEST_OFFSET = timedelta(hours=14)


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
    """Read a date and time with dateparser on the wall clock of the zone it names,
    else of the user's zone; return it in UTC."""
    words, named, shift = _prepared(text, words)
    clock: tzinfo = zone if named is None else named

    # A naive base on the wall clock the time is read on, and no timezone settings:
    # the combination that reads bare times and keeps "tomorrow 9am" at 09:00 across
    # a clock change.
    base = _earliest_wall_time_ahead(now, clock)
    try:
        found = dateparser.parse(words, languages=["en"], settings=_settings(base))
    except (
        Exception
    ):  # dateparser raises assorted errors on odd text; all mean "unread"
        found = None
    if not _CLOCK_TIME.search(words):
        _refuse_day_only(text, found, now, clock, limit)
    if found is None:
        _refuse(text, messages.TIME_UNREADABLE)
    if found.year < 2:  # no instant a zone's offset could reach before year 1
        _refuse(text, messages.time_not_future(f"{found:%a %d %b %Y}"))
    if found.year > 9998:
        _refuse(text, messages.time_too_far(_span(limit)))

    moment = _instant(found + shift, clock, now)
    if _names_today(words, base) and found.date() - base.date() == timedelta(days=7):
        # dateparser prefers a future date, so today's weekday becomes next week's
        # even when the time is still ahead today.
        today = _instant(found - timedelta(days=7) + shift, clock, now)
        if today > now:
            return today
    return moment


def _prepared(text: str, words: str) -> tuple[str, tzinfo | None, timedelta]:
    """The text as dateparser should see it, the zone it names, and a day to add.

    Refuses what dateparser would misread: bare numbers, day/month dates and clock
    times out of range. `24:00` and `midnight` become `00:00`, plus a day when a day is
    named (the end of that day, where dateparser would read its start); alone, `00:00`
    already means the next midnight.
    """
    words = _ISO_T.sub(r"\1 \2", words)  # 2025-03-21T05:00Z: a date, then a time
    words = _DOTTED_TIME.sub(r"\1:\2\3", words)  # dateparser drops 9.30am after a day
    words, named = _named_zone(text, words)
    words = " ".join(words.split())
    if _BARE_NUMBER.fullmatch(words):
        _refuse(text, messages.TIME_BARE_NUMBER)
    if _SLASH_DATE.search(words):
        _refuse(text, messages.TIME_SLASH_DATE)
    for hours, minutes in _HOURS_MINUTES.findall(words):
        if int(hours) > 24 or int(minutes) > 59 or (hours == "24" and minutes != "00"):
            _refuse(text, messages.TIME_CLOCK_RANGE)

    shift = timedelta(0)
    if _END_OF_DAY.search(words):
        if _END_OF_DAY.sub("", words).strip():
            shift = timedelta(days=1)
        words = _END_OF_DAY.sub("00:00", words)
    return words, named, shift


def _named_zone(text: str, words: str) -> tuple[str, tzinfo | None]:
    """Take the zone the text names out of it: the rest, and the zone (None if none).

    A `tz` before the zone, as schedules write it, goes too; a second zone is refused.
    """
    rest, named = _take_zone(text, words)
    if named is None:
        return words, None
    rest = _TZ_WORD.sub(" ", rest)
    if _take_zone(text, rest)[1] is not None:
        _refuse(text, messages.TIME_TWO_ZONES)
    return rest, named


def _take_zone(text: str, words: str) -> tuple[str, tzinfo | None]:
    iana = _IANA.search(words)
    if iana is not None:
        found = find_zone(iana.group(1))
        if found is None:
            _refuse(text, messages.time_unknown_zone(iana.group(1)))
        return words[: iana.start()] + " " + words[iana.end() :], found

    offset = _OFFSET.search(words)
    if offset is not None:
        sign, hours, minutes = offset.groups()
        size = timedelta(hours=int(hours), minutes=int(minutes or 0))
        if int(minutes or 0) > 59 or size > _LARGEST_OFFSET:
            _refuse(text, messages.TIME_OFFSET_RANGE)
        fixed = timezone(-size if sign == "-" else size)
        return words[: offset.start()] + " " + words[offset.end() :], fixed

    utc = _UTC_WORD.search(words)
    if utc is not None:
        return words[: utc.start()] + " " + words[utc.end() :], UTC

    # Abbreviations such as `est` or `cet`, as dateparser reads them (fixed offsets).
    try:
        rest, abbreviation = pop_tz_offset_from_string(words)
    except Exception:  # as in dateparser.parse: odd text means "no zone read"
        return words, None
    if abbreviation is None or isinstance(abbreviation, str):
        return words, None
    size = abbreviation.utcoffset(None)
    return str(rest), None if size is None else timezone(size)


def _refuse_day_only(
    text: str, found: datetime | None, now: datetime, zone: tzinfo, limit: timedelta
) -> NoReturn:
    """Refuse a day without a clock time, naming a past or too far day first."""
    if found is not None:
        day = found.astimezone(zone) if found.tzinfo is not None else found
        today = now.astimezone(zone)
        if day.date() < today.date():
            _refuse(text, messages.time_not_future(f"{day:%a %d %b %Y}"))
        start = _instant(datetime.combine(day.date(), datetime.min.time()), zone, now)
        if start - now > limit:
            _refuse(text, messages.time_too_far(_span(limit)))
    _refuse(text, messages.TIME_NO_CLOCK)


def _instant(found: datetime, zone: tzinfo, now: datetime) -> datetime:
    """A time read on the wall clock of `zone` (a named zone or a fixed offset), in UTC.

    A time the clock shows twice is its second occurrence when only that one is after
    `now`; otherwise its first.
    """
    if found.tzinfo is not None:  # a zone dateparser read that the text still held
        return found.astimezone(UTC)
    if not isinstance(zone, ZoneInfo):
        return found.replace(tzinfo=zone).astimezone(UTC)
    first = resolve_local(found, zone)
    second = found.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if first <= now < second:  # in a gap, fold=1 is the earlier instant: never here
        return second
    return first


def _earliest_wall_time_ahead(now: datetime, clock: tzinfo) -> datetime:
    """The earliest time, naive, that the wall clock of `clock` still has to show.

    That is the clock's time now, except during the first pass through the times the
    clocks go back over (01:00-02:00 in London): then it is the start of those, every
    one of which will come round again. dateparser reads a time behind its base as
    tomorrow's, so this base keeps `until 01:30` typed at 01:45 BST on today.
    """
    wall = now.astimezone(clock).replace(tzinfo=None)
    second = wall.replace(tzinfo=clock, fold=1)
    if second <= now:  # the clock shows this time once, or for the last time now
        return wall
    # The clocks go back between now and `second`, at a whole second: find it.
    early, late = math.floor(now.timestamp()), math.ceil(second.timestamp())
    change = offset_change(clock, early, late)
    start = datetime.fromtimestamp(change, clock).replace(tzinfo=None)
    # Today stays today: no zone now repeats times across midnight, but some once did
    # (America/Goose_Bay went back from 00:01 to 23:01).
    return max(start, datetime.combine(wall.date(), datetime.min.time()))


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
