"""The schedule language: when a database should run, read from what users type.

A schedule is what follows `/snooze schedule <target>`::

    mon-fri 08:00-20:00; sat 10:00-14:00 tz Europe/London

Grammar (words are case-insensitive, zone names too)::

    schedule := rule (";" rule)* option*
    rule     := days [times]
    days     := item ("," item)*            mon | mon-fri | fri-mon | weekdays | weekends | daily
              | ordinal weekday             first | second | third | fourth | last (1st..4th)
    times    := time "-" time               a window: the database runs inside it
              | "start" time | "stop" time  a one-sided rule: one action at one time
    time     := 08:00 | 8:00 | 8am | 8:30pm | 12pm | noon | midnight | 24:00
    option   := "tz" ZONE | "enforce"       each at most once, after the last rule

Meaning:

- A window runs from its start (inclusive) to its end (exclusive). The days name the day a
  window starts: `mon-fri 22:00-06:00` runs from Friday 22:00 to Saturday 06:00. An end
  at or before the start is on the next day; `24:00`, `midnight` and `12am` as an end mean
  the end of the day. Days without times mean the whole day (`weekends`).
- Outside every window the database should be stopped. Windows that touch or overlap
  merge: `daily 05:00-24:00; daily 00:00-03:00` runs from 05:00 to 03:00 without a break.
- A schedule made only of one-sided rules has no opinion about the state in between
  (`Desired.ANY`) but still names its actions. Windows and one-sided rules cannot be
  mixed in one schedule: what a `start` outside every window should mean is unclear.
- Local times follow the zone's clock changes. A time skipped when the clocks go forward
  takes effect at the first instant after the gap; a time that occurs twice when the
  clocks go back takes effect once, at its first occurrence.
- `tz ZONE` names an IANA zone for the whole text; without it the caller's default
  zone applies. `enforce` is a flag the scheduler reads; it changes no times here.
- Bare numbers (`9`, `8-20`) are refused: they could be hours or days.

Every refusal is a `ScheduleNotUnderstood` naming the part that failed. Nothing here does
I/O: everything is a function of the text, the zone and the instants given.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from functools import cache, lru_cache
from typing import NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot import messages
from bot.domain import Action
from bot.errors import ScheduleNotUnderstood

MAX_TEXT = 500  # `messages.SCHEDULE_TOO_LONG` names this limit
MAX_TRANSITIONS = 1000
END_OF_DAY = 24 * 60

# Every rule recurs at least once a month, so a year and a bit without any change of
# state means there never will be one (`daily 00:00-24:00` runs forever).
_QUIET_DAYS = 400
_LAST_DAY = date(9999, 12, 1)

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_NAMES = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
_WEEKDAYS: dict[str, int] = {
    **{name: number for number, name in enumerate(DAY_NAMES)},
    **{name: number for number, name in enumerate(_FULL_NAMES)},
    "tues": 1,
    "thur": 3,
    "thurs": 3,
}
_GROUPS: dict[str, tuple[str, frozenset[int]]] = {
    "daily": ("daily", frozenset(range(7))),
    "weekdays": ("weekdays", frozenset(range(5))),
    "weekday": ("weekdays", frozenset(range(5))),
    "weekends": ("weekends", frozenset({5, 6})),
    "weekend": ("weekends", frozenset({5, 6})),
}
_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3}
_ORDINALS |= {"fourth": 4, "4th": 4, "last": -1}
_ORDINAL_NAMES = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
_VERBS = {"start": Action.START, "stop": Action.STOP}
_OPTIONS = ("tz", "enforce")

_CLOCK = re.compile(r"([0-9]{1,2}):([0-9]{2})", re.ASCII)
_MERIDIEM = re.compile(r"([0-9]{1,2})(?::([0-9]{2}))?(am|pm)", re.ASCII)
_NUMBER = re.compile(r"[0-9]+", re.ASCII)
_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*", re.ASCII)


class Desired(StrEnum):
    """What a schedule wants a database to be doing at one instant."""

    RUNNING = "running"
    STOPPED = "stopped"
    ANY = "any"  # only one-sided rules: no opinion between their actions


@dataclass(frozen=True)
class Transition:
    """One action a schedule asks for, at an aware instant in the schedule's zone.

    Python compares and subtracts two datetimes that share one zone by their wall clocks,
    which is wrong across a clock change: convert `at` to UTC before doing arithmetic.
    """

    action: Action
    at: datetime


@dataclass(frozen=True)
class _Days:
    """Which local dates a rule applies to."""

    weekdays: frozenset[int]
    ordinal: int | None  # 1..4 for the nth weekday of the month, -1 for the last
    text: str

    def match(self, day: date) -> bool:
        if day.weekday() not in self.weekdays:
            return False
        if self.ordinal is None:
            return True
        if self.ordinal == -1:
            return (day + timedelta(days=7)).month != day.month
        return (day.day - 1) // 7 + 1 == self.ordinal


@dataclass(frozen=True)
class _Window:
    """A stretch of local time, in minutes after midnight, when the database runs."""

    days: _Days
    start: int
    end: int  # at or before `start`: on the next day
    text: str

    def interval(self, day: date, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
        end = self.end if self.end > self.start else self.end + END_OF_DAY
        begins = _instant_of(day, self.start, zone)
        ends = _instant_of(day, end, zone)
        # Both ends inside one spring-forward gap: the window never happens that day.
        return (begins, ends) if begins < ends else None


@dataclass(frozen=True)
class _Point:
    """A one-sided rule: one action at one local time."""

    days: _Days
    action: Action
    minute: int
    text: str


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule. Build one with `parse_schedule`.

    Attributes:
        text: The canonical text, as the user would re-type it; it always names the zone.
        zone: The zone whose wall clock the times are read on.
        enforce: True when the text ends with `enforce`.
    """

    text: str
    zone: ZoneInfo
    enforce: bool
    _windows: tuple[_Window, ...] = field(default=(), repr=False, compare=False)
    _points: tuple[_Point, ...] = field(default=(), repr=False, compare=False)

    def desired_at(self, instant: datetime) -> Desired:
        """Say whether the database should be running at `instant`.

        Args:
            instant: An aware datetime, in any zone.

        Returns:
            RUNNING inside a window, STOPPED outside every window, ANY when the schedule
            has only one-sided rules.

        Raises:
            ValueError: `instant` is naive or outside the years 1..9998.
        """
        return _desired_at(self, _as_utc(instant))

    def _desired_at(self, moment: datetime) -> Desired:
        if not self._windows:
            return Desired.ANY

        today = moment.astimezone(self.zone).date()
        for day in _dates(today - timedelta(days=2), count=4):
            for begins, ends in self._intervals(day):
                if begins <= moment < ends:
                    return Desired.RUNNING
        return Desired.STOPPED

    def transitions(self, after: datetime, count: int) -> list[Transition]:
        """List the next actions the schedule asks for, strictly after `after`.

        For windows these are the real changes of desired state: a start when a merged
        window opens and a stop when it closes. One-sided rules yield their own actions.
        The search walks local dates one by one, so a year ahead costs milliseconds.

        Args:
            after: An aware datetime, in any zone.
            count: How many transitions to return at most (0 to 1000).

        Returns:
            Up to `count` transitions in time order, their instants in the schedule's
            zone; fewer when the schedule never changes state again.

        Raises:
            ValueError: `after` is naive or out of range, or `count` above 1000.
        """
        moment = _as_utc(after)
        if count > MAX_TRANSITIONS:
            raise ValueError(f"count is at most {MAX_TRANSITIONS}, got {count}")
        if count <= 0:
            return []
        return list(_transitions(self, moment, count))

    def _transitions(self, moment: datetime, count: int) -> tuple[Transition, ...]:
        changes = (
            self._window_changes(moment)
            if self._windows
            else self._point_changes(moment)
        )
        found: list[Transition] = []
        for action, at in changes:
            found.append(Transition(action, at.astimezone(self.zone)))
            if len(found) == count:
                break
        return tuple(found)

    def _intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        spans = []
        for window in self._windows:
            if window.days.match(day) and (span := window.interval(day, self.zone)):
                spans.append(span)
        return sorted(spans)

    def _window_changes(self, after: datetime) -> Iterator[tuple[Action, datetime]]:
        """Merge the windows, taken in order of their starts, and yield their edges."""
        today = after.astimezone(self.zone).date()
        last_change = today
        open_run = False  # True once a merged run of windows is being extended
        closes = after

        for day in _dates(today - timedelta(days=2)):
            if (day - last_change).days > _QUIET_DAYS:
                return
            for begins, ends in self._intervals(day):
                if open_run and begins <= closes:
                    closes = max(closes, ends)
                    continue
                if open_run and closes > after:
                    last_change = day
                    yield Action.STOP, closes
                open_run, closes = True, ends
                if begins > after:
                    last_change = day
                    yield Action.START, begins

    def _point_changes(self, after: datetime) -> Iterator[tuple[Action, datetime]]:
        """Yield the one-sided actions day by day, each (instant, action) once."""
        today = after.astimezone(self.zone).date()
        last_change = today
        previous: set[tuple[datetime, Action]] = set()

        for day in _dates(today - timedelta(days=1)):
            if (day - last_change).days > _QUIET_DAYS:
                return
            events = {
                (_instant_of(day, point.minute, self.zone), point.action)
                for point in self._points
                if point.days.match(day)
            }
            for at, action in sorted(events - previous):
                if at > after:
                    last_change = day
                    yield action, at
            previous = events


