"""The small family of errors SnoozeDB raises, each carrying the ids its sentence names.

The sentence itself comes from `bot.messages`, the one catalogue of what the bot says,
so `str(error)` is always fit to show a user.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot import messages


class SnoozeError(Exception):
    """Base of every error whose message may be shown to a user as it is."""


class SettingInvalid(SnoozeError):
    """An environment variable is missing or malformed; the process must not start."""

    def __init__(self, variable: str, problem: str) -> None:
        self.variable = variable
        super().__init__(messages.setting_invalid(variable, problem))


class OwnCredentialsMissing(SettingInvalid):
    """SnoozeDB has no AWS credentials of its own to assume customers' roles with."""

    def __init__(self) -> None:
        super().__init__("AWS credentials", messages.OWN_CREDENTIALS_MISSING)


class RoleArnMalformed(SnoozeError):
    """Text given as a role ARN is not one."""

    def __init__(self, text: str) -> None:
        self.text = text
        super().__init__(messages.role_arn_malformed(text))


class RoleNotAssumable(SnoozeError):
    """STS refused AssumeRole for a customer's role (stack deleted, wrong External ID...)."""

    def __init__(self, role_arn: str, trusted_account: str, aws_code: str) -> None:
        self.role_arn = role_arn
        self.trusted_account = trusted_account
        self.aws_code = aws_code
        super().__init__(
            messages.role_not_assumable(role_arn, trusted_account, aws_code)
        )


class AwsUnreachable(SnoozeError):
    """AWS did not answer (endpoint down, timeouts after retries)."""

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(messages.aws_unreachable(what))


class AwsThrottled(AwsUnreachable):
    """AWS still answered with throttling after botocore's retries."""

    def __init__(self, what: str, aws_code: str) -> None:
        super().__init__(what)
        self.aws_code = aws_code
        self.args = (messages.aws_throttled(what, aws_code),)


class AwsCallFailed(AwsUnreachable):
    """An AWS call failed for a reason SnoozeDB has no better sentence for.

    `code` is the AWS error code, or the botocore exception's class name; never the
    exception's text, which may quote request parameters.
    """

    def __init__(self, what: str, code: str) -> None:
        super().__init__(what)
        self.code = code
        self.args = (messages.aws_call_failed(what, code),)


class OwnCredentialsRefused(AwsUnreachable):
    """SnoozeDB's own AWS credentials are missing or were refused by STS."""

    def __init__(self, what: str, code: str) -> None:
        super().__init__(what)
        self.code = code
        self.args = (messages.own_credentials_refused(what, code),)


class InstanceNotFound(SnoozeError):
    """No instance in the channel's accounts has the name typed."""

    def __init__(self, name: str, suggestions: Sequence[str]) -> None:
        self.name = name
        self.suggestions = tuple(suggestions)
        super().__init__(messages.instance_not_found(name, self.suggestions))


class InstanceAmbiguous(SnoozeError):
    """Several instances share the name typed; the user must qualify it."""

    def __init__(self, name: str, choices: Sequence[str]) -> None:
        self.name = name
        self.choices = tuple(choices)
        super().__init__(messages.instance_ambiguous(name, self.choices))


class ScheduleNotUnderstood(SnoozeError):
    """A schedule text does not parse; names the part that failed and gives an example."""

    def __init__(self, text: str, part: str, problem: str) -> None:
        self.text = text
        self.part = part
        self.problem = problem
        super().__init__(messages.schedule_not_understood(text, part, problem))


class TimeNotUnderstood(SnoozeError):
    """A one-off `for ...` or `until ...` time does not parse or is out of range."""

    def __init__(self, text: str, problem: str) -> None:
        self.text = text
        self.problem = problem
        super().__init__(messages.time_not_understood(text, problem))
