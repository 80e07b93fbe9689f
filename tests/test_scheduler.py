"""The scheduler end to end: schedules in storage, AWS through the stand-in, Slack posts.

Each test fixes the instants it runs at (`run_due(now=...)`), never waits for a
clock, and reads what the channel saw (chat.postMessage through the Slack stand-in)
and what AWS saw (calls per account).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine

from bot import notices, slack_app
from bot.demo import BOT_TOKEN, CUSTOMER_ACCOUNT, OfflineWorld
from bot.domain import Action
from bot.scheduler import Engine, Poster, RunReport, run_due
from bot.slack_app import web_client
from bot.standins.slack import render
from bot.storage import Storage

ROLE_NAME = "SnoozeDBAccess"
OFFICE_UTC = "mon-fri 08:00-20:00 tz UTC"
MONDAY_2000 = datetime(2026, 3, 30, 20, 0, tzinfo=UTC)
QA_DB = f"{CUSTOMER_ACCOUNT}/us-east-1/qa-db"


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OfflineWorld]:
    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv(
        "AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials")
    )
    with OfflineWorld(f"sqlite:///{tmp_path / 'bot.sqlite3'}") as offline:
        offline.seed_sample_account()
        connect(offline)
        yield offline


def connect(world: OfflineWorld, team_id: str = "T1", channel_id: str = "C1") -> None:
    """Connect the sample customer account to a channel, as a customer would."""
    assert world.requests is not None
    world.requests.command("connect", team_id=team_id, channel_id=channel_id)
    world.settle()
    pending = storage_of(world).pending(team_id, channel_id)
    assert pending is not None
    role_arn = world.aws.deploy_role_stack(
        CUSTOMER_ACCOUNT,
        pending.external_id,
        world.own_account_id,
        stack_name=ROLE_NAME,
    )
    world.requests.command(
        f"connect {role_arn}", team_id=team_id, channel_id=channel_id
    )
    world.settle()
    world.aws.reset_counts()


def storage_of(world: OfflineWorld) -> Storage:
    assert world.runtime is not None
    return world.runtime.storage


def poster_of(world: OfflineWorld) -> Poster:
    client = web_client(BOT_TOKEN, world.slack.base_url)
    return Poster(storage_of(world), client, pause=lambda _seconds: None)


def run(world: OfflineWorld, now: datetime, since: datetime | None = None) -> RunReport:
    """One scheduler run over (since, now]; a minute-long window by default."""
    assert world.runtime is not None
    return run_due(
        storage_of(world),
        world.runtime.context.operations,
        poster_of(world),
        now,
        since=since or now - timedelta(minutes=1),
    )


def channel(world: OfflineWorld, channel_id: str = "C1") -> list[str]:
    """What the channel read from the bot's own posts, in order."""
    return [render(params) for params in world.slack.messages(channel_id)]


def stops(world: OfflineWorld) -> int:
    return world.aws.calls[(CUSTOMER_ACCOUNT, "StopDBInstance")]


def starts(world: OfflineWorld) -> int:
    return world.aws.calls[(CUSTOMER_ACCOUNT, "StartDBInstance")]


def assign(world: OfflineWorld, target: str, text: str) -> None:
    storage_of(world).assign_schedule("T1", "C1", target, text, "U1")


def test_scheduled_stop_happens_once_and_the_channel_gets_one_message(
    world: OfflineWorld,
):
    assign(world, "qa-db", OFFICE_UTC)

    run(world, MONDAY_2000 + timedelta(seconds=5))
    run(world, MONDAY_2000 + timedelta(seconds=5))

    assert stops(world) == 1
    posted = channel(world)
    assert len(posted) == 1
    assert "Scheduled run for AWS account 111122223333" in posted[0]
    assert "`qa-db` (us-east-1): stopping now." in posted[0]
    assert "schedule of `qa-db`" in posted[0]


def test_nothing_is_asked_of_aws_when_nothing_is_due(world: OfflineWorld):
    assign(world, "qa-db", OFFICE_UTC)

    run(world, MONDAY_2000 - timedelta(hours=3, minutes=30))

    assert world.aws.assume_role_calls == []
    assert channel(world) == []


