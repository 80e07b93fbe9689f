"""A local stand-in for Slack: the Web API, response_urls, and Slack's signed requests.

`SlackStandIn` is a real HTTP server on 127.0.0.1 that answers `slack_sdk.WebClient`
calls and response_url posts the way Slack does, records every call, and can be told
to fail, rate-limit or break a method. `SignedRequests` plays Slack's side of the bot's
own endpoint: slash commands, button clicks and modal submissions, signed with the
signing secret. `render` turns a message body into the text a person reads in Slack.

The test suite and the offline demo (`snoozedb demo`) both run on these, so nothing
here may reach the real Slack.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import logging
import re
import secrets
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk.signature import SignatureVerifier

logger = logging.getLogger(__name__)

TEAM_ID = "T1"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
APP_ID = "A0STANDIN"
# Slack's deprecated verification token, sent in payloads; a fake, never checked.
VERIFICATION_TOKEN = "standin-verification-token"  # noqa: S105

# Slack lets a response_url be used five times (within 30 minutes).
RESPONSE_URL_USES = 5

# Parameters Slack accepts as JSON text inside a form-encoded body.
_JSON_PARAMS = frozenset({"blocks", "attachments", "view", "metadata"})

# Methods whose successful calls put text in front of a user.
_USER_VISIBLE_METHODS = frozenset(
    {"chat.postMessage", "chat.postEphemeral", "chat.update"}
)

# An address that refuses connections, for payloads built without a stand-in: a bot
# under test must never be handed a response_url that leads to the real Slack.
_NOWHERE_RESPONSE_URL = "http://127.0.0.1:9/responses/none"


@dataclass(frozen=True)
class WebApiCall:
    """One call the stand-in received on its Web API.

    Attributes:
        method: The Web API method, such as `chat.postMessage`.
        params: Query, form and JSON parameters merged; JSON text in `blocks`,
            `attachments`, `view` and `metadata` is decoded.
        token: The bearer token sent (or the legacy `token` parameter), if any.
        ok: Whether the stand-in answered with success.
    """

    method: str
    params: dict[str, Any]
    token: str | None
    ok: bool = True


@dataclass(frozen=True)
class ResponsePost:
    """One post the stand-in received on a response_url.

    Attributes:
        url: The response_url posted to.
        body: The JSON body (text, blocks, response_type, replace_original...).
        ok: Whether the stand-in accepted it.
    """

    url: str
    body: dict[str, Any]
    ok: bool = True


Record = WebApiCall | ResponsePost


@dataclass
class _Fault:
    """A programmed misbehaviour for the next `times` calls of one method."""

    status: int
    error: str
    times: int
    retry_after: int | None = None


@dataclass
class _Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class SlackStandIn:
    """A local HTTP server that plays the Slack Web API and response_urls.

    Use it as a context manager; pass `base_url` to `WebClient(base_url=...)` (or set
    SLACK_API_URL), and hand out `new_response_url()` where Slack would give one.

    Attributes:
        users: Profiles served by `users.info`, by user ID: `tz`, `is_admin`,
            `real_name` and any other field to return. Unknown users get tz "UTC".
        channels: Extra fields served by `conversations.info`, by channel ID.
        channels_without_bot: Channels the bot has not joined: `chat.postMessage`
            there answers `not_in_channel` (`channel_not_found` for DMs and private
            channels), as Slack does.
    """

    def __init__(self, *, token: str | None = None) -> None:
        """Prepare a stand-in; the server starts on `__enter__` or `start()`.

        Args:
            token: When given, Web API calls without this bearer token are refused
                with `not_authed` or `invalid_auth`, as Slack refuses them.
        """
        self.token = token
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.channels_without_bot: set[str] = set()
        # User groups by ID: {"handle": "dba-team"}, for `escape_mentions`.
        self.usergroups: dict[str, dict[str, Any]] = {}
        self._condition = threading.Condition()
        self._records: list[Record] = []
        self._faults: dict[str, deque[_Fault]] = {}
        self._response_faults: deque[_Fault] = deque()
        self._response_uses: dict[str, int] = {}
        self._sequence = itertools.count(1)
        self._server: _StandInServer | None = None
        self._thread: threading.Thread | None = None

    # --- What Slack does to typed text ---------------------------------------------

    def escape_mentions(self, text: str) -> str:
        """Turn `@handle` words into the mentions Slack sends when it escapes them.

        A slash command created with `should_escape: true` receives a person picked
        from the @ list as `<@U123|ada>` and a user group as `<!subteam^S1|@dba>`.
        Handles this stand-in does not know stay as typed, as Slack leaves them.

        Args:
            text: What the user typed after the command.

        Returns:
            The text with known handles escaped.
        """
        people = {
            str(self._user(user_id)["name"]).lower(): user_id for user_id in self.users
        }
        groups = {
            str(group.get("handle", "")).lower(): group_id
            for group_id, group in self.usergroups.items()
        }

        def escaped(match: re.Match[str]) -> str:
            handle = match.group(1)
            if handle.lower() in people:
                return f"<@{people[handle.lower()]}|{handle}>"
            if handle.lower() in groups:
                return f"<!subteam^{groups[handle.lower()]}|@{handle}>"
            return match.group(0)

        return re.sub(r"(?<!\S)@([\w.-]+)", escaped, text)

    def label_mentions(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of a message body whose mentions of known people and groups carry
        their names, as Slack shows `@ada` for `<@U1>`."""
        handles = {uid: str(self._user(uid)["name"]) for uid in self.users}
        groups = {gid: str(g.get("handle", gid)) for gid, g in self.usergroups.items()}

        def labelled(match: re.Match[str]) -> str:
            kind, subject = match.group(1), match.group(2)
            if kind == "@" and subject in handles:
                return f"<@{subject}|{handles[subject]}>"
            if kind == "!subteam^" and subject in groups:
                return f"<!subteam^{subject}|@{groups[subject]}>"
            return match.group(0)

        text = json.dumps(body)
        return cast(
            dict[str, Any],
            json.loads(re.sub(r"<(@|!subteam\^)([A-Z0-9]+)>", labelled, text)),
        )

    # --- Lifecycle ---------------------------------------------------------------

    def start(self) -> SlackStandIn:
        """Start serving on a free port of 127.0.0.1 in a daemon thread.

        Returns:
            The stand-in itself, now serving.
        """
        if self._server is not None:
            return self

        self._server = _StandInServer(("127.0.0.1", 0), _Handler, self)
        # A short poll interval lets close() return quickly; it is not a busy wait.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="slack-standin",
            daemon=True,
        )
        self._thread.start()
        logger.debug("Slack stand-in serving on port %s", self.port)
        return self

    def close(self) -> None:
        """Stop serving and release the port."""
        if self._server is None:
            return

        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None
        self._thread = None

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def port(self) -> int:
        """The port the server listens on.

        Raises:
            RuntimeError: The stand-in has not been started.
        """
        if self._server is None:
            raise RuntimeError(
                "The Slack stand-in is not running: use it in a with block."
            )
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """The Web API root, ending with `/api/`, for `WebClient(base_url=...)`."""
        return f"http://127.0.0.1:{self.port}/api/"

    # --- Programming behaviour ---------------------------------------------------

    def fail(self, method: str, error: str = "not_in_channel", times: int = 1) -> None:
        """Answer the next calls of a method with `{"ok": false, "error": error}`.

        Args:
            method: The Web API method, such as `chat.postMessage`.
            error: The Slack error code to answer with.
            times: How many calls fail before the method answers normally again.
        """
        self._add_fault(method, _Fault(status=200, error=error, times=times))

    def rate_limit(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """Answer the next calls of a method with HTTP 429 and a `Retry-After` header.

        Args:
            method: The Web API method.
            retry_after: Seconds sent in `Retry-After`.
            times: How many calls are refused.
        """
        fault = _Fault(
            status=429, error="ratelimited", times=times, retry_after=retry_after
        )
        self._add_fault(method, fault)

    def server_error(self, method: str, times: int = 1) -> None:
        """Answer the next calls of a method with HTTP 503.

        Args:
            method: The Web API method.
            times: How many calls are refused.
        """
        self._add_fault(
            method, _Fault(status=503, error="service_unavailable", times=times)
        )

    def fail_responses(
        self, status: int = 404, error: str = "expired_url", times: int = 1
    ) -> None:
        """Refuse the next response_url posts, as Slack does for expired URLs.

        Args:
            status: The HTTP status to answer with.
            error: The body text to answer with.
            times: How many posts are refused.
        """
        with self._condition:
            self._response_faults.append(
                _Fault(status=status, error=error, times=times)
            )

    def clear(self) -> None:
        """Forget every record and programmed fault; profiles and channels stay."""
        with self._condition:
            self._records.clear()
            self._faults.clear()
            self._response_faults.clear()

    def _add_fault(self, method: str, fault: _Fault) -> None:
        if fault.times < 1:
            raise ValueError(f"times must be at least 1, not {fault.times}")
        with self._condition:
            self._faults.setdefault(method, deque()).append(fault)

    def _take_fault(self, queue: deque[_Fault] | None) -> _Fault | None:
        if not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.popleft()
        return fault

    # --- response_urls -----------------------------------------------------------

    def new_response_url(self) -> str:
        """Issue a fresh response_url served by this stand-in.

        Returns:
            A URL of the form `http://127.0.0.1:<port>/responses/<id>`.
        """
        response_id = f"{next(self._sequence)}-{secrets.token_hex(4)}"
        url = f"http://127.0.0.1:{self.port}/responses/{response_id}"
        with self._condition:
            self._response_uses[url] = 0
        return url

    # --- Reading what happened ---------------------------------------------------

    @property
    def records(self) -> list[Record]:
        """Every Web API call and response_url post, in the order received."""
        with self._condition:
            return list(self._records)

    @property
    def calls(self) -> list[WebApiCall]:
        """Every Web API call received, failed ones included, in order."""
        return [r for r in self.records if isinstance(r, WebApiCall)]

    @property
    def responses(self) -> list[ResponsePost]:
        """Every response_url post received, in order."""
        return [r for r in self.records if isinstance(r, ResponsePost)]

    def calls_to(self, method: str) -> list[WebApiCall]:
        """Every call of one Web API method, failed ones included.

        Args:
            method: The Web API method, such as `views.open`.

        Returns:
            The calls in the order received.
        """
        return [call for call in self.calls if call.method == method]

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """The bodies of successful `chat.postMessage` calls.

        Args:
            channel: Only messages posted to this channel ID, when given.

        Returns:
            The posted parameters (channel, text, blocks...) in order.
        """
        return [
            call.params
            for call in self.calls_to("chat.postMessage")
            if call.ok and (channel is None or call.params.get("channel") == channel)
        ]

    def texts(self) -> list[str]:
        """Everything a user would have read, rendered as plain text, in order.

        Covers successful channel posts, message updates, ephemeral messages and
        response_url posts.

        Returns:
            One rendered text per message.
        """
        texts = []
        for record in self.records:
            if not record.ok:
                continue
            if isinstance(record, ResponsePost):
                texts.append(render(record.body))
            elif record.method in _USER_VISIBLE_METHODS:
                texts.append(render(record.params))
        return texts

    def wait_for(
        self,
        predicate: Callable[[Record], bool],
        timeout: float = 5.0,
        *,
        count: int = 1,
    ) -> list[Record]:
        """Wait until enough recorded calls or posts match, for background work.

        Wakes on every record received; never polls.

        Args:
            predicate: Chooses the records of interest.
            timeout: Seconds to wait at most.
            count: How many matching records to wait for.

        Returns:
            Every matching record so far, in order.

        Raises:
            AssertionError: Too few matched in time; the message lists what arrived.
        """
        with self._condition:
            matched = self._condition.wait_for(
                lambda: len(self._matching(predicate)) >= count, timeout
            )
            found = self._matching(predicate)
            if matched:
                return found
            summary = "\n".join(_describe(record) for record in self._records)

        raise AssertionError(
            f"Waited {timeout} s for {count} matching Slack record(s), got {len(found)}. "
            f"Received:\n{summary or '(nothing)'}"
        )

    def _matching(self, predicate: Callable[[Record], bool]) -> list[Record]:
        return [record for record in self._records if predicate(record)]

    def _record(self, record: Record) -> None:
        with self._condition:
            self._records.append(record)
            self._condition.notify_all()

    # --- Answering ---------------------------------------------------------------

    def _answer_web_api(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> _Answer:
        with self._condition:
            fault = self._take_fault(self._faults.get(method))
        answer = self._fault_answer(fault) or self._auth_answer(token)
        if answer is None:
            answer = _Answer(200, self._method_answer(method, params))

        ok = answer.status == 200 and bool(answer.body.get("ok"))
        self._record(WebApiCall(method=method, params=params, token=token, ok=ok))
        return answer

    def _fault_answer(self, fault: _Fault | None) -> _Answer | None:
        if fault is None:
            return None
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        return _Answer(fault.status, {"ok": False, "error": fault.error}, headers)

    def _auth_answer(self, token: str | None) -> _Answer | None:
        if self.token is None or token == self.token:
            return None
        error = "not_authed" if not token else "invalid_auth"
        return _Answer(200, {"ok": False, "error": error})

    def _method_answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        match method:
            case "auth.test":
                return self._auth_test()
            case "chat.postMessage":
                return self._post_message(params)
            case "chat.postEphemeral":
                return {"ok": True, "message_ts": self._next_ts()}
            case "chat.update":
                return self._update_message(params)
            case "views.open" | "views.push" | "views.update":
                return self._view(method, params)
            case "users.info":
                return {"ok": True, "user": self._user(str(params.get("user", "")))}
            case "conversations.info":
                return {
                    "ok": True,
                    "channel": self._channel(str(params.get("channel", ""))),
                }
            case _:
                return {"ok": True}

    def _auth_test(self) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://snoozedb-standin.slack.com/",
            "team": "SnoozeDB stand-in",
            "user": "snoozedb",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel", ""))
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if channel in self.channels_without_bot:
            error = "not_in_channel" if channel.startswith("C") else "channel_not_found"
            return {"ok": False, "error": error}

        ts = self._next_ts()
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "message": self._message(params, ts),
        }

    def _update_message(self, params: dict[str, Any]) -> dict[str, Any]:
        ts = str(params.get("ts", ""))
        if not ts:
            return {"ok": False, "error": "message_not_found"}
        return {
            "ok": True,
            "channel": params.get("channel"),
            "ts": ts,
            "text": params.get("text", ""),
            "message": self._message(params, ts),
        }

    def _message(self, params: dict[str, Any], ts: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "text": params.get("text", ""),
            "ts": ts,
        }
        for key in ("blocks", "attachments", "metadata", "thread_ts"):
            if key in params:
                message[key] = params[key]
        return message

    def _view(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        view = params.get("view")
        if not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}

        view_id = str(params.get("view_id") or "") if method == "views.update" else ""
        view_id = view_id or f"V{next(self._sequence):08d}"
        served = {
            "id": view_id,
            "team_id": TEAM_ID,
            "app_id": APP_ID,
            "bot_id": BOT_ID,
            "private_metadata": "",
            "callback_id": "",
            "external_id": params.get("external_id", ""),
            "state": {"values": {}},
            "hash": secrets.token_hex(8),
            "root_view_id": view_id,
            "previous_view_id": None,
            **view,
        }
        return {"ok": True, "view": served}

    def _user(self, user_id: str) -> dict[str, Any]:
        profile = self.users.get(user_id, {})
        tz = str(profile.get("tz", "UTC"))
        real_name = str(profile.get("real_name", user_id))
        user = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": real_name.lower().replace(" ", "."),
            "real_name": real_name,
            "tz": tz,
            "tz_label": tz,
            "tz_offset": _utc_offset_seconds(tz),
            "is_admin": False,
            "is_owner": False,
            "is_bot": False,
            "deleted": False,
            "profile": {"real_name": real_name, "display_name": real_name},
        }
        return {**user, **profile}

    def _channel(self, channel_id: str) -> dict[str, Any]:
        channel = {
            "id": channel_id,
            "name": _default_channel_name(channel_id),
            "is_channel": channel_id.startswith("C"),
            "is_group": channel_id.startswith("G"),
            "is_im": channel_id.startswith("D"),
            "is_private": not channel_id.startswith("C"),
            "is_member": channel_id not in self.channels_without_bot,
            "is_archived": False,
        }
        return {**channel, **self.channels.get(channel_id, {})}

    def _next_ts(self) -> str:
        return f"{1_700_000_000 + next(self._sequence)}.000100"

    def _answer_response_url(
        self, url: str, body: dict[str, Any] | None
    ) -> tuple[int, str]:
        with self._condition:
            fault = self._take_fault(self._response_faults)
            uses = self._response_uses.get(url)
            if fault is None and uses is not None and body is not None:
                self._response_uses[url] = uses + 1

        if fault is not None:
            status, text = fault.status, fault.error
        elif uses is None:
            status, text = 404, "no_such_url"
        elif uses >= RESPONSE_URL_USES:
            status, text = 404, "used_url"
        elif body is None:
            status, text = 400, "invalid_payload"
        else:
            status, text = 200, "ok"

        self._record(ResponsePost(url=url, body=body or {}, ok=status == 200))
        return status, text


