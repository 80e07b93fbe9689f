"""`/snooze schedule`, one-off snoozes, `next`, `explain` and `history`, end to end.

Signed requests go into the real app; AWS is the stand-in; the clock is fixed through
`Context.clock`, so nothing depends on the day the tests run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError

from bot.demo import BOT_TOKEN, CUSTOMER_ACCOUNT, OfflineWorld
from bot.domain import Action
from bot.planning import parsed
from bot.scheduler import Poster, run_due
from bot.slack_app import UserZones, web_client
from bot.standins.slack import render
from bot.storage import Storage

ROLE_NAME = "SnoozeDBAccess"
THURSDAY_NOON = datetime(2025, 3, 27, 12, 0, tzinfo=UTC)
QA_DB = f"{CUSTOMER_ACCOUNT}/us-east-1/qa-db"
QA_SHOWN = f"`qa-db` (us-east-1, account {CUSTOMER_ACCOUNT})"


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OfflineWorld]:
    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv(
        "AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials")
    )
    with OfflineWorld(f"sqlite:///{tmp_path / 'bot.sqlite3'}") as offline:
        offline.seed_sample_account()
        assert offline.runtime is not None
        offline.runtime.context.clock = lambda: THURSDAY_NOON
        yield offline


def storage(world: OfflineWorld) -> Storage:
    assert world.runtime is not None
    return world.runtime.storage


def say(world: OfflineWorld, line: str, **who: Any) -> tuple[str, list[dict[str, Any]]]:
    """Type a /snooze line; return the immediate reply and the bodies posted later."""
    assert world.requests is not None
    before = len(world.slack.responses)
    status, body = world.requests.command(line, **who)
    assert status == 200
    world.settle()
    later = [posted.body for posted in world.slack.responses[before:]]
    return (render(body) if isinstance(body, dict) else str(body)), later


def shown(bodies: list[dict[str, Any]]) -> str:
    return "\n".join(render(body) for body in bodies)


def connect(world: OfflineWorld) -> None:
    """Connect the sample customer account to channel C1, as a customer would."""
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
    assert "connected AWS account 111122223333" in shown(later)


def connect_second_role(world: OfflineWorld, channel_id: str) -> None:
    """Connect the sample account to another channel of T1, through a second stack."""
    say(world, "connect", channel_id=channel_id)
    pending = storage(world).pending("T1", channel_id)
    assert pending is not None
    role_arn = world.aws.deploy_role_stack(
        CUSTOMER_ACCOUNT,
        pending.external_id,
        world.own_account_id,
        stack_name=f"{ROLE_NAME}Second",
    )
    _, later = say(world, f"connect {role_arn}", channel_id=channel_id)
    assert "connected AWS account 111122223333" in shown(later)


def add_database(world: OfflineWorld, name: str, region: str = "us-east-1") -> None:
    rds = world.aws.customer_session(CUSTOMER_ACCOUNT, region).client("rds")
    rds.create_db_instance(
        DBInstanceIdentifier=name,
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        MasterUsername="admin",
        MasterUserPassword="not-a-real-password",
        AllocatedStorage=20,
    )


def tag(
    world: OfflineWorld, name: str, key: str, value: str, region: str = "us-east-1"
) -> None:
    rds = world.aws.customer_session(CUSTOMER_ACCOUNT, region).client("rds")
    arn = rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]
    rds.add_tags_to_resource(
        ResourceName=arn["DBInstanceArn"], Tags=[{"Key": key, "Value": value}]
    )


def stop_calls(world: OfflineWorld) -> int:
    return world.aws.calls[(CUSTOMER_ACCOUNT, "StopDBInstance")]


def run_scheduler(world: OfflineWorld, at: datetime) -> None:
    """One scheduler run at `at`, covering the minute before it."""
    assert world.runtime is not None
    run_due(
        storage(world),
        world.runtime.context.operations,
        Poster(
            storage(world),
            web_client(BOT_TOKEN, world.slack.base_url),
            pause=lambda _seconds: None,
        ),
        at,
        since=at - timedelta(minutes=1),
    )


def state(world: OfflineWorld, name: str, region: str = "us-east-1") -> str:
    rds = world.aws.customer_session(CUSTOMER_ACCOUNT, region).client("rds")
    [found] = rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"]
    return found["DBInstanceStatus"]


# --- Assigning schedules ---------------------------------------------------------


def test_overnight_schedule_is_accepted_and_shows_fridays_window_to_saturday(
    world: OfflineWorld,
):
    """R8: `mon-fri 22:00-06:00` runs from Friday 22:00 to Saturday 06:00."""
    add_database(world, "batch-db")
    connect(world)

    reply, later = say(world, "schedule batch-db mon-fri 22:00-06:00")

    posted = shown(later)
    assert "Looking for `batch-db`" in reply
    assert later[0]["response_type"] == "in_channel"
    assert "gave `batch-db` the schedule `mon-fri 22:00-06:00 tz UTC`" in posted
    assert "Next, on the UTC clock:" in posted
    assert "• start Fri 28 Mar 22:00\n• stop Sat 29 Mar 06:00" in posted
    [assigned] = storage(world).assignments("T1", "C1")
    assert assigned.target == "111122223333/us-east-1/batch-db"
    assert assigned.schedule.text == "mon-fri 22:00-06:00 tz UTC"


def test_schedule_reply_is_in_the_users_zone_and_names_the_clock_change(
    world: OfflineWorld,
):
    """The zone comes from users.info; London's clocks go forward on Sun 30 Mar 2025."""
    world.slack.users["U1"] = {"tz": "Europe/London"}
    connect(world)

    _, later = say(world, "schedule qa-db weekdays stop 20:00")

    posted = shown(later)
    [assigned] = storage(world).assignments("T1", "C1")
    assert assigned.schedule.text == "weekdays stop 20:00 tz Europe/London"
    assert "Next, on the Europe/London clock:" in posted
    assert "Clocks go forward on Sun 30 Mar (Europe/London)." in posted
    monday = datetime(2025, 3, 31, tzinfo=UTC)
    [stop] = parsed(assigned.schedule.text).transitions(monday, 1)
    assert stop.at.astimezone(UTC).hour == 19  # R9: 20:00 summer time


def test_users_zone_is_asked_of_slack_once_and_remembered(world: OfflineWorld):
    world.slack.users["U1"] = {"tz": "Europe/Paris"}
    connect(world)

    say(world, "schedule tag:team=qa daily 07:00-19:00")
    say(world, "schedule tag:team=dev daily 08:00-18:00")

    assert len(world.slack.calls_to("users.info")) == 1
    texts = {a.schedule.text for a in storage(world).assignments("T1", "C1")}
    assert texts == {
        "daily 07:00-19:00 tz Europe/Paris",
        "daily 08:00-18:00 tz Europe/Paris",
    }