def test_fleet_of_150_in_one_account_gets_one_summary_and_one_describe(
    world: OfflineWorld,
):
    """R6: one role assumption, one paginated listing per region, one message."""
    rds = world.aws.customer_session(CUSTOMER_ACCOUNT, "us-east-1").client("rds")
    for n in range(150):
        rds.create_db_instance(
            DBInstanceIdentifier=f"fleet-{n:03d}",
            Engine="postgres",
            DBInstanceClass="db.t3.micro",
            MasterUsername="admin",
            MasterUserPassword="not-a-real-password",
            AllocatedStorage=20,
            Tags=[{"Key": "env", "Value": "dev"}],
        )
    world.aws.reset_counts()
    assign(world, "tag:env=dev", OFFICE_UTC)

    report = run(world, MONDAY_2000 + timedelta(seconds=5))

    assert stops(world) == 150
    assert len(world.aws.assume_role_calls) == 1
    pages = world.aws.calls_by_region[
        (CUSTOMER_ACCOUNT, "us-east-1", "DescribeDBInstances")
    ]
    assert pages == 2  # one paginated listing: 156 instances, 100 a page
    assert world.aws.calls[(CUSTOMER_ACCOUNT, "ListTagsForResource")] == 0
    assert len(report.outcomes) == 150
    posted = channel(world)
    assert len(posted) == 1
    assert all(
        f"`fleet-{n:03d}` (us-east-1): stopping now." in posted[0] for n in range(150)
    )


def test_busy_instance_is_retried_until_it_can_be_stopped(world: OfflineWorld):
    """R3: no stop call while backing-up; stopped once it is available; both said."""
    world.aws.set_instance_status(CUSTOMER_ACCOUNT, "us-east-1", "qa-db", "backing-up")
    assign(world, "qa-db", OFFICE_UTC)

    run(world, MONDAY_2000 + timedelta(seconds=5))
    run(world, MONDAY_2000 + timedelta(minutes=1, seconds=5))
    busy_stops = stops(world)
    world.aws.set_instance_status(CUSTOMER_ACCOUNT, "us-east-1", "qa-db", "available")
    run(world, MONDAY_2000 + timedelta(minutes=2, seconds=5))

    assert busy_stops == 0
    assert stops(world) == 1
    first, final = channel(world)
    assert "busy (backing-up)" in first and "until 2026-03-30 20:30 UTC" in first
    assert "`qa-db` (us-east-1): stopping now." in final
    assert "tried again after available" in final


def test_busy_instance_past_the_deadline_is_given_up_and_said_so(world: OfflineWorld):
    """R3: "gave up after N minutes: still backing-up"."""
    world.aws.set_instance_status(CUSTOMER_ACCOUNT, "us-east-1", "qa-db", "backing-up")
    assign(world, "qa-db", OFFICE_UTC)

    run(world, MONDAY_2000 + timedelta(seconds=5))
    for minute in (10, 20):
        run(world, MONDAY_2000 + timedelta(minutes=minute, seconds=5))
    run(world, MONDAY_2000 + timedelta(minutes=31, seconds=5))
    run(world, MONDAY_2000 + timedelta(minutes=32, seconds=5))

    assert stops(world) == 0
    posted = channel(world)
    assert len(posted) == 2
    assert "gave up after 31 minutes: still backing-up" in posted[1]


def test_dst_days_in_two_zones_stop_at_local_time(world: OfflineWorld):
    """R9: London on 2025-03-31 stops at 19:00 UTC; New York on 2025-03-10 at 00:00 UTC."""
    assign(world, "qa-db", "weekdays stop 20:00 tz Europe/London")
    assign(world, "reports-db", "mon-fri 08:00-20:00 tz America/New_York")
    london = datetime(2025, 3, 31, 19, 0, 5, tzinfo=UTC)
    new_york = datetime(2025, 3, 11, 0, 0, 5, tzinfo=UTC)

    run(world, london + timedelta(hours=1))
    wrong_hour = stops(world)
    run(world, london)
    after_london = channel(world)
    run(world, new_york - timedelta(hours=1))
    run(world, new_york)

    assert wrong_hour == 0
    assert (
        len(after_london) == 1
        and "`qa-db` (us-east-1): stopping now." in after_london[0]
    )
    assert stops(world) == 2
    assert "`reports-db` (eu-west-1): stopping now." in channel(world)[-1]


