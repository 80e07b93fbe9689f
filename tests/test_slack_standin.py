"""The Slack stand-in behaves like Slack for slack_sdk, slack-bolt and a reader."""

from __future__ import annotations

import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from slack_bolt import Ack, App, Respond
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from bot.standins.slack import (
    ResponsePost,
    SignedRequests,
    SlackStandIn,
    WebApiCall,
    render,
)

BOT_TOKEN = "xoxb-standin-test"
SIGNING_SECRET = "standin-signing-secret"


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn() as running:
        yield running


@pytest.fixture
def client(standin: SlackStandIn) -> WebClient:
    return WebClient(token=BOT_TOKEN, base_url=standin.base_url)


class _RecordingEndpoint:
    """A bare endpoint that checks Slack signatures the way slack_sdk does."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        verifier = SignatureVerifier(SIGNING_SECRET)
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = dict(self.headers.items())
                endpoint.bodies.append(body)
                endpoint.headers.append(headers)
                valid = verifier.is_valid_request(body, headers)
                self.send_response(200 if valid else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/slack/events"
        threading.Thread(
            target=self.server.serve_forever, args=(0.05,), daemon=True
        ).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint() -> Iterator[_RecordingEndpoint]:
    running = _RecordingEndpoint()
    yield running
    running.close()


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def bolt_app(standin: SlackStandIn) -> Iterator[tuple[App, str]]:
    """A real slack-bolt app on a local WSGI server, talking to the stand-in."""
    app = App(
        client=WebClient(token=BOT_TOKEN, base_url=standin.base_url),
        signing_secret=SIGNING_SECRET,
    )
    server: WSGIServer = make_server(
        "127.0.0.1", 0, SlackRequestHandler(app), handler_class=_QuietHandler
    )
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield app, f"http://127.0.0.1:{server.server_port}/slack/events"
    server.shutdown()
    server.server_close()


# --- Web API ---------------------------------------------------------------------


def test_posted_message_is_recorded_with_token(
    standin: SlackStandIn, client: WebClient
) -> None:
    response = client.chat_postMessage(channel="C1", text="staging-db stopped")

    assert response["ok"] is True
    assert response["channel"] == "C1"
    assert response["message"]["text"] == "staging-db stopped"
    assert standin.calls == [
        WebApiCall(
            "chat.postMessage",
            {"channel": "C1", "text": "staging-db stopped"},
            BOT_TOKEN,
        )
    ]
    assert standin.messages("C1") == [{"channel": "C1", "text": "staging-db stopped"}]
    assert standin.messages("C2") == []


def test_message_timestamps_increase(client: WebClient) -> None:
    first = client.chat_postMessage(channel="C1", text="one")["ts"]
    second = client.chat_postMessage(channel="C1", text="two")["ts"]

    assert float(second) > float(first)
    assert second > first


def test_programmed_failure_reaches_slack_sdk_as_slack_api_error(
    standin: SlackStandIn, client: WebClient
) -> None:
    standin.fail("chat.postMessage", error="not_in_channel", times=1)

    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="hello")
    retried = client.chat_postMessage(channel="C1", text="hello again")

    assert raised.value.response["error"] == "not_in_channel"
    assert retried["ok"] is True
    assert [call.ok for call in standin.calls] == [False, True]
    assert standin.texts() == ["hello again"]


def test_channel_without_bot_refuses_posts_like_slack(
    standin: SlackStandIn, client: WebClient
) -> None:
    standin.channels_without_bot.update({"C9", "D9"})

    with pytest.raises(SlackApiError) as in_channel:
        client.chat_postMessage(channel="C9", text="status")
    with pytest.raises(SlackApiError) as in_dm:
        client.chat_postMessage(channel="D9", text="status")

    assert in_channel.value.response["error"] == "not_in_channel"
    assert in_dm.value.response["error"] == "channel_not_found"
    assert client.conversations_info(channel="C9")["channel"]["is_member"] is False


def test_rate_limited_call_is_retried_by_slack_sdk_handler(
    standin: SlackStandIn,
) -> None:
    client = WebClient(
        token=BOT_TOKEN,
        base_url=standin.base_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    standin.rate_limit("chat.postMessage", retry_after=0, times=1)

    response = client.chat_postMessage(channel="C1", text="after the limit")

    assert response["ok"] is True
    assert [(call.method, call.ok) for call in standin.calls] == [
        ("chat.postMessage", False),
        ("chat.postMessage", True),
    ]


def test_rate_limit_without_retry_handler_surfaces_429(
    standin: SlackStandIn, client: WebClient
) -> None:
    standin.rate_limit("chat.postMessage", retry_after=7)

    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="too fast")

    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"
    assert raised.value.response["error"] == "ratelimited"


def test_server_error_answers_503(standin: SlackStandIn, client: WebClient) -> None:
    standin.server_error("views.open")

    with pytest.raises(SlackApiError) as raised:
        client.views_open(trigger_id="1.2.x", view={"type": "modal", "blocks": []})

    assert raised.value.response.status_code == 503


def test_wrong_token_is_refused_when_stand_in_expects_one() -> None:
    with SlackStandIn(token=BOT_TOKEN) as standin:
        good = WebClient(token=BOT_TOKEN, base_url=standin.base_url)
        bad = WebClient(token="xoxb-wrong", base_url=standin.base_url)

        identity = good.auth_test()
        with pytest.raises(SlackApiError) as raised:
            bad.auth_test()

    assert identity["user_id"] == "UBOT"
    assert raised.value.response["error"] == "invalid_auth"


def test_users_info_serves_configured_time_zone_and_defaults_to_utc(
    standin: SlackStandIn, client: WebClient
) -> None:
    standin.users["U2"] = {
        "tz": "Europe/London",
        "is_admin": True,
        "real_name": "Grace",
    }

    grace = client.users_info(user="U2")["user"]
    stranger = client.users_info(user="U3")["user"]

    assert (grace["tz"], grace["is_admin"], grace["real_name"]) == (
        "Europe/London",
        True,
        "Grace",
    )
    assert grace["tz_offset"] in (0, 3600)
    assert (stranger["tz"], stranger["is_admin"]) == ("UTC", False)
    assert standin.calls_to("users.info")[0].params == {"user": "U2"}


def test_views_keep_their_id_across_update(client: WebClient) -> None:
    loading = {"type": "modal", "title": {"type": "plain_text", "text": "Loading"}}

    opened = client.views_open(trigger_id="1.2.x", view=loading)["view"]
    updated = client.views_update(view_id=opened["id"], view={**loading, "blocks": []})

    assert opened["id"].startswith("V")
    assert updated["view"]["id"] == opened["id"]


# --- response_urls and waiting ---------------------------------------------------


def test_response_url_posts_are_recorded(standin: SlackStandIn) -> None:
    url = standin.new_response_url()

    response = WebhookClient(url).send(
        text="Stopping staging-db…", response_type="ephemeral"
    )

    assert response.status_code == 200
    assert standin.responses == [
        ResponsePost(
            url, {"text": "Stopping staging-db…", "response_type": "ephemeral"}
        )
    ]
    assert standin.texts() == ["Stopping staging-db…"]


def test_unknown_and_expired_response_urls_are_refused(standin: SlackStandIn) -> None:
    unknown = f"http://127.0.0.1:{standin.port}/responses/never-issued"
    standin.fail_responses(status=404, error="expired_url")

    expired = WebhookClient(standin.new_response_url()).send(text="late")
    stranger = WebhookClient(unknown).send(text="lost")

    assert (expired.status_code, expired.body) == (404, "expired_url")
    assert stranger.status_code == 404
    assert [post.ok for post in standin.responses] == [False, False]
    assert standin.texts() == []


def test_wait_for_wakes_when_background_work_posts(
    standin: SlackStandIn, client: WebClient
) -> None:
    go = threading.Event()

    def background() -> None:
        go.wait()
        client.chat_postMessage(channel="C1", text="done in the background")

    worker = threading.Thread(target=background)
    worker.start()
    go.set()

    found = standin.wait_for(lambda r: isinstance(r, WebApiCall) and r.ok)
    worker.join()

    assert found[0].ok
    assert standin.texts() == ["done in the background"]


def test_wait_for_names_what_arrived_when_nothing_matches(
    standin: SlackStandIn, client: WebClient
) -> None:
    client.chat_postMessage(channel="C1", text="unrelated")

    with pytest.raises(AssertionError, match="unrelated"):
        standin.wait_for(lambda r: isinstance(r, ResponsePost), timeout=0.05)


# --- Signed requests -------------------------------------------------------------


def test_signed_command_verifies_with_slack_sdk_and_carries_slack_fields(
    standin: SlackStandIn, endpoint: _RecordingEndpoint
) -> None:
    requests = SignedRequests(endpoint.url, SIGNING_SECRET, standin)

    status, _ = requests.command("stop staging-db", user_id="U7", channel_id="D7")

    fields = dict(urllib.parse.parse_qsl(endpoint.bodies[0].decode()))
    assert status == 200
    assert fields["command"] == "/snooze"
    assert fields["text"] == "stop staging-db"
    assert (fields["user_id"], fields["channel_id"]) == ("U7", "D7")
    assert fields["channel_name"] == "directmessage"
    assert fields["response_url"].startswith(
        f"http://127.0.0.1:{standin.port}/responses/"
    )
    assert len(fields["trigger_id"].split(".")) == 3
    assert set(fields) >= {"token", "team_id", "team_domain", "api_app_id", "user_name"}


def test_tampered_body_fails_verification(endpoint: _RecordingEndpoint) -> None:
    requests = SignedRequests(endpoint.url, SIGNING_SECRET)
    body = b"command=%2Fsnooze&text=status"
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        **requests.sign(body),
    }

    honest, _ = requests.raw(body, headers)
    tampered, _ = requests.raw(body.replace(b"status", b"stop+prod-db"), headers)
    unsigned, _ = requests.raw(
        body, {"Content-Type": "application/x-www-form-urlencoded"}
    )

    assert (honest, tampered, unsigned) == (200, 401, 401)


def test_stale_timestamp_fails_verification(endpoint: _RecordingEndpoint) -> None:
    requests = SignedRequests(endpoint.url, SIGNING_SECRET)

    status, _ = requests.command("status", timestamp=int(time.time()) - 600)

    assert status == 401


def test_bolt_answers_signed_command_and_responds_to_stand_in(
    standin: SlackStandIn, bolt_app: tuple[App, str]
) -> None:
    app, url = bolt_app

    @app.command("/snooze")
    def snooze(ack: Ack, respond: Respond, command: dict[str, Any]) -> None:
        ack()
        respond(f"You typed {command['text']}")

    status, body = SignedRequests(url, SIGNING_SECRET, standin).command("status")

    standin.wait_for(lambda r: isinstance(r, ResponsePost))
    assert (status, body) == (200, "")
    assert standin.texts() == ["You typed status"]


def test_bolt_matches_block_action_and_view_submission_payloads(
    standin: SlackStandIn, bolt_app: tuple[App, str]
) -> None:
    app, url = bolt_app
    seen: dict[str, Any] = {}

    @app.action("stop_anyway")
    def clicked(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        seen["value"] = body["actions"][0]["value"]
        respond(replace_original=True, text="Stopping")

    @app.view("schedule")
    def submitted(ack: Ack, view: dict[str, Any]) -> None:
        seen["schedule"] = view["state"]["values"]["when"]["text"]["value"]
        seen["metadata"] = view["private_metadata"]
        ack(response_action="clear")

    requests = SignedRequests(url, SIGNING_SECRET, standin)

    clicked_status, _ = requests.block_action("stop_anyway", "staging-db", user_id="U2")
    submit_status, submit_body = requests.view_submission(
        "schedule", {"when": {"text": "mon-fri 08:00-20:00"}}, private_metadata="qa-db"
    )

    standin.wait_for(lambda r: isinstance(r, ResponsePost))
    assert (clicked_status, submit_status) == (200, 200)
    assert submit_body == {"response_action": "clear"}
    assert seen == {
        "value": "staging-db",
        "schedule": "mon-fri 08:00-20:00",
        "metadata": "qa-db",
    }
    assert standin.responses[0].body["replace_original"] is True


# --- Rendering -------------------------------------------------------------------


def test_render_shows_section_text_and_button_labels() -> None:
    message = {
        "text": "fallback that Slack hides",
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "*staging-db* has been idle for 2 h",
                },
            },
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Stop anyway"},
                    },
                    {"type": "button", "text": {"type": "plain_text", "text": "Keep"}},
                ],
            },
        ],
    }

    text = render(message)

    assert text == "staging-db has been idle for 2 h\n[ Stop anyway ]  [ Keep ]"


def test_render_reads_headers_fields_context_and_mrkdwn_like_slack() -> None:
    message = {
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Status"}},
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": "_qa-db_: stopped"},
                    {
                        "type": "mrkdwn",
                        "text": "<@U2> asked in <#C1|ops> &amp; <!here>",
                    },
                ],
            },
            {"type": "divider"},
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": "See <https://example.com/x|the guide>"}
                ],
            },
        ]
    }

    lines = render(message).splitlines()

    assert lines[:2] == ["Status", "======"]
    assert lines[2:4] == ["qa-db: stopped", "@U2 asked in #ops & @here"]
    assert lines[4].startswith("---")
    assert lines[5] == "See the guide (https://example.com/x)"


def test_render_reads_rich_text_and_plain_text_messages() -> None:
    rich = {
        "blocks": [
            {
                "type": "rich_text",
                "elements": [
                    {
                        "type": "rich_text_section",
                        "elements": [{"type": "text", "text": "Stopped:"}],
                    },
                    {
                        "type": "rich_text_list",
                        "style": "bullet",
                        "elements": [
                            {
                                "type": "rich_text_section",
                                "elements": [{"type": "text", "text": "qa-db"}],
                            }
                        ],
                    },
                ],
            }
        ]
    }

    assert render(rich) == "Stopped:\n• qa-db"
    assert render({"text": "2 * 3 is *six*"}) == "2 * 3 is six"
