"""Teams that remove the app, and Slack refusing or failing what the bot posts.

Events come in signed, as Slack sends them (retries carry `X-Slack-Retry-Num`).
Slack's faults are programmed on the stand-in: 429 with Retry-After, 5xx, and the
error codes of channels the bot cannot post in. Retry waits are recorded instead of
slept. What the user sees is read from the stand-in and from `/snooze history`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

from bot import messages, slack_app
from bot.commands import connect as connect_command
from bot.demo import BOT_TOKEN, CUSTOMER_ACCOUNT, SIGNING_SECRET, OfflineWorld
from bot.scheduler import (
    RETRY_ATTEMPTS,
    RETRY_BUDGET_SECONDS,
    RETRY_FOR,
    Poster,
    run_due,
)
from bot.slack_app import CONNECT_VIEW, ROLE_ARN_BLOCK, ROLE_ARN_INPUT, web_client
from bot.standins.slack import render
from bot.storage import Storage

ROLE_NAME = "SnoozeDBAccess"
OFFICE_UTC = "mon-fri 08:00-20:00 tz UTC"
MONDAY_2000 = datetime(2026, 3, 30, 20, 0, tzinfo=UTC)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OfflineWorld]:
    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv(
        "AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials")
    )
    with OfflineWorld(f"sqlite:///{tmp_path / 'bot.sqlite3'}") as offline:
        offline.seed_sample_account()
        yield offline


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The pauses Slack clients made before retrying, recorded instead of slept."""
    waited: list[float] = []
    monkeypatch.setattr(slack_app, "_wait", waited.append)
    return waited


def storage(world: OfflineWorld) -> Storage:
    assert world.runtime is not None
    return world.runtime.storage


def say(world: OfflineWorld, line: str, **who: Any) -> tuple[str, str]:
    """Type a /snooze line; return the immediate reply and what was posted later."""
    assert world.requests is not None
    before = len(world.slack.responses)
    status, body = world.requests.command(line, **who)
    assert status == 200
    world.settle()
    later = "\n".join(render(p.body) for p in world.slack.responses[before:] if p.ok)
    return (render(body) if isinstance(body, dict) else str(body)), later


def connect(world: OfflineWorld) -> str:
    """Connect the sample customer account to T1/C1; returns the role ARN."""
    say(world, "connect")
    pending = storage(world).pending("T1", "C1")
    assert pending is not None
    role_arn = world.aws.deploy_role_stack(
        CUSTOMER_ACCOUNT,
        pending.external_id,
        world.own_account_id,
        stack_name=ROLE_NAME,
    )
    _, later = say(world, f"connect {role_arn}")
    assert "connected AWS account 111122223333" in later
    return role_arn


def event(
    world: OfflineWorld, payload: dict[str, Any], retry: int = 0
) -> tuple[int, Any]:
    """Send an Events API callback, signed; `retry` > 0 sends it as Slack's retry."""
    assert world.requests is not None
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", **world.requests.sign(body)}
    if retry:
        headers["X-Slack-Retry-Num"] = str(retry)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return world.requests.raw(body, headers)


def callback(kind: str, event_id: str, team_id: str = "T1", **fields: Any) -> dict:
    return {
        "token": "standin-verification-token",
        "team_id": team_id,
        "api_app_id": "A0STANDIN",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "event": {"type": kind, **fields},
    }


def poster(world: OfflineWorld) -> Poster:
    client = web_client(BOT_TOKEN, world.slack.base_url)
    return Poster(storage(world), client, pause=lambda _seconds: None)


def stops(world: OfflineWorld) -> int:
    return world.aws.calls[(CUSTOMER_ACCOUNT, "StopDBInstance")]


# --- Teams that remove the app ---------------------------------------------------


def test_app_uninstalled_marks_the_team_inactive_and_keeps_its_data(
    world: OfflineWorld,
):
    connect(world)

    status, _ = event(world, callback("app_uninstalled", "Ev1"))

    assert status == 200
    assert storage(world).team_active("T1") is False
    assert storage(world).team_active("T2") is True
    assert [a.aws_account_id for a in storage(world).accounts("T1")] == [
        CUSTOMER_ACCOUNT
    ]


def test_the_next_command_makes_an_inactive_team_active_again(world: OfflineWorld):
    event(world, callback("app_uninstalled", "Ev1"))

    reply, _ = say(world, "help")

    assert reply.startswith(messages.HELP_TITLE)
    assert storage(world).team_active("T1") is True