def test_restart_catches_up_a_missed_stop_still_wanted(world: OfflineWorld):
    assign(world, "qa-db", OFFICE_UTC)
    storage_of(world).advance_mark("last_run", MONDAY_2000 - timedelta(minutes=10))
    engine = engine_at(world, MONDAY_2000 + timedelta(hours=2))

    report = engine.tick()

    assert stops(world) == 1
    assert report.dropped == 0
    assert "`qa-db` (us-east-1): stopping now." in channel(world)[0]


def test_restart_drops_a_stale_stop_whose_window_reopened(
    world: OfflineWorld, caplog: pytest.LogCaptureFixture
):
    assign(world, "qa-db", OFFICE_UTC)
    storage_of(world).advance_mark("last_run", MONDAY_2000 - timedelta(minutes=10))
    engine = engine_at(world, MONDAY_2000 + timedelta(hours=13, minutes=30))

    with caplog.at_level("INFO", logger="bot.scheduler"):
        report = engine.tick()

    assert stops(world) == 0
    assert report.dropped == 1
    assert "dropped 1 stale transition(s)" in caplog.text
    assert "`qa-db` (us-east-1): already running, nothing to do." in channel(world)[0]


def engine_at(world: OfflineWorld, now: datetime) -> Engine:
    assert world.runtime is not None
    return Engine(
        storage_of(world),
        world.runtime.context.operations,
        poster_of(world),
        clock=lambda: now,
    )


def test_override_keeps_running_past_the_stop_and_expires_by_itself(
    world: OfflineWorld,
):
    assign(world, "qa-db", OFFICE_UTC)
    until = MONDAY_2000 + timedelta(minutes=30)
    storage_of(world).add_override("T1", "C1", QA_DB, until, "U7")

    run(world, MONDAY_2000 + timedelta(seconds=5))
    kept = stops(world)
    run(world, until + timedelta(seconds=5))

    assert kept == 0
    assert stops(world) == 1
    first, second = channel(world)
    assert "kept running until 2026-03-30 20:30 UTC as @U7 asked" in first
    assert "`qa-db` (us-east-1): stopping now." in second
    assert "keep-running by @U7 ended" in second


def test_due_one_off_is_carried_out_and_overrides_the_schedule_until_then(
    world: OfflineWorld,
):
    assign(world, "qa-db", OFFICE_UTC)
    due = MONDAY_2000 + timedelta(hours=2)
    storage_of(world).add_one_off("T1", "C1", QA_DB, Action.STOP, due, "U3")

    run(world, MONDAY_2000 + timedelta(seconds=5))
    held = stops(world)
    run(world, due + timedelta(seconds=5))

    assert held == 0
    assert stops(world) == 1
    assert "one-off snooze by @U3" in channel(world)[-1]
    assert storage_of(world).one_offs("T1") == []


def tag_schedule(world: OfflineWorld, identifier: str, name: str) -> None:
    """Give an instance the tag `snoozedb:schedule=<name>` in the customer's account."""
    rds = world.aws.customer_session(CUSTOMER_ACCOUNT, "us-east-1").client("rds")
    found = rds.describe_db_instances(DBInstanceIdentifier=identifier)
    rds.add_tags_to_resource(
        ResourceName=found["DBInstances"][0]["DBInstanceArn"],
        Tags=[{"Key": "snoozedb:schedule", "Value": name}],
    )


def test_instance_tag_follows_the_name_saved_in_the_accounts_channel(
    world: OfflineWorld,
):
    """C2 saving `office-hours` too changes nothing for the database connected in C1."""
    tag_schedule(world, "qa-db", "office-hours")
    storage_of(world).define_schedule("T1", "C1", "office-hours", OFFICE_UTC, "U1")
    always = "daily 00:00-23:59 tz UTC"
    storage_of(world).define_schedule("T1", "C2", "office-hours", always, "U9")

    run(world, MONDAY_2000 + timedelta(seconds=5))

    assert stops(world) == 1
    assert "qa-db" in channel(world)[-1]
    assert channel(world, "C2") == []


def test_instance_tag_never_reads_a_name_saved_in_another_channel(
    world: OfflineWorld,
):
    tag_schedule(world, "qa-db", "office-hours")
    storage_of(world).define_schedule("T1", "C2", "office-hours", OFFICE_UTC, "U9")

    run(world, MONDAY_2000 + timedelta(seconds=5))

    assert stops(world) == 0
    assert channel(world) == []