def test_schedule_without_any_zone_asks_for_one_and_saves_nothing(world: OfflineWorld):
    """users.info fails, so no zone is known; the sentence asks for `tz ZONE`."""
    connect(world)
    world.slack.fail("users.info", error="user_not_found", times=5)

    reply, _ = say(world, "schedule qa-db mon-fri 08:00-20:00")

    assert "no time zone given; add `tz ZONE` at the end" in reply
    assert storage(world).assignments("T1", "C1") == []


def test_unknown_zone_is_refused_and_nothing_saved(world: OfflineWorld):
    connect(world)

    reply, _ = say(world, "schedule qa-db mon-fri 08:00-20:00 tz Mars/Olympus")

    assert "I could not read the schedule at `Mars/Olympus`" in reply
    assert "not a time zone I know" in reply
    assert storage(world).assignments("T1", "C1") == []


def test_typo_in_a_schedule_name_gets_did_you_mean_and_nothing_saved(
    world: OfflineWorld,
):
    """R10."""
    connect(world)
    say(world, "schedule define office-hours mon-fri 08:00-20:00 tz Europe/London")

    reply, later = say(world, "schedule qa-db ofice-hours")

    assert reply.startswith("unknown schedule ofice-hours: did you mean office-hours?")
    assert later == []
    assert storage(world).assignments("T1", "C1") == []


def test_unknown_database_is_refused_with_did_you_mean_and_nothing_saved(
    world: OfflineWorld,
):
    connect(world)

    _, later = say(world, "schedule qa-dbb mon-fri 08:00-20:00 tz UTC")

    assert "No database called `qa-dbb`" in shown(later)
    assert "Did you mean `qa-db`?" in shown(later)
    assert storage(world).assignments("T1", "C1") == []


def test_schedule_on_an_aurora_member_is_saved_with_a_warning(world: OfflineWorld):
    connect(world)

    _, later = say(world, "schedule app-writer-1 weekdays 08:00-20:00 tz UTC")

    assert "member of Aurora cluster `app-cluster`" in shown(later)
    assert "scheduled stops will be refused" in shown(later)


def test_bad_schedule_text_names_the_part_and_gives_an_example(world: OfflineWorld):
    connect(world)

    reply, _ = say(world, "schedule qa-db mon-fri 8-20")

    assert reply.startswith("I could not read the schedule at `8-20`")
    assert "mon-fri 08:00-20:00 tz Europe/London" in reply


def test_schedule_without_a_schedule_or_with_a_bad_selector_says_what_to_type(
    world: OfflineWorld,
):
    connect(world)

    missing, _ = say(world, "schedule qa-db")
    selector, _ = say(world, "schedule tag:team daily 08:00-18:00 tz UTC")

    assert "Give `qa-db` a schedule" in missing
    assert "Type `/snooze schedule DB | tag:KEY=VALUE SCHEDULE | NAME`" in missing
    assert "`tag:team` is not a tag selector: write `tag:KEY=VALUE`" in selector


# --- Named schedules -------------------------------------------------------------


def test_define_list_and_remove_named_schedules(world: OfflineWorld):
    connect(world)

    defined, _ = say(
        world, "schedule define office-hours mon-fri 08:00-20:00 tz Europe/London"
    )
    assigned, _ = say(world, "schedule tag:team=qa office-hours")
    listing, _ = say(world, "schedule list")
    in_use, _ = say(world, "schedule remove office-hours")
    unassigned, _ = say(world, "schedule remove tag:team=qa")
    removed, _ = say(world, "schedule remove office-hours")
    empty, _ = say(world, "schedule list")

    assert (
        "saved the schedule `office-hours`: `mon-fri 08:00-20:00 tz Europe/London`"
        in defined
    )
    assert "• start Fri 28 Mar 08:00" in defined
    assert "gave databases tagged `team=qa` the schedule `office-hours`" in assigned
    assert "`office-hours`: `mon-fri 08:00-20:00 tz Europe/London`" in listing
    assert "databases tagged `team=qa`: `office-hours`" in listing
    assert "still used by `tag:team=qa`, so it was kept" in in_use
    assert "took the schedule off databases tagged `team=qa`" in unassigned
    assert "removed the saved schedule `office-hours`" in removed
    assert empty.startswith("No saved schedules")
    assert storage(world).named_schedules("T1", "C1") == []


def test_schedule_names_that_read_as_schedules_or_break_the_rules_are_refused(
    world: OfflineWorld,
):
    connect(world)

    day, _ = say(world, "schedule define weekends sat 10:00-14:00 tz UTC")
    shape, _ = say(world, "schedule define Office_Hours mon-fri 08:00-20:00 tz UTC")

    assert (
        "`weekends` cannot name a schedule: it is a word of the schedule language"
        in day
    )
    assert "use lowercase letters, digits and dashes" in shape
    assert storage(world).named_schedules("T1", "C1") == []


def test_schedule_list_takes_no_more_words(world: OfflineWorld):
    connect(world)

    reply, _ = say(world, "schedule list extra")

    assert reply == (
        "`list` shows every schedule of the channel and takes no more words: type "
        "`/snooze schedule list`."
    )
    assert storage(world).assignments("T1", "C1") == []


def test_removing_something_unknown_suggests_close_names(world: OfflineWorld):
    connect(world)
    say(world, "schedule define office-hours mon-fri 08:00-20:00 tz UTC")

    reply, _ = say(world, "schedule remove office-hour")

    assert "Nothing called `office-hour` has a schedule here" in reply
    assert "Did you mean `office-hours`?" in reply


def test_one_database_keeps_one_direct_schedule_whatever_the_spelling(
    world: OfflineWorld,
):
    """`qa-db`, `QA-DB` and `account/region/qa-db` all name one database."""
    connect(world)

    say(world, "schedule qa-db mon-fri 08:00-20:00 tz UTC")
    say(world, "schedule QA-DB sat 10:00-14:00 tz UTC")
    _, later = say(world, f"schedule {QA_DB.upper()} sun 10:00-14:00 tz UTC")
    _, explained = say(world, "explain qa-db")

    [assignment] = storage(world).assignments("T1", "C1")
    assert assignment.target == QA_DB
    assert assignment.schedule.text == "sun 10:00-14:00 tz UTC"
    assert f"gave {QA_SHOWN} the schedule" in shown(later)
    assert "sun 10:00-14:00 tz UTC" in shown(explained)


