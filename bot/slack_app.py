"""The Slack side: bolt listeners that acknowledge at once and post results later.

Slack gives a command three seconds. Every listener here acknowledges with the
handler's immediate reply (database work only), then hands the AWS work to SnoozeDB's
own thread pool, not bolt's small shared one, so one slow AWS account cannot starve
other users' commands. Results go back through the command's `response_url`, which
works in DMs and in channels the bot has not joined, where chat.postMessage fails.

Every Slack client here waits out 429 answers (as long as Retry-After says) and
retries 5xx answers a few times; a message that still cannot go out is logged with
its ids, never raised. A Slack answer saying the app was removed from a workspace
(`account_inactive`, `token_revoked`, `invalid_auth`), like the `app_uninstalled`
and `tokens_revoked` events, marks that team inactive until its next command.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from slack_bolt import Ack, App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
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
from bot.commands.admins import may_manage
from bot.domain import TEAM_GONE_ERRORS, AccountStatus, RoleArn
from bot.errors import RoleArnMalformed
from bot.storage import Storage

logger = logging.getLogger(__name__)

CONNECT_VIEW = "connect_role_arn"
ROLE_ARN_BLOCK = "role_arn_block"
ROLE_ARN_INPUT = "role_arn"


RATE_LIMIT_RETRIES = 3
SERVER_ERROR_RETRIES = 2
# A Retry-After longer than this is cut short: a worker thread waits, not a user.
LONGEST_WAIT_SECONDS = 60.0


def _wait(seconds: float) -> None:
    """Pause before a retry (module-level so tests can record waits instead)."""
    time.sleep(seconds)


class _RateLimitRetry(RateLimitErrorRetryHandler):
    """On 429, wait as long as Slack's Retry-After says, then try again."""

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        """Wait for Retry-After seconds (1 when Slack gives none)."""
        if response is None:
            raise error or RuntimeError("a 429 retry needs the response")
        state.next_attempt_requested = True
        seconds = 1.0
        for name, values in response.headers.items():
            if name.lower() == "retry-after" and values:
                try:
                    seconds = float(values[0])
                except ValueError:
                    seconds = 1.0
        seconds = min(max(seconds, 0.0), LONGEST_WAIT_SECONDS)
        logger.warning("Slack answered 429; retrying in %s s", seconds)
        _wait(seconds)
        state.increment_current_attempt()


