"""Fuzzing the bot's HTTP endpoint: whatever arrives, it never answers 5xx.

hypothesis builds bodies (raw bytes, form-like text, slash commands whose `text` is
up to 4 KB of unicode and control characters, interaction payloads of any JSON
shape) and POSTs them, signed or not, to the real WSGI app on a local port. Every
answer must be a 200 with a reply, a 401, or another 4xx, and no body may carry a
traceback.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bot.commands import SUBCOMMANDS
from bot.demo import SIGNING_SECRET, OfflineWorld
from bot.standins.slack import SignedRequests

FUZZ = settings(
    max_examples=60,
    deadline=None,  # each example is an HTTP round trip; its time varies
    suppress_health_check=[HealthCheck.too_slow],
)

CONTENT_TYPES = st.sampled_from(
    [
        "application/x-www-form-urlencoded",
        "application/json",
        "text/plain",
        "multipart/form-data; boundary=x",
        "",
    ]
)

# Every character class, control and format characters and lone surrogates
# included; surrogates cannot be encoded, so they are replaced before sending.
ANY_CHARACTER = st.characters()
SHORT_TEXT = st.text(ANY_CHARACTER, max_size=40)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | SHORT_TEXT,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(SHORT_TEXT, inner, max_size=4)
    ),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OfflineWorld]:
    """One bot for the whole module, with the sample account connected to C1."""
    folder = tmp_path_factory.mktemp("http-fuzz")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MOTO_ACCOUNT_ID", raising=False)
        patch.setenv("AWS_CONFIG_FILE", str(folder / "no-aws-config"))
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(folder / "no-aws-credentials"))
        with OfflineWorld(f"sqlite:///{folder / 'bot.sqlite3'}") as offline:
            offline.seed_sample_account()
            _connect(offline)
            yield offline


def _connect(world: OfflineWorld) -> None:
    """Connect the sample account, so stop, start and status reach their parsers."""
    requests = client(world)
    requests.command("connect")
    world.settle()
    assert world.runtime is not None
    pending = world.runtime.storage.pending("T1", "C1")
    assert pending is not None
    role_arn = world.aws.deploy_role_stack(
        "111122223333", pending.external_id, world.own_account_id
    )
    requests.command(f"connect {role_arn}")
    world.settle()
    assert world.runtime.storage.accounts("T1", "C1")


def client(world: OfflineWorld) -> SignedRequests:
    """Slack's side of the bot's endpoint."""
    assert world.requests is not None
    return world.requests


def signed_headers(body: bytes, content_type: str) -> dict[str, str]:
    """Slack's signature over any bytes, UTF-8 or not."""
    stamp = str(int(time.time()))
    base = b"v0:" + stamp.encode() + b":" + body
    digest = hmac.new(SIGNING_SECRET.encode(), base, hashlib.sha256).hexdigest()
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
    }


def encodable(text: str) -> str:
    """The text with lone surrogates replaced, as any HTTP client must send it."""
    return text.encode("utf-8", errors="replace").decode("utf-8")


def assert_no_server_error(status: int, body: dict[str, Any] | str) -> None:
    """A 200 or a 4xx, and nothing in the body that looks like a traceback."""
    assert status == 200 or 400 <= status < 500, (status, str(body)[:300])
    assert "Traceback" not in str(body)
    assert 'File "' not in str(body)


form_like = st.lists(
    st.tuples(SHORT_TEXT, SHORT_TEXT).map(
        lambda pair: f"{encodable(pair[0])}={encodable(pair[1])}"
    ),
    max_size=6,
).map(lambda fields: "&".join(fields).encode())
json_like = JSON_VALUES.map(lambda value: json.dumps(value).encode())
bodies = st.binary(max_size=2048) | form_like | json_like


@FUZZ
@given(body=bodies, content_type=CONTENT_TYPES)
def test_any_signed_body_gets_a_reply_or_4xx(
    world: OfflineWorld, body: bytes, content_type: str
):
    status, answer = client(world).raw(body, signed_headers(body, content_type))

    assert_no_server_error(status, answer)