# A scheduler run asks the same question of one schedule for every database that
# follows it, at one instant: answer each once. Schedules compare by text and zone.
@lru_cache(maxsize=4096)
def _desired_at(schedule: Schedule, moment: datetime) -> Desired:
    return schedule._desired_at(moment)


@lru_cache(maxsize=4096)
def _transitions(
    schedule: Schedule, moment: datetime, count: int
) -> tuple[Transition, ...]:
    return schedule._transitions(moment, count)


def parse_schedule(text: str, default_zone: str | None = None) -> Schedule:
    """Read a schedule typed by a user.

    Args:
        text: The schedule, for example `mon-fri 08:00-20:00 tz Europe/London`.
        default_zone: The IANA zone to use when the text has no `tz`.

    Returns:
        The schedule, with its canonical text.

    Raises:
        ScheduleNotUnderstood: For any text that is not a schedule, names the part that
            failed. No other exception escapes, whatever the text.
    """
    if len(text) > MAX_TEXT:
        _refuse(text, text, messages.SCHEDULE_TOO_LONG)
    tidy = _tidy(text)
    if not tidy:
        _refuse(text, text, messages.SCHEDULE_EMPTY)

    *heads, last = (piece.strip() for piece in tidy.split(";"))
    words = last.split()
    cut = next(
        (i for i, word in enumerate(words) if word.lower() in _OPTIONS), len(words)
    )
    if cut == 0 and words:
        _refuse(text, last, messages.SCHEDULE_NO_RULE)
    rules = [_parse_rule(text, piece) for piece in [*heads, " ".join(words[:cut])]]
    zone_name, enforce = _parse_options(text, words[cut:])

    zone_name = zone_name or default_zone
    if zone_name is None:
        _refuse(text, text, messages.SCHEDULE_NO_ZONE)
    zone = _zone(text, zone_name)
    windows = tuple(rule for rule in rules if isinstance(rule, _Window))
    points = tuple(rule for rule in rules if isinstance(rule, _Point))
    if windows and points:
        _refuse(text, points[0].text, messages.SCHEDULE_MIXED)

    canonical = "; ".join(rule.text for rule in rules) + f" tz {zone.key}"
    canonical += " enforce" if enforce else ""
    return Schedule(canonical, zone, enforce, windows, points)


