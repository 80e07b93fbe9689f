"""The offline demo as a newcomer types it: lines in, what Slack would show out.

The prompt runs in this process against the same `OfflineWorld` as `snoozedb demo`,
so the tests read its printed text.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.demo import Demo, OfflineWorld, run_demo


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Demo]:
    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv(
        "AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials")
    )
    with OfflineWorld(f"sqlite:///{tmp_path / 'demo.sqlite3'}") as world:
        world.seed_sample_account()
        yield Demo(world, io.StringIO())


def type_lines(demo: Demo, *lines: str) -> str:
    """Type the lines at the prompt; return what the demo printed for them."""
    assert isinstance(demo.out, io.StringIO)
    start = len(demo.out.getvalue())
    for line in lines:
        demo.run_line(line)
    return demo.out.getvalue()[start:]


def external_id(demo: Demo) -> str:
    assert demo.world.runtime is not None
    pending = demo.world.runtime.storage.pending("T1", "C1")
    assert pending is not None
    return pending.external_id


def test_deploying_again_after_a_disconnect_replaces_the_stack_and_connects(
    demo: Demo,
):
    type_lines(demo, "/snooze connect", "deploy", "/snooze connect ROLE_ARN")
    type_lines(demo, "/snooze disconnect", "/snooze connect")
    second = external_id(demo)

    shown = type_lines(demo, "deploy", "/snooze connect ROLE_ARN")

    assert (
        "Replaced the SnoozeDB stack already in account 111122223333: its role now "
        f"trusts only the External ID {second}."
    ) in shown
    assert "@U0DEMO connected AWS account 111122223333 to this channel" in shown
    assert "could not assume" not in shown


def test_deploy_typed_twice_replaces_the_stack_and_the_role_still_connects(
    demo: Demo,
):
    shown = type_lines(
        demo, "/snooze connect", "deploy", "deploy", "/snooze connect ROLE_ARN"
    )

    assert "Deployed the SnoozeDB stack in account 111122223333." in shown
    assert "Replaced the SnoozeDB stack already in account 111122223333" in shown
    assert "@U0DEMO connected AWS account 111122223333 to this channel" in shown


def test_the_tour_twice_keeps_the_connection_it_made_the_first_time(demo: Demo):
    """The second tour's deploy would cut the channel's connection, so it is refused."""
    type_lines(demo, "tour")

    shown = type_lines(demo, "tour")

    assert "Did not redeploy: this channel is connected through " in shown
    assert "type /snooze disconnect, then /snooze connect and deploy." in shown
    assert "is already connected to this channel through" in shown
    assert "AWS account 111122223333 · 6 databases" in shown
    assert "could not assume" not in shown
    assert "`qa-db` (us-east-1): starting now." in shown


def test_the_readme_admins_example_works_in_the_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """`@ada` and `@dba-team` arrive escaped, as Slack sends a pick from the @ list."""
    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    out = io.StringIO()
    typed = "/snooze admins add @ada\n/snooze admins add @dba-team\n/snooze admins add @zed\n"

    assert run_demo(io.StringIO(typed), out) == 0

    printed = out.getvalue()
    assert "allowed @U1 to connect and disconnect AWS accounts." in printed
    assert "allowed @S0DBA to connect and disconnect AWS accounts." in printed
    assert "`@zed` is not a mention I can read." in printed
