"""`/snooze` end to end: signed requests into the real app, AWS through the stand-in.

Each test reads what a Slack user would see: the immediate reply (the ack body) and
the messages posted later through the command's response_url.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import SQLModel

from bot.commands import SUBCOMMANDS
from bot.demo import CUSTOMER_ACCOUNT, OfflineWorld
from bot.messages import USAGE_STATUS
from bot.server import Runtime
from bot.slack_app import CONNECT_VIEW, ROLE_ARN_BLOCK, ROLE_ARN_INPUT
from bot.standins.slack import SignedRequests, render

ROLE_NAME = "SnoozeDBAccess"


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


def client(world: OfflineWorld) -> SignedRequests:
    assert world.requests is not None
    return world.requests


def runtime(world: OfflineWorld) -> Runtime:
    assert world.runtime is not None
    return world.runtime


def say(world: OfflineWorld, line: str, **who: Any) -> tuple[str, list[dict[str, Any]]]:
    """Type a /snooze line; return the immediate reply and the bodies posted later."""
    before = len(world.slack.responses)
    status, body = client(world).command(line, **who)
    assert status == 200
    world.settle()
    later = [posted.body for posted in world.slack.responses[before:]]
    return (render(body) if isinstance(body, dict) else str(body)), later


def shown(bodies: list[dict[str, Any]]) -> str:
    return "\n".join(render(body) for body in bodies)


def connect(world: OfflineWorld, team_id: str = "T1", channel_id: str = "C1") -> str:
    """Connect the sample customer account to a channel, as a customer would."""
    say(world, "connect", team_id=team_id, channel_id=channel_id)
    assert world.runtime is not None
    pending = world.runtime.storage.pending(team_id, channel_id)
    assert pending is not None
    role_arn = world.aws.deploy_role_stack(
        CUSTOMER_ACCOUNT,
        pending.external_id,
        world.own_account_id,
        stack_name=ROLE_NAME,
    )
    _, later = say(world, f"connect {role_arn}", team_id=team_id, channel_id=channel_id)
    assert "connected AWS account 111122223333" in shown(later)
    return role_arn


def stop_calls(world: OfflineWorld) -> int:
    return world.aws.calls[(CUSTOMER_ACCOUNT, "StopDBInstance")]


def test_connect_replies_with_external_id_template_and_paste_button(
    world: OfflineWorld,
):
    reply, _ = say(world, "connect")

    assert world.runtime is not None
    pending = world.runtime.storage.pending("T1", "C1")
    assert pending is not None
    assert pending.external_id in reply
    assert "AWSTemplateFormatVersion" in reply
    assert "aws cloudformation deploy" in reply
    assert "[ Paste role ARN ]" in reply


def test_connect_lists_databases_with_why_each_cannot_be_stopped(world: OfflineWorld):
    """R1, R2: Aurora members and both sides of a replica are marked before anyone tries."""
    connect(world)

    _, later = say(world, "status")

    listing = shown(later)
    assert "`qa-db` us-east-1 · mysql · db.t3.micro · available · stoppable" in listing
    assert (
        "app-writer-1" in listing
        and "member of Aurora cluster `app-cluster`" in listing
    )
    assert "not stoppable: has read replicas (staging-db-ro)" in listing
    assert "not stoppable: read replica of `staging-db`" in listing
    assert "`reports-db` eu-west-1" in listing


def test_stop_posts_the_outcome_in_the_channel_naming_who_asked(world: OfflineWorld):
    connect(world)

    reply, later = say(world, "stop qa-db", user_id="U42")

    assert "Stopping `qa-db`" in reply
    assert later[-1]["response_type"] == "in_channel"
    assert "<@U42> asked to stop `qa-db`" in later[-1]["text"]
    assert "`qa-db` (us-east-1): stopping now." in shown(later)
    assert stop_calls(world) == 1


def test_stop_of_an_aurora_member_is_refused_without_calling_aws(world: OfflineWorld):
    """R1."""
    connect(world)

    _, later = say(world, "stop app-writer-1")

    assert "belongs to Aurora cluster `app-cluster`" in shown(later)
    assert "stop the cluster" in shown(later)
    assert stop_calls(world) == 0


def test_stop_of_a_replica_or_its_source_names_the_relation(world: OfflineWorld):
    """R2."""
    connect(world)

    _, source = say(world, "stop staging-db")
    _, replica = say(world, "stop staging-db-ro")

    assert "It has read replicas (staging-db-ro)" in shown(source)
    assert "It is a read replica of `staging-db`" in shown(replica)
    assert stop_calls(world) == 0


def test_second_stop_and_start_of_running_instance_are_reported_as_success(
    world: OfflineWorld,
):
    """R4."""
    connect(world)

    say(world, "stop qa-db")
    _, again = say(world, "stop qa-db")
    _, start = say(world, "start reports-db")

    assert "`qa-db` (us-east-1): already stopped, nothing to do." in shown(again)
    assert "`reports-db` (eu-west-1): already running, nothing to do." in shown(start)
    assert "InvalidDBInstanceState" not in shown(again) + shown(start)
    assert stop_calls(world) == 1


def test_unknown_engine_is_sent_to_aws_not_filtered(world: OfflineWorld):
    """R7: an engine SnoozeDB never heard of is stopped like any other."""
    connect(world)
    world.aws.patch_instance(CUSTOMER_ACCOUNT, "us-east-1", "qa-db", engine="db2-se")

    _, later = say(world, "stop qa-db")

    assert "`qa-db` (us-east-1): stopping now." in shown(later)
    assert stop_calls(world) == 1


def test_busy_instance_is_reported_with_its_state(world: OfflineWorld):
    connect(world)
    world.aws.set_instance_status(CUSTOMER_ACCOUNT, "us-east-1", "qa-db", "backing-up")

    _, later = say(world, "stop qa-db")

    assert "not stopped while it is backing-up" in shown(later)
    assert stop_calls(world) == 0


def test_deleted_stack_is_announced_once_in_the_channel_with_the_role_arn(
    world: OfflineWorld,
):
    """R5: the role is gone; the channel hears it once, and status flags the account."""
    role_arn = connect(world)
    iam = world.aws.customer_session(CUSTOMER_ACCOUNT).client("iam")
    iam.delete_role_policy(RoleName=ROLE_NAME, PolicyName="SnoozeDBStopStartRDS")
    iam.delete_role(RoleName=ROLE_NAME)
    world.aws.reset_counts()

    _, first = say(world, "stop qa-db")
    _, second = say(world, "stop qa-db")
    _, status = say(world, "status")

    assert first[-1]["response_type"] == "in_channel"
    assert f"could not assume `{role_arn}`" in shown(first)
    assert "stack was deleted" in shown(first)
    assert second[-1]["response_type"] == "ephemeral"
    assert "could not assume" in shown(status)
    assert len(world.aws.assume_role_calls) == 3
    assert stop_calls(world) == 0


def test_a_deleted_stack_is_restored_by_redeploying_with_the_same_external_id(
    world: OfflineWorld,
):
    """Status says what to do; connect shows the account's own External ID; pasting
    the same role ARN after redeploying makes the account healthy again."""
    role_arn = connect(world)
    storage = runtime(world).storage
    [account] = storage.accounts("T1", "C1")
    cloudformation = world.aws.customer_session(CUSTOMER_ACCOUNT).client(
        "cloudformation"
    )
    cloudformation.delete_stack(StackName=ROLE_NAME)

    _, status = say(world, "status")
    repair, _ = say(world, "connect")
    _, too_early = say(world, f"connect {role_arn}")
    world.aws.deploy_role_stack(
        CUSTOMER_ACCOUNT,
        account.external_id,
        world.own_account_id,
        stack_name=ROLE_NAME,
    )
    _, restored = say(world, f"connect {role_arn}")
    _, stopped = say(world, "stop qa-db")

    assert "Type `/snooze connect` here to see this channel's External ID" in shown(
        status
    )
    assert f"then type `/snooze connect {role_arn}`" in shown(status)
    assert "SnoozeDB could not assume its role" in repair
    assert f"External ID: `{account.external_id}`" in repair
    assert f"--stack-name {ROLE_NAME}" in repair
    assert storage.pending("T1", "C1") is None
    assert f"could not assume `{role_arn}`" in shown(too_early)
    assert "already connected to another" not in shown(restored)
    assert "restored SnoozeDB's access to AWS account 111122223333" in shown(restored)
    assert restored[-1]["response_type"] == "in_channel"
    [healthy] = storage.accounts("T1", "C1")
    assert (healthy.id, healthy.status.value, healthy.attention) == (
        account.id,
        "active",
        "",
    )
    assert "`qa-db` (us-east-1): stopping now." in shown(stopped)


def test_the_paste_form_of_a_broken_account_takes_only_its_own_role_arn(
    world: OfflineWorld,
):
    role_arn = connect(world)
    storage = runtime(world).storage
    [account] = storage.accounts("T1", "C1")
    iam = world.aws.customer_session(CUSTOMER_ACCOUNT).client("iam")
    iam.delete_role_policy(RoleName=ROLE_NAME, PolicyName="SnoozeDBStopStartRDS")
    iam.delete_role(RoleName=ROLE_NAME)
    say(world, "status")
    world.aws.deploy_role_stack(
        CUSTOMER_ACCOUNT,
        account.external_id,
        world.own_account_id,
        stack_name=f"{ROLE_NAME}Again",
    )
    other = role_arn.replace(ROLE_NAME, f"{ROLE_NAME}Other")
    metadata = f'{{"account_id": "{account.id}", "response_url": ""}}'

    _, refused = client(world).view_submission(
        CONNECT_VIEW,
        {ROLE_ARN_BLOCK: {ROLE_ARN_INPUT: other}},
        private_metadata=metadata,
    )
    world.settle()

    assert isinstance(refused, dict)
    assert refused["errors"][ROLE_ARN_BLOCK].startswith(
        f"This form restores `{role_arn}`"
    )
    assert storage.accounts("T1", "C1")[0].status.value == "needs_attention"


def test_unknown_database_gets_did_you_mean(world: OfflineWorld):
    connect(world)

    _, later = say(world, "stop qa-dbb")

    assert "No database called `qa-dbb`" in shown(later)
    assert "Did you mean `qa-db`?" in shown(later)


def test_excluded_instance_asks_for_confirmation_then_stops_on_the_button(
    world: OfflineWorld,
):
    connect(world)

    _, later = say(world, "stop analytics-db")
    button = later[-1]["blocks"][-1]["elements"][0]
    before = len(world.slack.responses)
    status, _ = client(world).block_action(
        button["action_id"],
        button["value"],
        response_url=world.slack.new_response_url(),
    )
    world.settle()

    assert "[ Stop anyway ]" in shown(later)
    assert stop_calls(world) == 1 and status == 200
    assert "`analytics-db` (us-east-1): stopping now." in shown(
        [p.body for p in world.slack.responses[before:]]
    )


def test_tag_selector_stops_every_match_and_skips_excluded(world: OfflineWorld):
    rds = world.aws.customer_session(CUSTOMER_ACCOUNT).client("rds")
    for name in ("qa-db", "analytics-db"):
        arn = rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]
        rds.add_tags_to_resource(
            ResourceName=arn["DBInstanceArn"], Tags=[{"Key": "team", "Value": "qa"}]
        )
    connect(world)

    _, later = say(world, "stop tag:team=qa")

    assert "`qa-db` (us-east-1): stopping now." in shown(later)
    assert "`analytics-db` (us-east-1): skipped" in shown(later)
    assert stop_calls(world) == 1


def test_wrong_external_id_is_refused_by_the_trust_policy(world: OfflineWorld):
    """The confused-deputy defence: a role trusting another External ID is refused."""
    say(world, "connect")
    role_arn = world.aws.deploy_role_stack(
        CUSTOMER_ACCOUNT, "00000000-0000-4000-8000-000000000000", world.own_account_id
    )

    _, later = say(world, f"connect {role_arn}")

    assert "could not assume" in shown(later) and "External ID" in shown(later)
    assert world.runtime is not None
    assert world.runtime.storage.accounts("T1") == []


def test_another_team_cannot_connect_a_role_already_connected(world: OfflineWorld):
    role_arn = connect(world)
    say(world, "connect", team_id="T2", channel_id="C7")

    _, later = say(world, f"connect {role_arn}", team_id="T2", channel_id="C7")

    assert "could not assume" in shown(later)
    assert "T1" not in shown(later) and "C1" not in shown(later)
    assert world.runtime is not None and world.runtime.storage.accounts("T2") == []


def test_pasting_a_connected_role_again_says_so_and_issues_no_external_id(
    world: OfflineWorld,
):
    """A new External ID here would lead the user to redeploy a working role."""
    role_arn = connect(world)
    assumed = len(world.aws.assume_role_calls)

    second, second_later = say(world, f"connect {role_arn}")
    third, third_later = say(world, f"connect {role_arn}")

    assert second == (
        "AWS account 111122223333 is already connected to this channel through "
        f"`{role_arn}`, so there is nothing to do; type `/snooze status` to see its "
        "databases."
    )
    assert third == second
    assert second_later == [] and third_later == []
    assert runtime(world).storage.pending("T1", "C1") is None
    assert len(world.aws.assume_role_calls) == assumed
    [account] = runtime(world).storage.accounts("T1", "C1")
    assert account.status.value == "active"


def test_pasting_a_connected_role_in_the_form_says_so_in_the_field(
    world: OfflineWorld,
):
    role_arn = connect(world)
    say(world, "connect")
    pending = runtime(world).storage.pending("T1", "C1")
    assert pending is not None

    status, body = client(world).view_submission(
        CONNECT_VIEW,
        {ROLE_ARN_BLOCK: {ROLE_ARN_INPUT: role_arn}},
        private_metadata=f'{{"account_id": "{pending.id}", "response_url": ""}}',
    )

    assert status == 200 and isinstance(body, dict)
    assert body["errors"][ROLE_ARN_BLOCK].startswith(
        "AWS account 111122223333 is already connected to this channel"
    )
    [account] = runtime(world).storage.accounts("T1", "C1")
    assert account.status.value == "active"


def test_connect_in_a_connected_channel_offers_an_external_id_for_another_account(
    world: OfflineWorld,
):
    connect(world)

    reply, _ = say(world, "connect")

    pending = runtime(world).storage.pending("T1", "C1")
    assert pending is not None
    assert f"External ID: `{pending.external_id}`" in reply
    assert (
        "AWS account 111122223333 is already connected to this channel and stays "
        "connected. The External ID below is for connecting another AWS account: "
        "deploy the stack in that account."
    ) in reply
    assert "could not assume" not in reply and "no External ID yet" not in reply


def test_a_role_of_another_partition_is_refused_before_any_aws_call(
    world: OfflineWorld,
):
    assumed = len(world.aws.assume_role_calls)

    reply, later = say(
        world, "connect arn:aws-cn:iam::111122223333:role/SnoozeDBAccess"
    )

    assert reply == (
        "`arn:aws-cn:iam::111122223333:role/SnoozeDBAccess` is a role in the aws-cn "
        "partition, but SnoozeDB runs in the aws partition and cannot assume roles "
        "outside it. Deploy the SnoozeDB stack in an AWS account of the aws partition "
        "and paste its RoleArn output."
    )
    assert later == []
    assert len(world.aws.assume_role_calls) == assumed
    assert runtime(world).storage.pending("T1", "C1") is None


def test_the_paste_form_refuses_a_role_of_another_partition(world: OfflineWorld):
    say(world, "connect")
    pending = runtime(world).storage.pending("T1", "C1")
    assert pending is not None
    assumed = len(world.aws.assume_role_calls)

    status, body = client(world).view_submission(
        CONNECT_VIEW,
        {ROLE_ARN_BLOCK: {ROLE_ARN_INPUT: "arn:aws-us-gov:iam::111122223333:role/R"}},
        private_metadata=f'{{"account_id": "{pending.id}", "response_url": ""}}',
    )
    world.settle()

    assert status == 200 and isinstance(body, dict)
    assert "is a role in the aws-us-gov partition" in body["errors"][ROLE_ARN_BLOCK]
    assert len(world.aws.assume_role_calls) == assumed


def test_other_channel_sees_no_account(world: OfflineWorld):
    connect(world)

    reply, later = say(world, "stop qa-db", channel_id="C2")

    assert "No AWS account is connected to this channel" in reply
    assert later == [] and stop_calls(world) == 0


def test_every_assume_role_carries_the_channel_external_id(world: OfflineWorld):
    connect(world)
    say(world, "status")
    say(world, "stop qa-db")

    assert world.runtime is not None
    [account] = world.runtime.storage.accounts("T1", "C1")
    bot_calls = [
        c for c in world.aws.assume_role_calls if c.role_arn == account.role_arn
    ]
    assert len(bot_calls) >= 3
    assert {c.external_id for c in bot_calls} == {account.external_id}
    assert all(c.duration_seconds == 3600 for c in bot_calls)


def test_temporary_credentials_appear_in_no_row_no_log_and_no_slack_message(
    world: OfflineWorld, caplog: pytest.LogCaptureFixture
):
    """Every table, every log record and everything sent to Slack is searched."""
    caplog.set_level(logging.DEBUG)
    connect(world)
    say(world, "status")
    say(world, "stop qa-db for 2h")
    say(world, "schedule tag:env=qa mon-fri 08:00-20:00 tz UTC")
    say(world, "start qa-db")
    say(world, "history")

    secrets = [
        value
        for call in world.aws.assume_role_calls
        if call.allowed
        for value in (call.access_key_id, call.secret_access_key, call.session_token)
        if value
    ]
    assert world.runtime is not None
    with world.runtime.storage.engine.connect() as connection:
        rows = [
            str(row)
            for table in SQLModel.metadata.sorted_tables
            for row in connection.execute(table.select())
        ]
    logged = [record.getMessage() + str(record.args) for record in caplog.records]
    sent = [json.dumps(call.params) for call in world.slack.calls]
    sent += [json.dumps(post.body) for post in world.slack.responses]
    assert secrets
    assert len(rows) > 5 and sent
    assert not [s for s in secrets if any(s in row for row in rows)]
    assert not [s for s in secrets if any(s in line for line in logged)]
    assert not [s for s in secrets if any(s in body for body in sent)]


def test_status_in_a_direct_message_replies_through_response_url(world: OfflineWorld):
    """R13: a DM between two people; chat.postMessage would fail there."""
    connect(world, channel_id="D0DM")
    world.slack.fail("chat.postMessage", error="channel_not_found", times=5)

    _, later = say(world, "status", channel_id="D0DM")

    assert "qa-db" in shown(later)
    assert world.slack.calls_to("chat.postMessage") == []


def test_replayed_stop_with_the_same_trigger_id_acts_once(world: OfflineWorld):
    connect(world)

    client(world).command("stop qa-db", trigger_id="111.222.replayed")
    client(world).command("stop qa-db", trigger_id="111.222.replayed")
    world.settle()

    assert stop_calls(world) == 1


def test_unsigned_or_tampered_request_is_refused(world: OfflineWorld):
    status, _ = client(world).raw(b"command=%2Fsnooze&text=stop+qa-db", {})

    assert status == 401


def test_help_lists_every_subcommand(world: OfflineWorld):
    """An empty `/snooze` shows each row of the table that dispatches commands."""
    reply, _ = say(world, "")

    assert len(SUBCOMMANDS) >= 12
    for row in SUBCOMMANDS.values():
        assert row.usage in reply
        assert row.summary in reply
    assert f"`{USAGE_STATUS}` (or `list`) — " in reply


def test_status_of_one_database_shows_only_that_database(world: OfflineWorld):
    connect(world)

    _, later = say(world, "status staging-db-ro")

    assert "`staging-db-ro` us-east-1" in shown(later)
    assert "read replica of `staging-db`" in shown(later)
    assert "qa-db" not in shown(later)


def test_status_of_a_tag_selector_shows_only_the_tagged_databases(
    world: OfflineWorld,
):
    rds = world.aws.customer_session(CUSTOMER_ACCOUNT).client("rds")
    qa = rds.describe_db_instances(DBInstanceIdentifier="qa-db")["DBInstances"][0]
    rds.add_tags_to_resource(
        ResourceName=qa["DBInstanceArn"], Tags=[{"Key": "env", "Value": "dev"}]
    )
    connect(world)

    _, later = say(world, "status tag:env=dev")

    assert "`qa-db` us-east-1" in shown(later)
    assert "staging-db" not in shown(later)


def test_status_of_a_tag_nothing_carries_says_so_in_one_sentence(
    world: OfflineWorld,
):
    connect(world)

    _, later = say(world, "status tag:env=dev")

    assert shown(later) == (
        "No database in this channel's accounts carries the tag `env=dev`."
    )
    assert later[-1]["text"] != ""


def test_unknown_subcommand_suggests_the_closest(world: OfflineWorld):
    reply, _ = say(world, "stpo qa-db")

    assert reply == "`/snooze stpo` is not a command. Did you mean `/snooze stop`?"


def test_malformed_role_arn_is_refused_with_an_example(world: OfflineWorld):
    reply, _ = say(world, "connect arn:aws:iam::12:user/bob")

    assert "is not an IAM role ARN" in reply
    assert "arn:aws:iam::123456789012:role/SnoozeDBAccess" in reply


def test_disconnect_forgets_the_account_and_says_to_delete_the_stack(
    world: OfflineWorld,
):
    connect(world)

    reply, _ = say(world, "disconnect")

    assert "delete the SnoozeDB stack" in reply
    assert world.runtime is not None and world.runtime.storage.accounts("T1") == []


def test_disconnecting_the_last_account_also_forgets_the_pending_external_id(
    world: OfflineWorld,
):
    connect(world)
    say(world, "connect")
    assert world.runtime is not None
    storage = world.runtime.storage
    assert storage.pending("T1", "C1") is not None

    reply, _ = say(world, "disconnect")
    again, _ = say(world, "disconnect")

    assert "delete the SnoozeDB stack" in reply
    assert storage.pending("T1", "C1") is None
    assert again.startswith("No AWS account is connected to this channel")


def test_slow_aws_never_holds_up_the_acknowledgement(world: OfflineWorld):
    """R11: five users stop one database at once while AWS takes 4 s a call.

    Each is acknowledged before AWS has answered anything (no result was posted and
    no stop call was made while the acknowledgements came back); every result
    arrives later: one says the database was stopped, the others "already stopped".
    """
    connect(world)
    before = len(world.slack.responses)
    world.aws.latency_seconds = 4.0
    users = [f"U{n}" for n in range(5)]

    with ThreadPoolExecutor(max_workers=5) as pool:
        acks = list(
            pool.map(
                lambda user: client(world).command("stop qa-db", user_id=user), users
            )
        )
    posted_while_acking = len(world.slack.responses) - before
    stopped_while_acking = stop_calls(world)
    world.settle()
    results = [render(post.body) for post in world.slack.responses[before:]]

    assert [status for status, _ in acks] == [200] * 5
    assert all("qa-db" in render(body) for _, body in acks)  # type: ignore[arg-type]
    assert posted_while_acking == 0
    assert stopped_while_acking == 0
    assert len(results) == 5
    assert sum("already stopped" in result for result in results) == 4, results


def test_database_in_a_region_not_seen_before_is_found_with_one_role_assumption(
    world: OfflineWorld,
):
    west = world.aws.customer_session(CUSTOMER_ACCOUNT, "eu-west-1").client("rds")
    west.delete_db_instance(DBInstanceIdentifier="reports-db", SkipFinalSnapshot=True)
    connect(world)
    west.create_db_instance(
        DBInstanceIdentifier="late-db",
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        MasterUsername="admin",
        MasterUserPassword="not-a-real-password",
        AllocatedStorage=20,
    )
    world.aws.reset_counts()

    _, later = say(world, "stop late-db")

    assert "`late-db` (eu-west-1): stopping now." in shown(later)
    assert len(world.aws.assume_role_calls) == 1


@pytest.mark.parametrize(
    ("line", "state", "back"),
    [
        ("stop analytics-db for 2h", "available", "start"),
        ("start analytics-db for 1h", "stopped", "stop"),
    ],
)
def test_confirming_an_excluded_database_keeps_the_way_back_of_a_one_off(
    world: OfflineWorld, line: str, state: str, back: str
):
    """`for 2h` on an excluded database survives the confirmation button, and a
    replayed click acts once."""
    connect(world)
    world.aws.set_instance_status(CUSTOMER_ACCOUNT, "us-east-1", "analytics-db", state)
    runtime(world).context.clock = lambda: datetime(2026, 12, 4, 6, 14, tzinfo=UTC)
    _, asked = say(world, line)
    button = asked[-1]["blocks"][-1]["elements"][0]
    before = len(world.slack.responses)

    for _ in range(2):
        status, _ = client(world).block_action(
            button["action_id"],
            button["value"],
            trigger_id="333.444.confirm",
            response_url=world.slack.new_response_url(),
        )
    world.settle()
    confirmed = shown([p.body for p in world.slack.responses[before:]])
    coming, _ = say(world, "next")

    assert status == 200
    assert json.loads(button["value"])["until"].startswith("2026-12-04T0")
    assert "until Fri 04 Dec 0" in confirmed
    assert f"SnoozeDB will {back} it again at Fri 04 Dec 0" in confirmed
    assert (
        f"{back} `analytics-db` (us-east-1, account 111122223333) · one-off" in coming
    )
    assert len(runtime(world).storage.one_offs("T1")) == 1
    verb = "StopDBInstance" if back == "start" else "StartDBInstance"
    assert world.aws.calls[(CUSTOMER_ACCOUNT, verb)] == 1


def test_a_confirmation_pressed_after_its_one_off_ended_does_nothing(
    world: OfflineWorld,
):
    connect(world)
    runtime(world).context.clock = lambda: datetime(2026, 12, 4, 6, 14, tzinfo=UTC)
    _, asked = say(world, "stop analytics-db for 2h")
    button = asked[-1]["blocks"][-1]["elements"][0]
    runtime(world).context.clock = lambda: datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    before = len(world.slack.responses)

    client(world).block_action(
        button["action_id"],
        button["value"],
        response_url=world.slack.new_response_url(),
    )
    world.settle()

    assert "until Fri 04 Dec 08:14 (UTC), which has passed; nothing was done" in shown(
        [p.body for p in world.slack.responses[before:]]
    )
    assert stop_calls(world) == 0


def test_until_a_utc_time_is_echoed_on_the_users_clock_the_same_day(
    world: OfflineWorld,
):
    """A user in Tokyo at 09:00 (00:00 UTC) asks until 05:00 UTC: five hours."""
    connect(world)
    runtime(world).context.user_zone = lambda _user: "Asia/Tokyo"
    runtime(world).context.clock = lambda: datetime(2027, 3, 20, 0, 0, tzinfo=UTC)

    reply, later = say(world, "stop qa-db until 05:00 UTC")

    assert "Stopping `qa-db` until Sat 20 Mar 14:00 (Asia/Tokyo)" in reply
    assert "SnoozeDB will start it again at Sat 20 Mar 14:00 (Asia/Tokyo)." in shown(
        later
    )