def test_a_database_of_the_same_name_created_later_elsewhere_does_not_follow(
    world: OfflineWorld,
):
    """A schedule given to `qa-db` belongs to the one database found when it was given."""
    connect(world)
    say(world, "schedule qa-db mon-fri 08:00-20:00 tz UTC")
    add_database(world, "qa-db", region="eu-west-1")

    run_scheduler(world, THURSDAY_NOON + timedelta(hours=8))

    assert state(world, "qa-db") == "stopped"
    assert state(world, "qa-db", region="eu-west-1") == "available"
    posted = shown(world.slack.messages("C1"))
    assert "`qa-db` (us-east-1)" in posted
    assert "eu-west-1" not in posted


def test_schedule_remove_by_name_asks_which_when_several_places_have_one(
    world: OfflineWorld,
):
    connect(world)
    add_database(world, "qa-db", region="eu-west-1")
    east, west = QA_DB, f"{CUSTOMER_ACCOUNT}/eu-west-1/qa-db"
    say(world, f"schedule {east} mon-fri 08:00-20:00 tz UTC")
    say(world, f"schedule {west} mon-fri 09:00-17:00 tz UTC")

    which, _ = say(world, "schedule remove qa-db")
    removed, _ = say(world, f"schedule remove {west}")
    listed, _ = say(world, "schedule list")

    assert which == (
        "Databases called `qa-db` in several places have a schedule: "
        f"`{east}`, `{west}`. Type `/snooze schedule remove ACCOUNT/REGION/NAME` "
        "with the one to take it off."
    )
    assert "took the schedule off" in removed
    assert [a.target for a in storage(world).assignments("T1", "C1")] == [east]
    assert f"{QA_SHOWN}: `mon-fri 08:00-20:00 tz UTC`" in listed


def test_a_one_off_ending_in_the_schedules_stopped_time_leaves_it_stopped(
    world: OfflineWorld,
):
    """Stopped at noon "for 9h": at 21:00 the schedule wants it stopped, so no start."""
    connect(world)
    say(world, "schedule qa-db mon-fri 08:00-20:00 tz UTC")
    _, stopped = say(world, "stop qa-db for 9h")
    starts = world.aws.calls[(CUSTOMER_ACCOUNT, "StartDBInstance")]

    _, explained = say(world, "explain qa-db")
    coming, _ = say(world, "next")
    run_scheduler(world, THURSDAY_NOON + timedelta(hours=8))
    run_scheduler(world, THURSDAY_NOON + timedelta(hours=9))

    assert (
        "held stopped by a one-off from @U1 until Thu 27 Mar 21:00 (UTC); then its "
        "schedule resumes and wants it stopped, so it stays stopped."
        in shown(explained)
    )
    assert (
        "`qa-db` (us-east-1): its schedule wants it stopped at Thu 27 Mar 21:00 (UTC), "
        "so SnoozeDB will not start it then; the schedule takes over." in shown(stopped)
    )
    assert "will start it again" not in shown(stopped)
    assert "21:00" not in coming.splitlines()[1]
    assert coming.splitlines()[1].startswith("• Fri 28 Mar 08:00 (UTC) · start ")
    assert world.aws.calls[(CUSTOMER_ACCOUNT, "StartDBInstance")] == starts
    assert state(world, "qa-db") == "stopped"
    assert (
        "`qa-db` (us-east-1): the one-off snooze by @U1 ended; its schedule wants "
        "it stopped now, so it stays stopped." in shown(world.slack.messages("C1"))
    )
    assert storage(world).one_offs("T1", "C1") == []


@pytest.mark.parametrize("typed", ["qa-db", "QA-DB"])
def test_schedule_remove_by_name_finds_the_schedule_saved_under_its_place(
    world: OfflineWorld, typed: str
):
    """Saved as `ACCOUNT/REGION/qa-db`, the schedule is taken off by its name."""
    connect(world)
    say(world, "schedule qa-db mon-fri 08:00-20:00 tz UTC")

    reply, _ = say(world, f"schedule remove {typed}")

    assert f"took the schedule off `{typed}`" in reply
    assert storage(world).assignments("T1", "C1") == []


def test_scheduling_an_excluded_database_says_the_schedule_does_nothing(
    world: OfflineWorld,
):
    connect(world)

    _, later = say(world, "schedule analytics-db mon-fri 08:00-20:00 tz UTC")

    assert "gave `analytics-db` the schedule" in shown(later)
    assert (
        "Note: `analytics-db` is tagged `snoozedb:exclude=true`, so its schedule "
        "does nothing until that tag is removed" in shown(later)
    )


def test_redefining_a_schedule_in_use_names_who_follows_it(world: OfflineWorld):
    connect(world)
    say(world, "schedule define hours mon-fri 08:00-20:00 tz UTC")
    say(world, "schedule reports-db hours")
    say(world, "schedule tag:team=qa hours")

    reply, _ = say(world, "schedule define hours sat 01:00-02:00 tz UTC")

    assert "saved the schedule `hours`: `sat 01:00-02:00 tz UTC`" in reply
    assert (
        "Already following it, now with this text: `reports-db` (eu-west-1, account "
        "111122223333); databases tagged `team=qa`." in reply
    )


OUTSIDERS = [
    pytest.param({"channel_id": "C2"}, id="other-channel"),
    pytest.param({"team_id": "T2"}, id="other-workspace"),
]


@pytest.mark.parametrize("where", OUTSIDERS)
def test_named_schedules_of_a_channel_are_invisible_and_unchangeable_elsewhere(
    world: OfflineWorld, where: dict[str, str]
):
    """Another channel (or workspace) without an account learns and changes nothing."""
    connect(world)
    say(world, "schedule define office-hours mon-fri 08:00-20:00 tz UTC")
    say(world, "schedule qa-db office-hours")
    outsider = {"user_id": "U9", **where}

    listing, _ = say(world, "schedule list", **outsider)
    removal, _ = say(world, "schedule remove office-hours", **outsider)
    redefined, _ = say(
        world, "schedule define office-hours daily 00:00-00:01 tz UTC", **outsider
    )
    assigned, later = say(world, "schedule qa-db office-hours", **outsider)
    at_home, _ = say(world, "schedule list")

    assert listing.startswith("No saved schedules")
    assert "tz UTC" not in listing
    assert "Nothing called `office-hours` has a schedule here" in removal
    assert "qa-db" not in removal
    assert redefined.startswith("No AWS account is connected to this channel")
    assert assigned.startswith("No AWS account is connected to this channel")
    assert later == []
    assert "`office-hours`: `mon-fri 08:00-20:00 tz UTC`" in at_home
    assert "`qa-db` (us-east-1, account 111122223333): `office-hours`" in at_home
    saved = storage(world).named_schedule("T1", "C1", "office-hours")
    assert saved is not None
    assert saved.text == "mon-fri 08:00-20:00 tz UTC"


