"""The Slack app manifest: what it asks Slack for, and that the server answers there.

A manifest pointing at a path the server does not serve, or subscribing to an event
the app does not acknowledge, installs fine and then fails in use; these tests
catch both before anyone creates the app.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from werkzeug.test import Client

from bot.config import Settings
from bot.server import EVENTS_PATH, Runtime, build_runtime, wsgi_app

MANIFEST = Path(__file__).resolve().parent.parent / "manifests" / "slack_app.yaml"
SIGNING_SECRET = "manifest-test-signing-secret"
BOT_SCOPES = {"commands", "chat:write", "users:read", "usergroups:read"}
BOT_EVENTS = {"app_uninstalled", "tokens_revoked"}


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    loaded = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    """The real bot, built as `snoozedb serve` builds it, with no AWS call at start."""
    settings = Settings(
        slack_bot_token="xoxb-manifest-test",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url="http://127.0.0.1:9/api/",
        database_url=f"sqlite:///{tmp_path / 'bot.sqlite3'}",
        snoozedb_aws_account_id="123456789012",
        snoozedb_regions=("us-east-1",),
    )
    built = build_runtime(settings)
    yield built
    built.close()


def signed_post(runtime: Runtime, payload: dict[str, Any]) -> tuple[int, str]:
    """POST a JSON body to the events endpoint, signed as Slack signs it."""
    body = json.dumps(payload).encode()
    timestamp = str(int(time.time()))
    base = b"v0:" + timestamp.encode() + b":" + body
    digest = hmac.new(SIGNING_SECRET.encode(), base, hashlib.sha256).hexdigest()
    client = Client(wsgi_app(runtime.app))

    response = client.post(
        EVENTS_PATH,
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": f"v0={digest}",
        },
    )
    return response.status_code, response.get_data(as_text=True)


def path_of(url: str) -> str:
    return urlsplit(url).path


def test_manifest_uses_format_version_2_1(manifest: dict[str, Any]):
    assert manifest["_metadata"] == {"major_version": 2, "minor_version": 1}
    assert manifest["display_information"]["name"] == "SnoozeDB"
    assert manifest["features"]["bot_user"]["display_name"]


def test_snooze_command_is_sent_to_the_path_the_server_serves(manifest: dict[str, Any]):
    (command,) = manifest["features"]["slash_commands"]

    assert command["command"] == "/snooze"
    assert path_of(command["url"]) == EVENTS_PATH
    assert command["url"].startswith("https://")
    assert command["usage_hint"]
    assert command["should_escape"] is True


def test_interactivity_and_events_are_sent_to_the_path_the_server_serves(
    manifest: dict[str, Any],
):
    settings = manifest["settings"]

    assert settings["interactivity"]["is_enabled"] is True
    assert path_of(settings["interactivity"]["request_url"]) == EVENTS_PATH
    assert path_of(settings["event_subscriptions"]["request_url"]) == EVENTS_PATH


def test_manifest_asks_only_for_the_bot_scopes_snoozedb_uses(manifest: dict[str, Any]):
    scopes = manifest["oauth_config"]["scopes"]

    assert set(scopes["bot"]) == BOT_SCOPES
    assert "user" not in scopes


def test_every_scope_has_a_comment_saying_why_it_is_needed():
    """The comment block right above `- scope` must name that scope."""
    lines = MANIFEST.read_text(encoding="utf-8").splitlines()

    for scope in BOT_SCOPES:
        (index,) = [i for i, line in enumerate(lines) if line.strip() == f"- {scope}"]
        comment: list[str] = []
        above = index - 1
        while above >= 0 and lines[above].strip().startswith("#"):
            comment.insert(0, lines[above].strip().lstrip("#").strip())
            above -= 1
        explanation = " ".join(comment)
        assert explanation.startswith(f"{scope}:"), f"{scope} has no comment of its own"
        assert len(explanation) > len(scope) + 40, f"{scope}'s comment says too little"


def test_manifest_subscribes_to_uninstall_and_revocation_events(
    manifest: dict[str, Any],
):
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == BOT_EVENTS


def test_manifest_runs_over_https_without_socket_mode_or_token_rotation(
    manifest: dict[str, Any],
):
    settings = manifest["settings"]

    assert settings["org_deploy_enabled"] is False
    assert settings["socket_mode_enabled"] is False
    assert settings["token_rotation_enabled"] is False


def test_server_answers_the_url_verification_slack_sends_when_the_app_is_created(
    runtime: Runtime,
):
    status, body = signed_post(
        runtime, {"type": "url_verification", "token": "x", "challenge": "c-42"}
    )

    assert status == 200
    assert "c-42" in body


@pytest.mark.parametrize("event", sorted(BOT_EVENTS))
def test_server_acknowledges_every_event_the_manifest_subscribes_to(
    runtime: Runtime, event: str
):
    """Slack retries an event answered with an error and may disable the subscription."""
    payload = {
        "token": "x",
        "team_id": "T1",
        "api_app_id": "A1",
        "event": {"type": event, "tokens": {"bot": ["U0BOT"]}},
        "type": "event_callback",
        "event_id": f"Ev{event}",
        "event_time": int(time.time()),
    }

    status, _ = signed_post(runtime, payload)

    assert status == 200