class _ServerErrorRetry(ServerErrorRetryHandler):
    """On a 5xx answer, back off briefly and try again."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code >= 500

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        """Back off (0.5 s, 1 s, ... with jitter) before the next attempt."""
        state.next_attempt_requested = True
        status = response.status_code if response is not None else 0
        seconds = self.interval_calculator.calculate_sleep_duration(
            state.current_attempt
        )
        logger.warning("Slack answered HTTP %s; retrying in %.1f s", status, seconds)
        _wait(seconds)
        state.increment_current_attempt()


def retry_handlers() -> list[RetryHandler]:
    """What every Slack client retries: connection resets, 429 and 5xx answers."""
    return [
        ConnectionErrorRetryHandler(),
        _RateLimitRetry(max_retry_count=RATE_LIMIT_RETRIES),
        _ServerErrorRetry(max_retry_count=SERVER_ERROR_RETRIES),
    ]


def web_client(token: str, base_url: str) -> WebClient:
    """A Web API client that waits out 429 answers and retries 5xx answers."""
    return WebClient(token=token, base_url=base_url, retry_handlers=retry_handlers())


def slack_error(error: SlackApiError) -> str:
    """The `error` code of a Slack API refusal, such as `not_in_channel`."""
    return str(error.response.get("error", "unknown"))


def note_slack_error(storage: Storage, team_id: str, code: str) -> None:
    """Mark the team inactive when a Slack error says the app is gone from it."""
    if (
        team_id
        and code in TEAM_GONE_ERRORS
        and storage.mark_team_inactive(team_id, code)
    ):
        logger.info("team=%s marked inactive after Slack answered %s", team_id, code)


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


# usergroups.users.list's answer for a user group that no longer exists.
GROUP_GONE = "no_such_subteam"


class SlackPermissions:
    """Who is a workspace admin or owner, and who is in a user group, asked of Slack.

    `is_admin` reads users.info (`is_admin`, `is_owner`, `is_primary_owner`) and
    `group_members` usergroups.users.list; answers are remembered briefly, so a
    demotion or a member leaving a group counts within minutes. Any Slack failure
    gives None, which the command handlers turn into a refusal; failures are not
    remembered.
    """

    def __init__(
        self,
        client: WebClient,
        storage: Storage,
        *,
        admin_ttl_seconds: float = 300.0,
        group_ttl_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Wrap a Web API client that holds the bot token."""
        self.client = client
        self.storage = storage
        self.admin_ttl_seconds = admin_ttl_seconds
        self.group_ttl_seconds = group_ttl_seconds
        self.clock = clock
        self._admins: dict[tuple[str, str], tuple[float, bool]] = {}
        self._groups: dict[tuple[str, str], tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def is_admin(self, team_id: str, user_id: str) -> bool | None:
        """True for a workspace admin or owner, None when Slack does not answer."""
        key = (team_id, user_id)
        with self._lock:
            known = self._admins.get(key)
        if known is not None and self.clock() - known[0] < self.admin_ttl_seconds:
            return known[1]
        response, _ = self._ask(team_id, "users.info", user=user_id)
        user = response.get("user") if response is not None else None
        if not isinstance(user, dict):
            return None
        admin = not user.get("deleted") and any(
            user.get(flag) is True
            for flag in ("is_admin", "is_owner", "is_primary_owner")
        )
        with self._lock:
            self._admins[key] = (self.clock(), admin)
        return admin

    def group_members(self, team_id: str, group_id: str) -> frozenset[str] | None:
        """The user IDs in a user group, None when Slack does not answer."""
        key = (team_id, group_id)
        with self._lock:
            known = self._groups.get(key)
        if known is not None and self.clock() - known[0] < self.group_ttl_seconds:
            return known[1]
        response, code = self._ask(team_id, "usergroups.users.list", usergroup=group_id)
        users = response.get("users") if response is not None else None
        if code == GROUP_GONE:
            users = []  # deleted since it was named: it lets no one in, it is known
        if not isinstance(users, list):
            return None
        members = frozenset(str(user) for user in users)
        with self._lock:
            self._groups[key] = (self.clock(), members)
        return members

    def _ask(
        self, team_id: str, method: str, **params: str
    ) -> tuple[dict[str, Any] | None, str]:
        """Slack's answer, or None and the error code ("" when Slack did not answer)."""
        try:
            response = self.client.api_call(method, http_verb="GET", params=params)
        except SlackApiError as error:
            code = slack_error(error)
            note_slack_error(self.storage, team_id, code)
            logger.warning("%s failed team=%s (%s)", method, team_id, code)
            return None, code
        except (SlackClientError, OSError, ValueError) as error:
            logger.warning(
                "%s failed team=%s: %s", method, team_id, type(error).__name__
            )
            return None, ""
        data = dict(response.data) if isinstance(response.data, dict) else None
        return data, ""


class Responder:
    """Runs the slow part of a reply off bolt's pool and posts its messages.

    `storage`, when set (`build_app` sets it), keeps channel messages a response_url
    refused, so the scheduler's poster tries them again and `/snooze history` shows
    them while they wait.
    """

    def __init__(self, workers: int = 16) -> None:
        self.executor = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="snoozedb-work"
        )
        self.storage: Storage | None = None
        self._outstanding = 0
        self._idle = threading.Condition()

    def begin(self) -> None:
        """Count a reply whose slow part is about to be handed over.

        Called before the listener returns, when the HTTP response leaves, so
        anyone waiting for quiet already sees this reply as outstanding.
        """
        with self._idle:
            self._outstanding += 1

    def later(
        self,
        reply: Reply,
        response_url: str,
        where: Request | None = None,
        *,
        post_now: bool = False,
    ) -> None:
        """Run `reply.later`, if any, and post what it says; follows `begin()`.

        Args:
            reply: The handler's reply.
            response_url: Where its messages go.
            where: The team, channel and user, for logs and for keeping messages
                Slack refused.
            post_now: Post `reply.now` through the response_url first (a button
                click, whose acknowledgement carries no message).
        """
        first = reply.now if post_now else None
        if reply.later is None and first is None:
            self._finish()
            return
        work = reply.later or _nothing_more
        self.executor.submit(self._run, work, response_url, where, first)

    def _finish(self) -> None:
        with self._idle:
            self._outstanding -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until every reply's slow part has posted; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._outstanding == 0, timeout)

    def _run(
        self,
        work: Callable[[], Sequence[Message]],
        response_url: str,
        where: Request | None,
        first: Message | None = None,
    ) -> None:
        if first is not None:
            post(response_url, first, where=where, storage=self.storage)
        try:
            said = work()
        except Exception:
            logger.exception("background work failed")
            said = [Message(messages.INTERNAL_ERROR)]
        try:
            for message in said:
                post(response_url, message, where=where, storage=self.storage)
        except Exception:
            # post() catches Slack's faults; this guards the pool thread from a bug.
            logger.exception("posting a result failed")
        finally:
            self._finish()

    def shutdown(self) -> None:
        """Finish the work in flight, then stop."""
        self.executor.shutdown(wait=True)