class _StandInServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        standin: SlackStandIn,
    ) -> None:
        super().__init__(address, handler)
        self.standin = standin


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        # Request lines carry no secrets, but tests and the demo want a quiet console.
        return

    def _dispatch(self) -> None:
        standin = cast(_StandInServer, self.server).standin
        parts = urllib.parse.urlsplit(self.path)
        body = self._read_body()

        if parts.path.startswith("/api/"):
            method = parts.path.removeprefix("/api/")
            params = _web_api_params(
                parts.query, body, self.headers.get("Content-Type", "")
            )
            token = _bearer_token(self.headers.get("Authorization")) or params.get(
                "token"
            )
            answer = standin._answer_web_api(method, params, token)
            self._send(
                answer.status,
                json.dumps(answer.body),
                "application/json",
                answer.headers,
            )
        elif parts.path.startswith("/responses/"):
            url = f"http://127.0.0.1:{standin.port}{parts.path}"
            status, text = standin._answer_response_url(url, _json_object(body))
            self._send(status, text, "text/plain; charset=utf-8")
        else:
            self._send(404, "not_found", "text/plain; charset=utf-8")

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(
        self,
        status: int,
        text: str,
        content_type: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        payload = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


def _web_api_params(query: str, body: bytes, content_type: str) -> dict[str, Any]:
    params: dict[str, Any] = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
    if "json" in content_type:
        params.update(_json_object(body) or {})
    elif body:
        form = urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        params.update(form)

    for key in _JSON_PARAMS & params.keys():
        if isinstance(params[key], str):
            with contextlib.suppress(ValueError):
                params[key] = json.loads(params[key])
    return params


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(body or b"null")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _bearer_token(header: str | None) -> str | None:
    if header and header.startswith("Bearer "):
        return header.removeprefix("Bearer ").strip() or None
    return None


def _utc_offset_seconds(tz: str) -> int:
    try:
        offset = datetime.now(ZoneInfo(tz)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        return 0
    return int(offset.total_seconds()) if offset else 0


def _default_channel_name(channel_id: str) -> str:
    if channel_id.startswith("D"):
        return "directmessage"
    if channel_id.startswith("G"):
        return "privategroup"
    return f"channel-{channel_id.lower()}"


def _describe(record: Record) -> str:
    outcome = "ok" if record.ok else "refused"
    if isinstance(record, ResponsePost):
        return f"  response_url {record.url} ({outcome}): {render(record.body)!r}"
    if record.method in _USER_VISIBLE_METHODS:
        return f"  {record.method} ({outcome}): {render(record.params)!r}"
    return f"  {record.method} ({outcome}): {sorted(record.params)}"


# --- Slack's side of the bot's endpoint ------------------------------------------


class SignedRequests:
    """Sends requests to the bot's HTTP endpoint exactly as Slack does, signed.

    Every method returns `(status, body)`: the body is a dict when the bot answered
    JSON, otherwise the text (empty for a bare `ack()`).
    """

    def __init__(
        self,
        endpoint_url: str,
        signing_secret: str,
        standin: SlackStandIn | None = None,
        *,
        timeout: float = 10.0,
    ) -> None:
        """Prepare a client for one endpoint.

        Args:
            endpoint_url: The bot's request URL, such as `http://127.0.0.1:3000/slack/events`.
            signing_secret: The app's signing secret.
            standin: Issues the response_urls put in payloads; without one, payloads
                carry an address that refuses connections.
            timeout: Seconds to wait for the bot's answer.
        """
        self.endpoint_url = endpoint_url
        self.standin = standin
        self.timeout = timeout
        self._verifier = SignatureVerifier(signing_secret)

    def sign(self, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
        """Build the headers Slack sends with a body: timestamp and signature.

        Args:
            body: The exact bytes to be sent.
            timestamp: Unix seconds to sign with; now by default. An old value makes
                a stale request.

        Returns:
            The `X-Slack-Request-Timestamp` and `X-Slack-Signature` headers.
        """
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signature = self._verifier.generate_signature(timestamp=stamp, body=body)
        return {
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature or "",
        }

    def command(
        self,
        text: str,
        *,
        user_id: str = "U1",
        user_name: str = "ada",
        channel_id: str = "C1",
        team_id: str = TEAM_ID,
        trigger_id: str | None = None,
        command: str = "/snooze",
        response_url: str | None = None,
        timestamp: int | None = None,
    ) -> tuple[int, dict[str, Any] | str]:
        """Send a slash command, form-encoded with the fields Slack sends.

        Args:
            text: What the user typed after the command.
            user_id: The user's ID.
            user_name: The user's handle.
            channel_id: Where the command was typed (`D...` for a DM).
            team_id: The workspace ID.
            trigger_id: Defaults to a fresh random one.
            command: The slash command.
            response_url: Defaults to a fresh one from the stand-in.
            timestamp: Signing time override, for stale requests.

        Returns:
            The HTTP status and the bot's answer.
        """
        body = self.command_body(
            text,
            user_id=user_id,
            user_name=user_name,
            channel_id=channel_id,
            team_id=team_id,
            trigger_id=trigger_id,
            command=command,
            response_url=response_url,
        )
        return self._send_signed(body, timestamp)

    def command_body(
        self,
        text: str,
        *,
        user_id: str = "U1",
        user_name: str = "ada",
        channel_id: str = "C1",
        team_id: str = TEAM_ID,
        trigger_id: str | None = None,
        command: str = "/snooze",
        response_url: str | None = None,
    ) -> bytes:
        """The form-encoded body of a slash command, as `command` sends it unsigned."""
        fields = {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id,
            "team_domain": f"{team_id.lower()}-workspace",
            "channel_id": channel_id,
            "channel_name": _default_channel_name(channel_id),
            "user_id": user_id,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url or self._response_url(),
            "trigger_id": trigger_id or _new_trigger_id(),
        }
        return urllib.parse.urlencode(fields).encode()

    def block_action(
        self,
        action_id: str,
        value: str,
        *,
        user_id: str = "U1",
        channel_id: str = "C1",
        team_id: str = TEAM_ID,
        response_url: str | None = None,
        trigger_id: str | None = None,
        block_id: str = "actions",
        message: Mapping[str, Any] | None = None,
        timestamp: int | None = None,
    ) -> tuple[int, dict[str, Any] | str]:
        """Send a button click on a message, as a `block_actions` interaction.

        Args:
            action_id: The button's `action_id`.
            value: The button's `value`.
            user_id: Who clicked.
            channel_id: Where the message is.
            team_id: The workspace ID.
            response_url: Defaults to a fresh one from the stand-in.
            trigger_id: Defaults to a fresh random one.
            block_id: The `block_id` of the actions block holding the button.
            message: The message the button was on; a minimal one by default.
            timestamp: Signing time override, for stale requests.

        Returns:
            The HTTP status and the bot's answer.
        """
        message_ts = str((message or {}).get("ts") or "1700000000.000100")
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": _user_field(user_id, team_id),
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "container": {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel_id,
                "is_ephemeral": False,
            },
            "trigger_id": trigger_id or _new_trigger_id(),
            "team": {"id": team_id, "domain": f"{team_id.lower()}-workspace"},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel_id, "name": _default_channel_name(channel_id)},
            "message": dict(
                message or {"type": "message", "ts": message_ts, "text": ""}
            ),
            "state": {"values": {}},
            "response_url": response_url or self._response_url(),
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": block_id,
                    "text": {"type": "plain_text", "text": action_id, "emoji": True},
                    "value": value,
                    "type": "button",
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        return self._send_payload(payload, timestamp)

    def view_submission(
        self,
        callback_id: str,
        values: Mapping[str, Mapping[str, Any]],
        *,
        user_id: str = "U1",
        team_id: str = TEAM_ID,
        private_metadata: str = "",
        view_id: str = "V00000001",
        timestamp: int | None = None,
    ) -> tuple[int, dict[str, Any] | str]:
        """Send a modal submission, as a `view_submission` interaction.

        Args:
            callback_id: The modal's `callback_id`.
            values: `state.values` by block ID then action ID. Each value is either
                Slack's element state (`{"type": ..., "value": ...}`) or a plain
                string, taken as a `plain_text_input`'s value.
            user_id: Who submitted.
            team_id: The workspace ID.
            private_metadata: The modal's `private_metadata`.
            view_id: The modal's ID.
            timestamp: Signing time override, for stale requests.

        Returns:
            The HTTP status and the bot's answer (a `response_action` dict, or empty).
        """
        state = {
            block_id: {
                action_id: _element_state(value) for action_id, value in actions.items()
            }
            for block_id, actions in values.items()
        }
        payload: dict[str, Any] = {
            "type": "view_submission",
            "team": {"id": team_id, "domain": f"{team_id.lower()}-workspace"},
            "user": _user_field(user_id, team_id),
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "trigger_id": _new_trigger_id(),
            "view": {
                "id": view_id,
                "team_id": team_id,
                "type": "modal",
                "blocks": [],
                "private_metadata": private_metadata,
                "callback_id": callback_id,
                "state": {"values": state},
                "hash": secrets.token_hex(8),
                "title": {"type": "plain_text", "text": "SnoozeDB"},
                "clear_on_close": False,
                "notify_on_close": False,
                "root_view_id": view_id,
                "previous_view_id": None,
                "app_id": APP_ID,
                "external_id": "",
                "bot_id": BOT_ID,
            },
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return self._send_payload(payload, timestamp)

    def raw(
        self, body: bytes, headers: Mapping[str, str]
    ) -> tuple[int, dict[str, Any] | str]:
        """Send a body with exactly the headers given, for unsigned or tampered requests.

        Args:
            body: The bytes to send.
            headers: Every header to send besides Content-Length.

        Returns:
            The HTTP status and the bot's answer.
        """
        parts = urllib.parse.urlsplit(self.endpoint_url)
        connection_type = (
            http.client.HTTPSConnection
            if parts.scheme == "https"
            else http.client.HTTPConnection
        )
        connection = connection_type(parts.netloc, timeout=self.timeout)
        try:
            path = parts.path or "/"
            if parts.query:
                path = f"{path}?{parts.query}"
            connection.request("POST", path, body=body, headers=dict(headers))
            response = connection.getresponse()
            return response.status, _decode_answer(response)
        finally:
            connection.close()

    def _send_payload(
        self, payload: Mapping[str, Any], timestamp: int | None
    ) -> tuple[int, dict[str, Any] | str]:
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        return self._send_signed(body, timestamp)

    def form_headers(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """Every header Slack sends with a form-encoded body, signature included."""
        return {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            **self.sign(body, timestamp=timestamp),
        }

    def _send_signed(
        self, body: bytes, timestamp: int | None
    ) -> tuple[int, dict[str, Any] | str]:
        return self.raw(body, self.form_headers(body, timestamp))

    def _response_url(self) -> str:
        return (
            self.standin.new_response_url() if self.standin else _NOWHERE_RESPONSE_URL
        )


def _decode_answer(response: http.client.HTTPResponse) -> dict[str, Any] | str:
    text = response.read().decode("utf-8", errors="replace")
    if "json" in (response.getheader("Content-Type") or ""):
        try:
            value = json.loads(text)
        except ValueError:
            return text
        if isinstance(value, dict):
            return value
    return text


def _new_trigger_id() -> str:
    first = 1_000_000_000 + secrets.randbelow(9_000_000_000)
    second = 1_000_000_000 + secrets.randbelow(9_000_000_000)
    return f"{first}.{second}.{secrets.token_hex(16)}"


def _user_field(user_id: str, team_id: str) -> dict[str, str]:
    return {"id": user_id, "username": "ada", "name": "ada", "team_id": team_id}


def _element_state(value: Any) -> Any:
    if isinstance(value, str):
        return {"type": "plain_text_input", "value": value}
    return value


# --- Rendering -------------------------------------------------------------------

_DIVIDER = "-" * 40

_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")
_EMPHASIS = re.compile(r"(?<![\w*_~])([*_~])(?=\S)(.+?)(?<=\S)\1(?![\w*_~])")


def render(message: Mapping[str, Any]) -> str:
    """Turn a Slack message (or modal view) body into the text a person reads.

    Blocks win over `text`, as in Slack; buttons show as `[ Label ]`, menus as
    `[ Placeholder v ]`; mrkdwn emphasis is dropped and links, mentions and
    entities are shown as Slack displays them.

    Args:
        message: A `chat.postMessage`-style body, a response_url body, or a view.

    Returns:
        Plain text, one line per line a person would see.
    """
    lines: list[str] = []
    if message.get("type") in ("modal", "home") and isinstance(
        message.get("title"), dict
    ):
        lines += [_text(message["title"]), "=" * len(_text(message["title"]))]

    blocks = message.get("blocks")
    if isinstance(blocks, list) and blocks:
        lines += _render_blocks(blocks)
    elif message.get("text"):
        lines.append(_mrkdwn(str(message["text"])))

    for attachment in message.get("attachments") or []:
        if isinstance(attachment, dict):
            lines.append(render(attachment))

    if isinstance(message.get("submit"), dict):
        lines.append(_button(message["submit"]))
    return "\n".join(lines)


def _render_blocks(blocks: Iterable[Any]) -> list[str]:
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, dict):
            lines += _render_block(block)
    return lines


def _render_block(block: Mapping[str, Any]) -> list[str]:
    match block.get("type"):
        case "section":
            return _section(block)
        case "header":
            title = _text(block.get("text"))
            return [title, "=" * len(title)]
        case "context":
            return ["  ".join(_element(e) for e in block.get("elements", []))]
        case "divider":
            return [_DIVIDER]
        case "actions":
            return ["  ".join(_element(e) for e in block.get("elements", []))]
        case "image":
            return [f"[image: {block.get('alt_text', '')}]"]
        case "input":
            label = _text(block.get("label"))
            return [f"{label}: {_element(block.get('element') or {})}"]
        case "rich_text":
            return list(_rich_text(block.get("elements", [])))
        case other:
            return [f"[{other} block]"]


def _section(block: Mapping[str, Any]) -> list[str]:
    lines = []
    if block.get("text"):
        lines.append(_text(block["text"]))
    lines += [_text(f) for f in block.get("fields", [])]
    if isinstance(block.get("accessory"), dict):
        lines.append(_element(block["accessory"]))
    return lines


def _element(element: Mapping[str, Any]) -> str:
    kind = element.get("type", "")
    if kind in ("mrkdwn", "plain_text"):
        return _text(element)
    if kind == "button":
        return _button(element)
    if kind == "image":
        return f"[image: {element.get('alt_text', '')}]"
    if kind in (
        "plain_text_input",
        "number_input",
        "email_text_input",
        "url_text_input",
    ):
        return f"[ {_text(element.get('placeholder')) or '...'} ]"
    placeholder = _text(element.get("placeholder")) or _option_text(element) or kind
    return f"[ {placeholder} v ]"


def _button(element: Mapping[str, Any]) -> str:
    return f"[ {_text(element.get('text'))} ]"


def _option_text(element: Mapping[str, Any]) -> str:
    option = element.get("initial_option")
    if isinstance(option, dict):
        return _text(option.get("text"))
    return str(element.get("initial_date") or element.get("initial_time") or "")


def _text(obj: Any) -> str:
    if isinstance(obj, str):
        return obj
    if not isinstance(obj, Mapping):
        return ""
    text = str(obj.get("text", ""))
    return _mrkdwn(text) if obj.get("type") == "mrkdwn" else text


def _mrkdwn(text: str) -> str:
    text = _LINK.sub(_link, text)
    text = _EMPHASIS.sub(r"\2", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _link(match: re.Match[str]) -> str:
    target, label = match.group(1), match.group(2)
    if target.startswith("@"):
        return f"@{label or target[1:]}"
    if target.startswith("#"):
        return f"#{label or target[1:]}"
    if target.startswith("!"):
        # `<!here>` shows as @here; a user group without its label by its ID.
        special, _, group_id = target[1:].partition("^")
        return label or f"@{group_id or special}"
    return f"{label} ({target})" if label else target


def _rich_text(elements: Iterable[Any]) -> Iterator[str]:
    for element in elements:
        if not isinstance(element, dict):
            continue
        kind = element.get("type")
        if kind == "rich_text_list":
            ordered = element.get("style") == "ordered"
            for number, item in enumerate(element.get("elements", []), start=1):
                bullet = f"{number}." if ordered else "•"
                yield f"{bullet} {_rich_inline(item.get('elements', []))}"
        elif kind == "rich_text_quote":
            yield f"> {_rich_inline(element.get('elements', []))}"
        elif kind == "rich_text_preformatted":
            yield f"```\n{_rich_inline(element.get('elements', []))}\n```"
        else:
            yield _rich_inline(element.get("elements", []))


def _rich_inline(elements: Iterable[Any]) -> str:
    parts = []
    for element in elements:
        if not isinstance(element, dict):
            continue
        match element.get("type"):
            case "text":
                parts.append(str(element.get("text", "")))
            case "link":
                url = str(element.get("url", ""))
                label = element.get("text")
                parts.append(f"{label} ({url})" if label else url)
            case "user":
                parts.append(f"@{element.get('user_id', '')}")
            case "channel":
                parts.append(f"#{element.get('channel_id', '')}")
            case "emoji":
                parts.append(f":{element.get('name', '')}:")
            case "broadcast":
                parts.append(f"@{element.get('range', '')}")
            case _:
                parts.append(str(element.get("text", "")))
    return "".join(parts)