def explain(text: str, at: datetime, count: int) -> dict[str, object]:
    """Describe a schedule at one instant, as `snoozedb schedule explain` prints it.

    Args:
        text: The schedule; it must name its zone with `tz`.
        at: An aware instant.
        count: How many coming transitions to list.

    Returns:
        `{"desired": "running"|"stopped"|"any", "next": [{"action": "start"|"stop",
        "at": ISO-8601 with offset}, ...]}`.

    Raises:
        ScheduleNotUnderstood: The text is not a schedule or names no zone.
    """
    schedule = parse_schedule(text)
    coming = schedule.transitions(at, count)
    return {
        "desired": schedule.desired_at(at).value,
        "next": [
            {"action": step.action.value, "at": step.at.isoformat()} for step in coming
        ],
    }


def resolve_local(local: datetime, zone: ZoneInfo) -> datetime:
    """Turn a wall-clock time in `zone` into the instant it takes effect, in UTC.

    A time skipped when the clocks go forward takes effect at the first instant after
    the gap (03:00 when 02:00 jumps to 03:00). A time that occurs twice when the clocks
    go back takes effect at its first occurrence.

    Args:
        local: A naive datetime read on the wall clock of `zone`.
        zone: The zone.

    Returns:
        An aware datetime in UTC.
    """
    first = local.replace(tzinfo=zone, fold=0)
    moment = first.astimezone(UTC)
    if moment.astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None):
        return moment

    # In a gap, fold=0 reads the time with the offset before the change (an instant
    # after it) and fold=1 with the offset after (an instant before it). The change
    # lies between; halve the interval down to the second.
    early = int(first.replace(fold=1).astimezone(UTC).timestamp())
    late = int(moment.timestamp())
    change = offset_change(zone, min(early, late), max(early, late))
    return datetime.fromtimestamp(change, UTC)


