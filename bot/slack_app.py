"""The Slack side: bolt listeners that acknowledge at once and post results later.

Slack gives a command three seconds. Every listener here acknowledges with the
handler's immediate reply (database work only), then hands the AWS work to SnoozeDB's
own thread pool, not bolt's small shared one, so one slow AWS account cannot starve
other users' commands. Results go back through the command's `response_url`, which
works in DMs and in channels the bot has not joined, where chat.postMessage fails.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from bot import messages
from bot.commands import (
    Context,
    Message,
    Reply,
    Request,
    acting,
    connect,
    dispatch,
    find,
)
from bot.domain import AccountStatus, RoleArn
from bot.errors import RoleArnMalformed

logger = logging.getLogger(__name__)

CONNECT_VIEW = "connect_role_arn"
ROLE_ARN_BLOCK = "role_arn_block"
ROLE_ARN_INPUT = "role_arn"


def web_client(token: str, base_url: str) -> WebClient:
    """A Web API client that waits and retries when Slack answers 429."""
    client = WebClient(token=token, base_url=base_url)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
    return client


class UserZones:
    """Each Slack user's IANA time zone (users.info `user.tz`), remembered for an hour.

    Schedules typed without `tz` and one-off times are read on the user's clock. Any
    Slack error gives None, and the callers fall back (a schedule then asks for
    `tz ZONE`; a one-off is read in UTC and says so). Failures are not remembered.
    """

    def __init__(
        self,
        client: WebClient,
        ttl_seconds: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self._known: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def __call__(self, user_id: str) -> str | None:
        """The user's zone, or None when Slack does not say."""
        now = self.clock()
        with self._lock:
            known = self._known.get(user_id)
        if known is not None and now - known[0] < self.ttl_seconds:
            return known[1]
        try:
            response = self.client.users_info(user=user_id)
        except (SlackClientError, OSError, ValueError) as error:
            logger.warning(
                "users.info failed user=%s: %s", user_id, type(error).__name__
            )
            return None
        user = response.get("user") or {}
        zone = user.get("tz") if isinstance(user, dict) else None
        found = zone if isinstance(zone, str) and zone else None
        with self._lock:
            self._known[user_id] = (now, found)
        return found


class Responder:
    """Runs the slow part of a reply off bolt's pool and posts its messages."""

    def __init__(self, workers: int = 16) -> None:
        self.executor = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="snoozedb-work"
        )
        self._outstanding = 0
        self._idle = threading.Condition()

    def begin(self) -> None:
        """Count a reply whose slow part is about to be handed over.

        Called before `ack()`: the HTTP response leaves as soon as ack runs, so
        anyone waiting for quiet must already see this reply as outstanding.
        """
        with self._idle:
            self._outstanding += 1

    def later(self, reply: Reply, response_url: str) -> None:
        """Run `reply.later`, if any, and post what it says; follows `begin()`."""
        if reply.later is None:
            self._finish()
            return
        self.executor.submit(self._run, reply.later, response_url)

    def _finish(self) -> None:
        with self._idle:
            self._outstanding -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until every reply's slow part has posted; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._outstanding == 0, timeout)

    def _run(self, work: Callable[[], Sequence[Message]], response_url: str) -> None:
        try:
            said = work()
        except Exception:
            logger.exception("background work failed")
            said = [Message(messages.INTERNAL_ERROR)]
        try:
            for message in said:
                post(response_url, message)
        finally:
            self._finish()

    def shutdown(self) -> None:
        """Finish the work in flight, then stop."""
        self.executor.shutdown(wait=True)


def post(response_url: str, message: Message) -> bool:
    """Post one message through a response_url; False (and a warning) when Slack refused."""
    if not response_url:
        logger.warning("no response_url to post to")
        return False
    response = WebhookClient(response_url).send(
        text=message.text,
        blocks=list(message.blocks) or None,
        response_type="in_channel" if message.in_channel else "ephemeral",
    )
    if response.status_code != 200:
        logger.warning("response_url post failed with HTTP %s", response.status_code)
        return False
    return True


def _ack_with(ack: Ack, message: Message) -> None:
    ack(
        text=message.text,
        blocks=list(message.blocks) or None,
        response_type="in_channel" if message.in_channel else "ephemeral",
    )