def test_a_retried_event_acts_once_even_after_the_team_came_back(
    world: OfflineWorld,
):
    """Slack retries an event it thinks was missed; the event_id was claimed."""
    event(world, callback("app_uninstalled", "Ev7"))
    say(world, "help")

    status, _ = event(world, callback("app_uninstalled", "Ev7"), retry=1)

    assert status == 200
    assert storage(world).team_active("T1") is True


def test_tokens_revoked_for_the_bot_marks_the_team_inactive(world: OfflineWorld):
    event(world, callback("tokens_revoked", "Ev2", tokens={"bot": ["UBOT"]}))

    assert storage(world).team_active("T1") is False


def test_user_tokens_revoked_alone_leave_the_team_active(world: OfflineWorld):
    """SnoozeDB holds no user tokens; only the bot token matters."""
    event(world, callback("tokens_revoked", "Ev3", tokens={"oauth": ["U1"]}))

    assert storage(world).team_active("T1") is True


@pytest.mark.parametrize("code", ["account_inactive", "token_revoked", "invalid_auth"])
def test_a_channel_post_refused_for_a_removed_app_marks_the_team_inactive(
    world: OfflineWorld, code: str
):
    world.slack.fail("chat.postMessage", error=code)

    delivered = poster(world).post("T1", "C1", "Scheduled run")

    assert delivered is False
    assert storage(world).team_active("T1") is False
    assert storage(world).team_active("T2") is True


def test_a_permission_check_refused_for_a_removed_app_marks_the_team_inactive(
    world: OfflineWorld,
):
    world.slack.fail("users.info", error="account_inactive")

    reply, _ = say(world, "connect", user_id="U2")

    assert reply == messages.PERMISSION_UNKNOWN
    assert storage(world).team_active("T1") is False


def test_the_scheduler_skips_an_inactive_team(world: OfflineWorld):
    connect(world)
    storage(world).assign_schedule("T1", "C1", "qa-db", OFFICE_UTC, "U1")
    event(world, callback("app_uninstalled", "Ev4"))
    world.aws.reset_counts()
    world.slack.clear()
    assert world.runtime is not None

    run_due(
        storage(world),
        world.runtime.context.operations,
        poster(world),
        MONDAY_2000 + timedelta(seconds=5),
        since=MONDAY_2000 - timedelta(minutes=1),
    )

    assert stops(world) == 0
    assert world.slack.calls_to("chat.postMessage") == []


# --- 429 and 5xx are waited out and retried ------------------------------------


def test_a_rate_limited_channel_post_waits_retry_after_then_goes_out(
    world: OfflineWorld, waits: list[float]
):
    world.slack.rate_limit("chat.postMessage", retry_after=7)

    delivered = poster(world).post("T1", "C1", "Scheduled run")

    assert delivered is True
    assert waits == [7.0]
    assert [m["text"] for m in world.slack.messages("C1")] == ["Scheduled run"]


def test_a_channel_post_answered_503_is_retried_and_goes_out(
    world: OfflineWorld, waits: list[float]
):
    world.slack.server_error("chat.postMessage")

    delivered = poster(world).post("T1", "C1", "Scheduled run")

    assert delivered is True
    assert len(waits) == 1
    assert len(world.slack.calls_to("chat.postMessage")) == 2


@pytest.mark.parametrize("status", [429, 503])
def test_a_result_the_response_url_refuses_for_a_moment_still_arrives(
    world: OfflineWorld, waits: list[float], status: int
):
    connect(world)
    world.slack.fail_responses(status=status, error="busy")

    _, later = say(world, "stop qa-db", user_id="U42")

    assert "@U42 asked to stop `qa-db`" in later
    assert len(waits) == 1
    assert storage(world).undelivered_in("T1", "C1") == []


# --- Messages that cannot be delivered -------------------------------------------


@pytest.mark.parametrize("code", ["channel_not_found", "not_in_channel", "is_archived"])
def test_a_channel_post_slack_refuses_is_kept_logged_and_shown_in_history(
    world: OfflineWorld, caplog: pytest.LogCaptureFixture, code: str
):
    world.slack.fail("chat.postMessage", error=code)
    caplog.set_level(logging.WARNING)

    delivered = poster(world).post("T1", "C1", "In 15 minutes SnoozeDB stops `qa-db`")
    reply, _ = say(world, "history")

    assert delivered is False
    [kept] = storage(world).undelivered_in("T1", "C1")
    assert kept.last_error == code
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        "channel=C1" in r.getMessage() and code in r.getMessage() for r in warned
    )
    assert "1 message(s) to this channel could not be delivered" in reply
    assert f"not delivered ({code}) · In 15 minutes SnoozeDB stops `qa-db`" in reply
    assert storage(world).team_active("T1") is True