def test_a_connected_channel_saves_its_own_schedule_under_a_name_used_elsewhere(
    world: OfflineWorld,
):
    """Two channels may both say `office-hours`; each reads and changes its own."""
    connect(world)
    say(world, "schedule define office-hours mon-fri 08:00-20:00 tz UTC")
    say(world, "schedule qa-db office-hours")
    connect_second_role(world, "C2")

    assigned, later = say(world, "schedule qa-db office-hours", channel_id="C2")
    defined, _ = say(
        world, "schedule define office-hours daily 00:00-00:01 tz UTC", channel_id="C2"
    )
    theirs, _ = say(world, "schedule list", channel_id="C2")
    removed, _ = say(world, "schedule remove office-hours", channel_id="C2")
    mine, _ = say(world, "schedule list")

    assert "Looking for `qa-db`" not in assigned
    assert "unknown schedule office-hours" in assigned
    assert later == []
    assert "saved the schedule `office-hours`: `daily 00:00-00:01 tz UTC`" in defined
    assert "`office-hours`: `daily 00:00-00:01 tz UTC`" in theirs
    assert "mon-fri" not in theirs
    assert "qa-db" not in theirs
    assert "removed the saved schedule `office-hours`" in removed
    assert "`office-hours`: `mon-fri 08:00-20:00 tz UTC`" in mine
    assert "`qa-db` (us-east-1, account 111122223333): `office-hours`" in mine


# --- One-off snoozes -------------------------------------------------------------


def test_stop_for_three_hours_persists_the_way_back_at_the_right_time(
    world: OfflineWorld,
):
    connect(world)

    reply, later = say(world, "stop qa-db for 3h")

    assert "Stopping `qa-db` until Thu 27 Mar 15:00 (UTC)" in reply
    assert "`qa-db` (us-east-1): stopping now." in shown(later)
    assert "SnoozeDB will start it again at Thu 27 Mar 15:00 (UTC)." in shown(later)
    [way_back] = storage(world).one_offs("T1", "C1")
    assert way_back.instance == QA_DB
    assert way_back.action is Action.START
    assert way_back.due_at.replace(tzinfo=UTC) == THURSDAY_NOON + timedelta(hours=3)
    assert way_back.created_by == "U1"
    assert stop_calls(world) == 1


def test_a_way_back_does_not_outlive_disconnect_and_reconnect(world: OfflineWorld):
    """Stop for 3h, disconnect: nothing is coming; reconnected a month later, no start."""
    connect(world)
    say(world, "stop qa-db for 3h")
    starts_before = world.aws.calls[(CUSTOMER_ACCOUNT, "StartDBInstance")]

    say(world, "disconnect")
    coming, _ = say(world, "next")
    cloudformation = world.aws.customer_session(CUSTOMER_ACCOUNT).client(
        "cloudformation"
    )
    cloudformation.delete_stack(StackName=ROLE_NAME)
    connect(world)
    run_scheduler(world, THURSDAY_NOON + timedelta(days=30))

    assert coming.startswith("Nothing is scheduled in this channel.")
    assert storage(world).one_offs("T1") == []
    assert world.aws.calls[(CUSTOMER_ACCOUNT, "StartDBInstance")] == starts_before
    assert world.slack.messages("C1") == []


def test_stop_until_tomorrow_is_read_on_the_users_clock(world: OfflineWorld):
    """New York is on EDT (UTC-4) in late March: tomorrow 9am is 13:00 UTC."""
    world.slack.users["U1"] = {"tz": "America/New_York"}
    connect(world)

    reply, _ = say(world, "stop qa-db until tomorrow 9am")

    assert "until Fri 28 Mar 09:00 (America/New_York)" in reply
    [way_back] = storage(world).one_offs("T1", "C1")
    assert way_back.due_at.replace(tzinfo=UTC) == datetime(
        2025, 3, 28, 13, 0, tzinfo=UTC
    )


def test_start_for_two_hours_persists_a_stop_even_when_already_running(
    world: OfflineWorld,
):
    connect(world)

    _, later = say(world, "start reports-db for 2h")

    assert "already running, nothing to do." in shown(later)
    assert "SnoozeDB will stop it again at Thu 27 Mar 14:00 (UTC)." in shown(later)
    [way_back] = storage(world).one_offs("T1", "C1")
    assert way_back.instance == f"{CUSTOMER_ACCOUNT}/eu-west-1/reports-db"
    assert way_back.action is Action.STOP
    assert way_back.due_at.replace(tzinfo=UTC) == THURSDAY_NOON + timedelta(hours=2)


def test_times_in_the_past_or_too_far_are_refused_without_acting(world: OfflineWorld):
    connect(world)

    now, _ = say(world, "stop qa-db for 0 minutes")
    far, _ = say(world, "stop qa-db for 45 days")
    junk, _ = say(world, "stop qa-db please")

    assert "which is not in the future" in now
    assert "that is more than 30 days away" in far
    assert "`/snooze stop DB for 3h`" in junk
    assert stop_calls(world) == 0
    assert storage(world).one_offs("T1", "C1") == []


def test_refused_stop_persists_no_way_back(world: OfflineWorld):
    connect(world)

    _, later = say(world, "stop app-writer-1 for 3h")

    assert "belongs to Aurora cluster" in shown(later)
    assert "will start it again" not in shown(later)
    assert storage(world).one_offs("T1", "C1") == []


def test_plain_start_cancels_a_pending_way_back(world: OfflineWorld):
    connect(world)
    say(world, "stop qa-db for 3h")

    say(world, "start qa-db")

    assert storage(world).one_offs("T1", "C1") == []


# --- Seeing what comes next -------------------------------------------------------


def test_next_lists_schedules_and_one_offs_in_time_order(world: OfflineWorld):
    connect(world)
    say(world, "schedule qa-db mon-fri 08:00-20:00 tz UTC")
    say(world, "schedule tag:team=qa daily 07:00-19:00 tz Europe/London")
    say(world, "start reports-db for 2h")
    describes = world.aws.calls[(CUSTOMER_ACCOUNT, "DescribeDBInstances")]

    reply, _ = say(world, "next")

    lines = reply.splitlines()
    assert lines[0] == "Coming actions in this channel"
    assert lines[1].startswith("• Thu 27 Mar 14:00 (UTC) · stop `")
    assert "reports-db" in lines[1] and "one-off by" in lines[1]
    assert lines[2] == (
        "• Thu 27 Mar 19:00 (Europe/London) · stop databases tagged `team=qa` · "
        "`daily 07:00-19:00 tz Europe/London`"
    )
    assert (
        lines[3]
        == f"• Thu 27 Mar 20:00 (UTC) · stop {QA_SHOWN} · `mon-fri 08:00-20:00 tz UTC`"
    )
    assert len(lines) == 12
    assert lines[11] == (
        "More come after these 10. Type `/snooze explain DB` to see what comes for "
        "one database."
    )
    assert world.aws.calls[(CUSTOMER_ACCOUNT, "DescribeDBInstances")] == describes