def offset_change(zone: tzinfo, early: int, late: int) -> int:
    """When the clocks of `zone` change between two instants, to the second.

    Args:
        zone: The zone.
        early: A POSIX timestamp before the change.
        late: A later one, after it; one change lies between them.

    Returns:
        The first whole second after `early` on which the zone shows the UTC offset
        it shows at `late`.
    """
    after = datetime.fromtimestamp(late, zone).utcoffset()
    while late - early > 1:
        middle = (early + late) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == after:
            late = middle
        else:
            early = middle
    return late


# --- Reading the text ------------------------------------------------------------


def _refuse(text: str, part: str, problem: str) -> NoReturn:
    raise ScheduleNotUnderstood(text, part, problem)


def _tidy(text: str) -> str:
    """Normalise spacing so `mon - fri`, `8 am` and `mon, wed` read like their short forms."""
    tidy = re.sub(r"[\u2013\u2014]", "-", text.strip())
    tidy = re.sub(r"\s*([-,;])\s*", r"\1", tidy)
    return re.sub(r"(?<=[0-9])\s+(?=(?:am|pm)\b)", "", tidy, flags=re.IGNORECASE)


def _parse_rule(text: str, piece: str) -> _Window | _Point:
    words = piece.split()
    if not words:
        _refuse(text, text, messages.SCHEDULE_EMPTY_RULE)
    lowered = [word.lower() for word in words]
    for word, low in zip(words, lowered, strict=True):
        if low in _OPTIONS:
            _refuse(text, word, messages.SCHEDULE_OPTIONS_AT_END)

    if lowered[0] in _ORDINALS:
        days = _parse_ordinal(text, lowered)
        rest = words[2:]
    else:
        days = _parse_days(text, words[0])
        rest = words[1:]

    match [word.lower() for word in rest]:
        case []:
            return _Window(days, 0, END_OF_DAY, days.text)
        case ["start" | "stop"]:
            _refuse(text, rest[0], messages.SCHEDULE_NEEDS_TIME)
        case [("start" | "stop") as verb, when]:
            return _parse_point(text, days, verb, when)
        case [span]:
            return _parse_window(text, days, span)
        case [("start" | "stop"), _, *extra] | [_, *extra]:
            _refuse(text, " ".join(rest[-len(extra) :]), messages.SCHEDULE_EXTRA_WORDS)
    raise AssertionError("unreachable: every list of words matches a case above")


