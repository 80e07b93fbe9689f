"""Who may do what, end to end: admins, named people and groups, teams and channels.

Signed requests go into the real app; users.info and usergroups.users.list are
answered by the Slack stand-in; AWS is the stand-in whose STS evaluates trust
policies, so the confused-deputy defence is tested as AWS would enforce it.
`U1` installed the app (a workspace admin in the offline world); every other user
is asked of Slack.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import messages
from bot.demo import CUSTOMER_ACCOUNT, OfflineWorld
from bot.slack_app import CONNECT_VIEW, ROLE_ARN_BLOCK, ROLE_ARN_INPUT
from bot.standins.slack import render
from bot.storage import Storage

ROLE_NAME = "SnoozeDBAccess"
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
        yield offline


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
    later = "\n".join(render(p.body) for p in world.slack.responses[before:])
    return (render(body) if isinstance(body, dict) else str(body)), later


def connect(world: OfflineWorld, team_id: str = "T1", channel_id: str = "C1") -> str:
    """Connect the sample customer account as the installer; returns the role ARN."""
    say(world, "connect", team_id=team_id, channel_id=channel_id)
    pending = storage(world).pending(team_id, channel_id)
    assert pending is not None
    role_arn = world.aws.deploy_role_stack(
        CUSTOMER_ACCOUNT,
        pending.external_id,
        world.own_account_id,
        stack_name=ROLE_NAME,
    )
    _, later = say(world, f"connect {role_arn}", team_id=team_id, channel_id=channel_id)
    assert "connected AWS account 111122223333" in later
    return role_arn


def serve_group(
    world: OfflineWorld,
    monkeypatch: pytest.MonkeyPatch,
    group_id: str,
    members: list[str],
) -> None:
    """Make the stand-in answer usergroups.users.list for one group."""
    answer = world.slack._method_answer

    def with_group(method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "usergroups.users.list" and params.get("usergroup") == group_id:
            return {"ok": True, "users": members}
        return answer(method, params)

    monkeypatch.setattr(world.slack, "_method_answer", with_group)


def acted(world: OfflineWorld) -> int:
    calls = world.aws.calls
    return (
        calls[(CUSTOMER_ACCOUNT, "StopDBInstance")]
        + calls[(CUSTOMER_ACCOUNT, "StartDBInstance")]
    )


def assumed(world: OfflineWorld) -> int:
    return len(world.aws.assume_role_calls)


# --- Connecting and disconnecting ------------------------------------------------


def test_a_member_who_is_not_an_admin_cannot_connect_and_is_told_who_can(
    world: OfflineWorld,
):
    reply, later = say(world, "connect", user_id="U2")

    assert reply == messages.MANAGE_NOT_ALLOWED
    assert "/snooze admins list" in reply
    assert later == ""
    assert storage(world).pending("T1", "C1") is None
    assert len(world.slack.calls_to("users.info")) == 1


@pytest.mark.parametrize("flag", ["is_admin", "is_owner", "is_primary_owner"])
def test_workspace_admins_and_owners_may_connect(world: OfflineWorld, flag: str):
    world.slack.users["U2"] = {flag: True}

    reply, _ = say(world, "connect", user_id="U2")

    pending = storage(world).pending("T1", "C1")
    assert pending is not None
    assert pending.external_id in reply


def test_a_member_who_is_not_an_admin_cannot_disconnect(world: OfflineWorld):
    connect(world)

    reply, _ = say(world, f"disconnect {CUSTOMER_ACCOUNT}", user_id="U2")

    assert reply == messages.MANAGE_NOT_ALLOWED
    assert [a.aws_account_id for a in storage(world).accounts("T1", "C1")] == [
        CUSTOMER_ACCOUNT
    ]


def test_users_info_failing_refuses_with_a_sentence_and_connects_nothing(
    world: OfflineWorld,
):
    world.slack.fail("users.info", error="ratelimited", times=3)

    reply, _ = say(world, "connect", user_id="U2")

    assert reply == messages.PERMISSION_UNKNOWN
    assert storage(world).pending("T1", "C1") is None


def test_anyone_in_the_channel_may_stop_and_start(world: OfflineWorld):
    connect(world)

    _, stopped = say(world, "stop qa-db", user_id="U7")
    _, started = say(world, "start qa-db", user_id="U8")

    assert "@U7 asked to stop `qa-db`" in stopped
    assert "@U8 asked to start `qa-db`" in started
    assert acted(world) == 2
    assert world.slack.calls_to("users.info") == []


# --- /snooze admins ------------------------------------------------------------------


def test_a_named_person_may_connect_until_the_name_is_removed(world: OfflineWorld):
    reply, _ = say(world, "admins add <@U3|cy>")
    listing, _ = say(world, "admins list", user_id="U9")
    allowed, _ = say(world, "connect", user_id="U3")
    removed, _ = say(world, "admins remove <@U3|cy>")
    storage(world).remove_account(storage(world).pending("T1", "C1").id)  # type: ignore[union-attr]
    refused, _ = say(world, "connect", user_id="U3")

    assert reply == "@U1 allowed @U3 to connect and disconnect AWS accounts."
    assert listing.endswith("and so can: @U3.")
    assert "External ID" in allowed
    assert "@U1 withdrew @U3's permission" in removed
    assert refused == messages.MANAGE_NOT_ALLOWED
    assert storage(world).admin_grants("T1") == []


def test_members_of_a_named_user_group_may_connect_and_others_may_not(
    world: OfflineWorld, monkeypatch: pytest.MonkeyPatch
):
    serve_group(world, monkeypatch, "S0DBA", ["U4", "U5"])
    say(world, "admins add <!subteam^S0DBA|@dba>")

    member, _ = say(world, "connect", user_id="U4")
    again, _ = say(world, "connect", user_id="U5")
    outsider, _ = say(world, "connect", user_id="U6")

    assert "External ID" in member and "External ID" in again
    assert outsider == messages.MANAGE_NOT_ALLOWED
    assert len(world.slack.calls_to("usergroups.users.list")) == 1  # remembered


def test_a_user_group_that_slack_cannot_list_refuses_with_a_sentence(
    world: OfflineWorld,
):
    say(world, "admins add <!subteam^S0DBA|@dba>")
    world.slack.fail("usergroups.users.list", error="missing_scope")

    reply, _ = say(world, "connect", user_id="U4")

    assert reply == messages.PERMISSION_UNKNOWN
    assert storage(world).pending("T1", "C1") is None


def test_a_named_user_group_deleted_since_lets_no_one_in_and_says_so_plainly(
    world: OfflineWorld,
):
    """Slack answers no_such_subteam: nobody is in it, which is not "try again"."""
    say(world, "admins add <!subteam^S0DBA|@dba>")
    world.slack.fail("usergroups.users.list", error="no_such_subteam")

    reply, _ = say(world, "connect", user_id="U4")

    assert reply == messages.MANAGE_NOT_ALLOWED
    assert storage(world).pending("T1", "C1") is None


def test_only_workspace_admins_change_the_list_not_named_people(world: OfflineWorld):
    say(world, "admins add <@U3|cy>")

    member, _ = say(world, "admins add <@U2|bo>", user_id="U2")
    named, _ = say(world, "admins add <@U2|bo>", user_id="U3")

    assert member == messages.ADMINS_CHANGE_NOT_ALLOWED
    assert named == messages.ADMINS_CHANGE_NOT_ALLOWED
    assert [g.subject_id for g in storage(world).admin_grants("T1")] == ["U3"]


def test_a_plain_at_name_is_explained_and_nothing_is_granted(world: OfflineWorld):
    """Without should_escape Slack sends `@ada` as typed, with no user ID."""
    reply, _ = say(world, "admins add @ada")

    assert reply.startswith("`@ada` is not a mention I can read.")
    assert storage(world).admin_grants("T1") == []


def test_a_name_given_in_one_team_grants_nothing_in_another(world: OfflineWorld):
    say(world, "admins add <@U3|cy>", team_id="T1")

    reply, _ = say(world, "connect", user_id="U3", team_id="T2")

    assert reply == messages.MANAGE_NOT_ALLOWED
    assert storage(world).pending("T2", "C1") is None


def test_a_modal_submission_by_someone_not_allowed_gets_a_field_error(
    world: OfflineWorld,
):
    """The form can be reached by others than the asker; the submitter is checked."""
    say(world, "connect")
    pending = storage(world).pending("T1", "C1")
    assert pending is not None and world.requests is not None
    role_arn = world.aws.deploy_role_stack(
        CUSTOMER_ACCOUNT, pending.external_id, world.own_account_id
    )
    before = assumed(world)

    status, body = world.requests.view_submission(
        CONNECT_VIEW,
        {ROLE_ARN_BLOCK: {ROLE_ARN_INPUT: role_arn}},
        user_id="U2",
        private_metadata=f'{{"account_id": "{pending.id}", "response_url": ""}}',
    )
    world.settle()

    assert status == 200 and isinstance(body, dict)
    assert body["response_action"] == "errors"
    assert body["errors"][ROLE_ARN_BLOCK] == messages.MANAGE_NOT_ALLOWED
    assert assumed(world) == before
    assert storage(world).accounts("T1", "C1") == []


# --- Teams and channels never see each other's accounts ----------------------------

INTRUDERS = [("T2", "C1"), ("T1", "C2")]
COMMANDS = [
    "status",
    "status qa-db",
    "stop qa-db",
    f"stop {QA_DB}",
    "stop tag:team=qa",
    "start reports-db",
    f"start {CUSTOMER_ACCOUNT}/eu-west-1/reports-db",
    "schedule qa-db mon-fri 08:00-20:00 tz UTC",
    "next",
    "explain qa-db",
    "history",
    "history qa-db",
    f"disconnect {CUSTOMER_ACCOUNT}",
    "disconnect",
]
# What T1's channel knows and nobody else may learn, unless they typed it.
T1_ONLY = ["staging-db", "analytics-db", "mysql", "db.t3.micro", "eu-west-1"]


@pytest.mark.parametrize("line", COMMANDS)
def test_another_team_or_channel_can_never_see_or_act_on_t1s_accounts(
    world: OfflineWorld, line: str
):
    role_arn = connect(world)
    say(world, "stop reports-db")  # T1 has history and a stopped database
    external_id = storage(world).accounts("T1", "C1")[0].external_id
    before = acted(world)
    assignments = storage(world).assignments("T1", "C1")

    for team_id, channel_id in INTRUDERS:
        reply, later = say(world, line, team_id=team_id, channel_id=channel_id)

        seen = reply + "\n" + later
        assert acted(world) == before, (team_id, channel_id)
        assert external_id not in seen
        assert role_arn not in seen
        for secret in T1_ONLY:
            assert secret not in seen or secret in line, (team_id, channel_id, secret)
        if CUSTOMER_ACCOUNT not in line:
            assert CUSTOMER_ACCOUNT not in seen
        assert storage(world).assignments(team_id, channel_id) == []

    assert storage(world).assignments("T1", "C1") == assignments
    assert [a.role_arn for a in storage(world).accounts("T1", "C1")] == [role_arn]


@pytest.mark.parametrize(("team_id", "channel_id"), INTRUDERS)
def test_pasting_another_teams_role_arn_is_refused_by_its_trust_policy(
    world: OfflineWorld, team_id: str, channel_id: str
):
    """The confused deputy: the intruder's External ID is not the one the role trusts."""
    role_arn = connect(world)
    t1 = storage(world).accounts("T1", "C1")[0]
    world.slack.users["U9"] = {"is_admin": True}
    who = {"user_id": "U9", "team_id": team_id, "channel_id": channel_id}
    say(world, "connect", **who)
    mine = storage(world).pending(team_id, channel_id)
    before = assumed(world)

    reply, later = say(world, f"connect {role_arn}", **who)

    seen = reply + "\n" + later
    [asked] = world.aws.assume_role_calls[before:]
    assert mine is not None and asked.external_id == mine.external_id
    assert not asked.allowed  # the role's trust policy names T1's External ID only
    assert f"could not assume `{role_arn}`" in seen
    for secret in [*T1_ONLY, "qa-db", "reports-db", t1.external_id]:
        assert secret not in seen
    assert storage(world).accounts(team_id, channel_id) == []
    assert storage(world).accounts("T1", "C1") == [t1]
    assert acted(world) == 0