def post(
    response_url: str,
    message: Message,
    *,
    where: Request | None = None,
    storage: Storage | None = None,
) -> bool:
    """Post one message through a response_url; never raises.

    429 answers are waited out and 5xx answers retried by the client. A message
    that still does not go out is logged as a warning with its ids; a channel
    message (not an ephemeral one, which must not turn public) is kept in `storage`
    as undelivered, to be retried with chat.postMessage and shown in history.

    Args:
        response_url: The URL Slack gave with the command or click.
        message: What to say.
        where: The team, channel and user, for the log and for keeping it.
        storage: Where a refused channel message is kept.

    Returns:
        True when Slack accepted the message.
    """
    team, channel, user = (
        (where.team_id, where.channel_id, where.user_id) if where else ("", "", "")
    )
    if not response_url:
        logger.warning("no response_url to post to team=%s channel=%s", team, channel)
        return False
    try:
        response = WebhookClient(response_url, retry_handlers=retry_handlers()).send(
            text=message.text,
            blocks=list(message.blocks) or None,
            response_type="in_channel" if message.in_channel else "ephemeral",
        )
        problem = "" if response.status_code == 200 else f"http_{response.status_code}"
    except (SlackClientError, OSError, ValueError) as error:
        problem = f"unreachable_{type(error).__name__}"
    if not problem:
        return True

    logger.warning(
        "response_url post failed team=%s channel=%s user=%s (%s)",
        team,
        channel,
        user,
        problem,
    )
    if storage is not None and where is not None and message.in_channel:
        blocks = json.dumps(list(message.blocks)) if message.blocks else ""
        kept = storage.add_notice(team, channel, message.text, blocks)
        storage.notice_failed(kept.id, f"response_url {problem}")
    return False