def test_seven_day_restart_by_rds_is_stopped_again_with_the_reason(world: OfflineWorld):
    assign(world, "qa-db", OFFICE_UTC)
    stopped_at = MONDAY_2000
    storage_of(world).note_bot_action(QA_DB, Action.STOP, stopped_at)
    sweep = stopped_at + timedelta(days=7, hours=1, seconds=5)  # an hourly sweep

    run(world, sweep)

    assert stops(world) == 1
    assert (
        "RDS starts a database by itself after seven days stopped" in channel(world)[0]
    )


def type_at(world: OfflineWorld, line: str, now: datetime) -> None:
    """Type a /snooze line as U9 in C1 with the bot's clock at `now`; let it finish."""
    assert world.runtime is not None and world.requests is not None
    world.runtime.context.clock = lambda: now
    status, _ = world.requests.command(line, user_id="U9", channel_id="C1")
    world.settle()
    assert status == 200


def restarted_by_rds(world: OfflineWorld) -> None:
    """RDS starts the stopped instance by itself, as it does after seven days."""
    world.aws.set_instance_status(CUSTOMER_ACCOUNT, "us-east-1", "qa-db", "available")


def test_seven_day_restart_after_a_manual_stop_is_stopped_again(world: OfflineWorld):
    """A `/snooze stop` is the bot's stop too: RDS's restart a week later is undone."""
    assign(world, "qa-db", OFFICE_UTC)
    stopped_at = MONDAY_2000 + timedelta(hours=1)  # after the window, kept running
    type_at(world, "stop qa-db", stopped_at)
    restarted_by_rds(world)
    sweep = stopped_at + timedelta(days=7, seconds=5)  # the hourly sweep, 7 days on

    run(world, sweep)

    assert stops(world) == 2
    posted = channel(world)
    assert len(posted) == 1
    assert "RDS starts a database by itself after seven days stopped" in posted[0]
    assert "`qa-db` (us-east-1): stopping now." in posted[0]


def test_manual_start_near_day_seven_is_not_taken_for_an_rds_restart(
    world: OfflineWorld,
):
    """Stopped by the schedule, started by `/snooze start` a week on: left running."""
    assign(world, "qa-db", OFFICE_UTC)
    run(world, MONDAY_2000 + timedelta(seconds=5))
    week_on = MONDAY_2000 + timedelta(days=7, minutes=30)
    type_at(world, "start qa-db", week_on)
    restarted_by_rds(world)  # whatever moto says, it is up when the sweep looks
    sweep = MONDAY_2000 + timedelta(days=7, hours=1, seconds=5)

    run(world, sweep)

    assert starts(world) == 1
    assert stops(world) == 1
    assert len(channel(world)) == 1  # the scheduled stop of a week ago only


def test_a_person_starting_outside_the_schedule_is_left_alone_without_enforce(
    world: OfflineWorld,
):
    assign(world, "qa-db", OFFICE_UTC)
    storage_of(world).note_bot_action(QA_DB, Action.STOP, MONDAY_2000)

    run(world, MONDAY_2000 + timedelta(days=2, hours=1, seconds=5))

    assert stops(world) == 0
    assert channel(world) == []


def test_enforce_stops_a_manual_start_again_with_a_keep_running_button(
    world: OfflineWorld,
):
    assign(world, "qa-db", OFFICE_UTC + " enforce")

    run(world, MONDAY_2000 + timedelta(hours=2, seconds=5))

    assert stops(world) == 1
    posted = world.slack.messages("C1")
    assert "its schedule, which says `enforce`" in render(posted[0])
    assert posted[0]["blocks"][-1]["elements"][0]["action_id"] == notices.KEEP_HOUR


