"""`/snooze history [<db>]`: the channel's recent actions, newest first.

Each line says when (on the asker's clock), who or which schedule, what, on which
database, and how it ended, from the audit log every action writes. Channel messages
Slack has not accepted yet are listed first.
"""

from __future__ import annotations

from bot import blocks, messages, planning
from bot.commands import Context, Message, Reply, Request
from bot.commands.acting import user_zone
from bot.rules import TagSelector, suggest

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
        problem = messages.NAME_AT_MOST_ONE_DATABASE
        return Reply(Message(messages.usage_error(problem, messages.USAGE_HISTORY)))
    if words and TagSelector.parse(words[0]) is not None:
        problem = messages.HISTORY_ONE_DATABASE
        return Reply(Message(messages.usage_error(problem, messages.USAGE_HISTORY)))
    # RDS keeps identifiers in lower case; a qualified name keeps its account.
    identifier = words[0].lower() if words else None
    storage = context.storage
    entries = storage.history(
        request.team_id, request.channel_id, identifier, limit=SHOWN
    )
    if identifier and not entries:
        recent = storage.history(request.team_id, request.channel_id, limit=200)
        qualified = "/" in identifier
        known = [
            e.instance if qualified else e.instance.rsplit("/", 1)[-1] for e in recent
        ]
        return Reply(
            Message(messages.history_none_for(identifier, suggest(identifier, known)))
        )
    undelivered = storage.undelivered_in(request.team_id, request.channel_id)
    if not entries and not undelivered:
        return Reply(Message(messages.HISTORY_EMPTY))

    zone = user_zone(context, request.user_id)
    lines: list[str] = []
    if undelivered:
        # Messages Slack refused (the bot is not in the channel, or it is archived)
        # are kept and retried; saying so here is how the channel learns of them.
        lines.append(messages.undelivered_heading(len(undelivered)))
        for notice in undelivered:
            at = planning.stored_utc(notice.created_at).astimezone(zone)
            lines.append(
                messages.undelivered_line(
                    at, notice.last_error, notice.text, notice.gave_up
                )
            )
    lines.append(messages.history_heading(identifier, zone.key))
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