def _nothing_more() -> Sequence[Message]:
    return ()


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
    # Each listener runs on the request's own thread and the HTTP response leaves
    # when it returns. Every listener acknowledges after database work only and
    # hands anything that waits on Slack or AWS to the responder, so it returns at
    # once. Otherwise bolt would run listeners on its own five threads and look for
    # their ack every 10 ms: fifty commands at once would queue for those threads.
    app = App(
        signing_secret=signing_secret,
        client=client,
        token_verification_enabled=False,
        raise_error_for_unhandled_request=False,
        process_before_response=True,
    )
    storage = context.storage
    responder.storage = storage

    @app.middleware
    def refuse_malformed_payloads(
        body: dict[str, Any], next: Callable[[], BoltResponse]
    ) -> BoltResponse:
        # bolt's matchers and our listeners index payloads as Slack shapes them; a
        # signed but malformed payload is answered 400 here instead of a 500 there.
        if not well_formed(body):
            logger.warning("malformed interaction payload refused")
            return BoltResponse(status=400, body=messages.BAD_REQUEST)
        return next()

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
        if not storage.team_active(request.team_id) and storage.mark_team_active(
            request.team_id
        ):
            # A command means the app is installed again: resume posting there.
            logger.info("team=%s active again after a command", request.team_id)
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
        responder.later(reply, str(body.get("response_url", "")), request)

    @app.action(connect.OPEN_MODAL)
    def on_open_connect_modal(ack: Ack, body: dict[str, Any]) -> None:
        # The trigger_id expires three seconds after the click: the modal opens
        # first, before anything slow; the role is checked after it is submitted.
        response_url = str(body.get("response_url", ""))
        metadata = json.dumps(
            {
                "account_id": _first_action(body).get("value", ""),
                "response_url": response_url,
            }
        )
        team_id = str(body.get("team", {}).get("id", ""))
        trigger_id = str(body.get("trigger_id", ""))
        responder.begin()
        ack()
        opening = partial(open_connect_form, trigger_id, metadata, team_id)
        responder.later(Reply(Message(""), opening), response_url)

    def open_connect_form(
        trigger_id: str, metadata: str, team_id: str
    ) -> Sequence[Message]:
        """Open the form; what to tell the user in the conversation if it fails."""
        try:
            client.views_open(trigger_id=trigger_id, view=_connect_view(metadata))
        except SlackApiError as error:
            code = slack_error(error)
            note_slack_error(storage, team_id, code)
            logger.warning("views.open failed team=%s (%s)", team_id, code)
            return [Message(messages.CONNECT_FORM_FAILED)]
        except (SlackClientError, OSError) as error:
            logger.warning(
                "views.open failed team=%s: %s", team_id, type(error).__name__
            )
            return [Message(messages.CONNECT_FORM_FAILED)]
        return []

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
        if role.partition != context.own_partition:
            ack(
                response_action="errors",
                errors={ROLE_ARN_BLOCK: connect.elsewhere(context, role)},
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
            or account.status is AccountStatus.ACTIVE
        ):
            ack(
                response_action="errors",
                errors={ROLE_ARN_BLOCK: messages.CONNECT_EXPIRED},
            )
            return
        if (
            account.status is AccountStatus.NEEDS_ATTENTION
            and role.arn != account.role_arn
        ):
            # The form repairs one account: its External ID must not be attached
            # to some other role.
            problem = messages.connect_repair_other_role(account.role_arn)
            ack(response_action="errors", errors={ROLE_ARN_BLOCK: problem})
            return
        asker = Request(team_id, account.channel_id, user_id)
        refusal = may_manage(context, asker)
        if refusal is not None:
            ack(response_action="errors", errors={ROLE_ARN_BLOCK: refusal.text})
            return
        working = connect.connected_here(context, team_id, account.channel_id, role)
        if working is not None:
            problem = messages.already_connected(working, role.arn)
            ack(response_action="errors", errors={ROLE_ARN_BLOCK: problem})
            return
        responder.begin()
        ack()
        reply = Reply(
            Message(messages.connect_checking(role.arn)),
            lambda: connect.verify(context, account, role, user_id),
        )
        responder.later(reply, str(metadata.get("response_url", "")), asker)

    @app.action(acting.CONFIRM)
    def on_confirm(ack: Ack, body: dict[str, Any]) -> None:
        request = Request(
            team_id=str((body.get("team") or {}).get("id", "")),
            channel_id=str((body.get("channel") or {}).get("id", "")),
            user_id=str((body.get("user") or {}).get("id", "")),
            trigger_id=str(body.get("trigger_id", "")),
        )
        if not first_delivery(request.team_id, request.trigger_id):
            ack()
            return
        responder.begin()
        try:
            value = str(_first_action(body).get("value", ""))
            reply = acting.confirmed(context, request, value)
        except Exception:
            logger.exception("confirmation failed team=%s", request.team_id)
            reply = Reply(Message(messages.INTERNAL_ERROR))
        ack()
        response_url = str(body.get("response_url", ""))
        responder.later(reply, response_url, request, post_now=True)

    def team_gone(body: dict[str, Any], reason: str) -> None:
        # Slack retries an event it thinks was missed (X-Slack-Retry-Num); the
        # event_id is claimed so a retry does nothing, even after a reinstall.
        team_id = str(body.get("team_id", ""))
        event_id = str(body.get("event_id", ""))
        if not team_id:
            return
        if event_id and not first_delivery("event", event_id):
            logger.info("event already handled team=%s event=%s", team_id, event_id)
            return
        if storage.mark_team_inactive(team_id, reason):
            logger.info("team=%s inactive after %s; its data is kept", team_id, reason)

    @app.middleware
    def on_team_lifecycle(body: dict[str, Any], next_: Callable[[], None]) -> None:
        # Bolt acknowledges an event before its listener runs; the team is marked
        # here instead, before the answer, so a 200 means it was recorded.
        found = body.get("event") if body.get("type") == "event_callback" else None
        kind = found.get("type") if isinstance(found, dict) else None
        if kind == "app_uninstalled":
            team_gone(body, kind)
        elif kind == "tokens_revoked" and isinstance(found, dict):
            # Only the bot token matters: SnoozeDB holds no user tokens.
            tokens = found.get("tokens")
            if isinstance(tokens, dict) and tokens.get("bot"):
                team_gone(body, kind)
        next_()

    @app.event("app_uninstalled")
    @app.event("tokens_revoked")
    def on_team_event() -> None:
        """Acknowledge (done by bolt); the middleware above did the work."""

    from bot import notices  # the scheduler's pre-stop notice buttons

    notices.register(app, context, responder)

    @app.error
    def on_error(error: Exception) -> None:
        logger.error("unhandled error in a listener: %s", type(error).__name__)

    return app


def well_formed(body: object) -> bool:
    """True when an interaction payload has the shape Slack gives it.

    Only the parts SnoozeDB reads are checked: objects where Slack sends objects,
    and a list of objects for `actions`.
    """
    if not isinstance(body, dict):
        return False
    for key in ("team", "user", "channel", "view", "container", "message"):
        if body.get(key) is not None and not isinstance(body[key], dict):
            return False
    actions = body.get("actions")
    if actions is not None and not (
        isinstance(actions, list) and all(isinstance(a, dict) for a in actions)
    ):
        return False
    view = body.get("view") or {}
    state = view.get("state")
    if state is not None:
        if not isinstance(state, dict):
            return False
        values = state.get("values", {})
        if not isinstance(values, dict) or not all(
            isinstance(block, dict) and all(isinstance(v, dict) for v in block.values())
            for block in values.values()
        ):
            return False
    return True


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
