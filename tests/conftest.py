"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

# --- AWS stand-in (bot/standins/aws.py) ---------------------------------------------

if TYPE_CHECKING:
    from bot.standins.aws import AwsStandIn

_AWS_VARIABLES_TO_DROP = (
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "MOTO_ACCOUNT_ID",
)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[AwsStandIn]:
    """An AWS stand-in on 127.0.0.1 with the environment pointing every client at it.

    Fake credentials, no shared config files, and no MOTO_ACCOUNT_ID, so moto maps
    the caller to its default account 123456789012, SnoozeDB's own in tests.
    """
    from bot.standins.aws import AwsStandIn  # moto takes seconds to import

    for name in _AWS_VARIABLES_TO_DROP:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    with AwsStandIn() as standin:
        monkeypatch.setenv("AWS_ENDPOINT_URL", standin.endpoint_url)
        yield standin


# --- end of the AWS stand-in block --------------------------------------------------
