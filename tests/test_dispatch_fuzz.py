"""Whatever follows `/snooze`, the immediate reply is one sentence, never an exception."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.aws_bridge import AwsBridge
from bot.commands import Context, Request, dispatch
from bot.operations import Operations
from bot.storage import Storage

WORDS = st.sampled_from(
    [
        "connect",
        "disconnect",
        "status",
        "list",
        "stop",
        "start",
        "help",
        "schedule",
        "define",
        "remove",
        "next",
        "explain",
        "history",
        "for",
        "until",
        "tag:",
        "tz",
        "arn:aws:iam::123456789012:role/x",
        "arn:aws:iam::12:role/",
        "3h",
        "'",
        '"',
        "\x00",
        "mon-fri",
        "25:00-06:00",
        "Mars/Olympus",
        "a" * 300,
        "é",
        "🛌",
    ]
)


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    folder: Path = tmp_path_factory.mktemp("fuzz")
    storage = Storage(f"sqlite:///{folder / 'fuzz.sqlite3'}")
    storage.create_tables()
    pending, _ = storage.pending_account("T1", "C1", "U1")
    role_arn = "arn:aws:iam::111122223333:role/SnoozeDBAccess"
    storage.activate(pending.id, role_arn, "111122223333", ["us-east-1"])
    bridge = AwsBridge(regions=("us-east-1",), own_account_id="123456789012")
    yield Context(storage, Operations(storage, bridge), own_account_id="123456789012")
    storage.close()


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.text(max_size=4096), st.lists(WORDS, max_size=6).map(" ".join)))
def test_any_text_gets_an_immediate_reply(context: Context, text: str):
    request = Request(team_id="T1", channel_id="C1", user_id="U1", trigger_id="1.2.3")

    reply = dispatch(context, request, text)

    assert reply.now.text
    assert "Traceback" not in reply.now.text


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        pytest.param(
            "connect arn:aws:iam::111122223333:role/\u200bSnoozeDB",
            "`arn:aws:iam::111122223333:role/\ufffdSnoozeDB` is not an IAM role ARN",
            id="zero-width-space-made-visible",
        ),
        pytest.param(
            "stop <!channel>",
            "`&lt;!channel&gt;` cannot be a database name",
            id="no-mention-from-user-text",
        ),
        pytest.param(
            "stop qa`db\x07",
            "`qa'db\ufffd` cannot be a database name",
            id="backtick-and-bell",
        ),
    ],
)
def test_typed_text_shown_back_is_visible_and_inert(
    context: Context, text: str, shown: str
):
    """What a user typed is echoed so they can see what was wrong, never as markup."""
    request = Request(team_id="T1", channel_id="C1", user_id="U1")

    reply = dispatch(context, request, text)

    assert reply.now.text.startswith(shown)