def test_next_shows_the_stop_after_keep_running_instead_of_the_old_one(
    world: OfflineWorld,
):
    """ "Keep running 1 hour" before the 20:00 stop: the stop comes at 21:00 instead."""
    connect(world)
    say(world, "schedule qa-db mon-fri 08:00-20:00 tz UTC")
    until = THURSDAY_NOON + timedelta(hours=9)
    storage(world).add_override("T1", "C1", QA_DB, until, "U9")

    reply, _ = say(world, "next")

    lines = reply.splitlines()
    assert lines[1] == (
        f"• Thu 27 Mar 21:00 (UTC) · stop {QA_SHOWN} · keep-running by @U9 ends; "
        "`mon-fri 08:00-20:00 tz UTC`"
    )
    assert lines[2] == (
        "• Fri 28 Mar 08:00 (UTC) · start `qa-db` (us-east-1, account 111122223333) · "
        "`mon-fri 08:00-20:00 tz UTC`"
    )
    assert "Thu 27 Mar 20:00" not in reply


def test_next_after_keep_running_past_the_window_lists_no_stop_then(
    world: OfflineWorld,
):
    """Kept running into the next window: no stop when it ends, the schedule's next."""
    connect(world)
    say(world, "schedule qa-db mon-fri 08:00-20:00 tz UTC")
    until = datetime(2025, 3, 28, 8, 0, tzinfo=UTC)  # the window reopens then
    storage(world).add_override("T1", "C1", QA_DB, until, "U9")

    reply, _ = say(world, "next")

    lines = reply.splitlines()
    assert lines[1] == (
        f"• Fri 28 Mar 20:00 (UTC) · stop {QA_SHOWN} · `mon-fri 08:00-20:00 tz UTC`"
    )
    assert "keep-running" not in reply


def test_next_lists_schedules_instances_follow_through_their_tag(
    world: OfflineWorld,
):
    tag(world, "reports-db", "snoozedb:schedule", "office-hours", region="eu-west-1")
    connect(world)
    say(world, "schedule define office-hours mon-fri 08:00-20:00 tz Europe/London")
    describes = world.aws.calls[(CUSTOMER_ACCOUNT, "DescribeDBInstances")]

    reply, _ = say(world, "next")

    lines = reply.splitlines()
    assert lines[1] == (
        "• Thu 27 Mar 20:00 (Europe/London) · stop databases tagged "
        "`snoozedb:schedule=office-hours` · schedule `office-hours`"
    )
    assert lines[2].startswith("• Fri 28 Mar 08:00 (Europe/London) · start ")
    assert world.aws.calls[(CUSTOMER_ACCOUNT, "DescribeDBInstances")] == describes


def test_next_lists_a_keep_running_on_a_tag_selected_database_on_its_own(
    world: OfflineWorld,
):
    """Which schedule a tag gives is AWS's to say: the end is listed with an "if"."""
    world.slack.users["U1"] = {"tz": "Europe/Paris"}
    connect(world)
    say(world, "schedule tag:team=qa mon-fri 08:00-20:00 tz UTC")
    until = THURSDAY_NOON + timedelta(hours=9)
    storage(world).add_override("T1", "C1", QA_DB, until, "U9")

    reply, _ = say(world, "next")

    lines = reply.splitlines()
    assert lines[1] == (
        "• Thu 27 Mar 20:00 (UTC) · stop databases tagged `team=qa` · "
        "`mon-fri 08:00-20:00 tz UTC`"
    )
    assert lines[2] == (
        f"• Thu 27 Mar 22:00 (Europe/Paris) · stop {QA_SHOWN} · keep-running by @U9 "
        "ends, if its schedule wants it stopped then"
    )


def test_next_with_nothing_scheduled_says_how_to_schedule(world: OfflineWorld):
    connect(world)

    reply, _ = say(world, "next")

    assert reply.startswith("Nothing is scheduled in this channel.")


def test_next_leaves_out_databases_of_an_account_no_longer_connected(
    world: OfflineWorld,
):
    """A schedule kept from a disconnected account does nothing until it returns."""
    connect(world)
    say(world, "schedule qa-db mon-fri 08:00-20:00 tz UTC")
    storage(world).assign_schedule(
        "T1", "C1", "444455556666/us-east-1/old-db", "daily 07:00-19:00 tz UTC", "U1"
    )

    reply, _ = say(world, "next")

    assert f"stop {QA_SHOWN}" in reply
    assert "old-db" not in reply
    assert "444455556666" not in reply


def test_explain_names_a_direct_assignment_and_what_comes_next(world: OfflineWorld):
    connect(world)
    say(world, "schedule qa-db mon-fri 08:00-20:00 tz UTC", user_id="U5")

    _, later = say(world, "explain qa-db")

    text = later[-1]["text"]
    assert (
        "`qa-db` (us-east-1) follows the schedule `mon-fri 08:00-20:00 tz UTC`" in text
    )
    assert "given to `qa-db` (us-east-1, account 111122223333) by <@U5>" in text
    assert "Right now it should be running." in text
    assert "• stop Thu 27 Mar 20:00" in text


def test_explain_names_the_tag_selector_and_the_rule_for_several(world: OfflineWorld):
    tag(world, "qa-db", "team", "qa")
    connect(world)
    say(world, "schedule tag:team=qa daily 07:00-09:00 tz UTC")

    _, later = say(world, "explain qa-db")

    assert "because it matches the tag selector `tag:team=qa`" in shown(later)
    assert "the most recently assigned one wins" in shown(later)
    assert "Right now it should be stopped." in shown(later)


def test_explain_follows_the_instance_tag_and_suggests_for_an_unknown_name(
    world: OfflineWorld,
):
    tag(world, "reports-db", "snoozedb:schedule", "office-hours", region="eu-west-1")
    tag(world, "qa-db", "snoozedb:schedule", "ofice-hours")
    connect(world)
    say(world, "schedule define office-hours mon-fri 08:00-20:00 tz Europe/London")

    _, tagged = say(world, "explain reports-db")
    _, typo = say(world, "explain qa-db")

    assert "because it is tagged `snoozedb:schedule=office-hours`" in shown(tagged)
    assert "tagged `snoozedb:schedule=ofice-hours`, but no saved schedule" in shown(
        typo
    )
    assert "Did you mean `office-hours`?" in shown(typo)


