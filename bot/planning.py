"""Which schedule applies to an instance, why, and what it should be doing now.

Pure decisions, no I/O: the callers bring the channel's assignments and named
schedules, pending one-offs and keep-running overrides, and the current instant.

Precedence, strongest first:

1. a pending one-off for the instance (`/snooze stop db for 3h`), until its due time;
   with several, the most recently created wins, since it is what someone last asked;
2. an active keep-running override (a "keep running" button), until it expires;
   with several, the one lasting longest;
3. a direct assignment naming the instance: `account/region/identifier` before a bare
   identifier, because the qualified name is the more specific;
4. a tag-selector assignment (`tag:KEY=VALUE`) matching the instance's tags; when
   several match, the most recently created wins (the newest assignment is the one the
   team last meant, and the rule is simple to state in `/snooze explain`);
5. the instance tag `snoozedb:schedule=<name>`, naming a saved schedule of the channel
   the instance's account is connected to.

A one-off or an override sets the state only until it ends; the schedule underneath
(found by rules 3 to 5) resumes after, so its transitions are listed from then on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache

from bot.domain import (
    SCHEDULE_TAG,
    Action,
    Assignment,
    Instance,
    InstanceRef,
    OneOff,
    Override,
    SavedSchedule,
)
from bot.rules import TagSelector, names
from bot.schedule import Desired, Schedule, Transition, parse_schedule

DEFAULT_COUNT = 5


class Source(StrEnum):
    """Where the plan for an instance comes from."""

    ONE_OFF = "one_off"
    OVERRIDE = "override"
    DIRECT = "direct"
    TAG_SELECTOR = "tag_selector"
    INSTANCE_TAG = "instance_tag"


@dataclass(frozen=True)
class Underlying:
    """The schedule an instance follows when no one-off or override is in force.

    Attributes:
        source: DIRECT, TAG_SELECTOR or INSTANCE_TAG.
        origin: What gave it: the assignment's target (`batch-db`, `tag:team=qa`) or
            the instance tag (`snoozedb:schedule=office-hours`).
        saved: The saved schedule.
        schedule: Its parsed form.
        assignment: The assignment, None for an instance tag.
    """

    source: Source
    origin: str
    saved: SavedSchedule
    schedule: Schedule
    assignment: Assignment | None


@dataclass(frozen=True)
class Applicable:
    """What applies to one instance at one instant, and what comes next.

    Attributes:
        instance: The instance's qualified name, `account/region/identifier`.
        source: The strongest rule in force (see the module docstring).
        origin: A short description of that rule, for `/snooze explain`.
        desired: What the instance should be doing now.
        next: The coming actions in time order: a one-off's way back or an override's
            end first, then the schedule's transitions in the schedule's own zone.
        underlying: The schedule that applies when no one-off or override is in force.
        one_off: The one-off in force, if any.
        override: The override in force, if any.
    """

    instance: str
    source: Source
    origin: str
    desired: Desired
    next: tuple[Transition, ...]
    underlying: Underlying | None
    one_off: OneOff | None = None
    override: Override | None = None

    @property
    def schedule(self) -> Schedule | None:
        """The parsed schedule underneath, None when only a one-off or override applies."""
        return None if self.underlying is None else self.underlying.schedule


@dataclass(frozen=True)
class Coming:
    """One action `/snooze next` lists: what, when, to which target, and because of what.

    Attributes:
        at: The instant, in the schedule's zone (UTC for a one-off or an override).
        action: Start or stop.
        target: The assignment's target, the one-off's or override's qualified
            instance, or `tag:snoozedb:schedule=<name>` for a saved schedule that
            instances follow through their tag.
        source: DIRECT, TAG_SELECTOR, INSTANCE_TAG, ONE_OFF or OVERRIDE.
        saved: The schedule; None for a one-off, and for an override's end when the
            schedule underneath is not known without asking AWS.
        one_off: The one-off, for a one-off.
        override: The keep-running override, for the stop when it ends.
    """

    at: datetime
    action: Action
    target: str
    source: Source
    saved: SavedSchedule | None = None
    one_off: OneOff | None = None
    override: Override | None = None


@lru_cache(maxsize=2048)
def parsed(text: str) -> Schedule:
    """Parse a saved schedule's canonical text once; it always names its zone.

    Args:
        text: `SavedSchedule.text`.

    Returns:
        The parsed schedule, shared by every caller.

    Raises:
        ScheduleNotUnderstood: The text was saved by an older grammar and no longer
            parses.
    """
    return parse_schedule(text)


def targets_instance(target: str, ref: InstanceRef) -> bool:
    """True when an assignment's target names this instance directly (not by tag).

    Args:
        target: An identifier or `account/region/identifier`.
        ref: The instance.

    Returns:
        Whether the target is the instance's identifier or qualified name.
    """
    if TagSelector.parse(target) is not None:
        return False
    return names(target, ref)


def underlying(
    instance: Instance,
    assignments: Iterable[Assignment],
    named: Mapping[str, SavedSchedule],
) -> Underlying | None:
    """Find the schedule an instance follows when no one-off or override is in force.

    Args:
        instance: The instance, with its tags.
        assignments: The assignments of the instance's channel.
        named: The saved schedules of the instance's channel, by name.

    Returns:
        The direct, tag-selector or instance-tag schedule, or None when none applies
        (including an instance tag naming a schedule that does not exist; see
        `tagged_name`).
    """
    assignments = list(assignments)
    chosen = _direct(instance.ref, assignments)
    if chosen is not None:
        return _from_assignment(chosen, Source.DIRECT)

    selected = [
        a
        for a in assignments
        if (selector := TagSelector.parse(a.target)) and selector.matches(instance)
    ]
    if selected:
        newest = max(selected, key=lambda a: a.id)
        return _from_assignment(newest, Source.TAG_SELECTOR)

    name = tagged_name(instance)
    saved = named.get(name) if name else None
    if name is None or saved is None:
        return None
    return Underlying(
        Source.INSTANCE_TAG, f"{SCHEDULE_TAG}={name}", saved, parsed(saved.text), None
    )


def tagged_name(instance: Instance) -> str | None:
    """The schedule name in the instance's `snoozedb:schedule` tag, if it has one."""
    value = instance.tags.get(SCHEDULE_TAG, "").strip().lower()
    return value or None


