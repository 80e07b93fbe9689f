"""`/snooze schedule`: give a database (or a tag selector) a schedule, and name schedules.

Forms::

    /snooze schedule <target> <schedule | name>
    /snooze schedule define <name> <schedule>
    /snooze schedule list
    /snooze schedule remove <target | name>

Saved names belong to the channel they were defined in: another channel of the
workspace neither sees nor changes them, and an instance tag `snoozedb:schedule=NAME`
reads the names of the channel its account is connected to. Defining one needs a
connected account, like assigning one.

A schedule typed without `tz ZONE` takes the zone of the user who typed it (Slack's
users.info), and is saved with that zone spelled out, so it means the same whoever reads
it later. A single word that reads like a name but names no saved schedule is refused
with "did you mean", and nothing is saved (case R10). A database target is checked
against the channel's instances before anything is saved, which needs AWS and so runs
after the acknowledgement; a tag selector is evaluated at each run and saved at once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import pairwise

from bot import blocks, messages, planning, rules
from bot.commands import Context, Message, Reply, Request
from bot.domain import Instance, InstanceRef, SavedSchedule
from bot.errors import ScheduleNotUnderstood, SnoozeError
from bot.schedule import (
    Desired,
    Schedule,
    Transition,
    offset_change,
    parse_schedule,
)

SHOWN_TRANSITIONS = 6
NAME = re.compile(r"[a-z][a-z0-9-]{0,39}", re.ASCII)
_TARGET = re.compile(r"[A-Za-z0-9][A-Za-z0-9/_.-]{0,200}", re.ASCII)


def handle(context: Context, request: Request, words: list[str]) -> Reply:
    """Dispatch the `/snooze schedule` forms.

    Args:
        context: Storage, operations, the user's zone and the clock.
        request: Who typed it, and where.
        words: The words after `schedule`.

    Returns:
        The reply; checking a database target against AWS runs in `later`.
    """
    if not words:
        problem = messages.SCHEDULE_SAY_WHAT
        return Reply(Message(messages.usage_error(problem, messages.USAGE_SCHEDULE)))
    first = words[0].lower()
    if first == "list":
        if len(words) > 1:
            return Reply(Message(messages.SCHEDULE_LIST_ALONE))
        return Reply(Message(_listing(context, request)))
    if first == "define":
        return _define(context, request, words[1:])
    if first == "remove":
        return _remove(context, request, words[1:])
    return _assign(context, request, words[0], words[1:])


# --- Assigning -------------------------------------------------------------------


def _assign(context: Context, request: Request, target: str, rest: list[str]) -> Reply:
    if not rest:
        missing = messages.schedule_missing(target)
        return Reply(Message(messages.usage_error(missing, messages.USAGE_SCHEDULE)))
    problem = _target_problem(target)
    if problem is not None:
        return Reply(Message(problem))
    if not context.storage.accounts(request.team_id, request.channel_id):
        return Reply(Message(messages.NO_ACCOUNTS))
    try:
        chosen = _schedule(context, request, " ".join(rest))
    except SnoozeError as error:
        return Reply(Message(str(error)))

    if rules.TagSelector.parse(target) is not None:
        return Reply(_save(context, request, target, chosen))
    return Reply(
        Message(messages.schedule_checking(target)),
        lambda: _check_and_save(context, request, target, chosen),
    )


def _check_and_save(
    context: Context, request: Request, target: str, chosen: SavedSchedule | Schedule
) -> Sequence[Message]:
    """Find the target among the channel's instances, then save (the slow half)."""
    accounts = context.storage.accounts(request.team_id, request.channel_id)
    survey = context.operations.survey(accounts, "schedule")
    try:
        [instance] = rules.resolve(target, survey.instances)
    except SnoozeError as error:
        said = [Message(problem.sentence) for problem in survey.problems]
        return said or [Message(str(error))]

    # Saved under the qualified name of the instance found now, so that a database
    # of the same name created later in another region or account does not follow
    # it. One direct schedule per instance: the one typed last is the one in force.
    # A schedule saved under the bare name (as older versions did) is replaced only
    # when no other database of the channel has that name, since it covers them too.
    namesakes = sum(
        1
        for i in survey.instances
        if i.identifier.lower() == instance.identifier.lower()
    )
    spellings = [
        assignment.target
        for assignment in context.storage.assignments(
            request.team_id, request.channel_id
        )
        if planning.targets_instance(assignment.target, instance.ref)
        and (assignment.target.count("/") == 2 or namesakes == 1)
    ]
    qualified = instance.ref.qualified
    target = qualified if target.count("/") == 2 else instance.identifier
    saved = _save(context, request, qualified, chosen, spellings, shown=target)
    refusal = rules.why_not_stoppable(instance)
    if refusal is not None:
        note = messages.schedule_not_stoppable(
            target, messages.not_stoppable(refusal.reason, refusal.detail)
        )
        return [saved, Message(note)]
    if instance.excluded:
        return [saved, Message(messages.schedule_excluded(target))]
    differs = _differs_now(context, request, instance, chosen, target)
    return [saved] if differs is None else [saved, Message(differs)]