def test_broken_role_is_told_once_and_not_retried_in_a_storm(world: OfflineWorld):
    """R5: the account is flagged, the channel told once, one AssumeRole per run."""
    iam = world.aws.customer_session(CUSTOMER_ACCOUNT).client("iam")
    iam.delete_role_policy(RoleName=ROLE_NAME, PolicyName="SnoozeDBStopStartRDS")
    iam.delete_role(RoleName=ROLE_NAME)
    world.aws.reset_counts()
    assign(world, "qa-db", OFFICE_UTC)

    run(world, MONDAY_2000 + timedelta(seconds=5))
    run(world, MONDAY_2000 + timedelta(days=1, seconds=5))
    assumed_by_the_runs = len(world.aws.assume_role_calls)
    assert world.requests is not None
    _, acked = world.requests.command("status", user_id="U9", channel_id="C1")
    world.settle()

    posted = channel(world)
    status = render(acked) + "\n".join(render(r.body) for r in world.slack.responses)
    assert len(posted) == 1
    assert "could not reach AWS account 111122223333" in posted[0]
    assert f"arn:aws:iam::{CUSTOMER_ACCOUNT}:role/{ROLE_NAME}" in posted[0]
    assert "stack was deleted" in posted[0]  # the likely cause
    assert "/snooze connect" in posted[0]  # and how to fix it
    assert assumed_by_the_runs == 2  # one a run: no retry storm
    assert "needs attention" in status


def test_channel_the_bot_left_keeps_the_message_for_retry(
    world: OfflineWorld, caplog: pytest.LogCaptureFixture
):
    assign(world, "qa-db", OFFICE_UTC)
    world.slack.channels_without_bot.add("C1")

    with caplog.at_level("WARNING", logger="bot.scheduler"):
        run(world, MONDAY_2000 + timedelta(seconds=5))
    kept = storage_of(world).undelivered_notices()
    world.slack.channels_without_bot.discard("C1")
    run(world, MONDAY_2000 + timedelta(minutes=1, seconds=5))

    assert len(kept) == 1
    assert "not_in_channel" in caplog.text
    assert "`qa-db` (us-east-1): stopping now." in channel(world)[0]
    assert storage_of(world).undelivered_notices() == []


def notice_at(world: OfflineWorld) -> dict[str, Any]:
    assign(world, "qa-db", OFFICE_UTC)
    run(world, MONDAY_2000 - timedelta(minutes=15) + timedelta(seconds=5))
    posted = world.slack.messages("C1")
    assert len(posted) == 1
    return posted[0]


def click(
    world: OfflineWorld,
    notice: dict[str, Any],
    action_id: str,
    before_settling: Callable[[], None] = lambda: None,
    at: datetime = MONDAY_2000 - timedelta(minutes=14),
) -> None:
    button = next(
        e for e in notice["blocks"][-1]["elements"] if e["action_id"] == action_id
    )
    assert world.requests is not None
    with time_machine.travel(at, tick=True):
        status, _ = world.requests.block_action(
            action_id, button["value"], user_id="U9", channel_id="C1"
        )
        before_settling()
        world.settle()
    assert status == 200


def test_prestop_notice_names_the_databases_and_offers_three_buttons(
    world: OfflineWorld,
):
    notice = notice_at(world)

    assert "In 15 minutes (20:00 UTC) SnoozeDB stops `qa-db`" in render(notice)
    labels = [e["text"]["text"] for e in notice["blocks"][-1]["elements"]]
    assert labels == [
        "Keep running 1 hour",
        "Keep running until the next window",
        "Stop now",
    ]
    assert stops(world) == 0


def test_keep_running_one_hour_button_records_who_and_delays_the_stop(
    world: OfflineWorld,
):
    notice = notice_at(world)

    click(world, notice, notices.KEEP_HOUR)
    run(world, MONDAY_2000 + timedelta(seconds=5))
    held = stops(world)
    run(world, MONDAY_2000 + timedelta(hours=1, seconds=5))

    overrides = storage_of(world).overrides("T1", MONDAY_2000)
    assert [(o.instance, o.created_by) for o in overrides] == [(QA_DB, "U9")]
    assert "@U9 kept `qa-db` running until 21:00 UTC" in render(
        world.slack.responses[-1].body
    )
    assert held == 0
    assert stops(world) == 1


def test_keep_running_until_next_window_lasts_until_it_opens(world: OfflineWorld):
    notice = notice_at(world)

    click(world, notice, notices.KEEP_WINDOW)

    overrides = storage_of(world).overrides("T1", MONDAY_2000)
    assert [o.until for o in overrides] == [datetime(2026, 3, 31, 8, 0, tzinfo=UTC)]