@FUZZ
@given(body=bodies, signature=st.text("0123456789abcdef", max_size=64))
def test_any_badly_signed_body_is_refused(
    world: OfflineWorld, body: bytes, signature: str
):
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(int(time.time())),
        "X-Slack-Signature": f"v0={signature}",
    }

    status, answer = client(world).raw(body, headers)

    assert 400 <= status < 500, status
    assert "Traceback" not in str(answer)


@FUZZ
@given(
    subcommand=st.sampled_from(["", *SUBCOMMANDS]),
    text=st.text(ANY_CHARACTER, max_size=4096),
)
def test_any_slash_command_text_gets_a_sentence(
    world: OfflineWorld, subcommand: str, text: str
):
    """Control characters, RTL marks, quotes and 4 KB lines all get a written reply."""
    line = encodable(f"{subcommand} {text}" if subcommand else text)

    status, answer = client(world).command(line)

    assert status == 200, answer
    assert isinstance(answer, dict) and str(answer.get("text", "")).strip(), answer
    assert "Traceback" not in str(answer)


interaction_types = st.sampled_from(
    [
        "block_actions",
        "view_submission",
        "view_closed",
        "shortcut",
        "message_action",
        "block_suggestion",
    ]
)


@FUZZ
@given(payload=JSON_VALUES | st.dictionaries(SHORT_TEXT, JSON_VALUES, max_size=6))
def test_any_interaction_payload_gets_an_ack_or_4xx(world: OfflineWorld, payload: Any):
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    content_type = "application/x-www-form-urlencoded"

    status, answer = client(world).raw(body, signed_headers(body, content_type))

    assert_no_server_error(status, answer)


@FUZZ
@given(
    kind=interaction_types,
    fields=st.dictionaries(
        st.sampled_from(["team", "user", "channel", "trigger_id", "response_url"]),
        JSON_VALUES,
        max_size=5,
    ),
)
def test_interaction_of_a_known_type_with_odd_fields_gets_an_ack_or_4xx(
    world: OfflineWorld, kind: str, fields: dict[str, Any]
):
    """Slack-typed payloads whose ids are of the wrong type or missing."""
    payload = {"type": kind, **fields}
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    content_type = "application/x-www-form-urlencoded"

    status, answer = client(world).raw(body, signed_headers(body, content_type))

    assert_no_server_error(status, answer)


def _our_listener_payloads() -> st.SearchStrategy[dict[str, Any]]:
    """Payloads that reach SnoozeDB's own listeners, with their inner fields fuzzed."""
    from bot.commands import acting, connect
    from bot.slack_app import CONNECT_VIEW

    ids = {"team": {"id": "T1"}, "user": {"id": "U1", "team_id": "T1"}}
    button = st.fixed_dictionaries(
        {
            "type": st.just("block_actions"),
            "actions": st.lists(
                st.fixed_dictionaries(
                    {
                        "action_id": st.sampled_from(
                            [acting.CONFIRM, connect.OPEN_MODAL]
                        )
                    },
                    optional={"value": JSON_VALUES, "block_id": JSON_VALUES},
                ),
                min_size=1,
                max_size=2,
            ),
        },
        optional={"trigger_id": JSON_VALUES, "channel": JSON_VALUES},
    )
    modal = st.fixed_dictionaries(
        {
            "type": st.just("view_submission"),
            "view": st.fixed_dictionaries(
                {"type": st.just("modal"), "callback_id": st.just(CONNECT_VIEW)},
                optional={"state": JSON_VALUES, "private_metadata": JSON_VALUES},
            ),
        }
    )
    return (button | modal).map(lambda payload: {**ids, **payload})


# Fixed examples and no shrinking while this is expected to fail: the same verdict
# every run, in a few seconds.
@settings(FUZZ, derandomize=True, phases=[Phase.explicit, Phase.generate])
@given(payload=_our_listener_payloads())
def test_our_listeners_answer_odd_payloads_with_an_ack_or_4xx(
    world: OfflineWorld, payload: dict[str, Any]
):
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    content_type = "application/x-www-form-urlencoded"

    status, answer = client(world).raw(body, signed_headers(body, content_type))

    assert_no_server_error(status, answer)
