"""Every sentence SnoozeDB says, to Slack users and to operators, in one place.

Each error sentence says what was wrong and what to type instead. No library's
`str(exception)` is ever passed through: callers hand over ids and codes, and the
sentence is built here.
"""

from __future__ import annotations

from collections.abc import Sequence

EXAMPLE_SCHEDULE = "mon-fri 08:00-20:00 tz Europe/London"


def _quote_list(items: Sequence[str]) -> str:
    return ", ".join(f"`{item}`" for item in items)


# --- Start-up and settings -------------------------------------------------------


def setting_invalid(variable: str, problem: str) -> str:
    return f"SnoozeDB cannot start: {variable} {problem}."


# --- Roles and AWS ---------------------------------------------------------------


def role_arn_malformed(text: str) -> str:
    shown = text if len(text) <= 80 else text[:77] + "..."
    return (
        f"`{shown}` is not an IAM role ARN. Copy the RoleArn output of the SnoozeDB "
        "stack; it looks like `arn:aws:iam::123456789012:role/SnoozeDBAccess`."
    )


def role_not_assumable(role_arn: str, trusted_account: str, aws_code: str) -> str:
    return (
        f"SnoozeDB could not assume `{role_arn}` (AWS said {aws_code}). Most likely the "
        "SnoozeDB stack was deleted, its External ID is not the one this channel was "
        f"given, or its trust policy names an account other than {trusted_account}. "
        "Type `/snooze connect` to get the template again and redeploy it."
    )


def aws_unreachable(what: str) -> str:
    return (
        f"AWS did not answer while SnoozeDB was {what}, even after retrying. "
        "Nothing was changed; try again in a few minutes."
    )


# --- Instances -------------------------------------------------------------------


def instance_not_found(name: str, suggestions: Sequence[str]) -> str:
    if suggestions:
        return (
            f"No database called `{name}` in this channel's accounts. "
            f"Did you mean {_quote_list(suggestions)}?"
        )
    return (
        f"No database called `{name}` in this channel's accounts. "
        "Type `/snooze status` to see them all."
    )


def instance_ambiguous(name: str, choices: Sequence[str]) -> str:
    return (
        f"Several databases are called `{name}`. Name one as account/region/identifier: "
        f"{_quote_list(choices)}."
    )


# --- Schedules and times ---------------------------------------------------------


def schedule_not_understood(text: str, part: str, problem: str) -> str:
    shown = part if len(part) <= 60 else part[:57] + "..."
    return (
        f"I could not read the schedule at `{shown}`: {problem}. "
        f"Try something like `{EXAMPLE_SCHEDULE}`."
    )


def time_not_understood(text: str, problem: str) -> str:
    shown = text if len(text) <= 60 else text[:57] + "..."
    return (
        f"I could not use `{shown}` as a time: {problem}. "
        "Try `for 3h`, `for 90 minutes`, `until tomorrow 9am` or `until monday 08:00`."
    )
