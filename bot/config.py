"""Settings read from the environment, checked once at start.

A missing or malformed setting stops the start with one sentence naming the variable
(see `load_settings`).
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from bot import messages
from bot.errors import SettingInvalid

# What bot.storage is written for: SQLite embedded, PostgreSQL for replicas.
DATABASE_BACKENDS = ("sqlite", "postgresql")
MIN_PORT = 1
MAX_PORT = 65535
MAX_SCHEDULER_PROCESSES = 32
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class Settings(BaseSettings):
    """Everything SnoozeDB reads from its environment."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_app_token: str = ""
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = "sqlite:///snoozedb.sqlite3"
    port: int = Field(default=3000, ge=MIN_PORT, le=MAX_PORT)
    snoozedb_aws_account_id: str = ""
    snoozedb_regions: Annotated[tuple[str, ...], NoDecode] = ()
    snoozedb_template_url: str = ""
    snoozedb_scheduler_processes: int = 1

    @field_validator("snoozedb_regions", mode="before")
    @classmethod
    def _split_regions(cls, value: object) -> object:
        if not isinstance(value, str | tuple | list):
            return value
        if isinstance(value, str):
            value = value.split(",")
        regions = tuple(str(part).strip() for part in value if str(part).strip())
        from bot.aws_bridge import rds_regions

        known = rds_regions()
        for region in regions:
            if region not in known:
                close = difflib.get_close_matches(region, sorted(known), n=1)
                raise ValueError(
                    messages.region_unknown(region, close[0] if close else None)
                )
        return regions

    @field_validator("port", mode="before")
    @classmethod
    def _port(cls, value: object) -> object:
        # Said in our words: pydantic's own text is about parsing strings as integers.
        text = str(value).strip()
        if not text.isdecimal() or not MIN_PORT <= int(text) <= MAX_PORT:
            raise ValueError(messages.port_invalid(MIN_PORT, MAX_PORT))
        return int(text)

    @field_validator("snoozedb_scheduler_processes", mode="before")
    @classmethod
    def _processes(cls, value: object) -> object:
        text = str(value).strip()
        if not text.isdecimal() or not 1 <= int(text) <= MAX_SCHEDULER_PROCESSES:
            raise ValueError(messages.processes_invalid(MAX_SCHEDULER_PROCESSES))
        return int(text)

    @field_validator("slack_bot_token", "slack_signing_secret", "slack_app_token")
    @classmethod
    def _strip(cls, value: str) -> str:
        # A secret pasted with a trailing newline, or only blanks, counts as given
        # as it is meant: whitespace is never part of Slack's tokens or secrets.
        return value.strip()

    @field_validator("snoozedb_template_url")
    @classmethod
    def _https(cls, value: str) -> str:
        url = value.strip()
        if not url:
            return url
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.netloc or " " in url:
            raise ValueError(messages.TEMPLATE_URL_INVALID)
        return url

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        # The URL may hold a password: no sentence here quotes it, nor the text of
        # a parsing error (a password holding `/` is read as the host and port).
        try:
            url = make_url(value.strip())
        except (ArgumentError, ValueError):
            raise ValueError(messages.DATABASE_URL_SHAPE) from None
        if "@" in (url.host or ""):
            # An `@` left unencoded in the password: the rest of it reads as the host.
            raise ValueError(messages.DATABASE_URL_SHAPE)
        if url.get_backend_name() not in DATABASE_BACKENDS:
            raise ValueError(messages.database_url_backend(url.get_backend_name()))
        if _in_memory(url):
            raise ValueError(messages.DATABASE_URL_IN_MEMORY)
        try:
            url.get_dialect().import_dbapi()
        except (ImportError, NoSuchModuleError):
            raise ValueError(messages.database_url_driver(url.drivername)) from None
        return value.strip()

    @field_validator("snoozedb_aws_account_id")
    @classmethod
    def _twelve_digits(cls, value: str) -> str:
        if value and not re.fullmatch(r"[0-9]{12}", value):
            raise ValueError("must be the 12 digits of an AWS account")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value if value.endswith("/") else value + "/"


def load_settings(*, need_slack: bool = True) -> Settings:
    """Read the settings, or raise `SettingInvalid` naming the first bad variable.

    Args:
        need_slack: refuse to start without SLACK_SIGNING_SECRET. bolt accepts an
            empty secret at start and then answers every request with 500.

    Returns:
        The checked settings.

    Raises:
        SettingInvalid: a variable is missing or malformed.
    """
    try:
        settings = Settings()
    except ValidationError as error:
        first = error.errors()[0]
        variable = str(first["loc"][0]).upper() if first["loc"] else "a setting"
        # A validator's own sentence, without pydantic's "Value error, " prefix.
        cause = first.get("ctx", {}).get("error")
        problem = str(cause) if cause is not None else first["msg"]
        raise SettingInvalid(variable, f"is not valid: {problem}") from None

    if need_slack and not settings.slack_signing_secret:
        raise SettingInvalid(
            "SLACK_SIGNING_SECRET",
            "is not set (copy it from your Slack app's Basic Information page)",
        )
    return settings


def _in_memory(url: URL) -> bool:
    """Whether the URL names an in-memory SQLite database, in any of its spellings."""
    if url.get_backend_name() != "sqlite":
        return False
    database = url.database or ""
    if database in ("", ":memory:"):
        return True
    # A file URI (`?uri=true`): `file::memory:`, or `mode=memory` with any name.
    return url.query.get("mode") == "memory" or (
        database.startswith("file:")
        and (database[5:].startswith(":memory:") or "mode=memory" in database)
    )