def _differs_now(
    context: Context,
    request: Request,
    instance: Instance,
    chosen: SavedSchedule | Schedule,
    shown: str,
) -> str | None:
    """Say when the database is in the other state than its new schedule wants now.

    A schedule acts at its changes, not at once: the database stays as it is until
    the next one (or the next hourly check, with `enforce`). A one-off or a
    keep-running override in force decides until it ends, so nothing is said then.
    """
    storage, now = context.storage, context.clock()
    team_id, channel_id = request.team_id, request.channel_id
    assignments, named = context.channel_schedules(request)
    plan = planning.applicable(
        instance,
        assignments,
        named,
        storage.one_offs(team_id, channel_id),
        [o for o in storage.overrides(team_id, now) if o.channel_id == channel_id],
        now,
        count=1,
    )
    if plan is None or plan.one_off is not None or plan.override is not None:
        return None
    schedule = planning.parsed(chosen.text)
    desired = schedule.desired_at(now)
    if instance.status == "available" and desired is Desired.STOPPED:
        return messages.schedule_differs_now(shown, True, enforce=schedule.enforce)
    if instance.status == "stopped" and desired is Desired.RUNNING:
        return messages.schedule_differs_now(shown, False, enforce=False)
    return None


def _save(
    context: Context,
    request: Request,
    target: str,
    chosen: SavedSchedule | Schedule,
    replaces: Sequence[str] = (),
    *,
    shown: str | None = None,
) -> Message:
    """Save the assignment and say so in the channel, naming the target as `shown`."""
    text = chosen.text
    assigned = context.storage.assign_schedule(
        request.team_id,
        request.channel_id,
        target,
        chosen if isinstance(chosen, SavedSchedule) else text,
        request.user_id,
        replaces,
    )
    saved = assigned.schedule
    heading = messages.schedule_assigned(
        request.user_id, shown or target, saved.name, saved.text
    )
    lines = [heading, *_coming_lines(planning.parsed(saved.text), context.clock())]
    return Message("\n".join(lines), blocks.sections(lines), in_channel=True)


def _schedule(
    context: Context, request: Request, text: str
) -> SavedSchedule | Schedule:
    """A saved schedule by name, or the text parsed in the user's zone.

    Raises:
        SnoozeError: An unknown name (with "did you mean") or a text that does not
            parse, including one without any zone.
    """
    word = text.strip().lower()
    if NAME.fullmatch(word):
        saved = context.storage.named_schedule(
            request.team_id, request.channel_id, word
        )
        if saved is not None:
            return saved
    try:
        return _parse(context, request, text)
    except ScheduleNotUnderstood:
        if NAME.fullmatch(word):
            named = context.storage.named_schedules(request.team_id, request.channel_id)
            known = [s.name for s in named if s.name]
            raise _UnknownSchedule(word, rules.suggest(word, known)) from None
        raise


def _parse(context: Context, request: Request, text: str) -> Schedule:
    """Parse `text`; without `tz`, in the zone of the user who typed it."""
    try:
        return parse_schedule(text)
    except ScheduleNotUnderstood as error:
        if error.problem != messages.SCHEDULE_NO_ZONE:
            raise
    return parse_schedule(text, context.user_zone(request.user_id))


class _UnknownSchedule(SnoozeError):
    """A single word that reads like a schedule name, but no saved schedule has it."""

    def __init__(self, name: str, suggestions: Sequence[str]) -> None:
        self.name = name
        self.suggestions = tuple(suggestions)
        super().__init__(messages.unknown_schedule(name, self.suggestions))


def _target_problem(target: str) -> str | None:
    if target.lower().startswith("tag:"):
        if rules.TagSelector.parse(target) is None:
            return messages.bad_selector(target)
        return None
    if not _TARGET.fullmatch(target) or target.count("/") not in (0, 2):
        return messages.schedule_bad_target(target)
    return None


def _coming_lines(schedule: Schedule, now: datetime) -> list[str]:
    """The next transitions on the schedule's clock, and a clock change among them."""
    steps = schedule.transitions(now, SHOWN_TRANSITIONS)
    if not steps:
        return [messages.SCHEDULE_NEVER_CHANGES]
    lines = [messages.coming_heading(schedule.zone.key)]
    lines.extend(messages.transition_line(step.action, step.at) for step in steps)
    change = clock_change(schedule, now, steps)
    if change is not None:
        lines.append(messages.clock_change(*change))
    return lines


def clock_change(
    schedule: Schedule, now: datetime, steps: Sequence[Transition]
) -> tuple[datetime, bool] | None:
    """The first change of the zone's UTC offset between `now` and the last step.

    Args:
        schedule: The schedule, for its zone.
        now: The start of the span, aware.
        steps: The transitions listed; the span ends at the last one.

    Returns:
        The local instant just after the change and True when the clocks go forward,
        or None when the offset stays the same throughout.
    """
    zone = schedule.zone
    points = [now.astimezone(UTC), *(step.at.astimezone(UTC) for step in steps)]
    for early, late in pairwise(points):
        before = early.astimezone(zone).utcoffset()
        after = late.astimezone(zone).utcoffset()
        if before is None or after is None or before == after:
            continue
        change = offset_change(zone, int(early.timestamp()), int(late.timestamp()))
        return datetime.fromtimestamp(change, zone), after > before
    return None


