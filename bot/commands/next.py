"""`/snooze next`: the channel's coming actions, from schedules and one-offs.

Needs no AWS: direct targets are listed by name, tag selectors by their tag ("databases
tagged `team=qa`") rather than by scanning for the instances they match today. Times
of a schedule are shown on its own clock; a one-off's on the asker's clock.
"""

from __future__ import annotations

from bot import blocks, messages, planning
from bot.commands import Context, Message, Reply, Request
from bot.commands.acting import user_zone

SHOWN = 10


def handle(context: Context, request: Request, words: list[str]) -> Reply:
    """List the next actions of the channel, soonest first.

    Args:
        context: Storage, the user's zone and the clock.
        request: Who asked, and where.
        words: Nothing is expected after `next`.

    Returns:
        The list, for the asker only.
    """
    if words:
        return Reply(
            Message(messages.usage_error(messages.TYPE_IT_ALONE, messages.USAGE_NEXT))
        )
    storage = context.storage
    assignments = storage.assignments(request.team_id, request.channel_id)
    one_offs = storage.one_offs(request.team_id, request.channel_id)
    found = planning.coming(assignments, one_offs, context.clock(), count=SHOWN)
    if not found:
        return Reply(Message(messages.NEXT_EMPTY))

    zone = user_zone(context, request.user_id) if one_offs else None
    lines = [messages.NEXT_HEADING]
    for step in found:
        if step.one_off is not None and zone is not None:
            why = messages.next_by_one_off(step.one_off.created_by)
            lines.append(
                messages.next_line(
                    step.at.astimezone(zone), step.action, step.target, why
                )
            )
        elif step.saved is not None:
            why = messages.next_by_schedule(step.saved.name, step.saved.text)
            lines.append(messages.next_line(step.at, step.action, step.target, why))
    return Reply(Message("\n".join(lines), blocks.sections(lines)))
