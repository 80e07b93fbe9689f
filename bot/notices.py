"""The pre-stop notice: a channel message before a scheduled stop, with three buttons.

"Keep running 1 hour" and "Keep running until the next window" record an override
(with who clicked) that expires by itself, and start those of the instances that are
already stopped (by `enforce`, or by "Stop now"), as the click asked them to run;
"Stop now" stops the instances at once and ends their overrides.
The buttons carry the instances and the stop instant in their value, so a click needs
no state of its own; a replayed click is ignored through its trigger_id.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from slack_bolt import Ack, App

from bot import blocks, messages
from bot.blocks import Block
from bot.commands import Context, Message, Reply, Request
from bot.domain import OutcomeKind

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

    Every listener does its database writes, acknowledges, and only then hands the
    message to the responder: posting to the response_url can wait out 429 answers,
    and Slack shows the clicker an error when the acknowledgement takes 3 seconds.

    Args:
        app: the bolt app built by `bot.slack_app.build_app`.
        context: storage, operations and the clock.
        responder: the `bot.slack_app.Responder` that runs slow work and posts it.
    """
    from bot.scheduler import outcome_text, start_now, stop_now

    storage = context.storage

    def clicked(body: dict[str, Any]) -> tuple[Request, dict[str, Any] | None, str]:
        """Who clicked where, the button's value when it may act, what to refuse."""
        request = Request(
            team_id=str(body.get("team", {}).get("id", "")),
            channel_id=str(body.get("channel", {}).get("id", "")),
            user_id=str(body.get("user", {}).get("id", "")),
            trigger_id=str(body.get("trigger_id", "")),
        )
        action = (body.get("actions") or [{}])[0]
        data = _read(str(action.get("value", "")))
        if data is None or data.get("c") != request.channel_id:
            return request, None, messages.NOTICE_NOT_ALLOWED
        key = f"{request.team_id}:{request.trigger_id}"
        if request.trigger_id and not storage.claim_request(key):
            logger.info("replayed notice click ignored team=%s", request.team_id)
            return request, None, ""
        return request, data, ""

    def keep(
        request: Request, data: dict[str, Any], until_window: bool
    ) -> tuple[str, list[str]]:
        """Record the override; return the sentence saying so and the instances."""
        now = context.clock()
        stop_at = datetime.fromisoformat(str(data["s"]))
        until = max(now, stop_at) + KEEP_FOR
        if until_window and data.get("r"):
            until = datetime.fromisoformat(str(data["r"]))
        qualified = [str(name) for name in data["i"]]
        for name in qualified:
            storage.add_override(
                request.team_id, request.channel_id, name, until, request.user_id
            )
        logger.info(
            "keep running team=%s channel=%s user=%s until=%s count=%s",
            request.team_id,
            request.channel_id,
            request.user_id,
            until.isoformat(),
            len(qualified),
        )
        identifiers = [name.rsplit("/", 1)[-1] for name in qualified]
        text = messages.kept_running_by(request.user_id, identifiers, _clock(until))
        return text, qualified

    def start_stopped(
        request: Request, kept: str, qualified: list[str]
    ) -> list[Message]:
        """Start what is not running; the kept sentence, then what was done."""
        now = context.clock()
        outcomes, problems = start_now(
            storage,
            context.operations,
            request.team_id,
            request.channel_id,
            qualified,
            now,
            actor=f"user:{request.user_id}",
        )
        lines = [kept]
        lines += [
            f"• {outcome_text(o, now)}"
            for o in outcomes
            if o.kind is not OutcomeKind.ALREADY_RUNNING
        ]
        lines += [problem.sentence for problem in problems]
        return [Message("\n".join(lines), blocks.sections(lines), in_channel=True)]

    def reply_with(said: Sequence[Message]) -> Reply:
        return Reply(Message(""), lambda: said) if said else Reply(Message(""))

    def on_keep(ack: Ack, body: dict[str, Any], until_window: bool) -> None:
        responder.begin()
        request: Request | None = None
        reply = Reply(Message(""))
        try:
            request, data, refusal = clicked(body)
            if data is not None:
                # Database writes only, so the click is recorded before Slack hears
                # back; starting what is stopped (AWS) and the channel message come
                # after the acknowledgement.
                kept, qualified = keep(request, data, until_window)
                work = partial(start_stopped, request, kept, qualified)
                reply = Reply(Message(""), work)
            elif refusal:
                reply = reply_with([Message(refusal)])
        except Exception:
            logger.exception("notice click failed")
            reply = reply_with([Message(messages.INTERNAL_ERROR)])
        ack()
        responder.later(reply, str(body.get("response_url", "")), request)

    @app.action(KEEP_HOUR)
    def on_keep_hour(ack: Ack, body: dict[str, Any]) -> None:
        on_keep(ack, body, until_window=False)

    @app.action(KEEP_WINDOW)
    def on_keep_window(ack: Ack, body: dict[str, Any]) -> None:
        on_keep(ack, body, until_window=True)

    @app.action(STOP_NOW)
    def on_stop_now(ack: Ack, body: dict[str, Any]) -> None:
        responder.begin()
        ack()
        response_url = str(body.get("response_url", ""))
        try:
            request, data, refusal = clicked(body)
        except Exception:
            logger.exception("notice click failed")
            said = [Message(messages.INTERNAL_ERROR)]
            responder.later(reply_with(said), response_url, None)
            return
        if data is None:
            said = [Message(refusal)] if refusal else []
            responder.later(reply_with(said), response_url, request)
            return
        names = [str(name) for name in data["i"]]

        def work() -> Sequence[Message]:
            now = context.clock()
            outcomes = stop_now(
                storage,
                context.operations,
                request.team_id,
                request.channel_id,
                names,
                now,
                actor=f"user:{request.user_id}",
            )
            lines = [messages.stopped_now_by(request.user_id)]
            lines += [f"• {outcome_text(o, now)}" for o in outcomes]
            return [Message("\n".join(lines), blocks.sections(lines), in_channel=True)]

        # With the Request, a channel message the response_url refuses is kept and
        # sent again by the scheduler's poster (and shown in `/snooze history`).
        responder.later(Reply(Message(""), work), response_url, request)
