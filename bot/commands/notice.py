"""`/snooze notice [<minutes>]`: how long before a scheduled stop the channel is warned.

The warning is the scheduler's pre-stop notice with its keep-running buttons; 15
minutes unless the channel changes it, 0 for none. Like stop and start, anyone in
the channel may change it: the setting belongs to the channel the command is typed
in, and the change is announced there so the whole team sees who made it.
"""

from __future__ import annotations

from bot import messages
from bot.commands import Context, Message, Reply, Request

# Two hours is as far ahead as a warning still means "this is about to happen".
MAX_MINUTES = 120


def handle(context: Context, request: Request, words: list[str]) -> Reply:
    """Show the channel's notice lead time, or set it.

    Args:
        context: Storage.
        request: Who typed it, and where.
        words: Nothing to show the value, or one number of minutes (0 to 120).

    Returns:
        The current value for the asker only, or the change for the channel.
    """
    storage = context.storage
    if not words:
        minutes = storage.notice_minutes(request.team_id, request.channel_id)
        return Reply(Message(messages.notice_current(minutes)))
    if len(words) > 1:
        problem = messages.NOTICE_ONE_NUMBER
        return Reply(Message(messages.usage_error(problem, messages.USAGE_NOTICE)))

    wanted = _minutes(words[0])
    if wanted is None:
        return Reply(Message(messages.notice_not_minutes(words[0], MAX_MINUTES)))
    storage.set_notice_minutes(request.team_id, request.channel_id, wanted)

    said = messages.notice_set(request.user_id, wanted)
    return Reply(Message(said, in_channel=True))


def _minutes(word: str) -> int | None:
    """The minutes a word names (`30`, `30m`, `30min`, `off`), or None."""
    text = word.lower()
    if text == "off":
        return 0
    for unit in ("minutes", "minute", "mins", "min", "m"):
        if text.endswith(unit):
            text = text.removesuffix(unit)
            break
    if not (text.isascii() and text.isdigit()) or len(text) > 3:
        return None
    minutes = int(text)
    return minutes if minutes <= MAX_MINUTES else None
