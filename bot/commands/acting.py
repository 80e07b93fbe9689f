"""What `/snooze stop` and `/snooze start` share: act now, report every outcome.

The result goes to the channel and names who asked, since stopping a shared database
is something the whole team should be able to see. Errors go to the asker only.

A one-off (`/snooze stop db for 3h`, `/snooze start db until 18:00`) acts now the same
way, then persists the way back (a start after a stop, a stop after a start) for each
instance that ended in the wanted state; the scheduler carries it out when due, even
after a restart. `until` times are read on the user's clock (Slack's users.info), or
UTC when the zone is unknown; the reply names the zone. A plain stop or start cancels
a pending way back of the instances it acted on, and any stop ends their keep-running
overrides: the latest request wins.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot import blocks, messages, planning
from bot.commands import ChannelSchedules, Context, Message, Reply, Request
from bot.domain import Action, Outcome, OutcomeKind
from bot.errors import SnoozeError
from bot.operations import ActionReport
from bot.rules import TagSelector, could_name_instances
from bot.snooze_time import resolve_until

CONFIRM = "confirm_action"


def handle(
    context: Context, request: Request, words: list[str], action: Action
) -> Reply:
    """Parse `<db> [for DURATION | until TIME]` and act outside the three-second window.

    Args:
        context: Storage, operations, the user's zone and the clock.
        request: Who typed it, and where.
        words: The words after `stop` or `start`.
        action: Stop or start.

    Returns:
        The acknowledgement, and the work that acts and reports.
    """
    usage = messages.USAGE_STOP if action is Action.STOP else messages.USAGE_START
    if not words:
        return Reply(Message(messages.usage_error(messages.NAME_THE_DATABASE, usage)))
    if len(words) > 1 and words[1].lower() not in ("for", "until"):
        if words[0].lower().startswith("tag:"):
            return Reply(Message(messages.selector_with_spaces(action)))
        return Reply(Message(messages.one_off_usage(action)))
    accounts = context.storage.accounts(request.team_id, request.channel_id)
    if not accounts:
        return Reply(Message(messages.NO_ACCOUNTS))

    target = words[0]
    refusal = target_refusal(target)
    if refusal is not None:
        return Reply(Message(refusal))
    until: datetime | None = None
    if len(words) > 1:
        zone = user_zone(context, request.user_id)
        try:
            until = resolve_until(" ".join(words[1:]), context.clock(), zone)
        except SnoozeError as error:
            return Reply(Message(str(error)))
    said = (
        messages.working(action, target)
        if until is None
        else messages.working_until(action, target, until)
    )
    return Reply(
        Message(said),
        lambda: run(context, request, action, target, confirmed=False, until=until),
    )


def user_zone(context: Context, user_id: str) -> ZoneInfo:
    """The user's zone from Slack, or UTC when it is unknown or not an IANA name.

    Args:
        context: Holds the `user_zone` resolver.
        user_id: The Slack user.

    Returns:
        The zone to read and show the user's times in.
    """
    name = context.user_zone(user_id)
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo("UTC")


def run(
    context: Context,
    request: Request,
    action: Action,
    target: str,
    *,
    confirmed: bool,
    until: datetime | None = None,
) -> Sequence[Message]:
    """Act on `target` in the channel's accounts and turn the report into messages.

    Args:
        context: Storage and operations.
        request: Who asked, and where.
        action: Stop or start.
        target: Identifier, `account/region/identifier` or `tag:KEY=VALUE`.
        confirmed: The person confirmed acting on an excluded instance.
        until: For a one-off, when to act the other way; None for a plain action.

    Returns:
        The channel post of outcomes, confirmation requests and problems.
    """
    accounts = context.storage.accounts(request.team_id, request.channel_id)
    if not accounts:
        return [Message(messages.NO_ACCOUNTS)]
    try:
        report = context.operations.act(
            accounts,
            target,
            action,
            actor=f"user:{request.user_id}",
            manual=TagSelector.parse(target) is None,
            now=context.clock(),
            confirmed=confirmed,
        )
    except SnoozeError as error:
        return [Message(str(error))]
    _remember_way_back(context, request, report, until)
    notes: list[str] = []
    dropped: list[str] = []
    # The channel's schedules matter to a start (enforce) and to a one-off's end.
    if until is not None or report.action is Action.START:
        schedules = context.channel_schedules(request)
        notes = _enforce_notes(context, request, report, schedules)
        if until is not None:
            dropped = _ways_back_dropped(report, until, schedules)
    return report_messages(
        report, request.user_id, until, [*dropped, *notes], dropped=len(dropped)
    )


def _ways_back_dropped(
    report: ActionReport,
    until: datetime,
    schedules: ChannelSchedules,
) -> list[str]:
    """Say of each acted instance whose schedule takes over when the one-off ends.

    The scheduler does not carry out such a way back (`planning.way_back_wanted`);
    the reply says so instead of promising it.
    """
    acted = {o.ref.qualified for o in report.outcomes if o.kind.succeeded}
    back = Action.START if report.action is Action.STOP else Action.STOP
    assignments, named = schedules
    said = []
    for instance in report.instances:
        if instance.ref.qualified not in acted:
            continue
        base = planning.underlying(instance, assignments, named)
        wanted = planning.way_back_wanted(back, until, base, excluded=instance.excluded)
        if not wanted:
            said.append(messages.way_back_dropped(instance.ref, back, until))
    return said


def _remember_way_back(
    context: Context, request: Request, report: ActionReport, until: datetime | None
) -> None:
    """Persist (or, for a plain action, cancel) the way back of each acted instance.

    A stop also ends the instance's keep-running overrides: it is no longer kept.
    """
    storage = context.storage
    landed = [o.ref.qualified for o in report.outcomes if o.kind.succeeded]
    if report.action is Action.STOP:
        storage.end_overrides(request.team_id, landed, context.clock())
    for outcome in report.outcomes:
        if not outcome.kind.succeeded:
            continue
        if until is None:
            storage.cancel_one_off(request.team_id, outcome.ref.qualified)
            continue
        back = Action.START if report.action is Action.STOP else Action.STOP
        storage.add_one_off(
            request.team_id,
            request.channel_id,
            outcome.ref.qualified,
            back,
            until,
            request.user_id,
        )


def _enforce_notes(
    context: Context,
    request: Request,
    report: ActionReport,
    schedules: ChannelSchedules,
) -> list[str]:
    """Warn about each started instance an `enforce` schedule will stop again."""
    started = {
        o.ref.qualified
        for o in report.outcomes
        if o.action is Action.START and o.kind.succeeded
    }
    if not started:
        return []
    storage = context.storage
    now = context.clock()
    assignments, named = schedules
    one_offs = storage.one_offs(request.team_id)
    overrides = storage.overrides(request.team_id, now)
    notes = []
    for instance in report.instances:
        if instance.ref.qualified not in started:
            continue
        plan = planning.applicable(
            instance, assignments, named, one_offs, overrides, now, count=1
        )
        if planning.enforce_stops_again(instance, plan):
            typed = TagSelector.parse(report.target) is None
            name = report.target if typed else instance.identifier
            notes.append(messages.enforce_stops_again(instance.ref, name))
    return notes


def report_messages(
    report: ActionReport,
    user_id: str,
    until: datetime | None = None,
    notes: Sequence[str] = (),
    *,
    dropped: int = 0,
) -> list[Message]:
    """The channel post of outcomes, plus confirmation requests and problems.

    Args:
        report: What the operation produced.
        user_id: Who asked.
        until: A one-off's end, None for a plain action. The post names the way back
            when an instance ended in the wanted state (so it was persisted), and a
            confirmation button carries it, so confirming keeps it.
        notes: Sentences added to the channel post, after the outcomes.
        dropped: How many acted instances get no way back, as `notes` say; the
            sentence promising one then speaks of the others, or is left out.

    Returns:
        The messages, the channel post first.
    """
    said: list[Message] = []
    public = [
        o for o in report.outcomes if o.kind is not OutcomeKind.NEEDS_CONFIRMATION
    ]
    if public:
        lines = [messages.action_heading(user_id, report.action, report.target)]
        lines.extend(messages.outcome_sentence(o) for o in public)
        succeeded = sum(1 for o in public if o.kind.succeeded)
        if until is not None and succeeded > dropped:
            back = Action.START if report.action is Action.STOP else Action.STOP
            lines.append(messages.way_back(back, until, others=dropped > 0))
        lines.extend(notes)
        said.append(Message("\n".join(lines), blocks.sections(lines), in_channel=True))
    for outcome in report.outcomes:
        if outcome.kind is OutcomeKind.NEEDS_CONFIRMATION:
            said.append(_confirmation(outcome, until))
    for problem in report.problems:
        said.append(Message(problem.sentence, in_channel=problem.newly_broken))
    if not report.outcomes and not report.problems:
        said.append(Message(messages.nothing_matched(report.target)))
    return said


def _confirmation(outcome: Outcome, until: datetime | None) -> Message:
    sentence = messages.outcome_sentence(outcome)
    chosen = {"action": outcome.action.value, "target": outcome.ref.qualified}
    if until is not None:
        chosen["until"] = until.isoformat()
    value = json.dumps(chosen)
    button = blocks.button(
        messages.confirm_button(outcome.action), CONFIRM, value, style="danger"
    )
    return Message(sentence, [blocks.section(sentence), blocks.actions(button)])


def confirmed(context: Context, request: Request, value: str) -> Reply:
    """The "Stop anyway" button: act on the excluded instance it names.

    The button carries a one-off's end as an instant, so confirming `stop DB for 2h`
    also saves the way back; a button without one (a plain stop) acts plainly.
    """
    try:
        chosen = json.loads(value)
        action = Action(chosen["action"])
        target = str(chosen["target"])
        until = _instant(chosen["until"]) if "until" in chosen else None
    except (ValueError, KeyError, TypeError, OverflowError):
        return Reply(Message(messages.confirm_expired()))
    if until is not None:
        until = until.astimezone(user_zone(context, request.user_id))
        if until <= context.clock():
            return Reply(Message(messages.confirm_too_late(action, until)))
    said = (
        messages.working(action, target)
        if until is None
        else messages.working_until(action, target, until)
    )
    return Reply(
        Message(said),
        lambda: run(context, request, action, target, confirmed=True, until=until),
    )


def _instant(text: object) -> datetime:
    """An aware instant written by `_confirmation`; ValueError for anything else."""
    moment = datetime.fromisoformat(str(text))
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("the instant carries no offset")
    return moment.astimezone(UTC)


def target_refusal(target: str) -> str | None:
    """Why `target` can name no database, said before any AWS call; None if it can."""
    if target.lower().startswith("tag:") and TagSelector.parse(target) is None:
        return messages.bad_selector(target)
    if not could_name_instances(target):
        return messages.not_an_identifier(target)
    return None
