"""The pre-stop notice: a channel message before a scheduled stop, with three buttons.

"Keep running 1 hour" and "Keep running until the next window" record an override
(with who clicked) that expires by itself; "Stop now" stops the instances at once.
The buttons carry the instances and the stop instant in their value, so a click needs
no state of its own; a replayed click is ignored through its trigger_id.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_bolt import Ack, App

from bot import blocks, messages
from bot.blocks import Block
from bot.commands import Context, Message, Reply

logger = logging.getLogger(__name__)

KEEP_HOUR = "snoozedb_notice_keep_hour"
KEEP_WINDOW = "snoozedb_notice_keep_window"
STOP_NOW = "snoozedb_notice_stop_now"
KEEP_FOR = timedelta(hours=1)
_VALUE_LIMIT = 2000


def prestop(
    team_id: str,
    channel_id: str,
    qualified: Sequence[str],
    stop_at: datetime,
    reopen: datetime | None,
    minutes: int,
) -> tuple[str, list[Block]]:
    """Build the notice sent `minutes` before a scheduled stop.

    Args:
        team_id: the Slack team (not shown; kept for symmetry with other builders).
        channel_id: the channel the buttons may be pressed in.
        qualified: `account/region/identifier` of each instance to be stopped.
        stop_at: when the schedule stops them.
        reopen: when their window opens again, if it does.
        minutes: how long before the stop the notice goes out.

    Returns:
        The fallback text and the blocks.
    """
    del team_id
    identifiers = [name.rsplit("/", 1)[-1] for name in qualified]
    text = messages.prestop_notice(_clock(stop_at), minutes, identifiers)
    value = _value(channel_id, qualified, stop_at, reopen)
    buttons = [
        blocks.button(messages.NOTICE_KEEP_HOUR, KEEP_HOUR, value, style="primary"),
        blocks.button(messages.NOTICE_KEEP_WINDOW, KEEP_WINDOW, value),
        blocks.button(messages.NOTICE_STOP_NOW, STOP_NOW, value, style="danger"),
    ]
    return text, [blocks.section(text), blocks.actions(*buttons)]


def keep_running_button(
    channel_id: str, qualified: Sequence[str], now: datetime
) -> Block:
    """A "Keep running 1 hour" button, for messages after an enforced stop."""
    value = _value(channel_id, qualified, now, None)
    return blocks.actions(blocks.button(messages.NOTICE_KEEP_HOUR, KEEP_HOUR, value))


def _value(
    channel_id: str,
    qualified: Sequence[str],
    stop_at: datetime,
    reopen: datetime | None,
) -> str:
    names = list(qualified)
    while True:
        value = json.dumps(
            {
                "c": channel_id,
                "i": names,
                "s": stop_at.astimezone(UTC).isoformat(),
                "r": reopen.astimezone(UTC).isoformat() if reopen else "",
            },
            separators=(",", ":"),
        )
        # A button value holds 2,000 characters: a very long list keeps its head.
        if len(value) <= _VALUE_LIMIT or len(names) <= 1:
            return value
        names = names[:-1]


def _clock(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%H:%M UTC")


def _read(value: str) -> dict[str, Any] | None:
    try:
        data = json.loads(value)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("i"), list):
        return None
    return data


def register(app: App, context: Context, responder: Any) -> None:
    """Add the notice buttons' listeners to the bolt app.

    Args:
        app: the bolt app built by `bot.slack_app.build_app`.
        context: storage, operations and the clock.
        responder: the `bot.slack_app.Responder` that runs slow work and posts it.
    """
    from bot.scheduler import stop_now
    from bot.slack_app import post

    storage = context.storage

    def clicked(body: dict[str, Any]) -> tuple[dict[str, Any], str, str, str] | None:
        team_id = str(body.get("team", {}).get("id", ""))
        channel_id = str(body.get("channel", {}).get("id", ""))
        user_id = str(body.get("user", {}).get("id", ""))
        action = (body.get("actions") or [{}])[0]
        data = _read(str(action.get("value", "")))
        response_url = str(body.get("response_url", ""))
        if data is None or data.get("c") != channel_id:
            post(response_url, Message(messages.NOTICE_NOT_ALLOWED))
            return None
        trigger = str(body.get("trigger_id", ""))
        if trigger and not storage.claim_request(f"{team_id}:{trigger}"):
            logger.info("replayed notice click ignored team=%s", team_id)
            return None
        return data, team_id, channel_id, user_id

    def keep(body: dict[str, Any], until_window: bool) -> None:
        found = clicked(body)
        if found is None:
            return
        data, team_id, channel_id, user_id = found
        now = context.clock()
        stop_at = datetime.fromisoformat(str(data["s"]))
        until = max(now, stop_at) + KEEP_FOR
        if until_window and data.get("r"):
            until = datetime.fromisoformat(str(data["r"]))
        qualified = [str(name) for name in data["i"]]
        for name in qualified:
            storage.add_override(team_id, channel_id, name, until, user_id)
        logger.info(
            "keep running team=%s channel=%s user=%s until=%s count=%s",
            team_id,
            channel_id,
            user_id,
            until.isoformat(),
            len(qualified),
        )
        identifiers = [name.rsplit("/", 1)[-1] for name in qualified]
        text = messages.kept_running_by(user_id, identifiers, _clock(until))
        post(str(body.get("response_url", "")), Message(text, in_channel=True))

    @app.action(KEEP_HOUR)
    def on_keep_hour(ack: Ack, body: dict[str, Any]) -> None:
        # Database writes only, so the click is recorded before Slack hears back.
        keep(body, until_window=False)
        ack()

    @app.action(KEEP_WINDOW)
    def on_keep_window(ack: Ack, body: dict[str, Any]) -> None:
        # Database writes only, so the click is recorded before Slack hears back.
        keep(body, until_window=True)
        ack()

    @app.action(STOP_NOW)
    def on_stop_now(ack: Ack, body: dict[str, Any]) -> None:
        responder.begin()
        ack()
        found = clicked(body)
        response_url = str(body.get("response_url", ""))
        if found is None:
            responder.later(Reply(Message("")), response_url)
            return
        data, team_id, channel_id, user_id = found

        def work() -> Sequence[Message]:
            outcomes = stop_now(
                storage,
                context.operations,
                team_id,
                channel_id,
                [str(name) for name in data["i"]],
                context.clock(),
            )
            lines = [messages.stopped_now_by(user_id)]
            lines += [f"• {messages.outcome_sentence(o)}" for o in outcomes]
            return [Message("\n".join(lines), blocks.sections(lines), in_channel=True)]

        responder.later(Reply(Message(""), work), response_url)
