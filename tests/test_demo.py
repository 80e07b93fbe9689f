"""The offline demo as a newcomer types it: lines in, what Slack would show out.

The prompt runs in this process against the same `OfflineWorld` as `snoozedb demo`,
so the tests read its printed text.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import timedelta
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
    assert "@you connected AWS account 111122223333 to this channel" in shown
    assert "could not assume" not in shown


def test_deploy_typed_twice_replaces_the_stack_and_the_role_still_connects(
    demo: Demo,
):
    shown = type_lines(
        demo, "/snooze connect", "deploy", "deploy", "/snooze connect ROLE_ARN"
    )

    assert "Deployed the SnoozeDB stack in account 111122223333." in shown
    assert "Replaced the SnoozeDB stack already in account 111122223333" in shown
    assert "@you connected AWS account 111122223333 to this channel" in shown


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
    assert "allowed @ada to connect and disconnect AWS accounts." in printed
    assert "allowed @dba-team to connect and disconnect AWS accounts." in printed
    assert "`@zed` is not a mention I can read." in printed


def test_wait_moves_the_clock_on_and_the_scheduler_carries_out_a_way_back(
    demo: Demo,
):
    type_lines(demo, "/snooze connect", "deploy", "/snooze connect ROLE_ARN")
    type_lines(demo, "/snooze stop reports-db for 1h")
    stopped_at = demo.now()

    waited = type_lines(demo, "wait 2h")
    history = type_lines(demo, "/snooze history")

    assert "  (in the channel, " in waited
    assert "`reports-db` (eu-west-1): starting now. (one-off snooze by @you)" in waited
    assert "The demo's clock now shows" in waited
    assert demo.now() - stopped_at >= timedelta(hours=2)
    [started, stopped] = [line for line in history.splitlines() if "reports-db" in line]
    assert "schedule · start `reports-db`" in started
    assert "@you · stop `reports-db`" in stopped
    # History is dated on the demo's clock: the start an hour (and a tick) later.
    start, stop = (re.search(r"(\d\d):(\d\d) ·", line) for line in (started, stopped))
    assert start is not None and stop is not None
    minutes = [int(m.group(1)) * 60 + int(m.group(2)) for m in (start, stop)]
    assert (minutes[0] - minutes[1]) % (24 * 60) in (60, 61)


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("wait 5 days", "that is more than 3 days away"),
        ("wait a bit", "write a duration as 3h"),
    ],
)
def test_wait_refuses_what_it_cannot_read_in_one_sentence(
    demo: Demo, typed: str, problem: str
):
    before = demo.now()

    shown = type_lines(demo, typed)

    assert shown.startswith("The demo's clock cannot move so: ")
    assert problem in shown
    assert shown.rstrip().endswith("Type `wait 2h` or `wait until tomorrow 08:00`.")
    assert demo.now() - before < timedelta(minutes=1)


def test_the_schedule_the_tour_suggests_opens_and_closes_within_the_suggested_wait(
    demo: Demo,
):
    """Whatever the time of day, the suggestion shows a start, a notice and a stop."""
    toured = type_lines(demo, "tour")
    suggested = re.search(r"`(/snooze schedule qa-db daily [0-9:-]+)`", toured)
    assert suggested is not None

    waited = type_lines(demo, suggested.group(1), "wait 2h")

    assert "`qa-db` (us-east-1): starting now." in waited
    assert "In 15 minutes" in waited
    assert "`qa-db` (us-east-1): stopping now." in waited