def test_stop_now_button_stops_at_once(world: OfflineWorld):
    notice = notice_at(world)

    click(world, notice, notices.STOP_NOW)

    assert stops(world) == 1
    assert "@U9 asked to stop these now" in render(world.slack.responses[-1].body)


def test_stop_now_button_names_who_clicked_in_history(world: OfflineWorld):
    notice = notice_at(world)
    click(world, notice, notices.STOP_NOW)
    assert world.requests is not None

    status, body = world.requests.command("history", user_id="U9", channel_id="C1")

    assert status == 200
    lines = render(body).splitlines()
    assert lines[1].endswith("· @U9 · stop `qa-db` (us-east-1) · stopped")


def test_keep_running_is_acknowledged_before_a_rate_limited_post_waits(
    world: OfflineWorld, monkeypatch: pytest.MonkeyPatch
):
    """Slack answers the response_url with 429: the click is answered first anyway."""
    notice = notice_at(world)
    released = threading.Event()
    answered_first: list[bool] = []

    def wait_for_the_click_answer(_seconds: float) -> None:
        # Returns at once when the click was acknowledged before this post; with the
        # post before the acknowledgement it would wait here in vain.
        answered_first.append(released.wait(timeout=5))

    monkeypatch.setattr(slack_app, "_wait", wait_for_the_click_answer)
    world.slack.fail_responses(status=429, error="rate_limited")

    click(world, notice, notices.KEEP_HOUR, before_settling=released.set)

    assert answered_first == [True]
    assert "@U9 kept `qa-db` running until 21:00 UTC" in render(
        world.slack.responses[-1].body
    )


@pytest.mark.parametrize("action_id", [notices.KEEP_HOUR, notices.STOP_NOW])
def test_a_button_result_the_response_url_refuses_is_kept_and_sent_again(
    world: OfflineWorld, action_id: str
):
    notice = notice_at(world)
    world.slack.fail_responses(status=404, error="expired_url", times=5)

    click(world, notice, action_id)
    [kept] = storage_of(world).undelivered_in("T1", "C1")
    run(world, MONDAY_2000 - timedelta(minutes=13, seconds=55))

    assert "@U9" in kept.text
    assert kept.last_error == "response_url http_404"
    assert "@U9" in channel(world)[-1]
    assert storage_of(world).undelivered_in("T1", "C1") == []


def test_prestop_notice_comes_at_the_lead_time_the_channel_set(world: OfflineWorld):
    """`/snooze notice 30`: the warning comes 30 minutes ahead, and only then."""
    assign(world, "qa-db", OFFICE_UTC)
    assert world.requests is not None
    status, _ = world.requests.command("notice 30", channel_id="C1")
    world.settle()

    run(world, MONDAY_2000 - timedelta(minutes=30) + timedelta(seconds=5))
    at_30 = channel(world)
    run(world, MONDAY_2000 - timedelta(minutes=15) + timedelta(seconds=5))

    assert status == 200
    assert len(at_30) == 1
    assert "In 30 minutes (20:00 UTC) SnoozeDB stops `qa-db`" in at_30[0]
    assert channel(world) == at_30, "no second notice at the default 15 minutes"
    assert stops(world) == 0


def qa_db_status(world: OfflineWorld) -> str:
    rds = world.aws.customer_session(CUSTOMER_ACCOUNT, "us-east-1").client("rds")
    found = rds.describe_db_instances(DBInstanceIdentifier="qa-db")
    return str(found["DBInstances"][0]["DBInstanceStatus"])


def history(world: OfflineWorld) -> str:
    assert world.requests is not None
    _, body = world.requests.command("history", user_id="U9", channel_id="C1")
    return render(body)  # type: ignore[arg-type]


def test_keep_running_after_an_enforced_stop_starts_the_database_again(
    world: OfflineWorld,
):
    """The press on an `enforce` message means "keep it up": it is started, not only
    recorded, and the start is audited under who pressed."""
    assign(world, "qa-db", OFFICE_UTC + " enforce")
    run(world, MONDAY_2000 + timedelta(hours=2, seconds=5))
    [enforced] = world.slack.messages("C1")

    click(
        world,
        enforced,
        notices.KEEP_HOUR,
        at=MONDAY_2000 + timedelta(hours=2, minutes=1),
    )
    said = render(world.slack.responses[-1].body)
    run(world, MONDAY_2000 + timedelta(hours=3, seconds=5))  # the next hourly sweep

    assert "@U9 kept `qa-db` running until 23:01 UTC" in said
    assert "`qa-db` (us-east-1): starting now." in said
    assert (stops(world), starts(world)) == (1, 1)
    assert qa_db_status(world) == "available"
    assert "· @U9 · start `qa-db` (us-east-1) · started" in history(world)