def test_explain_puts_a_one_off_before_the_schedule(world: OfflineWorld):
    connect(world)
    say(world, "schedule qa-db mon-fri 08:00-20:00 tz UTC")
    say(world, "stop qa-db for 3h", user_id="U7")

    _, later = say(world, "explain qa-db")

    text = later[-1]["text"]
    assert (
        "is held stopped by a one-off from <@U7> until Thu 27 Mar 15:00 (UTC)" in text
    )
    assert "Right now it should be stopped." in text
    assert "• start Thu 27 Mar 15:00\n• stop Thu 27 Mar 20:00" in text


def test_explain_reads_stored_times_as_utc_whatever_the_servers_zone(
    world: OfflineWorld, monkeypatch: pytest.MonkeyPatch
):
    """SQLite returns naive datetimes; they are UTC, never the host's local time."""
    connect(world)
    say(world, "stop qa-db for 3h")
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    try:
        _, later = say(world, "explain qa-db")
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()

    assert "until Thu 27 Mar 15:00 (UTC)" in later[-1]["text"]


def test_explain_of_an_unscheduled_database_says_how_to_schedule_it(
    world: OfflineWorld,
):
    connect(world)

    _, later = say(world, "explain staging-db")

    assert "`staging-db` (us-east-1) follows no schedule" in shown(later)


# --- History and help ------------------------------------------------------------


def test_history_lists_recent_actions_newest_first_in_the_users_zone(
    world: OfflineWorld,
):
    world.slack.users["U42"] = {"tz": "Asia/Tokyo"}
    connect(world)
    say(world, "stop qa-db", user_id="U42")
    say(world, "start reports-db", user_id="U42")

    reply, _ = say(world, "history", user_id="U42")
    one, _ = say(world, "history qa-db", user_id="U42")

    lines = reply.splitlines()
    assert lines[0] == "Recent actions (times in Asia/Tokyo)"
    assert lines[1].endswith(
        "· @U42 · start `reports-db` (eu-west-1) · already running"
    )
    assert lines[2].endswith("· @U42 · stop `qa-db` (us-east-1) · stopped")
    assert one.splitlines()[0] == "Recent actions of `qa-db` (times in Asia/Tokyo)"
    assert len(one.splitlines()) == 2


def test_disconnect_names_the_one_offs_it_cancels(world: OfflineWorld):
    """A database stopped "for 3h" stays stopped once its account is forgotten."""
    connect(world)
    say(world, "stop qa-db for 3h")

    reply, later = say(world, "disconnect")

    assert "disconnected AWS account 111122223333" in reply
    assert "These one-offs are cancelled with it" in shown(later)
    assert "• start `qa-db` at Thu 27 Mar 15:00 (UTC)" in shown(later)
    assert storage(world).one_offs("T1", "C1") == []


def test_next_after_disconnect_says_nothing_listed_will_happen(world: OfflineWorld):
    connect(world)
    say(world, "schedule tag:team=qa mon-fri 08:00-20:00 tz UTC")
    say(world, "disconnect")

    reply, _ = say(world, "next")

    assert "Coming actions in this channel" in reply
    assert "none of these will happen until one is: type `/snooze connect`" in reply


def test_history_of_an_unknown_database_says_so_and_suggests(world: OfflineWorld):
    connect(world)
    say(world, "stop qa-db")

    typo, _ = say(world, "history qa-bd")
    upper, _ = say(world, "history QA-DB")
    qualified, _ = say(world, f"history {QA_DB}")
    other_account, _ = say(world, "history 999988887777/us-east-1/qa-db")
    selector, _ = say(world, "history tag:team=qa")

    assert typo == (
        "No actions on `qa-bd` are recorded in this channel. Did you mean `qa-db`?"
    )
    assert "stop `qa-db` (us-east-1) · stopped" in upper
    assert "stop `qa-db` (us-east-1) · stopped" in qualified
    assert other_account.startswith("No actions on `999988887777/us-east-1/qa-db`")
    assert selector == (
        "History is shown for the whole channel or for one database. "
        "Type `/snooze history [DB]`."
    )


def test_stop_with_a_malformed_tag_selector_says_how_to_write_one(
    world: OfflineWorld,
):
    connect(world)

    replies = [say(world, f"stop {word}")[0] for word in ("tag:", "tag:=x", "tag:k")]

    for word, reply in zip(("tag:", "tag:=x", "tag:k"), replies, strict=True):
        assert reply == (
            f"`{word}` is not a tag selector: write `tag:KEY=VALUE`, as in "
            "`tag:team=qa`."
        )
    assert stop_calls(world) == 0


def test_history_of_a_quiet_channel_says_so(world: OfflineWorld):
    reply, _ = say(world, "history")

    assert reply == "No actions recorded in this channel yet."


def test_help_lists_the_schedule_commands(world: OfflineWorld):
    reply, _ = say(world, "help")

    for usage in (
        "/snooze schedule DB | tag:KEY=VALUE SCHEDULE | NAME",
        "/snooze next",
        "/snooze explain DB",
        "/snooze history [DB]",
    ):
        assert usage in reply
    assert "schedule define NAME SCHEDULE" in reply


def test_replayed_schedule_list_is_answered_both_times(world: OfflineWorld):
    """`schedule list` changes nothing, so its trigger_id is not claimed."""
    connect(world)
    assert world.requests is not None

    first = world.requests.command("schedule list", trigger_id="1.2.list")
    second = world.requests.command("schedule list", trigger_id="1.2.list")

    assert "No saved schedules" in render(first[1]) and "No saved schedules" in render(
        second[1]
    )


# --- users.info ------------------------------------------------------------------


class FakeUsersApi:
    """Answers users.info from a dict, or fails with a Slack error."""

    def __init__(self, zones: dict[str, str]) -> None:
        self.zones = zones
        self.asked: list[str] = []
        self.failing = False

    def users_info(self, *, user: str) -> dict[str, Any]:
        self.asked.append(user)
        if self.failing:
            raise SlackApiError(
                "user_not_found", {"ok": False, "error": "user_not_found"}
            )
        return {"ok": True, "user": {"id": user, "tz": self.zones.get(user)}}