def applicable(
    instance: Instance,
    assignments: Iterable[Assignment],
    named: Mapping[str, SavedSchedule],
    one_offs: Iterable[OneOff],
    overrides: Iterable[Override],
    now: datetime,
    *,
    count: int = DEFAULT_COUNT,
) -> Applicable | None:
    """Say what applies to `instance` at `now`, why, and what happens next.

    Args:
        instance: The instance, with its tags.
        assignments: The assignments of the instance's channel.
        named: The saved schedules of the instance's channel, by name.
        one_offs: Pending one-offs (others are ignored: those due at or before `now`).
        overrides: Keep-running overrides (expired ones are ignored).
        now: The current instant, aware.
        count: How many coming actions to list at most.

    Returns:
        The plan, or None when nothing applies: the bot leaves the instance alone.

    Raises:
        ValueError: `now` is naive.
    """
    moment = _utc(now)
    qualified = instance.ref.qualified
    base = underlying(instance, list(assignments), named)

    one_off = _newest_one_off(qualified, one_offs, moment)
    if one_off is not None:
        desired = Desired.STOPPED if one_off.action is Action.START else Desired.RUNNING
        due = stored_utc(one_off.due_at)
        steps = _after(base, due, count)
        if way_back_wanted(one_off.action, due, base, excluded=instance.excluded):
            steps = [Transition(one_off.action, due), *steps]
        origin = f"one-off by {one_off.created_by}"
        return Applicable(
            qualified,
            Source.ONE_OFF,
            origin,
            desired,
            tuple(steps[:count]),
            base,
            one_off,
        )

    override = _longest_override(qualified, overrides, moment)
    if override is not None:
        until = stored_utc(override.until)
        steps = []
        if base is not None and base.schedule.desired_at(until) is Desired.STOPPED:
            steps.append(Transition(Action.STOP, until.astimezone(base.schedule.zone)))
        steps.extend(_after(base, until, count - len(steps)))
        origin = f"kept running by {override.created_by}"
        return Applicable(
            qualified,
            Source.OVERRIDE,
            origin,
            Desired.RUNNING,
            tuple(steps[:count]),
            base,
            override=override,
        )

    if base is None:
        return None
    return Applicable(
        qualified,
        base.source,
        base.origin,
        base.schedule.desired_at(moment),
        tuple(_after(base, moment, count)),
        base,
    )