def _parse_ordinal(text: str, lowered: Sequence[str]) -> _Days:
    if len(lowered) < 2 or lowered[1] not in _WEEKDAYS:
        part = " ".join(lowered[:2])
        _refuse(text, part, messages.SCHEDULE_ORDINAL_NEEDS_DAY)
    ordinal = _ORDINALS[lowered[0]]
    weekday = _WEEKDAYS[lowered[1]]
    label = f"{_ORDINAL_NAMES[ordinal]} {DAY_NAMES[weekday]}"
    return _Days(frozenset({weekday}), ordinal, label)


def _parse_days(text: str, word: str) -> _Days:
    if word[:1].isascii() and word[:1].isdigit():
        _refuse(text, word, messages.SCHEDULE_DAYS_FIRST)
    chosen: set[int] = set()
    labels: list[str] = []

    for item in word.lower().split(","):
        if item in _GROUPS:
            label, group = _GROUPS[item]
            chosen |= group
            labels.append(label)
            continue
        first, dash, last = item.partition("-")
        if first not in _WEEKDAYS or (dash and last not in _WEEKDAYS):
            _refuse(text, word, messages.SCHEDULE_NOT_A_DAY)
        start = _WEEKDAYS[first]
        if not dash:
            chosen.add(start)
            labels.append(DAY_NAMES[start])
            continue
        end = _WEEKDAYS[last]
        if end == start:
            _refuse(text, word, messages.SCHEDULE_SAME_DAYS)
        chosen |= {(start + step) % 7 for step in range((end - start) % 7 + 1)}
        labels.append(f"{DAY_NAMES[start]}-{DAY_NAMES[end]}")

    return _Days(frozenset(chosen), None, ",".join(labels))


def _parse_window(text: str, days: _Days, span: str) -> _Window:
    pieces = span.lower().split("-")
    if len(pieces) != 2:
        if len(pieces) == 1 and _NUMBER.fullmatch(pieces[0]):
            _refuse(text, span, messages.SCHEDULE_BARE_HOUR)
        _refuse(text, span, messages.SCHEDULE_NEEDS_TWO_TIMES)
    start = _parse_time(text, span, pieces[0], ending=False)
    end = _parse_time(text, span, pieces[1], ending=True)
    if start == end:
        _refuse(text, span, messages.SCHEDULE_SAME_TIMES)
    return _Window(days, start, end, f"{days.text} {_clock(start)}-{_clock(end)}")


def _parse_point(text: str, days: _Days, verb: str, when: str) -> _Point:
    minute = _parse_time(text, when, when.lower(), ending=verb == "stop")
    return _Point(days, _VERBS[verb], minute, f"{days.text} {verb} {_clock(minute)}")


def _parse_time(text: str, part: str, word: str, *, ending: bool) -> int:
    """Read one time as minutes after midnight; 24:00 (the end of the day) only if `ending`."""
    if word == "noon":
        return 12 * 60
    if word == "midnight":
        return END_OF_DAY if ending else 0

    if clock := _CLOCK.fullmatch(word):
        hour, minute = int(clock[1]), int(clock[2])
        if hour > 24 or (hour == 24 and minute != 0):
            _refuse(text, part, messages.SCHEDULE_HOURS)
    elif meridiem := _MERIDIEM.fullmatch(word):
        hour, minute = int(meridiem[1]), int(meridiem[2] or 0)
        if not 1 <= hour <= 12:
            _refuse(text, part, messages.SCHEDULE_MERIDIEM_HOURS)
        hour = hour % 12 + (12 if meridiem[3] == "pm" else 0)
        if hour == 0 and minute == 0 and ending:
            hour = 24  # `8pm-12am` ends at midnight, like `8pm-midnight`
    elif _NUMBER.fullmatch(word):
        _refuse(text, part, messages.SCHEDULE_BARE_HOUR)
    else:
        _refuse(text, part, messages.SCHEDULE_NOT_A_TIME)

    if minute > 59:
        _refuse(text, part, messages.SCHEDULE_MINUTES)
    if hour == 24 and not ending:
        _refuse(text, part, messages.SCHEDULE_START_AT_24)
    return hour * 60 + minute


