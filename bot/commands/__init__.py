"""The `/snooze` subcommands: one module each, and the one table that dispatches them.

A handler parses its words, checks who may, and returns a `Reply` at once: what the
user sees within Slack's three seconds, and optionally `later`, the slow part (AWS
calls) that the Slack layer runs outside bolt's listener pool and posts when done.
Handlers know nothing of bolt or HTTP, so they are tested as plain functions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot import messages
from bot.domain import Assignment, SavedSchedule
from bot.operations import Operations
from bot.storage import Storage

Block = dict[str, Any]


# A channel's assignments, and its saved schedules by name.
ChannelSchedules = tuple[list[Assignment], dict[str, SavedSchedule]]


@dataclass(frozen=True)
class Request:
    """Who typed the command, and where."""

    team_id: str
    channel_id: str
    user_id: str
    trigger_id: str = ""


@dataclass(frozen=True)
class Message:
    """Something the bot says: for the asker only, or in the channel for everyone."""

    text: str
    blocks: Sequence[Block] = ()
    in_channel: bool = False


@dataclass(frozen=True)
class Reply:
    """The immediate answer, and the slow work whose messages follow."""

    now: Message
    later: Callable[[], Sequence[Message]] | None = None


def _no_zone(user_id: str) -> str | None:
    return None


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _not_known(team_id: str, subject_id: str) -> None:
    return None


@dataclass
class Context:
    """What handlers need: the tables, the AWS operations, and a few settings.

    `own_partition` is the AWS partition SnoozeDB runs in; roles elsewhere are out
    of its reach. `user_zone` names a Slack user's IANA zone (None when unknown); `clock` gives the
    current instant, so tests fix time instead of reading the wall clock.
    `is_admin(team_id, user_id)` says whether a user is a workspace admin or owner,
    and `group_members(team_id, group_id)` who is in a user group; both give None
    when Slack cannot say, and the caller refuses.
    """

    storage: Storage
    operations: Operations
    own_account_id: str
    own_partition: str = "aws"
    template_url: str = ""
    extras: dict[str, Any] = field(default_factory=dict)
    user_zone: Callable[[str], str | None] = _no_zone
    clock: Callable[[], datetime] = _utc_now
    is_admin: Callable[[str, str], bool | None] = _not_known
    group_members: Callable[[str, str], frozenset[str] | None] = _not_known

    def channel_schedules(self, request: Request) -> ChannelSchedules:
        """The channel's assignments, and its saved schedules by name, as planning
        reads them (a schedule without a name is only an assignment's text)."""
        storage, team_id, channel_id = self.storage, request.team_id, request.channel_id
        saved = storage.named_schedules(team_id, channel_id)
        named = {s.name: s for s in saved if s.name}
        return storage.assignments(team_id, channel_id), named


Handler = Callable[[Context, Request, list[str]], Reply]


@dataclass(frozen=True)
class Subcommand:
    """One row of the dispatch table."""

    name: str
    handler: Handler
    usage: str
    summary: str
    changes_state: bool = False
    aliases: tuple[str, ...] = ()
    read_only_words: tuple[str, ...] = ()

    def changes(self, words: Sequence[str]) -> bool:
        """True when these words change state, so a replayed request must act once.

        Args:
            words: The words after the subcommand.

        Returns:
            `changes_state`, except for the read-only forms (`/snooze schedule list`).
        """
        first = words[0].lower() if words else ""
        return self.changes_state and first not in self.read_only_words


def _table() -> dict[str, Subcommand]:
    from bot.commands import (
        admins,
        connect,
        disconnect,
        explain,
        help,
        history,
        next,
        notice,
        schedule,
        start,
        status,
        stop,
    )

    rows = [
        Subcommand(
            "connect",
            connect.handle,
            messages.USAGE_CONNECT,
            messages.SUMMARY_CONNECT,
            changes_state=True,
        ),
        Subcommand(
            "disconnect",
            disconnect.handle,
            messages.USAGE_DISCONNECT,
            messages.SUMMARY_DISCONNECT,
            changes_state=True,
        ),
        Subcommand(
            "status",
            status.handle,
            messages.USAGE_STATUS,
            messages.SUMMARY_STATUS,
            aliases=("list",),
        ),
        Subcommand(
            "stop",
            stop.handle,
            messages.USAGE_STOP,
            messages.SUMMARY_STOP,
            changes_state=True,
        ),
        Subcommand(
            "start",
            start.handle,
            messages.USAGE_START,
            messages.SUMMARY_START,
            changes_state=True,
        ),
        Subcommand(
            "schedule",
            schedule.handle,
            messages.USAGE_SCHEDULE,
            messages.SUMMARY_SCHEDULE,
            changes_state=True,
            read_only_words=("list",),
        ),
        Subcommand("next", next.handle, messages.USAGE_NEXT, messages.SUMMARY_NEXT),
        Subcommand(
            "notice",
            notice.handle,
            messages.USAGE_NOTICE,
            messages.SUMMARY_NOTICE,
            changes_state=True,
        ),
        Subcommand(
            "explain", explain.handle, messages.USAGE_EXPLAIN, messages.SUMMARY_EXPLAIN
        ),
        Subcommand(
            "history", history.handle, messages.USAGE_HISTORY, messages.SUMMARY_HISTORY
        ),
        Subcommand(
            "admins",
            admins.handle,
            messages.USAGE_ADMINS,
            messages.SUMMARY_ADMINS,
            changes_state=True,
            read_only_words=("list",),
        ),
        Subcommand("help", help.handle, messages.USAGE_HELP, messages.SUMMARY_HELP),
    ]
    table: dict[str, Subcommand] = {}
    for row in rows:
        table[row.name] = row
        for alias in row.aliases:
            table[alias] = row
    return table


SUBCOMMANDS: dict[str, Subcommand] = _table()


def subcommands() -> list[Subcommand]:
    """Each subcommand once, in the order `/snooze help` lists them."""
    seen: list[Subcommand] = []
    for row in SUBCOMMANDS.values():
        if row not in seen:
            seen.append(row)
    return seen


# Slack turns an e-mail address or a web address typed in a command into a link,
# `<mailto:ada@example.com|ada@example.com>`; its label is what the user typed.
_TYPED_LINK = re.compile(r"<(?:mailto:|https?://)[^<>|\s]*\|([^<>|]*)>")


_QUOTED = re.compile(r'"([^"]*)"|\u201c([^\u201c\u201d]*)\u201d')
# A word runs to the next blank outside quotes; a quote left open is an ordinary
# character.
_WORD = re.compile(r'(?:"[^"]*"|\u201c[^\u201c\u201d]*\u201d|\S)+')


def _inside(quoted: re.Match[str]) -> str:
    straight, curly = quoted.groups()
    return straight if straight is not None else curly


def find(text: str) -> tuple[Subcommand | None, list[str]]:
    """Split the text after `/snooze` into its subcommand and the remaining words.

    Links Slack made of typed addresses become the text typed (an `owner` tag
    holding an e-mail address can then be selected); mentions stay as they came.
    Text in double quotes, straight or curly as a phone types them, stays one word
    without its quotes: `tag:Name="Staging DB"`.
    """
    typed = _TYPED_LINK.sub(r"\1", text)
    words = [_QUOTED.sub(_inside, word) for word in _WORD.findall(typed)]
    words = [word for word in words if word]
    if not words:
        return SUBCOMMANDS["help"], []
    return SUBCOMMANDS.get(words[0].lower()), words[1:]


def dispatch(context: Context, request: Request, text: str) -> Reply:
    """Answer `/snooze <text>`; unknown words get one sentence and a suggestion."""
    row, words = find(text)
    if row is None:
        from bot.rules import suggest

        name = text.split()[0]
        return Reply(
            Message(
                messages.unknown_subcommand(name, suggest(name.lower(), SUBCOMMANDS))
            )
        )
    return row.handler(context, request, words)