def test_user_zones_are_remembered_for_an_hour_and_errors_give_none():
    api = FakeUsersApi({"U1": "Europe/London"})
    clock = [0.0]
    zones = UserZones(api, clock=lambda: clock[0])  # type: ignore[arg-type]

    first = zones("U1")
    clock[0] = 3599.0
    cached = zones("U1")
    clock[0] = 3600.0
    api.failing = True
    failed = zones("U1")

    assert (first, cached, failed) == ("Europe/London", "Europe/London", None)
    assert api.asked == ["U1", "U1"]


# --- /snooze notice ----------------------------------------------------------------


def test_notice_without_a_number_shows_the_default_of_15_minutes(world: OfflineWorld):
    reply, later = say(world, "notice")

    assert "warned 15 minutes before each scheduled stop" in reply
    assert "`/snooze notice 0`" in reply
    assert later == []


def test_notice_sets_the_lead_time_for_this_channel_and_tells_the_channel(
    world: OfflineWorld,
):
    assert world.requests is not None

    status, body = world.requests.command("notice 30", user_id="U7")
    shown_after, _ = say(world, "notice")

    assert status == 200
    assert isinstance(body, dict)
    assert body["response_type"] == "in_channel"
    assert "@U7 set the warning before each scheduled stop" in render(body)
    assert "to 30 minutes" in render(body)
    assert storage(world).notice_minutes("T1", "C1") == 30
    assert storage(world).notice_minutes("T1", "C2") == 15
    assert "warned 30 minutes before" in shown_after


def test_notice_0_turns_the_warning_off(world: OfflineWorld):
    reply, _ = say(world, "notice 0")
    shown_after, _ = say(world, "notice")

    assert "turned off the warning" in reply
    assert storage(world).notice_minutes("T1", "C1") == 0
    assert "not warned before scheduled stops" in shown_after


@pytest.mark.parametrize("typed", ["soon", "121", "-5", "1.5", "99999999999999999999"])
def test_notice_refuses_what_is_not_minutes_from_0_to_120_with_an_example(
    world: OfflineWorld, typed: str
):
    storage(world).set_notice_minutes("T1", "C1", 20)

    reply, _ = say(world, f"notice {typed}")

    assert f"`{typed}` is not a number of minutes from 0 to 120" in reply
    assert "`/snooze notice 30`" in reply
    assert "\n" not in reply
    assert storage(world).notice_minutes("T1", "C1") == 20


def test_notice_with_two_numbers_names_the_usage(world: OfflineWorld):
    reply, _ = say(world, "notice 10 20")

    assert reply == "Give one number of minutes. Type `/snooze notice [MINUTES]`."
    assert storage(world).notice_minutes("T1", "C1") == 15


def test_help_lists_the_notice_command(world: OfflineWorld):
    reply, _ = say(world, "help")

    assert "`/snooze notice [MINUTES]`" in reply


@pytest.mark.parametrize(
    "line",
    [
        "stop tag:team=<!channel>",
        "start tag:team=<!channel> for 2h",
        "schedule tag:team=<!channel> daily 08:00-20:00",
    ],
)
def test_a_tag_value_typed_as_a_mention_is_shown_and_pings_no_one(
    world: OfflineWorld, line: str
):
    connect(world)
    assert world.requests is not None
    before = len(world.slack.responses)

    status, body = world.requests.command(line)
    world.settle()

    assert status == 200
    bodies = [body, *(posted.body for posted in world.slack.responses[before:])]
    assert "&lt;!channel&gt;" in body["text"]
    assert all("<!channel>" not in json.dumps(each) for each in bodies)
    assert all("<!channel>" not in json.dumps(m) for m in world.slack.messages())


@pytest.mark.parametrize(
    ("line", "said"),
    [
        (
            "status tag:team",
            "`tag:team` is not a tag selector: write `tag:KEY=VALUE`, as in "
            "`tag:team=qa`.",
        ),
        (
            "explain qa-db now",
            "Name one database, with nothing after it. Type `/snooze explain DB`.",
        ),
        ("admins list all", "`/snooze admins list` takes nothing after `list`."),
    ],
)
def test_a_command_with_a_word_too_many_or_a_half_selector_says_which(
    world: OfflineWorld, line: str, said: str
):
    connect(world)
    describes = world.aws.calls[(CUSTOMER_ACCOUNT, "DescribeDBInstances")]

    reply, later = say(world, line)

    assert reply.startswith(said)
    assert later == []
    assert world.aws.calls[(CUSTOMER_ACCOUNT, "DescribeDBInstances")] == describes


def test_a_tag_holding_an_email_address_can_be_selected_as_slack_sends_it(
    world: OfflineWorld,
):
    """Slack links a typed address: `<mailto:ada@example.com|ada@example.com>`."""
    connect(world)
    tag(world, "qa-db", "owner", "ada@example.com")
    linked = "tag:owner=<mailto:ada@example.com|ada@example.com>"

    _, listed = say(world, f"status {linked}")
    say(world, f"schedule {linked} mon-fri 08:00-20:00 tz UTC")

    assert "qa-db" in shown(listed)
    assert "carries the tag" not in shown(listed)
    [assigned] = storage(world).assignments("T1", "C1")
    assert assigned.target == "tag:owner=ada@example.com"


@pytest.mark.parametrize(
    "selector",
    [
        'tag:Name="Staging DB"',
        '"tag:Name=Staging DB"',
        "tag:Name=\u201cStaging DB\u201d",
    ],
)
def test_a_tag_value_with_spaces_is_selected_in_quotes(
    world: OfflineWorld, selector: str
):
    connect(world)
    tag(world, "qa-db", "Name", "Staging DB")

    _, listed = say(world, f"status {selector}")
    say(world, f"schedule {selector} mon-fri 08:00-20:00 tz UTC")
    removed, _ = say(world, f"schedule remove {selector}")

    assert "qa-db" in shown(listed)
    assert "took the schedule off databases tagged `Name=Staging DB`" in removed
    assert storage(world).assignments("T1", "C1") == []


def test_a_one_off_on_an_excluded_database_keeps_its_way_back_whatever_the_schedule(
    world: OfflineWorld,
):
    """The schedule never acts on an excluded database, so it cannot take over."""
    connect(world)
    say(world, "schedule analytics-db mon-fri 08:00-20:00 tz UTC")
    _, asked = say(world, "stop analytics-db for 9h")
    button = asked[-1]["blocks"][-1]["elements"][0]
    assert world.requests is not None
    world.requests.block_action(
        button["action_id"],
        button["value"],
        response_url=world.slack.new_response_url(),
    )
    world.settle()
    assert state(world, "analytics-db") == "stopped"

    run_scheduler(world, THURSDAY_NOON + timedelta(hours=9))

    assert state(world, "analytics-db") in ("starting", "available")
    assert storage(world).one_offs("T1", "C1") == []