def test_keep_running_after_stop_now_starts_it_again_and_a_running_one_is_left(
    world: OfflineWorld,
):
    notice = notice_at(world)

    click(world, notice, notices.KEEP_HOUR)
    kept_running = render(world.slack.responses[-1].body)
    click(world, notice, notices.STOP_NOW)
    click(world, notice, notices.KEEP_HOUR)

    assert "starting" not in kept_running and "already" not in kept_running
    assert "`qa-db` (us-east-1): starting now." in render(
        world.slack.responses[-1].body
    )
    assert (stops(world), starts(world)) == (1, 1)
    assert qa_db_status(world) == "available"


def test_a_manual_start_under_enforce_says_the_next_check_stops_it_again(
    world: OfflineWorld,
):
    assign(world, "qa-db", OFFICE_UTC + " enforce")
    world.aws.set_instance_status(CUSTOMER_ACCOUNT, "us-east-1", "qa-db", "stopped")

    type_at(world, "start qa-db", MONDAY_2000 + timedelta(hours=2, minutes=50))
    said = render(world.slack.responses[-1].body)
    run(world, MONDAY_2000 + timedelta(hours=3, seconds=5))  # the next hourly sweep

    assert "`qa-db` (us-east-1): starting now." in said
    assert (
        "its schedule says `enforce`, so SnoozeDB will stop it again at its next "
        "hourly check; to keep it running, type `/snooze start qa-db for 2h`"
    ) in said
    assert stops(world) == 1


@pytest.mark.parametrize(
    ("line", "at"),
    [
        ("start qa-db for 2h", MONDAY_2000 + timedelta(hours=2, minutes=50)),
        ("start qa-db", MONDAY_2000 - timedelta(hours=2)),
    ],
    ids=["one-off", "inside-the-window"],
)
def test_a_start_that_enforce_leaves_alone_gets_no_warning(
    world: OfflineWorld, line: str, at: datetime
):
    assign(world, "qa-db", OFFICE_UTC + " enforce")
    world.aws.set_instance_status(CUSTOMER_ACCOUNT, "us-east-1", "qa-db", "stopped")

    type_at(world, line, at)
    said = render(world.slack.responses[-1].body)

    assert "`qa-db` (us-east-1): starting now." in said
    assert "enforce" not in said


def test_stop_now_ends_the_keep_running_override_it_follows(world: OfflineWorld):
    """Kept running until the next window, then "Stop now": nothing still says kept."""
    notice = notice_at(world)
    click(world, notice, notices.KEEP_WINDOW)

    click(world, notice, notices.STOP_NOW)
    type_at(world, "explain qa-db", MONDAY_2000 - timedelta(minutes=13))
    explained = render(world.slack.responses[-1].body)
    assert world.requests is not None
    _, coming = world.requests.command("next", user_id="U9", channel_id="C1")
    run(world, MONDAY_2000 + timedelta(seconds=5))

    assert storage_of(world).overrides("T1", MONDAY_2000) == []
    assert "kept running" not in explained
    assert "Tue 31 Mar 08:00 (UTC) · start `qa-db`" in render(coming)  # type: ignore[arg-type]
    assert "keep-running" not in render(coming)  # type: ignore[arg-type]
    assert "`qa-db` (us-east-1): already stopped, nothing to do." in channel(world)[-1]
    assert "kept running" not in channel(world)[-1]


def test_a_manual_stop_ends_a_keep_running_override(world: OfflineWorld):
    assign(world, "qa-db", OFFICE_UTC)
    until = MONDAY_2000 + timedelta(hours=12)
    storage_of(world).add_override("T1", "C1", QA_DB, until, "U7")

    type_at(world, "stop qa-db", MONDAY_2000 + timedelta(minutes=5))

    assert storage_of(world).overrides("T1", MONDAY_2000 + timedelta(minutes=5)) == []