def _parse_options(text: str, words: Sequence[str]) -> tuple[str | None, bool]:
    """Read the trailing `tz ZONE` and `enforce`, each at most once."""
    zone_name: str | None = None
    enforce = False
    index = 0

    while index < len(words):
        word = words[index].lower()
        if word == "enforce" and not enforce:
            enforce = True
            index += 1
        elif word == "tz" and zone_name is None:
            if index + 1 == len(words) or words[index + 1].lower() in _OPTIONS:
                _refuse(text, words[index], messages.SCHEDULE_NEEDS_ZONE)
            zone_name = words[index + 1]
            index += 2
        elif word in _OPTIONS:
            _refuse(text, words[index], messages.SCHEDULE_OPTIONS_AT_END)
        else:
            _refuse(text, " ".join(words[index:]), messages.SCHEDULE_EXTRA_WORDS)
    return zone_name, enforce


def _zone(text: str, name: str) -> ZoneInfo:
    """Find an IANA zone by name, whatever its case; refuse paths and unknown names."""
    zone = find_zone(name)
    if zone is None:
        _refuse(text, name, messages.SCHEDULE_UNKNOWN_ZONE)
    return zone


# Files of the zone database that name no place: `localtime` is whatever zone the
# server runs in, `posixrules` a default for POSIX TZ strings, `Factory` a
# placeholder whose abbreviation is "-00".
_NOT_PLACES = frozenset({"localtime", "posixrules", "factory"})


def _not_a_place(lowered: str) -> bool:
    # `posix/...` repeats every zone; `right/...` counts leap seconds, which puts its
    # clock changes 27 seconds off the civil ones.
    return lowered in _NOT_PLACES or lowered.startswith(("posix/", "right/"))


def find_zone(name: str) -> ZoneInfo | None:
    """An IANA zone by name, whatever its case.

    Args:
        name: A zone name such as `Europe/London` or `europe/london`.

    Returns:
        The zone, or None for an unknown name or anything shaped like a path.
    """
    if not _ZONE_NAME.fullmatch(name) or _not_a_place(name.lower()):
        return None
    zone = _zone_named(name)
    if zone is None:
        # Only a name in another case needs the list of every zone on disk.
        key = _zone_keys().get(name.lower())
        zone = _zone_named(key) if key is not None else None
    return zone


def _zone_named(key: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


_ZONE_KEYS_LOCK = threading.Lock()


@cache
def _zone_keys() -> dict[str, str]:
    # Listing the zones reads hundreds of files: once, even when threads ask at once.
    with _ZONE_KEYS_LOCK:
        return _zone_keys_uncached()


@cache
def _zone_keys_uncached() -> dict[str, str]:
    return {key.lower(): key for key in available_timezones()}


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# --- Instants --------------------------------------------------------------------


def _as_utc(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("an instant must be timezone-aware")
    if not 1 < instant.year < 9999:
        raise ValueError("an instant must fall between the years 2 and 9998")
    return instant.astimezone(UTC)


def _dates(first: date, count: int | None = None) -> Iterator[date]:
    day = first
    made = 0
    while day < _LAST_DAY and (count is None or made < count):
        yield day
        day += timedelta(days=1)
        made += 1


def _instant_of(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """The UTC instant of `minutes` after local midnight on `day` (1440 = next midnight)."""
    local = datetime.combine(day, time()) + timedelta(minutes=minutes)
    return resolve_local(local, zone)
