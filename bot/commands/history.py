"""`/snooze history [<db>]`: the channel's recent actions, newest first.

Each line says when (on the asker's clock), who or which schedule, what, on which
database, and how it ended, from the audit log every action writes.
"""

from __future__ import annotations

from bot import blocks, messages, planning
from bot.commands import Context, Message, Reply, Request
from bot.commands.acting import user_zone

SHOWN = 20


def handle(context: Context, request: Request, words: list[str]) -> Reply:
    """Show the recent audit entries of the channel, or of one database.

    Args:
        context: Storage and the user's zone.
        request: Who asked, and where.
        words: Optionally one DBInstanceIdentifier.

    Returns:
        The entries, for the asker only.
    """
    if len(words) > 1:
        problem = "Name at most one database."
        return Reply(Message(messages.usage_error(problem, messages.USAGE_HISTORY)))
    identifier = words[0].rsplit("/", 1)[-1] if words else None
    entries = context.storage.history(
        request.team_id, request.channel_id, identifier, limit=SHOWN
    )
    if not entries:
        return Reply(Message(messages.HISTORY_EMPTY))

    zone = user_zone(context, request.user_id)
    lines = [messages.history_heading(identifier, zone.key)]
    for entry in entries:
        at = planning.stored_utc(entry.at).astimezone(zone)
        lines.append(
            messages.history_line(
                at,
                entry.actor,
                entry.action,
                entry.instance,
                entry.outcome.value,
                entry.detail,
            )
        )
    return Reply(Message("\n".join(lines), blocks.sections(lines)))