# --- Named schedules -------------------------------------------------------------


def _define(context: Context, request: Request, words: list[str]) -> Reply:
    usage = messages.USAGE_SCHEDULE_DEFINE
    if len(words) < 2:
        return Reply(
            Message(messages.usage_error(messages.SCHEDULE_DEFINE_WHAT, usage))
        )
    name, text = words[0], " ".join(words[1:])
    problem = name_problem(name)
    if problem is not None:
        return Reply(Message(problem))
    if not context.storage.accounts(request.team_id, request.channel_id):
        return Reply(Message(messages.NO_ACCOUNTS))
    try:
        parsed = _parse(context, request, text)
    except SnoozeError as error:
        return Reply(Message(str(error)))

    saved = context.storage.define_schedule(
        request.team_id, request.channel_id, name, parsed.text, request.user_id
    )
    followers = [
        a.target
        for a in context.storage.assignments(request.team_id, request.channel_id)
        if a.schedule.name == name
    ]
    lines = [messages.schedule_defined(request.user_id, name, saved.text)]
    if followers:
        lines.append(messages.schedule_followed_by(followers))
    lines.extend(_coming_lines(parsed, context.clock()))
    return Reply(Message("\n".join(lines), blocks.sections(lines), in_channel=True))


def name_problem(name: str) -> str | None:
    """Why `name` cannot name a schedule, or None when it can.

    Args:
        name: The proposed name.

    Returns:
        A sentence for the user, or None.
    """
    if not NAME.fullmatch(name):
        return messages.schedule_bad_name(name)
    if name in {"define", "list", "remove"}:
        return messages.schedule_name_reads_as_schedule(name)
    try:
        parse_schedule(name, "UTC")
    except ScheduleNotUnderstood:
        return None
    return messages.schedule_name_reads_as_schedule(name)


def _remove(context: Context, request: Request, words: list[str]) -> Reply:
    if len(words) != 1:
        problem = messages.SCHEDULE_REMOVE_WHAT
        return Reply(
            Message(messages.usage_error(problem, messages.USAGE_SCHEDULE_REMOVE))
        )
    word = words[0]
    team_id, channel_id = request.team_id, request.channel_id
    assigned = [a.target for a in context.storage.assignments(team_id, channel_id)]

    spelled = _spelled(word, assigned)
    if len(spelled) > 1:
        return Reply(Message(messages.schedule_remove_which(word, spelled)))
    if spelled and context.storage.unassign(team_id, channel_id, spelled[0]):
        return Reply(
            Message(
                messages.schedule_unassigned(request.user_id, word), in_channel=True
            )
        )
    name = word.lower()
    if context.storage.named_schedule(team_id, channel_id, name) is not None:
        users = context.storage.remove_named_schedule(team_id, channel_id, name)
        if users:
            return Reply(Message(messages.schedule_in_use(name, users)))
        sentence = messages.schedule_removed(request.user_id, name)
        return Reply(Message(sentence, in_channel=True))

    named = context.storage.named_schedules(team_id, channel_id)
    identifiers = [t.split("/")[2] for t in assigned if t.count("/") == 2]
    known = assigned + identifiers + [s.name for s in named if s.name]
    return Reply(
        Message(messages.schedule_nothing_to_remove(word, rules.suggest(word, known)))
    )


def _spelled(word: str, targets: Sequence[str]) -> list[str]:
    """The stored targets that `word` names.

    A tag selector names itself. A database name names the qualified targets of
    that identifier, without regard to case; several when databases of one name in
    different regions or accounts each have a schedule.
    """
    if rules.TagSelector.parse(word) is not None:
        return [word] if word in targets else []
    return [t for t in targets if t.lower() == word.lower() or _names(word, t)]


def _names(word: str, target: str) -> bool:
    if target.count("/") != 2:
        return False
    account, region, identifier = target.split("/")
    return rules.names(word, InstanceRef(account, region, identifier))


# --- Listing ---------------------------------------------------------------------


def _listing(context: Context, request: Request) -> str:
    named = context.storage.named_schedules(request.team_id, request.channel_id)
    assigned = context.storage.assignments(request.team_id, request.channel_id)
    if not named and not assigned:
        return messages.SCHEDULE_LIST_EMPTY

    lines: list[str] = []
    if named:
        lines.append(messages.SCHEDULE_LIST_NAMED)
        lines.extend(messages.schedule_named_line(s.name or "", s.text) for s in named)
    if assigned:
        lines.append(messages.SCHEDULE_LIST_ASSIGNED)
        lines.extend(
            messages.assignment_line(a.target, a.schedule.name, a.schedule.text)
            for a in assigned
        )
    return "\n".join(lines)
