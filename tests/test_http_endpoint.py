"""The bot's HTTP endpoint as Slack and strangers reach it: the real WSGI app, served.

Every request goes over a socket to `wsgi_app` in front of the real bolt app: the
health check, Slack's signature and five-minute window, the body size limit,
malformed bodies (which must get a 4xx, never a 500), the Events API handshake and
its retries.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from bot.demo import SIGNING_SECRET, OfflineWorld
from bot.server import MAX_BODY_BYTES
from bot.slack_app import CONNECT_VIEW
from bot.standins.slack import SignedRequests

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OfflineWorld]:
    """One bot for the module: these requests change nothing another test reads."""
    folder = tmp_path_factory.mktemp("http-endpoint")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MOTO_ACCOUNT_ID", raising=False)
        patch.setenv("AWS_CONFIG_FILE", str(folder / "no-aws-config"))
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(folder / "no-aws-credentials"))
        with OfflineWorld(f"sqlite:///{folder / 'bot.sqlite3'}") as offline:
            yield offline


def client(world: OfflineWorld) -> SignedRequests:
    """Slack's side of the bot's endpoint."""
    assert world.requests is not None
    return world.requests


def signed_headers(
    body: bytes, content_type: str = FORM, *, timestamp: int | None = None
) -> dict[str, str]:
    """Slack's headers for any bytes; slack_sdk's signer refuses bytes not in UTF-8."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + stamp.encode() + b":" + body
    digest = hmac.new(SIGNING_SECRET.encode(), base, hashlib.sha256).hexdigest()
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
    }


def post_signed(
    world: OfflineWorld, body: bytes, content_type: str = FORM, **headers: str
) -> tuple[int, dict[str, Any] | str]:
    """POST exact bytes, correctly signed, with any extra headers."""
    return client(world).raw(body, {**signed_headers(body, content_type), **headers})


def interaction(payload: Any) -> bytes:
    """An interaction body: the payload as JSON in a `payload` form field."""
    return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()


def assert_refused_cleanly(status: int, body: dict[str, Any] | str) -> None:
    """A 4xx, or a 200 ack; never a server error or a traceback."""
    assert status == 200 or 400 <= status < 500, (status, body)
    assert "Traceback" not in str(body)


def test_health_check_answers_ok(world: OfflineWorld):
    url = world.endpoint_url.replace("/slack/events", "/healthz")

    with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - local URL
        status, text = answer.status, answer.read()

    assert status == 200
    assert text == b"ok\n"


def test_unsigned_request_is_refused(world: OfflineWorld):
    status, _ = client(world).raw(
        b"command=%2Fsnooze&text=status", {"Content-Type": FORM}
    )

    assert status == 401


def test_tampered_body_is_refused(world: OfflineWorld):
    """The signature covers the body: changing one word after signing is caught."""
    signed = b"command=%2Fsnooze&text=status&team_id=T1&channel_id=C1"
    tampered = signed.replace(b"status", b"stop+qa-db")

    status, _ = client(world).raw(tampered, signed_headers(signed))

    assert status == 401


def test_stale_timestamp_is_refused(world: OfflineWorld):
    six_minutes_ago = int(time.time()) - 6 * 60

    status, _ = client(world).command("status", timestamp=six_minutes_ago)

    assert status == 401


def test_fresh_signed_command_is_answered(world: OfflineWorld):
    status, body = client(world).command("help")

    assert status == 200
    assert isinstance(body, dict) and "/snooze connect" in body["text"]