def build_app(
    context: Context,
    *,
    signing_secret: str,
    client: WebClient,
    responder: Responder,
) -> App:
    """Create the bolt app with every listener SnoozeDB has.

    Args:
        context: the storage, operations and settings the handlers use.
        signing_secret: the Slack app's signing secret; requests not signed with it get 401.
        client: the Web API client (token and base URL already set).
        responder: where slow work runs.

    Returns:
        The app; serve it with bolt's WSGI adapter or Socket Mode.
    """
    app = App(
        signing_secret=signing_secret,
        client=client,
        token_verification_enabled=False,
        raise_error_for_unhandled_request=False,
    )
    storage = context.storage

    def first_delivery(team_id: str, key: str) -> bool:
        # Slack can deliver the same signed request twice within five minutes; a
        # state-changing one must act once, so its trigger_id is claimed first.
        return not key or storage.claim_request(f"{team_id}:{key}")

    @app.command("/snooze")
    def on_command(ack: Ack, body: dict[str, Any]) -> None:
        request = Request(
            team_id=str(body.get("team_id", "")),
            channel_id=str(body.get("channel_id", "")),
            user_id=str(body.get("user_id", "")),
            trigger_id=str(body.get("trigger_id", "")),
        )
        text = str(body.get("text", ""))
        row, words = find(text)
        must_claim = row is not None and row.changes(words)
        if must_claim and not first_delivery(request.team_id, request.trigger_id):
            logger.info("replayed command ignored team=%s", request.team_id)
            ack()
            return
        responder.begin()
        try:
            reply = dispatch(context, request, text)
        except Exception:
            logger.exception(
                "command failed team=%s user=%s", request.team_id, request.user_id
            )
            reply = Reply(Message(messages.INTERNAL_ERROR))
        _ack_with(ack, reply.now)
        responder.later(reply, str(body.get("response_url", "")))

    @app.action(connect.OPEN_MODAL)
    def on_open_connect_modal(
        ack: Ack, body: dict[str, Any], client: WebClient
    ) -> None:
        ack()
        metadata = json.dumps(
            {
                "account_id": _first_action(body).get("value", ""),
                "response_url": body.get("response_url", ""),
            }
        )
        client.views_open(trigger_id=body["trigger_id"], view=_connect_view(metadata))

    @app.view(CONNECT_VIEW)
    def on_connect_submitted(ack: Ack, body: dict[str, Any]) -> None:
        values = body.get("view", {}).get("state", {}).get("values", {})
        text = str(
            values.get(ROLE_ARN_BLOCK, {}).get(ROLE_ARN_INPUT, {}).get("value") or ""
        )
        role = RoleArn.parse(text)
        if role is None:
            ack(
                response_action="errors",
                errors={ROLE_ARN_BLOCK: str(RoleArnMalformed(text))},
            )
            return
        metadata = _json(body.get("view", {}).get("private_metadata", ""))
        team_id = str(
            body.get("team", {}).get("id", "")
            or body.get("user", {}).get("team_id", "")
        )
        user_id = str(body.get("user", {}).get("id", ""))
        account = (
            storage.account(int(metadata.get("account_id") or 0))
            if str(metadata.get("account_id", "")).isdigit()
            else None
        )
        if (
            account is None
            or account.team_id != team_id
            or account.status is not AccountStatus.PENDING
        ):
            ack(
                response_action="errors",
                errors={ROLE_ARN_BLOCK: messages.CONNECT_EXPIRED},
            )
            return
        responder.begin()
        ack()
        reply = Reply(
            Message(messages.connect_checking(role.arn)),
            lambda: connect.verify(context, account, role, user_id),
        )
        responder.later(reply, str(metadata.get("response_url", "")))

    @app.action(acting.CONFIRM)
    def on_confirm(ack: Ack, body: dict[str, Any]) -> None:
        responder.begin()
        ack()
        request = Request(
            team_id=str(body.get("team", {}).get("id", "")),
            channel_id=str(body.get("channel", {}).get("id", "")),
            user_id=str(body.get("user", {}).get("id", "")),
            trigger_id=str(body.get("trigger_id", "")),
        )
        if not first_delivery(request.team_id, request.trigger_id):
            responder.later(Reply(Message("")), "")
            return
        reply = acting.confirmed(
            context, request, str(_first_action(body).get("value", ""))
        )
        response_url = str(body.get("response_url", ""))
        post(response_url, reply.now)
        responder.later(reply, response_url)

    from bot import notices  # the scheduler's pre-stop notice buttons

    notices.register(app, context, responder)

    @app.error
    def on_error(error: Exception) -> None:
        logger.error("unhandled error in a listener: %s", type(error).__name__)

    return app


def _first_action(body: dict[str, Any]) -> dict[str, Any]:
    found = body.get("actions") or [{}]
    return dict(found[0])


def _json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _connect_view(metadata: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": CONNECT_VIEW,
        "private_metadata": metadata,
        "title": {"type": "plain_text", "text": messages.CONNECT_MODAL_TITLE},
        "submit": {"type": "plain_text", "text": messages.CONNECT_MODAL_SUBMIT},
        "blocks": [
            {
                "type": "input",
                "block_id": ROLE_ARN_BLOCK,
                "label": {"type": "plain_text", "text": messages.CONNECT_MODAL_LABEL},
                "element": {
                    "type": "plain_text_input",
                    "action_id": ROLE_ARN_INPUT,
                    "placeholder": {
                        "type": "plain_text",
                        "text": "arn:aws:iam::123456789012:role/SnoozeDBAccess",
                    },
                },
            }
        ],
    }
