"""Settings read from the environment: each bad value is one sentence naming it.

`load_settings` runs in this process; tests/test_cli.py shows the same sentences
reaching a terminal from a separate process.
"""

from __future__ import annotations

import pytest

from bot.config import Settings, load_settings
from bot.errors import SettingInvalid


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "secret")


def refusal(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> str:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingInvalid) as error:
        load_settings()
    return str(error.value)


@pytest.mark.parametrize("value", ["abc", "0", "65536", "3.5", "-1", ""])
def test_a_port_that_is_not_one_is_refused_in_our_words(
    monkeypatch: pytest.MonkeyPatch, value: str
):
    said = refusal(monkeypatch, "PORT", value)

    assert said == (
        "SnoozeDB cannot start: PORT is not valid: must be a whole number from 1 to "
        "65535."
    )


def test_a_port_with_spaces_around_it_is_read_as_that_port(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("PORT", " 8080 ")

    assert load_settings().port == 8080


@pytest.mark.parametrize("value", ["   ", "\t\n"])
def test_a_signing_secret_of_only_blanks_is_refused_like_a_missing_one(
    monkeypatch: pytest.MonkeyPatch, value: str
):
    said = refusal(monkeypatch, "SLACK_SIGNING_SECRET", value)

    assert said.startswith("SnoozeDB cannot start: SLACK_SIGNING_SECRET is not set")


def test_a_signing_secret_pasted_with_a_newline_is_kept_without_it(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "abc123\n")

    assert load_settings().slack_signing_secret == "abc123"


def test_a_region_botocore_does_not_know_for_rds_is_named(
    monkeypatch: pytest.MonkeyPatch,
):
    said = refusal(monkeypatch, "SNOOZEDB_REGIONS", "us-east-1,xx-fake-9")

    assert said == (
        "SnoozeDB cannot start: SNOOZEDB_REGIONS is not valid: `xx-fake-9` is not an "
        "AWS region where RDS runs; use names such as eu-west-1."
    )


def test_a_misspelt_region_is_answered_with_the_nearest_known_name(
    monkeypatch: pytest.MonkeyPatch,
):
    said = refusal(monkeypatch, "SNOOZEDB_REGIONS", "eu-wset-1")

    assert said.endswith(
        "`eu-wset-1` is not an AWS region where RDS runs; the "
        "nearest known name is eu-west-1."
    )


def test_regions_of_every_partition_are_accepted(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SNOOZEDB_REGIONS", "us-east-1, cn-north-1 ,us-gov-west-1")

    assert load_settings().snoozedb_regions == (
        "us-east-1",
        "cn-north-1",
        "us-gov-west-1",
    )


@pytest.mark.parametrize(
    "value",
    ["notaurl", "http://example.com/snoozedb-role.yaml", "https://", "s3://b/k"],
)
def test_a_template_url_must_be_an_https_url(
    monkeypatch: pytest.MonkeyPatch, value: str
):
    said = refusal(monkeypatch, "SNOOZEDB_TEMPLATE_URL", value)

    assert said == (
        "SnoozeDB cannot start: SNOOZEDB_TEMPLATE_URL is not valid: must be the "
        "https:// URL where the role template is published, such as "
        "https://my-bucket.s3.amazonaws.com/snoozedb-role.yaml."
    )


def test_an_https_template_url_is_kept(monkeypatch: pytest.MonkeyPatch):
    url = "https://my-bucket.s3.amazonaws.com/snoozedb-role.yaml"
    monkeypatch.setenv("SNOOZEDB_TEMPLATE_URL", url)

    assert load_settings().snoozedb_template_url == url


@pytest.mark.parametrize("value", ["0", "two", "33", "-1", "1.5", ""])
def test_a_scheduler_process_count_that_is_not_one_is_refused_in_our_words(
    monkeypatch: pytest.MonkeyPatch, value: str
):
    said = refusal(monkeypatch, "SNOOZEDB_SCHEDULER_PROCESSES", value)

    assert said == (
        "SnoozeDB cannot start: SNOOZEDB_SCHEDULER_PROCESSES is not valid: must be a "
        "whole number from 1 to 32 (how many worker processes share each scheduled "
        "run's accounts)."
    )


@pytest.mark.parametrize(
    "url",
    [
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite:///file:bot?mode=memory&cache=shared&uri=true",
        "sqlite:///file::memory:?uri=true",
        "sqlite:///file::memory:?cache=shared&uri=true",
    ],
)
def test_an_in_memory_database_is_refused_because_it_forgets_everything(
    monkeypatch: pytest.MonkeyPatch, url: str
):
    said = refusal(monkeypatch, "DATABASE_URL", url)

    assert said == (
        "SnoozeDB cannot start: DATABASE_URL is not valid: names an in-memory SQLite "
        "database, which forgets every account, schedule and pending way back when "
        "SnoozeDB stops; name a file, as in sqlite:///snoozedb.sqlite3, or PostgreSQL."
    )


@pytest.mark.parametrize(
    "url",
    [
        # An unencoded `@` in the password: the rest of it reads as the host.
        "postgresql+psycopg://snoozedb:pw@S3cretPart@db.internal/snoozedb",
        # A port that is not a number is quoted by the parser's own error.
        "postgresql+psycopg://snoozedb:pw@db.internal:S3cretPart/snoozedb",
    ],
)
def test_a_database_url_that_does_not_parse_never_quotes_its_password(
    monkeypatch: pytest.MonkeyPatch, url: str
):
    said = refusal(monkeypatch, "DATABASE_URL", url)

    assert said.startswith(
        "SnoozeDB cannot start: DATABASE_URL is not valid: it is not a database URL"
    )
    assert "write `/` as %2F" in said
    assert "S3cretPart" not in said


@pytest.mark.parametrize("value", ["١٢٣٤٥٦٧٨٩٠١٢", "12345678901", "1234567890123"])
def test_an_account_id_must_be_twelve_plain_digits(
    monkeypatch: pytest.MonkeyPatch, value: str
):
    said = refusal(monkeypatch, "SNOOZEDB_AWS_ACCOUNT_ID", value)

    assert said == (
        "SnoozeDB cannot start: SNOOZEDB_AWS_ACCOUNT_ID is not valid: must be the 12 "
        "digits of an AWS account."
    )


def test_scheduler_processes_are_read_with_a_database_file(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("DATABASE_URL", "sqlite:///snoozedb.sqlite3")
    monkeypatch.setenv("SNOOZEDB_SCHEDULER_PROCESSES", " 4 ")

    assert load_settings().snoozedb_scheduler_processes == 4