def test_oversize_body_gets_413_not_500(world: OfflineWorld):
    body = b"command=%2Fsnooze&text=" + b"a" * MAX_BODY_BYTES

    status, answer = post_signed(world, body)

    assert status == 413
    assert "too large" in str(answer)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(random.Random(4).randbytes(300), FORM, id="random-bytes"),
        pytest.param(b"\xff\xfe\x00text=status", FORM, id="not-utf-8"),
        pytest.param(b"%%%&&==%zz&text=%E2%28", FORM, id="bad-form-encoding"),
        pytest.param(b"payload=%7Bnot-json", FORM, id="payload-not-json"),
        pytest.param(b"payload=%5B1%2C2%5D", FORM, id="payload-a-list"),
        pytest.param(b"payload=7", FORM, id="payload-a-number"),
        pytest.param(b"payload=null", FORM, id="payload-null"),
        pytest.param(interaction({}), FORM, id="payload-empty-object"),
        pytest.param(interaction({"type": "view_submission"}), FORM, id="view-no-view"),
        pytest.param(
            interaction({"type": "view_submission", "view": {"callback_id": 3}}),
            FORM,
            id="view-without-type",
        ),
        pytest.param(interaction({"type": "block_actions"}), FORM, id="no-actions"),
        pytest.param(b"{not json", JSON, id="json-garbage"),
        pytest.param(b"[1, 2]", JSON, id="json-a-list"),
        pytest.param(b'{"type": "event_callback"}', JSON, id="event-without-event"),
        pytest.param(b"", FORM, id="empty"),
        pytest.param(b"text=status", FORM, id="command-without-command"),
    ],
)
def test_signed_malformed_body_gets_4xx_never_500(
    world: OfflineWorld, body: bytes, content_type: str
):
    status, answer = post_signed(world, body, content_type)

    assert_refused_cleanly(status, answer)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"\xff\xfe\x00garbage", id="not-utf-8"),
        pytest.param(b"payload=%7Bnot-json", id="payload-not-json"),
    ],
)
def test_unsigned_malformed_body_is_refused(world: OfflineWorld, body: bytes):
    """bolt parses before it checks the signature; the parse failure is still a 4xx."""
    status, answer = client(world).raw(body, {"Content-Type": FORM})

    assert status in (400, 401)
    assert "Traceback" not in str(answer)


def test_malformed_body_is_logged_without_its_content(
    world: OfflineWorld, caplog: pytest.LogCaptureFixture
):
    body = b"payload=%7Bnot-json-but-secret-looking-xoxb-123"

    with caplog.at_level(logging.DEBUG):
        status, _ = post_signed(world, body)

    assert status == 400
    assert not any("xoxb-123" in record.getMessage() for record in caplog.records)
    assert any("malformed request" in record.getMessage() for record in caplog.records)


def test_connect_modal_with_malformed_state_gets_4xx(world: OfflineWorld):
    payload = {
        "type": "view_submission",
        "team": {"id": "T1"},
        "user": {"id": "U1", "team_id": "T1"},
        "view": {"type": "modal", "callback_id": CONNECT_VIEW, "state": {"values": []}},
    }

    status, answer = post_signed(world, interaction(payload))

    assert_refused_cleanly(status, answer)


def test_button_payload_with_malformed_actions_gets_4xx(world: OfflineWorld):
    payload = {
        "type": "block_actions",
        "team": {"id": "T1"},
        "user": {"id": "U1"},
        "actions": ["confirm_action"],
    }

    status, answer = post_signed(world, interaction(payload))

    assert_refused_cleanly(status, answer)


def test_events_api_url_verification_gets_the_challenge_back(world: OfflineWorld):
    body = json.dumps(
        {"type": "url_verification", "token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV"}
    ).encode()

    status, answer = post_signed(world, body, JSON)

    assert status == 200
    assert answer == {"challenge": "3eZbrw1aBm2rZgRNFdxV"}


def app_uninstalled(event_id: str) -> bytes:
    """An Events API `app_uninstalled` callback for team T1."""
    return json.dumps(
        {
            "token": "x",
            "team_id": "T1",
            "api_app_id": "A0STANDIN",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "event": {"type": "app_uninstalled"},
        }
    ).encode()


def test_events_api_retry_is_answered_200_and_acts_once(world: OfflineWorld):
    body = app_uninstalled("Ev0RETRY01")

    first, _ = post_signed(world, body, JSON)
    world.settle()
    seen = len(world.slack.records)
    retry, _ = post_signed(
        world,
        body,
        JSON,
        **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    world.settle()

    assert (first, retry) == (200, 200)
    assert len(world.slack.records) == seen