class Seconds:
    """Monotonic seconds that move only when the poster paces itself."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def pause(self, seconds: float) -> None:
        self.now += seconds


def kept_in(world: OfflineWorld, channel_id: str, count: int) -> None:
    """Keep `count` messages Slack refused for `channel_id` (the bot was not in it)."""
    world.slack.channels_without_bot.add(channel_id)
    for n in range(count):
        poster(world).post("T1", channel_id, f"message {n}")
    world.slack.channels_without_bot.discard(channel_id)
    world.slack.clear()


def test_kept_messages_wait_for_the_scheduled_stop_and_take_a_bounded_time(
    world: OfflineWorld,
):
    """30 kept messages at a second each: the stop and its message go out first."""
    connect(world)
    storage(world).assign_schedule("T1", "C1", "qa-db", OFFICE_UTC, "U1")
    kept_in(world, "C2", 30)
    seconds = Seconds()
    paced = Poster(
        storage(world),
        web_client(BOT_TOKEN, world.slack.base_url),
        pause=seconds.pause,
        monotonic=seconds,
    )
    assert world.runtime is not None

    run_due(
        storage(world),
        world.runtime.context.operations,
        paced,
        MONDAY_2000 + timedelta(seconds=5),
        since=MONDAY_2000 - timedelta(minutes=1),
    )

    posted = [
        call.params["channel"] for call in world.slack.calls_to("chat.postMessage")
    ]
    assert stops(world) == 1
    assert posted[0] == "C1"
    assert "`qa-db` (us-east-1): stopping now." in render(world.slack.messages("C1")[0])
    assert 1 < posted.count("C2") <= RETRY_BUDGET_SECONDS + 1
    assert seconds.now <= RETRY_BUDGET_SECONDS + 1
    assert len(
        storage(world).undelivered_in("T1", "C2", limit=50)
    ) == 30 - posted.count("C2")


def test_a_message_refused_every_time_is_given_up_and_still_shown_in_history(
    world: OfflineWorld,
):
    connect(world)
    world.slack.channels_without_bot.add("C1")
    poster(world).post("T1", "C1", "In 15 minutes SnoozeDB stops `qa-db`")

    for _ in range(RETRY_ATTEMPTS + 2):
        poster(world).retry_undelivered()
    reply, _ = say(world, "history")

    assert len(world.slack.calls_to("chat.postMessage")) == RETRY_ATTEMPTS
    assert storage(world).undelivered_notices() == []
    assert "not delivered (not_in_channel; no longer retried)" in reply


def test_a_message_kept_longer_than_a_day_is_given_up_without_a_call(
    world: OfflineWorld,
):
    connect(world)
    world.slack.channels_without_bot.add("C1")
    poster(world).post("T1", "C1", "In 15 minutes SnoozeDB stops `qa-db`")
    world.slack.channels_without_bot.discard("C1")
    world.slack.clear()
    later = Poster(
        storage(world),
        web_client(BOT_TOKEN, world.slack.base_url),
        clock=lambda: datetime.now(UTC) + RETRY_FOR + timedelta(minutes=1),
        pause=lambda _seconds: None,
    )

    sent = later.retry_undelivered()
    reply, _ = say(world, "history")

    assert sent == 0
    assert world.slack.calls_to("chat.postMessage") == []
    assert "not delivered (not_in_channel; no longer retried)" in reply


def test_kept_messages_of_an_inactive_team_are_not_retried(world: OfflineWorld):
    kept_in(world, "C1", 2)
    event(world, callback("app_uninstalled", "Ev9"))

    sent = poster(world).retry_undelivered()

    assert sent == 0
    assert world.slack.calls_to("chat.postMessage") == []
    assert len(storage(world).undelivered_notices()) == 2


def test_a_result_the_response_url_refuses_is_kept_and_shown_in_history(
    world: OfflineWorld, caplog: pytest.LogCaptureFixture
):
    connect(world)
    world.slack.fail_responses(status=404, error="expired_url", times=5)
    caplog.set_level(logging.WARNING)

    say(world, "stop qa-db", user_id="U42")
    reply, _ = say(world, "history")

    assert stops(world) == 1
    [kept] = storage(world).undelivered_in("T1", "C1")
    assert kept.text.startswith("<@U42> asked to stop `qa-db`")
    assert any(
        "team=T1 channel=C1 user=U42 (http_404)" in r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING
    )
    assert "not delivered (response_url http_404) · @U42 asked to stop" in reply


def test_a_private_reply_the_response_url_refuses_is_not_made_public(
    world: OfflineWorld,
):
    """Only channel messages are kept for chat.postMessage; a private one is dropped."""
    connect(world)
    world.slack.fail_responses(status=404, error="expired_url", times=5)

    say(world, "status")

    assert storage(world).undelivered_in("T1", "C1") == []


# --- R12: the connect modal opens at once ----------------------------------------


def test_the_connect_modal_opens_with_the_trigger_id_before_any_aws_work(
    world: OfflineWorld,
):
    """R12: a trigger_id expires three seconds after the click."""
    say(world, "connect")
    pending = storage(world).pending("T1", "C1")
    assert pending is not None and world.requests is not None
    world.slack.clear()
    world.aws.reset_counts()

    status, _ = world.requests.block_action(
        connect_command.OPEN_MODAL, str(pending.id), trigger_id="1337.42.abcd"
    )
    # views.open goes out right after the acknowledgement, on the responder's
    # threads, so a slow Slack never delays the 200 either.
    world.settle()

    assert status == 200
    [opened] = world.slack.calls
    assert opened.method == "views.open" and opened.ok
    assert opened.params["trigger_id"] == "1337.42.abcd"
    assert opened.params["view"]["callback_id"] == CONNECT_VIEW
    assert sum(world.aws.calls.values()) == 0
    assert world.aws.assume_role_calls == []


def test_a_bad_role_arn_in_the_modal_gets_a_field_error_without_aws_calls(
    world: OfflineWorld,
):
    say(world, "connect")
    pending = storage(world).pending("T1", "C1")
    assert pending is not None and world.requests is not None
    world.aws.reset_counts()

    status, body = world.requests.view_submission(
        CONNECT_VIEW,
        {ROLE_ARN_BLOCK: {ROLE_ARN_INPUT: "arn:aws:iam::1234:role/Snooze"}},
        private_metadata=json.dumps({"account_id": str(pending.id)}),
    )

    assert status == 200 and isinstance(body, dict)
    assert body["response_action"] == "errors"
    assert "arn:aws:iam::1234:role/Snooze" in body["errors"][ROLE_ARN_BLOCK]
    assert sum(world.aws.calls.values()) == 0
    assert world.aws.assume_role_calls == []


def test_a_modal_slack_will_not_open_is_explained_in_the_conversation(
    world: OfflineWorld,
):
    say(world, "connect")
    pending = storage(world).pending("T1", "C1")
    assert pending is not None and world.requests is not None
    world.slack.fail("views.open", error="expired_trigger_id")

    status, _ = world.requests.block_action(connect_command.OPEN_MODAL, str(pending.id))
    [told] = world.slack.wait_for(lambda r: r.ok and hasattr(r, "body"))

    assert status == 200
    assert render(told.body) == messages.CONNECT_FORM_FAILED  # type: ignore[attr-defined]
    assert storage(world).team_active("T1") is True


# --- Secrets -----------------------------------------------------------------------


def test_the_bot_token_and_signing_secret_appear_in_no_log_message_or_row(
    world: OfflineWorld, caplog: pytest.LogCaptureFixture
):
    """A full connect, status and stop run, with every library logging at DEBUG."""
    caplog.set_level(logging.DEBUG)
    for name in ("slack_sdk", "slack_bolt", "bot", "urllib3", "botocore"):
        caplog.set_level(logging.DEBUG, logger=name)

    connect(world)
    say(world, "status")
    say(world, "stop qa-db")
    poster(world).post("T1", "C1", "Scheduled run")

    assert any(call.token == BOT_TOKEN for call in world.slack.calls)  # really used
    assert any(r.name.startswith("slack_sdk") for r in caplog.records)
    logged = [
        f"{r.getMessage()} {r.exc_text or ''} {r.stack_info or ''}"
        for r in caplog.records
    ]
    said = world.slack.texts() + [json.dumps(p.body) for p in world.slack.responses]
    said += [json.dumps(call.params) for call in world.slack.calls]
    with storage(world).engine.connect() as database:
        rows = [
            repr(row)
            for table in SQLModel.metadata.sorted_tables
            for row in database.execute(text(f"SELECT * FROM {table.name}"))
        ]
    assert rows
    for secret in (BOT_TOKEN, SIGNING_SECRET):
        assert not [line for line in logged if secret in line]
        assert not [line for line in said if secret in line]
        assert not [row for row in rows if secret in row]
