"""The words SnoozeDB thinks in: accounts, instances, actions and their outcomes.

Everything here is a plain value. Nothing in this module talks to Slack, AWS or a
database, so the rules built on these types can be tested without any of them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

EXCLUDE_TAG = "snoozedb:exclude"
SCHEDULE_TAG = "snoozedb:schedule"

# ASCII only: `\d` and `\w` would also accept other scripts' digits and letters,
# which IAM never puts in an ARN.
ROLE_ARN_PATTERN = re.compile(
    r"^arn:(?P<partition>aws|aws-cn|aws-us-gov):iam::(?P<account>\d{12}):"
    r"role/(?P<path>[\w+=,.@/-]*/)?(?P<name>[\w+=,.@-]{1,64})$",
    re.ASCII,
)


class Action(StrEnum):
    """What SnoozeDB can do to an instance."""

    STOP = "stop"
    START = "start"


class AccountStatus(StrEnum):
    """Where a connected AWS account stands."""

    PENDING = "pending"  # External ID issued, role not verified yet
    ACTIVE = "active"
    NEEDS_ATTENTION = "needs_attention"  # the role could not be assumed last time


class OutcomeKind(StrEnum):
    """How one action on one instance ended."""

    STOPPED = "stopped"
    STARTED = "started"
    ALREADY_STOPPED = "already_stopped"
    ALREADY_RUNNING = "already_running"
    NEEDS_CONFIRMATION = "needs_confirmation"
    SKIPPED = "skipped"
    REFUSED = "refused"
    FAILED = "failed"

    @property
    def succeeded(self) -> bool:
        """True when the instance ends where the action wanted it."""
        return self in {
            OutcomeKind.STOPPED,
            OutcomeKind.STARTED,
            OutcomeKind.ALREADY_STOPPED,
            OutcomeKind.ALREADY_RUNNING,
        }


class Reason(StrEnum):
    """Why an instance was not acted on, or why the action failed."""

    AURORA_MEMBER = "aurora_member"
    READ_REPLICA = "read_replica"
    HAS_READ_REPLICAS = "has_read_replicas"
    EXCLUDED_BY_TAG = "excluded_by_tag"
    BUSY = "busy"
    ROLE_UNAVAILABLE = "role_unavailable"
    NOT_FOUND = "not_found"
    AWS_REFUSED = "aws_refused"
    AWS_UNREACHABLE = "aws_unreachable"
    THROTTLED = "throttled"  # AWS still throttled after botocore's retries
    NO_CAPACITY = "no_capacity"  # InsufficientDBInstanceCapacity until SnoozeDB gave up


@dataclass(frozen=True, order=True)
class InstanceRef:
    """Where an RDS instance lives: AWS account, region, DBInstanceIdentifier."""

    aws_account_id: str
    region: str
    identifier: str

    @property
    def qualified(self) -> str:
        """The `account/region/identifier` form users type when a name is ambiguous."""
        return f"{self.aws_account_id}/{self.region}/{self.identifier}"


@dataclass(frozen=True)
class Instance:
    """What DescribeDBInstances told us about one DB instance."""

    ref: InstanceRef
    engine: str
    instance_class: str
    status: str
    cluster_identifier: str | None = None
    read_replica_source: str | None = None
    read_replicas: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def identifier(self) -> str:
        """The DBInstanceIdentifier."""
        return self.ref.identifier

    @property
    def excluded(self) -> bool:
        """True when tagged `snoozedb:exclude=true`: bulk and scheduled actions skip it."""
        return self.tags.get(EXCLUDE_TAG, "").strip().lower() == "true"


@dataclass(frozen=True)
class Outcome:
    """How one action on one instance ended, with the facts the message needs.

    `detail` carries the one fact the sentence names: the cluster, the replica, the
    state the instance was in, or the AWS error code.
    """

    ref: InstanceRef
    action: Action
    kind: OutcomeKind
    reason: Reason | None = None
    detail: str = ""


@dataclass(frozen=True)
class RoleArn:
    """A parsed IAM role ARN."""

    arn: str
    partition: str
    aws_account_id: str
    name: str

    @classmethod
    def parse(cls, text: str) -> RoleArn | None:
        """Return the role ARN in `text`, or None when it is not one."""
        match = ROLE_ARN_PATTERN.match(text.strip())
        if match is None:
            return None
        return cls(
            arn=match.group(0),
            partition=match.group("partition"),
            aws_account_id=match.group("account"),
            name=match.group("name"),
        )


@dataclass(frozen=True)
class Account:
    """An AWS account connected to a Slack channel through a customer's IAM role.

    `role_arn` is empty while the connection is pending: the External ID has been
    issued but the customer has not deployed the stack and pasted the role ARN yet.
    """

    id: int
    team_id: str
    channel_id: str
    external_id: str
    status: AccountStatus
    role_arn: str = ""
    aws_account_id: str = ""
    regions: tuple[str, ...] = ()
    attention: str = ""
    unreachable_since: datetime | None = None


@dataclass(frozen=True)
class AuditEntry:
    """One action SnoozeDB took or tried: who or which schedule, what, when, outcome."""

    at: datetime
    actor: str
    action: Action
    instance: str
    outcome: OutcomeKind
    detail: str = ""


# --- Schedules ------------------------------------------------------------------------


@dataclass(frozen=True)
class SavedSchedule:
    """A schedule text kept for a team; `name` is None for one typed inline.

    `text` is canonical and carries its zone (`tz Zone`), so it means the same
    whoever reads it later.
    """

    id: int
    team_id: str
    name: str | None
    text: str


@dataclass(frozen=True)
class Assignment:
    """A schedule given to a target in a channel.

    `target` is a DBInstanceIdentifier, `account/region/identifier`, or
    `tag:KEY=VALUE` (evaluated at each run, so new matching instances are covered).
    """

    id: int
    team_id: str
    channel_id: str
    target: str
    schedule: SavedSchedule
    created_by: str


@dataclass(frozen=True)
class OneOff:
    """The way back from a one-off snooze: `action` on `instance` at `due_at`.

    `instance` is qualified (`account/region/identifier`). Until `due_at` the
    one-off overrides the schedule of the instance.
    """

    id: int
    team_id: str
    channel_id: str
    instance: str
    action: Action
    due_at: datetime
    created_by: str


@dataclass(frozen=True)
class Override:
    """Keep `instance` (qualified) running until `until`, whatever its schedule says."""

    id: int
    team_id: str
    channel_id: str
    instance: str
    until: datetime
    created_by: str


@dataclass(frozen=True)
class Notice:
    """A channel message the scheduler owes, kept until Slack accepted it.

    `blocks` is the JSON text of the Block Kit blocks, empty for plain text.
    """

    id: int
    team_id: str
    channel_id: str
    text: str
    blocks: str
    attempts: int


@dataclass(frozen=True)
class BusyRetry:
    """A scheduled action that met a busy instance and is tried again until `deadline`.

    `instance` is qualified; `last_status` is the state it was last seen in.
    """

    id: int
    team_id: str
    channel_id: str
    instance: str
    action: Action
    actor: str
    first_at: datetime
    deadline: datetime
    last_status: str


@dataclass(frozen=True)
class BotAction:
    """The last stop and start SnoozeDB itself made on one instance (qualified)."""

    instance: str
    last_stop_at: datetime | None
    last_start_at: datetime | None


# --- Teams and admins -----------------------------------------------------------------

# Slack errors meaning the workspace removed the app or its token: stop posting there.
TEAM_GONE_ERRORS = frozenset({"account_inactive", "token_revoked", "invalid_auth"})


class GrantKind(StrEnum):
    """Who an admin named in `/snooze admins add`: one person or a user group."""

    USER = "user"
    GROUP = "group"


@dataclass(frozen=True)
class AdminGrant:
    """A person or user group a workspace admin allowed to connect and disconnect.

    `subject_id` is a Slack user ID (`U...`, `W...`) or user group ID (`S...`).
    """

    team_id: str
    subject_id: str
    kind: GrantKind
    granted_by: str


@dataclass(frozen=True)
class UndeliveredNotice:
    """A channel message Slack has not accepted yet, with the last error it gave.

    `gave_up` says SnoozeDB stopped trying it (too many attempts, or too old).
    """

    id: int
    channel_id: str
    created_at: datetime
    attempts: int
    last_error: str
    text: str
    gave_up: bool = False
