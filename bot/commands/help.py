"""`/snooze help` (and a bare `/snooze`): every subcommand, from the dispatch table."""

from __future__ import annotations

from bot import blocks, messages
from bot.commands import Context, Message, Reply, Request


def handle(context: Context, request: Request, words: list[str]) -> Reply:
    """List every subcommand with its usage and what it does."""
    from bot.commands import subcommands

    lines = [
        messages.help_line(row.usage, row.summary, row.aliases) for row in subcommands()
    ]
    text = messages.HELP_TITLE + "\n" + "\n".join(lines)
    return Reply(
        Message(text, [blocks.section(messages.HELP_TITLE), *blocks.sections(lines)])
    )
