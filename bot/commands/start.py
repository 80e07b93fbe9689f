"""`/snooze start <db>`: start a database now."""

from __future__ import annotations

from bot.commands import Context, Reply, Request, acting
from bot.domain import Action


def handle(context: Context, request: Request, words: list[str]) -> Reply:
    """Start the database (or every database a tag selector matches)."""
    return acting.handle(context, request, words, Action.START)