def way_back_wanted(
    way_back: Action, due: datetime, base: Underlying | None, *, excluded: bool = False
) -> bool:
    """Whether a one-off's way back is carried out when it falls due.

    A one-off holds the schedule until it ends; then the schedule resumes. When the
    schedule wants the opposite of the way back at that instant (a database stopped
    "for 2h" at 19:30 whose window closes at 20:00), the way back is dropped and the
    database stays as the schedule wants it. A schedule never acts on an excluded
    instance, so it cannot take over from the way back there.

    Args:
        way_back: The action that ends the one-off.
        due: When it falls due, aware.
        base: The schedule the instance follows apart from it, if any.
        excluded: The instance is tagged `snoozedb:exclude=true`.

    Returns:
        False only when the schedule wants the other state when the one-off ends.
    """
    if base is None or excluded:
        return True
    desired = base.schedule.desired_at(due)
    if way_back is Action.START:
        return desired is not Desired.STOPPED
    return desired is not Desired.RUNNING


def enforce_stops_again(instance: Instance, plan: Applicable | None) -> bool:
    """True when the hourly check stops this instance again if it is running.

    That is when the schedule in force says `enforce` and wants the instance stopped
    now, no one-off or keep-running override holds it, and it is not excluded by its
    tag (scheduled runs skip those).

    Args:
        instance: The instance, with its tags.
        plan: What `applicable` says applies to it now.

    Returns:
        Whether a running instance would be stopped at the next check.
    """
    if plan is None or plan.underlying is None or instance.excluded:
        return False
    if plan.source in {Source.ONE_OFF, Source.OVERRIDE}:
        return False
    return plan.underlying.schedule.enforce and plan.desired is Desired.STOPPED


def coming(
    assignments: Iterable[Assignment],
    one_offs: Iterable[OneOff],
    now: datetime,
    *,
    overrides: Iterable[Override] = (),
    named: Iterable[SavedSchedule] = (),
    count: int = 10,
) -> list[Coming]:
    """The channel's coming actions, soonest first, for `/snooze next`.

    Each assignment contributes its schedule's transitions; each pending one-off its
    way back, unless the direct schedule of its instance wants the other state then
    (`way_back_wanted`); each active keep-running override the stop when it ends;
    each saved schedule the transitions of the instances tagged
    `snoozedb:schedule=<name>`. A pending one-off or an override on an instance a
    direct assignment names holds that assignment's transitions until it ends, as
    `applicable` does. Tag selectors
    and instance tags are listed by their tag, without asking AWS which instances
    carry it, so an override on an instance they cover is listed on its own, its
    stop depending on the schedule then.

    Args:
        assignments: The channel's assignments.
        one_offs: The channel's one-offs.
        now: The current instant, aware.
        overrides: The channel's keep-running overrides (expired ones are ignored).
        named: The channel's saved schedules with a name.
        count: How many actions to return at most.

    Returns:
        Up to `count` actions in time order.
    """
    moment = _utc(now)
    assignments = list(assignments)
    pending = [o for o in one_offs if stored_utc(o.due_at) > moment]
    active = [o for o in overrides if stored_utc(o.until) > moment]
    found = [
        Coming(stored_utc(o.due_at), o.action, o.instance, Source.ONE_OFF, one_off=o)
        for o in pending
        if way_back_wanted(
            o.action, stored_utc(o.due_at), _direct_underlying(o.instance, assignments)
        )
    ]
    found.extend(_override_ends(assignments, active))

    holds = [(o.instance, stored_utc(o.due_at)) for o in pending]
    holds += [(o.instance, stored_utc(o.until)) for o in active]
    for assignment in assignments:
        selector = TagSelector.parse(assignment.target) is not None
        source = Source.TAG_SELECTOR if selector else Source.DIRECT
        held = max(
            (
                until
                for instance, until in holds
                if not selector and _names(assignment.target, instance)
            ),
            default=moment,
        )
        found.extend(
            _transitions_of(assignment.schedule, assignment.target, source, held, count)
        )
    for saved in named:
        if saved.name:
            target = f"tag:{SCHEDULE_TAG}={saved.name}"
            found.extend(
                _transitions_of(saved, target, Source.INSTANCE_TAG, moment, count)
            )
    found.sort(key=lambda c: (_utc(c.at), c.target, c.action.value))
    return found[:count]