def test_giving_one_region_a_schedule_keeps_an_older_schedule_of_the_bare_name(
    world: OfflineWorld,
):
    """A schedule saved as `qa-db` covers every `qa-db`: it is not silently taken off."""
    connect(world)
    storage(world).assign_schedule(
        "T1", "C1", "qa-db", "mon-fri 08:00-20:00 tz UTC", "U1"
    )
    add_database(world, "qa-db", region="eu-west-1")
    west = f"{CUSTOMER_ACCOUNT}/eu-west-1/qa-db"

    say(world, f"schedule {west} sat 10:00-14:00 tz UTC")
    run_scheduler(world, THURSDAY_NOON + timedelta(hours=8))

    targets = sorted(a.target for a in storage(world).assignments("T1", "C1"))
    assert targets == [west, "qa-db"]
    assert state(world, "qa-db") == "stopped"
    assert state(world, "qa-db", region="eu-west-1") == "available"


def test_next_lists_a_way_back_a_tag_schedule_may_drop_with_its_condition(
    world: OfflineWorld,
):
    connect(world)
    tag(world, "qa-db", "team", "qa")
    say(world, "schedule tag:team=qa mon-fri 08:00-20:00 tz UTC")
    say(world, "stop qa-db for 9h")

    reply, _ = say(world, "next")

    assert (
        f"• Thu 27 Mar 21:00 (UTC) · start {QA_SHOWN} · one-off by @U1 ends, unless "
        "its schedule wants it stopped then" in reply
    )


def test_a_suggested_target_typed_as_a_mention_pings_no_one(world: OfflineWorld):
    connect(world)
    say(world, "schedule tag:team=<!channel> daily 08:00-20:00 tz UTC")
    assert world.requests is not None

    _, body = world.requests.command("schedule remove tag:team=<!channe>")

    assert "&lt;!channel&gt;" in body["text"]
    assert "<!channel>" not in json.dumps(body)


def test_a_schedule_given_outside_its_windows_says_the_running_database_stays_up(
    world: OfflineWorld,
):
    """Thursday noon, a Saturday-only window: nothing stops it before Saturday 14:00."""
    connect(world)

    _, later = say(world, "schedule qa-db sat 10:00-14:00 tz UTC")

    assert shown(later).endswith(
        "`qa-db` is running now, outside its schedule's windows; SnoozeDB stops it at "
        "the schedule's next stop. Type `/snooze stop qa-db` to stop it now."
    )
    assert state(world, "qa-db") == "available"


def test_a_schedule_given_inside_a_window_says_the_stopped_database_stays_down(
    world: OfflineWorld,
):
    connect(world)
    say(world, "stop qa-db")
    world.aws.set_instance_status(CUSTOMER_ACCOUNT, "us-east-1", "qa-db", "stopped")

    _, later = say(world, "schedule qa-db daily 08:00-20:00 tz UTC")

    assert shown(later).endswith("Type `/snooze start qa-db` to start it now.")


@pytest.mark.parametrize("first", ["C1", "C2"])
def test_a_one_off_is_carried_out_for_the_channel_it_was_typed_in(
    world: OfflineWorld, first: str
):
    """One AWS account in two channels: C1's schedule and one-off, judged and told in C1."""
    if first == "C1":
        connect(world)
        connect_second_role(world, "C2")
    else:
        connect_second_role(world, "C2")
        connect(world)
    say(world, "schedule qa-db mon-fri 08:00-20:00 tz UTC")
    say(world, "stop qa-db for 9h")
    starts = world.aws.calls[(CUSTOMER_ACCOUNT, "StartDBInstance")]

    run_scheduler(world, THURSDAY_NOON + timedelta(hours=9))

    assert world.aws.calls[(CUSTOMER_ACCOUNT, "StartDBInstance")] == starts
    assert state(world, "qa-db") == "stopped"
    assert "the one-off snooze by @U1 ended" in shown(world.slack.messages("C1"))
    assert "qa-db" not in shown(world.slack.messages("C2"))


def test_the_schedule_note_says_an_enforce_schedule_stops_it_within_the_hour(
    world: OfflineWorld,
):
    connect(world)

    _, later = say(world, "schedule qa-db sat 10:00-14:00 tz UTC enforce")

    assert shown(later).endswith(
        "`qa-db` is running now, outside its schedule's windows; the schedule says "
        "`enforce`, so SnoozeDB stops it at its next hourly check."
    )


def test_the_schedule_note_is_left_out_while_a_one_off_decides(world: OfflineWorld):
    connect(world)
    say(world, "start qa-db for 2h")

    _, later = say(world, "schedule qa-db sat 10:00-14:00 tz UTC")

    assert "is running now" not in shown(later)
    assert "gave `qa-db` the schedule" in shown(later)


def test_a_tag_selection_names_whose_way_back_the_schedule_takes_over(
    world: OfflineWorld,
):
    """`a-db` follows the tag's office hours; `b-db` a direct schedule running all day."""
    add_database(world, "a-db")
    add_database(world, "b-db")
    tag(world, "a-db", "env", "dev")
    tag(world, "b-db", "env", "dev")
    connect(world)
    say(world, "schedule tag:env=dev mon-fri 08:00-20:00 tz UTC")
    say(world, "schedule b-db daily 00:00-24:00 tz UTC")

    _, later = say(world, "stop tag:env=dev for 9h")

    posted = shown(later)
    assert (
        "`a-db` (us-east-1): its schedule wants it stopped at Thu 27 Mar 21:00 (UTC), "
        "so SnoozeDB will not start it then; the schedule takes over." in posted
    )
    assert "SnoozeDB will start the others again at Thu 27 Mar 21:00 (UTC)." in posted


def test_explain_says_a_running_database_outside_its_window_stays_up_until_the_stop(
    world: OfflineWorld,
):
    connect(world)
    say(world, "schedule qa-db sat 10:00-14:00 tz UTC")

    _, later = say(world, "explain qa-db")

    assert (
        "Right now it should be stopped.\nIt is running: SnoozeDB acts at the "
        "schedule's changes, so it keeps running until the next stop unless someone "
        "stops it." in shown(later)
    )


def test_a_tag_value_with_spaces_left_unquoted_is_told_to_use_quotes(
    world: OfflineWorld,
):
    connect(world)

    reply, _ = say(world, "stop tag:Name=Staging DB")

    assert reply == (
        "A tag value with spaces goes in double quotes, as in "
        '`/snooze stop tag:Name="Staging DB"`.'
    )
