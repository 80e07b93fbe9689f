"""Settings read from the environment, checked once at start.

A missing or malformed setting stops the start with one sentence naming the variable
(see `load_settings`).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from bot import messages
from bot.errors import SettingInvalid

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
# What bot.storage is written for: SQLite embedded, PostgreSQL for replicas.
DATABASE_BACKENDS = ("sqlite", "postgresql")


class Settings(BaseSettings):
    """Everything SnoozeDB reads from its environment."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_app_token: str = ""
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = "sqlite:///snoozedb.sqlite3"
    port: int = Field(default=3000, ge=1, le=65535)
    snoozedb_aws_account_id: str = ""
    snoozedb_regions: Annotated[tuple[str, ...], NoDecode] = ()
    snoozedb_template_url: str = ""

    @field_validator("snoozedb_regions", mode="before")
    @classmethod
    def _split_regions(cls, value: object) -> object:
        if isinstance(value, str):
            regions = tuple(part.strip() for part in value.split(",") if part.strip())
            for region in regions:
                if not _REGION.match(region):
                    raise ValueError(
                        f"{region!r} is not a region name such as eu-west-1"
                    )
            return regions
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        # The URL may hold a password: no sentence here quotes it.
        try:
            url = make_url(value.strip())
        except ArgumentError:
            raise ValueError(messages.DATABASE_URL_SHAPE) from None
        if url.get_backend_name() not in DATABASE_BACKENDS:
            raise ValueError(messages.database_url_backend(url.get_backend_name()))
        try:
            url.get_dialect().import_dbapi()
        except (ImportError, NoSuchModuleError):
            raise ValueError(messages.database_url_driver(url.drivername)) from None
        return value.strip()

    @field_validator("snoozedb_aws_account_id")
    @classmethod
    def _twelve_digits(cls, value: str) -> str:
        if value and not re.fullmatch(r"\d{12}", value):
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