def _override_ends(
    assignments: Sequence[Assignment], active: Iterable[Override]
) -> list[Coming]:
    """The stop at the end of each instance's longest override, where one is wanted.

    With a direct assignment the schedule is known: the stop is listed only when it
    wants the instance stopped when the override ends, as the scheduler decides.
    Otherwise the instance's tags decide, which only AWS knows: the end is listed
    without a schedule.
    """
    longest: dict[str, Override] = {}
    for override in active:
        kept = longest.get(override.instance)
        if kept is None or stored_utc(override.until) > stored_utc(kept.until):
            longest[override.instance] = override
    ends = []
    direct = [a for a in assignments if TagSelector.parse(a.target) is None]
    for override in longest.values():
        until = stored_utc(override.until)
        qualified = override.instance
        chosen = _direct(_ref(qualified), direct)
        if chosen is None:
            ends.append(
                Coming(
                    until, Action.STOP, qualified, Source.OVERRIDE, override=override
                )
            )
            continue
        schedule = parsed(chosen.schedule.text)
        if schedule.desired_at(until) is Desired.STOPPED:
            at = until.astimezone(schedule.zone)
            ends.append(
                Coming(
                    at,
                    Action.STOP,
                    qualified,
                    Source.OVERRIDE,
                    chosen.schedule,
                    None,
                    override,
                )
            )
    return ends


def _transitions_of(
    saved: SavedSchedule, target: str, source: Source, since: datetime, count: int
) -> list[Coming]:
    return [
        Coming(step.at, step.action, target, source, saved)
        for step in parsed(saved.text).transitions(since, count)
    ]


def _ref(qualified: str) -> InstanceRef:
    account, region, identifier = [*qualified.split("/"), "", ""][:3]
    return InstanceRef(account, region, identifier)


def _names(target: str, qualified: str) -> bool:
    return targets_instance(target, _ref(qualified))


def _direct(ref: InstanceRef, assignments: Sequence[Assignment]) -> Assignment | None:
    direct = [a for a in assignments if targets_instance(a.target, ref)]
    if not direct:
        return None
    # Qualified names first, then the newest assignment.
    return max(direct, key=lambda a: (a.target.count("/") == 2, a.id))


def directly_scheduled(qualified: str, assignments: Sequence[Assignment]) -> bool:
    """Whether one of `assignments` names the instance `account/region/identifier`."""
    return _direct(_ref(qualified), assignments) is not None


def _direct_underlying(
    qualified: str, assignments: Sequence[Assignment]
) -> Underlying | None:
    chosen = _direct(_ref(qualified), assignments)
    return None if chosen is None else _from_assignment(chosen, Source.DIRECT)


def _from_assignment(assignment: Assignment, source: Source) -> Underlying:
    saved = assignment.schedule
    return Underlying(source, assignment.target, saved, parsed(saved.text), assignment)


def _newest_one_off(
    qualified: str, one_offs: Iterable[OneOff], now: datetime
) -> OneOff | None:
    pending = [
        o for o in one_offs if o.instance == qualified and stored_utc(o.due_at) > now
    ]
    return max(pending, key=lambda o: o.id, default=None)


def _longest_override(
    qualified: str, overrides: Iterable[Override], now: datetime
) -> Override | None:
    active = [
        o for o in overrides if o.instance == qualified and stored_utc(o.until) > now
    ]
    return max(active, key=lambda o: stored_utc(o.until), default=None)


def _after(base: Underlying | None, moment: datetime, count: int) -> list[Transition]:
    if base is None or count <= 0:
        return []
    return base.schedule.transitions(moment, count)


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("an instant must be timezone-aware")
    return instant.astimezone(UTC)


def stored_utc(instant: datetime) -> datetime:
    """An instant read back from storage, as an aware UTC datetime.

    Args:
        instant: A stored instant; SQLite hands them back naive, meaning UTC.

    Returns:
        The same instant, aware, in UTC. Never read a naive one as local time.
    """
    if instant.tzinfo is None:
        return instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC)
