"""`/snooze explain <db>`: which schedule applies to a database, why, and what is next.

The instance's tags come from AWS (one survey, after the acknowledgement); the rest is
`bot.planning`, which also fixes the precedence: a pending one-off, then a keep-running
override, then a direct assignment, then the newest matching tag selector, then the
instance's `snoozedb:schedule` tag.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot import blocks, messages, planning, rules
from bot.commands import Context, Message, Reply, Request
from bot.commands.acting import user_zone
from bot.domain import Instance
from bot.errors import SnoozeError
from bot.planning import Applicable, Source
from bot.schedule import Desired


def handle(context: Context, request: Request, words: list[str]) -> Reply:
    """Explain the plan for one database.

    Args:
        context: Storage, operations, the user's zone and the clock.
        request: Who asked, and where.
        words: One DBInstanceIdentifier or `account/region/identifier`.

    Returns:
        The acknowledgement; the explanation follows once AWS has answered.
    """
    if len(words) != 1 or rules.TagSelector.parse(words[0]) is not None:
        if not words:
            problem = "Name the database."
        elif len(words) > 1:
            problem = messages.EXPLAIN_ONE_ONLY
        else:
            problem = messages.EXPLAIN_ONE
        return Reply(Message(messages.usage_error(problem, messages.USAGE_EXPLAIN)))
    if not context.storage.accounts(request.team_id, request.channel_id):
        return Reply(Message(messages.NO_ACCOUNTS))
    target = words[0]
    return Reply(
        Message(messages.explain_checking(target)),
        lambda: explain(context, request, target),
    )


def explain(context: Context, request: Request, target: str) -> Sequence[Message]:
    """Find the instance, then say what applies to it (the slow half).

    Args:
        context: Storage, operations, the user's zone and the clock.
        request: Who asked, and where.
        target: The database as typed.

    Returns:
        One message for the asker.
    """
    storage = context.storage
    accounts = storage.accounts(request.team_id, request.channel_id)
    survey = context.operations.survey(accounts, "explain")
    try:
        [instance] = rules.resolve(target, survey.instances)
    except SnoozeError as error:
        said = [Message(problem.sentence) for problem in survey.problems]
        return said or [Message(str(error))]

    now = context.clock()
    assignments, named = context.channel_schedules(request)
    plan = planning.applicable(
        instance,
        assignments,
        named,
        storage.one_offs(request.team_id, request.channel_id),
        storage.overrides(request.team_id, now),
        now,
    )
    lines = _lines(context, request, instance, plan, list(named))
    return [Message("\n".join(lines), blocks.sections(lines))]


def _lines(
    context: Context,
    request: Request,
    instance: Instance,
    plan: Applicable | None,
    names: list[str],
) -> list[str]:
    where = f"`{instance.identifier}` ({instance.ref.region})"
    if plan is None:
        tagged = planning.tagged_name(instance)
        if tagged is not None:
            suggestions = rules.suggest(tagged, names)
            return [messages.explain_unknown_tag(where, tagged, suggestions)]
        return [messages.explain_nothing(where)]

    zone = user_zone(context, request.user_id)
    lines = []
    base = plan.underlying
    scheduled = base is not None
    one_off, override = plan.one_off, plan.override
    if one_off is not None:
        until = planning.stored_utc(one_off.due_at).astimezone(zone)
        lines.append(
            messages.explain_one_off(
                where,
                one_off.created_by,
                one_off.action,
                until,
                scheduled=scheduled,
                way_back=planning.way_back_wanted(
                    one_off.action,
                    planning.stored_utc(one_off.due_at),
                    base,
                    excluded=instance.excluded,
                ),
            )
        )
    elif override is not None:
        until = planning.stored_utc(override.until).astimezone(zone)
        lines.append(
            messages.explain_override(
                where, override.created_by, until, scheduled=scheduled
            )
        )
    if base is not None:
        lines.append(_origin(where, base))
    lines.append(messages.explain_desired(plan.desired.value))
    if one_off is None and override is None and not instance.excluded:
        running = instance.status == "available"
        stopped = instance.status == "stopped"
        if (running and plan.desired is Desired.STOPPED) or (
            stopped and plan.desired is Desired.RUNNING
        ):
            lines.append(messages.explain_state_differs(running))
    if plan.next:
        zone_key = base.schedule.zone.key if base is not None else zone.key
        lines.append(messages.coming_heading(zone_key))
        for step in plan.next:
            shown = step.at.astimezone(base.schedule.zone if base else zone)
            lines.append(messages.transition_line(step.action, shown))
    if instance.excluded:
        lines.append(messages.EXPLAIN_EXCLUDED)
    return lines


def _origin(where: str, base: planning.Underlying) -> str:
    saved = base.saved
    match base.source:
        case Source.DIRECT:
            user = base.assignment.created_by if base.assignment else ""
            return messages.explain_direct(
                where, base.origin, saved.name, saved.text, user
            )
        case Source.TAG_SELECTOR:
            return messages.explain_selector(where, base.origin, saved.name, saved.text)
        case _:
            return messages.explain_tagged(where, base.origin, saved.name, saved.text)
