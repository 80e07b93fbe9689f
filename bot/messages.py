"""Every sentence SnoozeDB says, to Slack users and to operators, in one place.

Each error sentence says what was wrong and what to type instead. No library's
`str(exception)` is ever passed through: callers hand over ids and codes, and the
sentence is built here.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import datetime

from bot.domain import (
    Account,
    Action,
    Instance,
    InstanceRef,
    Outcome,
    OutcomeKind,
    Reason,
)

EXAMPLE_SCHEDULE = "mon-fri 08:00-20:00 tz Europe/London"


def _echo(text: str, limit: int = 60, *, slack: bool = True) -> str:
    """Text a user typed, safe to show back inside backticks in Slack.

    Control and invisible format characters (a zero-width space pasted with an ARN)
    become visible as U+FFFD, a backtick cannot end the code span early, Slack's
    `&`, `<` and `>` are escaped so nothing turns into a link or mention, and long
    text is cut to `limit` characters. `slack=False` is for a terminal: no escapes.
    """
    cleaned = "".join(
        "\ufffd" if unicodedata.category(c) in ("Cc", "Cf") else c for c in text
    ).replace("`", "'")
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 3] + "..."
    if not slack:
        return cleaned
    return cleaned.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _quote_list(items: Sequence[str]) -> str:
    # Stored names and targets were typed by someone once: shown escaped, like _echo.
    return ", ".join(f"`{_echo(item, 200)}`" for item in items)


# --- Start-up and settings -------------------------------------------------------


def setting_invalid(variable: str, problem: str) -> str:
    return f"SnoozeDB cannot start: {variable} {problem}."


def region_unknown(region: str, closest: str | None) -> str:
    hint = (
        f"the nearest known name is {closest}"
        if closest
        else "use names such as eu-west-1"
    )
    return f"`{region}` is not an AWS region where RDS runs; {hint}"


def port_invalid(lowest: int, highest: int) -> str:
    return f"must be a whole number from {lowest} to {highest}"


def processes_invalid(highest: int) -> str:
    return (
        f"must be a whole number from 1 to {highest} (how many worker processes "
        "share each scheduled run's accounts)"
    )


def port_in_use(port: int) -> str:
    return (
        f"{port} is already in use by another program; stop that program or set PORT "
        "to a free port"
    )


def port_unavailable(port: int, code: str) -> str:
    return f"{port} cannot be listened on ({code}); set PORT to another port"


def port_privileged(port: int) -> str:
    return (
        f"{port} needs privileges this process does not have; set PORT to a port "
        "from 1024 up"
    )


TEMPLATE_URL_INVALID = (
    "must be the https:// URL where the role template is published, such as "
    "https://my-bucket.s3.amazonaws.com/snoozedb-role.yaml"
)


_DATABASE_URL_EXAMPLES = (
    "postgresql+psycopg://USER:PASSWORD@HOST:5432/DATABASE or "
    "sqlite:///snoozedb.sqlite3"
)
DATABASE_URL_SHAPE = (
    f"it is not a database URL such as {_DATABASE_URL_EXAMPLES} (in a password, "
    "write `/` as %2F, `:` as %3A, `@` as %40 and `#` as %23)"
)
DATABASE_URL_IN_MEMORY = (
    "names an in-memory SQLite database, which forgets every account, schedule and "
    "pending way back when SnoozeDB stops; name a file, as in "
    "sqlite:///snoozedb.sqlite3, or PostgreSQL"
)


def database_url_backend(backend: str) -> str:
    return (
        f"SnoozeDB keeps its tables in SQLite or PostgreSQL, not {backend}; use "
        f"a URL such as {_DATABASE_URL_EXAMPLES}"
    )


def database_url_driver(driver: str) -> str:
    return (
        f"the database driver `{driver}` is not installed; use "
        "postgresql+psycopg:// (installed with SnoozeDB) or sqlite:///"
    )


def database_unreachable(shown_url: str, is_sqlite: bool) -> str:
    if is_sqlite:
        return (
            f"names a SQLite file SnoozeDB could not open ({shown_url}); check that "
            "its folder exists and that SnoozeDB may write there"
        )
    return (
        f"names a database SnoozeDB could not connect to ({shown_url}); check that "
        "it is running and that the URL's host, port, user, password and database "
        "name are right"
    )


# --- Roles and AWS ---------------------------------------------------------------


OWN_CREDENTIALS_MISSING = (
    "are missing or incomplete: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
    "AWS_PROFILE, or run where an instance or task role gives them"
)


def role_arn_malformed(text: str) -> str:
    shown = _echo(text, 80)
    return (
        f"`{shown}` is not an IAM role ARN. Copy the RoleArn output of the SnoozeDB "
        "stack; it looks like `arn:aws:iam::123456789012:role/SnoozeDBAccess`."
    )


def role_not_assumable(role_arn: str, trusted_account: str, aws_code: str) -> str:
    return (
        f"SnoozeDB could not assume `{role_arn}` (AWS said {aws_code}). Most likely the "
        "SnoozeDB stack was deleted, its External ID is not the one this channel was "
        f"given, or its trust policy names an account other than {trusted_account}. "
        "Type `/snooze connect` here to see this channel's External ID and the stack "
        "name to use, redeploy the SnoozeDB stack with them in that AWS account, then "
        f"type `/snooze connect {role_arn}` to check the role again."
    )


def role_other_partition(role_arn: str, partition: str, own_partition: str) -> str:
    return (
        f"`{role_arn}` is a role in the {partition} partition, but SnoozeDB runs in "
        f"the {own_partition} partition and cannot assume roles outside it. Deploy the "
        f"SnoozeDB stack in an AWS account of the {own_partition} partition and paste "
        "its RoleArn output."
    )


def aws_unreachable(what: str) -> str:
    return (
        f"AWS did not answer while SnoozeDB was {what}, even after retrying. "
        "Nothing was changed; try again in a few minutes."
    )


def aws_throttled(what: str, aws_code: str) -> str:
    return (
        f"AWS is throttling SnoozeDB's calls ({aws_code}) and still was after several "
        f"retries while SnoozeDB was {what}. Nothing was changed; try again in a few "
        "minutes."
    )


def aws_call_failed(what: str, code: str) -> str:
    return (
        f"SnoozeDB's call to AWS failed ({code}) while it was {what}. Nothing was "
        "changed; try again, and if it keeps happening ask your SnoozeDB operator to "
        "check its log."
    )


def own_credentials_refused(what: str, code: str) -> str:
    return (
        f"SnoozeDB's own AWS credentials did not work ({code}) while it was {what}. "
        "Nothing was changed; ask your SnoozeDB operator to check the AWS credentials "
        "SnoozeDB runs with."
    )


# --- Instances -------------------------------------------------------------------


def instance_not_found(name: str, suggestions: Sequence[str]) -> str:
    if suggestions:
        return (
            f"No database called `{_echo(name)}` in this channel's accounts. "
            f"Did you mean {_quote_list(suggestions)}?"
        )
    return (
        f"No database called `{_echo(name)}` in this channel's accounts. "
        "Type `/snooze status` to see them all."
    )


def instance_ambiguous(name: str, choices: Sequence[str]) -> str:
    return (
        f"Several databases are called `{name}`. Name one as account/region/identifier: "
        f"{_quote_list(choices)}."
    )


# --- Schedules and times ---------------------------------------------------------


def schedule_not_understood(text: str, part: str, problem: str) -> str:
    shown = _echo(part)
    return (
        f"I could not read the schedule at `{shown}`: {problem}. "
        f"Try something like `{EXAMPLE_SCHEDULE}`."
    )


def time_not_understood(text: str, problem: str) -> str:
    shown = _echo(text)
    return (
        f"I could not use `{shown}` as a time: {problem}. "
        "Try `for 3h`, `for 90 minutes`, `until tomorrow 9am` or `until monday 08:00`."
    )


# Clauses that complete `schedule_not_understood`: what was wrong with one part.
SCHEDULE_EMPTY = "the schedule is empty"
SCHEDULE_TOO_LONG = "a schedule is at most 500 characters"
SCHEDULE_EMPTY_RULE = "there is nothing between two `;`"
SCHEDULE_NO_RULE = "days and times come first, then `tz ZONE`"
SCHEDULE_DAYS_FIRST = "start with the days, as in `daily 08:00-20:00`"
SCHEDULE_NOT_A_DAY = (
    "use mon, tue, wed, thu, fri, sat, sun, weekdays, weekends or daily"
)
SCHEDULE_SAME_DAYS = "a day range needs two different days, as in `mon-fri`"
SCHEDULE_ORDINAL_NEEDS_DAY = "name a day after it, as in `first thu` or `last fri`"
SCHEDULE_BARE_HOUR = "a bare number is ambiguous; write 08:00 or 8am"
SCHEDULE_NOT_A_TIME = "write times as 08:00, 8am, 8:30pm, noon or midnight"
SCHEDULE_HOURS = "hours go from 00 to 24, and 24:00 is the latest time"
SCHEDULE_MINUTES = "minutes go from 00 to 59"
SCHEDULE_MERIDIEM_HOURS = "with am or pm, hours go from 1 to 12"
SCHEDULE_START_AT_24 = "24:00 can only end a window or be a stop time; write 00:00"
SCHEDULE_NEEDS_TWO_TIMES = "a window needs a start and an end, as in 08:00-20:00"
SCHEDULE_SAME_TIMES = "a window cannot start and end at the same time"
SCHEDULE_NEEDS_TIME = "give a time after it, as in `weekdays stop 20:00`"
SCHEDULE_EXTRA_WORDS = "these words are not part of a schedule"
SCHEDULE_OPTIONS_AT_END = "`tz` and `enforce` go once, at the very end"
SCHEDULE_NEEDS_ZONE = "name a time zone after `tz`, as in `tz Europe/London`"
SCHEDULE_UNKNOWN_ZONE = "not a time zone I know; use an IANA name such as Europe/London"
SCHEDULE_NO_ZONE = (
    "no time zone given; add `tz ZONE` at the end, as in `tz Europe/London`"
)
SCHEDULE_MIXED = (
    "a schedule cannot mix windows with one-sided start or stop rules; "
    "write windows only, as in `mon-thu 08:00-20:00; fri 08:00-15:00`"
)

# Clauses that complete `time_not_understood`.
TIME_TOO_LONG = "that is too long to be a time"
TIME_NO_VERB = "start with `for` and a duration or `until` and a time"
TIME_BAD_DURATION = "write a duration as 3h, 90 minutes, 1h30m or 2 days"
TIME_BARE_NUMBER = "a bare number is ambiguous; write 09:00 or 9am"
TIME_SLASH_DATE = "day and month order is ambiguous; name the day, as in `monday 08:00`"
TIME_NO_CLOCK = "say what time, as in `until friday 08:00`"
TIME_UNREADABLE = "I do not recognise that date and time"
TIME_CLOCK_RANGE = (
    "hours go from 00 to 24, minutes from 00 to 59, and 24:00 is midnight at the end "
    "of the day"
)
TIME_TWO_ZONES = "name one time zone, as in `until 18:00 UTC`"
TIME_OFFSET_RANGE = "an offset from UTC goes from -14:00 to +14:00, as in +02:00"


def time_unknown_zone(name: str) -> str:
    return (
        f"`{name}` is not a time zone I know; name one as Europe/London, UTC or an "
        "offset such as +02:00"
    )


def time_not_future(when: str) -> str:
    return f"that is {when}, which is not in the future"


def time_too_far(limit: str) -> str:
    return f"that is more than {limit} away"


# `snoozedb schedule explain`: its options, on stderr.


def explain_at_invalid(text: str) -> str:
    shown = _echo(text, slack=False)
    return (
        f"--at takes an ISO-8601 instant with an offset between the years 2 and 9998, "
        f"not `{shown}`; try --at 2026-12-07T12:00:00Z."
    )


def explain_count_invalid(text: str, limit: int) -> str:
    shown = _echo(text, 20, slack=False)
    return (
        f"--count takes a whole number from 1 to {limit}, not `{shown}`; try --count 5."
    )


# --- Help and dispatch -----------------------------------------------------------

USAGE_CONNECT = "/snooze connect [ROLE_ARN]"
SUMMARY_CONNECT = (
    "connect an AWS account: get the role template, then paste the role ARN"
)
USAGE_DISCONNECT = "/snooze disconnect [AWS_ACCOUNT_ID]"
SUMMARY_DISCONNECT = "forget an AWS account connected in this channel"
USAGE_STATUS = "/snooze status [DB | tag:KEY=VALUE]"
SUMMARY_STATUS = (
    "list the channel's databases, their state and whether they can be stopped"
)
USAGE_STOP = "/snooze stop DB | ACCOUNT/REGION/DB | tag:KEY=VALUE"
SUMMARY_STOP = "stop a database now"
USAGE_START = "/snooze start DB | ACCOUNT/REGION/DB | tag:KEY=VALUE"
SUMMARY_START = "start a database now"
USAGE_HELP = "/snooze help"
SUMMARY_HELP = "show this list"

HELP_TITLE = "SnoozeDB stops idle databases and starts them when they are needed."


def unknown_subcommand(word: str, suggestions: Sequence[str]) -> str:
    shown = _echo(word, 40)
    if suggestions:
        return f"`/snooze {shown}` is not a command. Did you mean `/snooze {suggestions[0]}`?"
    return f"`/snooze {shown}` is not a command. Type `/snooze help` to see them all."


def usage_error(problem: str, usage: str) -> str:
    return f"{problem} Type `{usage}`."


NAME_THE_DATABASE = "Name the database."
NAME_AT_MOST_ONE_DATABASE = "Name at most one database."
PASTE_ONLY_THE_ROLE_ARN = "Paste only the role ARN."
NAME_ONE_ACCOUNT = "Name one account."
TYPE_IT_ALONE = "Type it alone."


def not_an_identifier(text: str) -> str:
    shown = _echo(text)
    return (
        f"`{shown}` cannot be a database name: RDS names start with a letter and hold "
        "up to 63 letters, digits and hyphens. Type `/snooze status` to see them all."
    )


# --- Connecting an account -------------------------------------------------------

CONNECT_TITLE = "Connect an AWS account to this channel"


def connect_intro(external_id: str, trusted_account: str) -> str:
    return (
        "SnoozeDB never holds your keys. Deploy this CloudFormation stack in the AWS "
        "account whose databases you want snoozed: it creates a role that only "
        f"SnoozeDB's account ({trusted_account}) can assume, only with your External ID, "
        "and only to list, stop and start RDS instances.\n"
        f"*External ID:* `{external_id}`"
    )


def connect_another(aws_account_ids: Sequence[str]) -> str:
    if len(aws_account_ids) == 1:
        connected = f"AWS account {aws_account_ids[0]} is already connected to this "
        connected += "channel and stays connected."
    else:
        listed = ", ".join(aws_account_ids[:-1]) + f" and {aws_account_ids[-1]}"
        connected = f"AWS accounts {listed} are already connected to this channel "
        connected += "and stay connected."
    return (
        f"{connected} The External ID below is for connecting another AWS account: "
        "deploy the stack in that account."
    )


def already_connected(aws_account_id: str, role_arn: str) -> str:
    return (
        f"AWS account {aws_account_id} is already connected to this channel through "
        f"`{role_arn}`, so there is nothing to do; type `/snooze status` to see its "
        "databases."
    )


def connect_quick_create(url: str) -> str:
    return (
        f"<{url}|Open the CloudFormation quick-create page> (parameters are prefilled)."
    )


CONNECT_NO_TEMPLATE_URL = (
    "Save the template below as `snoozedb-role.yaml` (or run `snoozedb template`), "
    "then deploy it:"
)


def connect_cli(command: str) -> str:
    return f"With the AWS CLI:\n```{command}```"


def connect_template(template: str) -> str:
    return f"The template:\n```{template}```"


CONNECT_THEN = (
    "When the stack is created, paste its `RoleArn` output with the button below, "
    "or type `/snooze connect ROLE_ARN`."
)
CONNECT_BUTTON = "Paste role ARN"
CONNECT_MODAL_TITLE = "Connect AWS account"
CONNECT_MODAL_LABEL = "Role ARN (the stack's RoleArn output)"
CONNECT_MODAL_SUBMIT = "Connect"


CONNECT_REPAIR_TITLE = "Restore SnoozeDB's access to an AWS account"


def connect_repair(aws_account_id: str, role_arn: str, stack_name: str) -> str:
    return (
        f"AWS account {aws_account_id} is connected to this channel, but SnoozeDB could "
        f"not assume its role `{role_arn}`. Deploy the SnoozeDB stack there again as "
        f"`{stack_name}`, with the External ID below, so the role comes back with the "
        "same ARN. To connect another account instead, type "
        f"`/snooze disconnect {aws_account_id}` first."
    )


def connect_repair_then(role_arn: str) -> str:
    return (
        "When the stack is created, paste its `RoleArn` output with the button below, "
        f"or type `/snooze connect {role_arn}`."
    )


def connect_repair_other_role(role_arn: str) -> str:
    return (
        f"This form restores `{role_arn}`; paste that ARN. To connect another role, "
        "disconnect this account first with `/snooze disconnect`."
    )


def reconnected(role_arn: str, aws_account_id: str, user_id: str) -> str:
    return (
        f"<@{user_id}> restored SnoozeDB's access to AWS account {aws_account_id} "
        f"through `{role_arn}`; its schedules apply again."
    )


def connect_first_deploy() -> str:
    return (
        "This channel had no External ID yet, so the role cannot trust it. Deploy the "
        "stack with the External ID above first, then paste the role ARN again."
    )


def connect_checking(role_arn: str) -> str:
    return f"Checking `{role_arn}`: assuming the role and listing its databases..."


def connected(role_arn: str, aws_account_id: str, user_id: str) -> str:
    return (
        f"<@{user_id}> connected AWS account {aws_account_id} to this channel "
        f"through `{role_arn}`."
    )


def role_taken() -> str:
    return (
        "That role is already connected to another Slack channel or workspace. "
        "Disconnect it there first, or deploy a separate stack for this channel."
    )


def nothing_found(regions: int) -> str:
    return f"No RDS databases were found in the {regions} regions scanned."


# --- Disconnecting ---------------------------------------------------------------

NO_ACCOUNTS = (
    "No AWS account is connected to this channel yet. Type `/snooze connect` to start."
)


def disconnect_which(choices: Sequence[str]) -> str:
    return (
        "Several AWS accounts are connected to this channel. Name one: "
        + ", ".join(f"`/snooze disconnect {c}`" for c in choices)
        + "."
    )


def disconnect_unknown(word: str, choices: Sequence[str]) -> str:
    shown = _echo(word, 40)
    return f"No AWS account `{shown}` is connected here. Connected: {_quote_list(choices)}."


def disconnected(aws_account_id: str, role_arn: str, user_id: str) -> str:
    return (
        f"<@{user_id}> disconnected AWS account {aws_account_id}. SnoozeDB will no longer "
        f"use `{role_arn}`; to end its access for good, delete the SnoozeDB stack in "
        "that account."
    )


ONE_OFFS_DROPPED = (
    "These one-offs are cancelled with it; do them by hand if they are still wanted:"
)


def dropped_one_off(action: Action, instance: str, due_at: datetime) -> str:
    verb = "start" if action is Action.START else "stop"
    identifier = instance.rsplit("/", 1)[-1]
    return f"• {verb} `{identifier}` at {when_in_zone(due_at)}"


PENDING_DISCONNECTED = "The pending connection and its External ID are forgotten."


# --- Instances and outcomes ------------------------------------------------------


def _where(ref: InstanceRef) -> str:
    return f"`{ref.identifier}` ({ref.region})"


def not_stoppable(reason: Reason, detail: str) -> str:
    """The short reason shown in `/snooze status` next to an instance."""
    match reason:
        case Reason.AURORA_MEMBER:
            return f"not stoppable: member of Aurora cluster `{detail}`"
        case Reason.READ_REPLICA:
            return f"not stoppable: read replica of `{detail}`"
        case Reason.HAS_READ_REPLICAS:
            return f"not stoppable: has read replicas ({detail})"
        case _:
            return f"not stoppable: {reason.value}"


STOPPABLE = "stoppable"
EXCLUDED_NOTE = "excluded by tag `snoozedb:exclude=true` (skipped by schedules)"


def instance_line(instance: Instance, verdict: str) -> str:
    return (
        f"• `{instance.identifier}` {instance.ref.region} · {instance.engine} · "
        f"{instance.instance_class} · *{instance.status}* · {verdict}"
    )


def account_heading(account: Account, count: int) -> str:
    noun = "database" if count == 1 else "databases"
    return f"*AWS account {account.aws_account_id}* · {count} {noun} · `{account.role_arn}`"


def account_needs_attention(aws_account_id: str, sentence: str) -> str:
    return f"*AWS account {aws_account_id}* needs attention. {sentence}"


def account_denied(account: Account, count: int, permission: str) -> str:
    return (
        f"{account_heading(account, count)}\n*Needs attention:* AWS denied its SnoozeDB "
        f"role {permission} the last time, so stops or starts there fail. Type "
        "`/snooze connect` to get the template again and redeploy the stack."
    )


def status_truncated(hidden: int) -> str:
    return f"...and {hidden} more. Type `/snooze status DB` for one database."


def outcome_sentence(outcome: Outcome) -> str:
    """One line per instance for the channel, saying how the action ended and why."""
    where = _where(outcome.ref)
    state = outcome.detail
    match outcome.kind:
        case OutcomeKind.STOPPED:
            return f"{where}: stopping now."
        case OutcomeKind.STARTED:
            return f"{where}: starting now."
        case OutcomeKind.ALREADY_STOPPED:
            return f"{where}: already {state or 'stopped'}, nothing to do."
        case OutcomeKind.ALREADY_RUNNING:
            return (
                f"{where}: already {'starting' if state else 'running'}, nothing to do."
            )
        case OutcomeKind.NEEDS_CONFIRMATION:
            return (
                f"{where} is tagged `snoozedb:exclude=true`, so SnoozeDB leaves it alone "
                f"unless you confirm. Press the button to {outcome.action.value} it anyway."
            )
        case OutcomeKind.SKIPPED:
            return f"{where}: skipped, it is tagged `snoozedb:exclude=true`."
        case OutcomeKind.REFUSED | OutcomeKind.FAILED:
            return f"{where}: {_why_not(outcome)}"


_PAST = {Action.STOP: "stopped", Action.START: "started"}


def _why_not(outcome: Outcome) -> str:
    detail = outcome.detail
    verb = outcome.action.value
    match outcome.reason:
        case Reason.AURORA_MEMBER:
            return (
                f"not stopped. It belongs to Aurora cluster `{detail}`, and Aurora stops "
                "a whole cluster at once, never one instance. The SnoozeDB role may only "
                "stop single instances; stop the cluster from the RDS console instead, or "
                "tag its instances `snoozedb:exclude=true` so schedules skip them."
            )
        case Reason.READ_REPLICA:
            return (
                f"not stopped. It is a read replica of `{detail}`, and RDS cannot stop read "
                "replicas. Delete the replica when it is not needed, then snooze the source."
            )
        case Reason.HAS_READ_REPLICAS:
            return (
                f"not stopped. It has read replicas ({detail}), and RDS cannot stop an "
                "instance that has them. Delete the replicas first."
            )
        case Reason.BUSY:
            wanted = "available" if outcome.action is Action.STOP else "stopped"
            return (
                f"not {_PAST[outcome.action]} while it is {detail}: RDS only {verb}s an "
                f"instance that is {wanted}. Try again when it is {wanted}."
            )
        case Reason.NOT_FOUND:
            return (
                "it no longer exists in this account: it was deleted or renamed after "
                "SnoozeDB listed it. Type `/snooze status` to see the databases there are."
            )
        case Reason.AWS_REFUSED:
            return (
                f"AWS refused to {verb} it ({detail}). Check the instance in the RDS "
                "console, then try again."
            )
        case Reason.AWS_UNREACHABLE:
            return (
                f"AWS did not answer, even after retrying, so SnoozeDB cannot tell whether "
                f"the {verb} went through. Type `/snooze status` to see its state, then "
                "try again if needed."
            )
        case Reason.ROLE_UNAVAILABLE:
            return (
                f"not {_PAST[outcome.action]}: AWS denied the SnoozeDB role `{detail}` "
                f"rds:{verb.capitalize()}DBInstance. The role's policy was probably "
                "edited, or the SnoozeDB stack deleted; type `/snooze connect` to get the "
                "template again and redeploy the stack."
            )
        case Reason.THROTTLED:
            return (
                f"not {_PAST[outcome.action]}: AWS is throttling SnoozeDB's calls to this "
                f"account ({detail}) and still was after several retries. Nothing was "
                "changed; try again in a few minutes."
            )
        case Reason.NO_CAPACITY:
            return (
                f"not started: AWS has no capacity for {detail or 'its instance class'} "
                "in its availability zone right now (InsufficientDBInstanceCapacity), "
                "and still had none when SnoozeDB stopped retrying. Try again later, or "
                "change it to another instance class or availability zone in the RDS "
                "console."
            )
        case _:
            return f"not {_PAST[outcome.action]} ({detail or 'no reason given'})."


def action_heading(user_id: str, action: Action, target: str) -> str:
    return f"<@{user_id}> asked to {action.value} `{_echo(target, 200)}`:"


def nothing_matched(selector: str) -> str:
    return f"No database in this channel's accounts carries the tag `{_echo(selector[4:], 200)}`."


def confirm_button(action: Action) -> str:
    return f"{action.value.capitalize()} anyway"


def confirm_expired() -> str:
    return "This button was already used. Type the command again if needed."


def confirm_too_late(action: Action, until: datetime) -> str:
    return (
        f"This button was to {action.value} the database until {when_in_zone(until)}, "
        "which has passed; nothing was done. Type the command again if needed."
    )


STATUS_WORKING = "Looking at this channel's AWS accounts..."


_OUTCOME_FOLLOWS = "the channel will see the outcome; a problem is told to you alone."


def working(action: Action, target: str) -> str:
    verb = "Stopping" if action is Action.STOP else "Starting"
    return f"{verb} `{_echo(target, 200)}`... {_OUTCOME_FOLLOWS}"


INTERNAL_ERROR = (
    "Something went wrong inside SnoozeDB and nothing more was done. "
    "Try again; if it keeps happening, ask your SnoozeDB operator to check its log."
)
CONNECT_EXPIRED = "This form is out of date. Type `/snooze connect` again."


# --- Serving ---------------------------------------------------------------------


def serving(url: str) -> str:
    return f"SnoozeDB is listening for Slack at {url}"


BODY_TOO_LARGE = "Request body too large."


# --- Schedule commands -----------------------------------------------------------
# `/snooze schedule`, one-off snoozes, `/snooze next`, `/snooze explain`,
# `/snooze history`. Instants arrive aware, already in the zone they are shown in.

USAGE_SCHEDULE = "/snooze schedule DB | tag:KEY=VALUE SCHEDULE | NAME"
SUMMARY_SCHEDULE = (
    "give a database a schedule, as in `/snooze schedule qa-db mon-fri 08:00-20:00`; "
    "also `schedule define NAME SCHEDULE`, `schedule list`, `schedule remove DB | NAME`"
)
USAGE_SCHEDULE_DEFINE = "/snooze schedule define NAME SCHEDULE"
SCHEDULE_LIST_ALONE = (
    "`list` shows every schedule of the channel and takes no more words: type "
    "`/snooze schedule list`."
)
USAGE_SCHEDULE_REMOVE = "/snooze schedule remove DB | tag:KEY=VALUE | NAME"
USAGE_NEXT = "/snooze next"
SUMMARY_NEXT = "list the coming scheduled and one-off actions of this channel"
USAGE_EXPLAIN = "/snooze explain DB"
SUMMARY_EXPLAIN = (
    "say which schedule applies to a database, where it came from, what is next"
)
USAGE_HISTORY = "/snooze history [DB]"
SUMMARY_HISTORY = "show the recent actions: who or which schedule, what, when, outcome"

SCHEDULE_SAY_WHAT = "Name a database and a schedule."
SCHEDULE_DEFINE_WHAT = "Give a name and a schedule."
SCHEDULE_REMOVE_WHAT = "Name one database, tag selector or schedule name."
SCHEDULE_NEVER_CHANGES = "This schedule never changes the database's state."
SCHEDULE_LIST_EMPTY = (
    "No saved schedules and nothing scheduled in this channel yet. Type "
    "`/snooze schedule define office-hours mon-fri 08:00-20:00` or "
    "`/snooze schedule DB mon-fri 08:00-20:00`."
)
SCHEDULE_LIST_NAMED = "*Saved schedules of this channel*"
SCHEDULE_LIST_ASSIGNED = "*Scheduled in this channel*"


def when(at: datetime) -> str:
    """An instant as users read it, on the clock of the zone it carries."""
    return f"{at:%a %d %b %H:%M}"


def _zone_of(at: datetime) -> str:
    return getattr(at.tzinfo, "key", None) or at.strftime("%Z") or "UTC"


def when_in_zone(at: datetime) -> str:
    return f"{when(at)} ({_zone_of(at)})"


def target_words(target: str) -> str:
    """A target as a sentence names it: a database, or the databases a tag selects.

    A database saved under its qualified name `ACCOUNT/REGION/NAME` is shown by its
    name, with its region and account after it.
    """
    if target.startswith("tag:"):
        return f"databases tagged `{_echo(target[4:], 200)}`"
    if target.count("/") == 2:
        account, region, identifier = (_echo(part) for part in target.split("/"))
        return f"`{identifier}` ({region}, account {account})"
    return f"`{_echo(target, 200)}`"


def schedule_missing(target: str) -> str:
    return f"Give `{_echo(target)}` a schedule, as in `mon-fri 08:00-20:00`, or a saved name."


def bad_selector(target: str) -> str:
    return (
        f"`{_echo(target)}` is not a tag selector: write `tag:KEY=VALUE`, "
        "as in `tag:team=qa`."
    )


def schedule_bad_target(target: str) -> str:
    return (
        f"`{_echo(target)}` is not a database name: type its DBInstanceIdentifier, "
        "`ACCOUNT/REGION/DB` or `tag:KEY=VALUE`."
    )


def unknown_schedule(name: str, suggestions: Sequence[str]) -> str:
    shown = _echo(name)
    if suggestions:
        return (
            f"unknown schedule {shown}: did you mean {suggestions[0]}? Nothing was saved; "
            "type `/snooze schedule list` to see the saved schedules."
        )
    return (
        f"unknown schedule {shown}. Nothing was saved; type "
        f"`/snooze schedule define {shown} SCHEDULE` to create it, or a schedule "
        "such as `mon-fri 08:00-20:00`."
    )


def schedule_checking(target: str) -> str:
    return f"Looking for `{_echo(target)}` in this channel's accounts before saving..."


def schedule_assigned(user_id: str, target: str, name: str | None, text: str) -> str:
    what = f"the schedule `{name}` (`{text}`)" if name else f"the schedule `{text}`"
    return f"<@{user_id}> gave {target_words(target)} {what}."


def schedule_not_stoppable(target: str, reason: str) -> str:
    return (
        f"Note: `{target}` is {reason}, so its scheduled stops will be refused. "
        "Type `/snooze schedule remove " + target + "` to take the schedule off."
    )


def coming_heading(zone: str) -> str:
    return f"Next, on the {zone} clock:"


def transition_line(action: Action, at: datetime) -> str:
    return f"• {action.value} {when(at)}"


def clock_change(at: datetime, forward: bool) -> str:
    direction = "forward" if forward else "back"
    return f"Clocks go {direction} on {at:%a %d %b} ({_zone_of(at)})."


def schedule_bad_name(name: str) -> str:
    return (
        f"`{_echo(name)}` cannot name a schedule: use lowercase letters, digits and "
        "dashes, starting with a letter, as in `office-hours`."
    )


def schedule_name_reads_as_schedule(name: str) -> str:
    return (
        f"`{name}` cannot name a schedule: it is a word of the schedule language. "
        "Pick another name, as in `office-hours`."
    )


def schedule_defined(user_id: str, name: str, text: str) -> str:
    return f"<@{user_id}> saved the schedule `{name}`: `{text}`."


def schedule_followed_by(targets: Sequence[str]) -> str:
    named = "; ".join(target_words(target) for target in targets)
    return f"Already following it, now with this text: {named}."


def schedule_excluded(target: str) -> str:
    return (
        f"Note: `{target}` is tagged `snoozedb:exclude=true`, so its schedule does "
        "nothing until that tag is removed from the database."
    )


def schedule_differs_now(target: str, running: bool, *, enforce: bool) -> str:
    """The database is in the state its new schedule does not want right now."""
    shown = _echo(target, 200)
    if running and enforce:
        return (
            f"`{shown}` is running now, outside its schedule's windows; the schedule "
            "says `enforce`, so SnoozeDB stops it at its next hourly check."
        )
    if running:
        return (
            f"`{shown}` is running now, outside its schedule's windows; SnoozeDB "
            f"stops it at the schedule's next stop. Type `/snooze stop {shown}` to "
            "stop it now."
        )
    return (
        f"`{shown}` is stopped now, inside a window of its schedule; SnoozeDB starts "
        f"it at the schedule's next start. Type `/snooze start {shown}` to start it now."
    )


def schedule_unassigned(user_id: str, target: str) -> str:
    return f"<@{user_id}> took the schedule off {target_words(target)}."


def schedule_removed(user_id: str, name: str) -> str:
    return f"<@{user_id}> removed the saved schedule `{name}`."


def schedule_in_use(name: str, targets: Sequence[str]) -> str:
    return (
        f"The schedule `{name}` is still used by {_quote_list(targets)}, so it was kept. "
        "Give them another schedule or type `/snooze schedule remove TARGET` for each first."
    )


def schedule_remove_which(word: str, targets: Sequence[str]) -> str:
    return (
        f"Databases called `{_echo(word)}` in several places have a schedule: "
        f"{_quote_list(targets)}. Type `/snooze schedule remove ACCOUNT/REGION/NAME` "
        "with the one to take it off."
    )


def schedule_nothing_to_remove(word: str, suggestions: Sequence[str]) -> str:
    shown = _echo(word)
    if suggestions:
        return (
            f"Nothing called `{shown}` has a schedule here, and no saved schedule has "
            f"that name. Did you mean {_quote_list(suggestions)}?"
        )
    return (
        f"Nothing called `{shown}` has a schedule here, and no saved schedule has that "
        "name. Type `/snooze schedule list` to see them."
    )


def schedule_named_line(name: str, text: str) -> str:
    return f"• `{name}`: `{text}`"


def assignment_line(target: str, name: str | None, text: str) -> str:
    follows = f"`{name}` (`{text}`)" if name else f"`{text}`"
    return f"• {target_words(target)}: {follows}"


# One-off snoozes


def working_until(action: Action, target: str, until: datetime) -> str:
    verb = "Stopping" if action is Action.STOP else "Starting"
    shown = _echo(target, 200)
    return f"{verb} `{shown}` until {when_in_zone(until)}... {_OUTCOME_FOLLOWS}"


def way_back_dropped(ref: InstanceRef, way_back: Action, until: datetime) -> str:
    """A one-off ends where the schedule wants the state it leaves: no way back."""
    held = "stopped" if way_back is Action.START else "running"
    verb = "start" if way_back is Action.START else "stop"
    return (
        f"{_where(ref)}: its schedule wants it {held} at {when_in_zone(until)}, so "
        f"SnoozeDB will not {verb} it then; the schedule takes over."
    )


def way_back(action: Action, until: datetime, *, others: bool = False) -> str:
    """The way back promised; `others` when some acted databases get none."""
    verb = "start" if action is Action.START else "stop"
    which = "the others" if others else "it"
    return f"SnoozeDB will {verb} {which} again at {when_in_zone(until)}."


def enforce_stops_again(ref: InstanceRef, name: str) -> str:
    return (
        f"{_where(ref)}: its schedule says `enforce`, so SnoozeDB will stop it again at "
        f"its next hourly check; to keep it running, type `/snooze start {name} for 2h` "
        f"or `/snooze start {name} until HH:MM`."
    )


def selector_with_spaces(action: Action) -> str:
    return (
        "A tag value with spaces goes in double quotes, as in "
        f'`/snooze {action.value} tag:Name="Staging DB"`.'
    )


def one_off_usage(action: Action) -> str:
    return (
        f"Name one database, then optionally how long: "
        f"`/snooze {action.value} DB for 3h` or `/snooze {action.value} DB until tomorrow 9am`."
    )


# `/snooze next`

NEXT_EMPTY = (
    "Nothing is scheduled in this channel. Type `/snooze schedule DB mon-fri 08:00-20:00` "
    "to give a database a schedule."
)
NEXT_HEADING = "*Coming actions in this channel*"
NEXT_NOTHING_CONNECTED = (
    "No AWS account is connected to this channel any more, so none of these will "
    "happen until one is: type `/snooze connect`."
)


def next_more(shown: int) -> str:
    return (
        f"More come after these {shown}. Type `/snooze explain DB` to see what comes "
        "for one database."
    )


def next_line(at: datetime, action: Action, target: str, why: str) -> str:
    return f"• {when_in_zone(at)} · {action.value} {target_words(target)} · {why}"


def next_by_schedule(name: str | None, text: str) -> str:
    return f"schedule `{name}`" if name else f"`{text}`"


def next_by_one_off(user_id: str, way_back: Action, *, conditional: bool) -> str:
    """Why a one-off's way back is listed; `conditional` when a tag may schedule it."""
    if not conditional:
        return f"one-off by <@{user_id}>"
    held = "stopped" if way_back is Action.START else "running"
    return f"one-off by <@{user_id}> ends, unless its schedule wants it {held} then"


def next_by_override(user_id: str, schedule: str | None) -> str:
    """Why a stop comes when a keep-running ends; `schedule` as `next_by_schedule`."""
    if schedule is None:
        return (
            f"keep-running by <@{user_id}> ends, if its schedule wants it stopped then"
        )
    return f"keep-running by <@{user_id}> ends; {schedule}"


# `/snooze explain`

EXPLAIN_ONE = "Name one database, not a tag selector."
EXPLAIN_ONE_ONLY = "Name one database, with nothing after it."


def explain_checking(target: str) -> str:
    return f"Looking up `{_echo(target)}` and its tags..."


def explain_nothing(where: str) -> str:
    return (
        f"{where} follows no schedule: SnoozeDB only stops or starts it when asked. "
        "Type `/snooze schedule DB SCHEDULE` to give it one."
    )


def explain_unknown_tag(where: str, name: str, suggestions: Sequence[str]) -> str:
    hint = f" Did you mean `{suggestions[0]}`?" if suggestions else ""
    return (
        f"{where} is tagged `snoozedb:schedule={name}`, but no saved schedule has that "
        f"name, so it follows none.{hint} Fix the tag, or type "
        f"`/snooze schedule define {name} SCHEDULE`."
    )


def explain_direct(
    where: str, target: str, name: str | None, text: str, user: str
) -> str:
    given = target_words(target)
    return f"{where} follows {_named(name, text)}, given to {given} by <@{user}>."


def explain_selector(where: str, target: str, name: str | None, text: str) -> str:
    return (
        f"{where} follows {_named(name, text)} because it matches the tag selector "
        f"`{target}`. When several selectors match, the most recently assigned one wins."
    )


def explain_tagged(where: str, tag: str, name: str | None, text: str) -> str:
    return f"{where} follows {_named(name, text)} because it is tagged `{tag}`."


def explain_one_off(
    where: str,
    user_id: str,
    action: Action,
    until: datetime,
    *,
    scheduled: bool,
    way_back: bool,
) -> str:
    """A one-off in force; `scheduled` when a schedule resumes after it.

    `way_back` is False when that schedule wants the state the one-off left, so
    the way back is not carried out.
    """
    held = "stopped" if action is Action.START else "running"
    verb = "starts" if action is Action.START else "stops"
    head = f"{where} is held {held} by a one-off from <@{user_id}> until {when_in_zone(until)}"
    if not scheduled:
        return f"{head}; then SnoozeDB {verb} it again, and no schedule applies after that."
    if not way_back:
        return f"{head}; then its schedule resumes and wants it {held}, so it stays {held}."
    return f"{head}; then SnoozeDB {verb} it again and its schedule resumes."


def explain_override(
    where: str, user_id: str, until: datetime, *, scheduled: bool
) -> str:
    head = f"{where} is kept running by <@{user_id}> until {when_in_zone(until)}"
    if not scheduled:
        return f"{head}; no schedule applies, so it keeps running after that."
    return f"{head}; its schedule resumes after."


def explain_state_differs(running: bool) -> str:
    """The database is in the other state than its schedule wants, with no one-off."""
    if running:
        return (
            "It is running: SnoozeDB acts at the schedule's changes, so it keeps "
            "running until the next stop unless someone stops it."
        )
    return (
        "It is stopped: SnoozeDB acts at the schedule's changes, so it stays stopped "
        "until the next start unless someone starts it."
    )


def explain_desired(desired: str) -> str:
    match desired:
        case "running":
            return "Right now it should be running."
        case "stopped":
            return "Right now it should be stopped."
        case _:
            return "Right now its schedule has no opinion: it only names start or stop times."


EXPLAIN_EXCLUDED = (
    "It is tagged `snoozedb:exclude=true`, so scheduled actions skip it until the tag "
    "is removed."
)


def _named(name: str | None, text: str) -> str:
    return f"the schedule `{name}` (`{text}`)" if name else f"the schedule `{text}`"


# `/snooze history`

HISTORY_EMPTY = "No actions recorded in this channel yet."
HISTORY_ONE_DATABASE = "History is shown for the whole channel or for one database."


def history_none_for(identifier: str, suggestions: Sequence[str]) -> str:
    shown = _echo(identifier)
    if suggestions:
        return (
            f"No actions on `{shown}` are recorded in this channel. "
            f"Did you mean {_quote_list(suggestions)}?"
        )
    return (
        f"No actions on `{shown}` are recorded in this channel. Type "
        "`/snooze history` to see all of the channel's recent actions."
    )


def history_heading(identifier: str | None, zone: str) -> str:
    about = f" of `{identifier}`" if identifier else ""
    return f"*Recent actions{about}* (times in {zone})"


def history_actor(actor: str) -> str:
    kind, _, name = actor.partition(":")
    if kind == "user" and name:
        return f"<@{name}>"
    if kind == "schedule" and name:
        return f"schedule `{name}`"
    return actor or "SnoozeDB"


def history_line(
    at: datetime, actor: str, action: Action, instance: str, outcome: str, detail: str
) -> str:
    identifier = instance.rsplit("/", 1)[-1]
    region = instance.split("/")[1] if instance.count("/") == 2 else ""
    where = f"`{identifier}` ({region})" if region else f"`{identifier}`"
    said = outcome.replace("_", " ")
    why = _history_reason(detail)
    if why:
        said += f" ({why})"
    return f"• {when(at)} · {history_actor(actor)} · {action.value} {where} · {said}"


def _history_reason(detail: str) -> str:
    """The audit log's `reason:fact` in words, as the channel was told."""
    code, _, fact = detail.partition(":")
    try:
        reason = Reason(code)
    except ValueError:
        return detail
    match reason:
        case Reason.AURORA_MEMBER | Reason.READ_REPLICA | Reason.HAS_READ_REPLICAS:
            return not_stoppable(reason, fact).removeprefix("not stoppable: ")
        case Reason.EXCLUDED_BY_TAG:
            return "tagged `snoozedb:exclude=true`"
        case Reason.BUSY:
            return f"it was {fact}" if fact else "it was busy"
        case Reason.NOT_FOUND:
            return "it no longer existed"
        case Reason.THROTTLED:
            return "AWS was throttling"
        case Reason.NO_CAPACITY:
            return "AWS had no capacity"
        case Reason.AWS_UNREACHABLE:
            return "AWS did not answer"
        case _:
            return f"AWS said {fact}" if fact else reason.value.replace("_", " ")


# --- Scheduler -------------------------------------------------------------------


def scheduled_heading(aws_account_id: str) -> str:
    return f"*Scheduled run* for AWS account {aws_account_id}:"


def cause_schedule(name: str | None, target: str) -> str:
    return f"schedule `{name}`" if name else f"schedule of {target_words(target)}"


def cause_one_off(user_id: str) -> str:
    return f"one-off snooze by <@{user_id}>"


def one_off_ended_schedule_resumes(
    ref: InstanceRef, user_id: str, way_back: Action
) -> str:
    """A one-off ended where its schedule wants the state it left: no way back."""
    if way_back is Action.START:
        held = "its schedule wants it stopped now, so it stays stopped"
    else:
        held = "its schedule wants it running now, so it keeps running"
    return f"• {_where(ref)}: the one-off snooze by <@{user_id}> ended; {held}."


def cause_override_ended(user_id: str) -> str:
    return f"keep-running by <@{user_id}> ended"


def scheduled_line(sentence: str, cause: str) -> str:
    return f"• {sentence} _({cause})_"


def busy_waiting(ref: InstanceRef, state: str, until: str) -> str:
    return (
        f"{_where(ref)}: busy ({state}). SnoozeDB tries again every minute until "
        f"{until} and then says how it ended."
    )


def no_capacity_waiting(ref: InstanceRef, instance_class: str, until: str) -> str:
    return (
        f"{_where(ref)}: not started yet: AWS has no capacity for "
        f"{instance_class or 'its instance class'} in its availability zone right now "
        "(InsufficientDBInstanceCapacity). SnoozeDB tries again every minute until "
        f"{until} and then says how it ended."
    )


def gave_up(ref: InstanceRef, action: Action, minutes: int, state: str) -> str:
    return (
        f"{_where(ref)}: not {_PAST[action]}, gave up after {minutes} minutes: still "
        f"{state}. {action.value.capitalize()} it from the RDS console or with "
        f"`/snooze {action.value} {ref.identifier}` once it is available."
    )


def kept_running(ref: InstanceRef, until: str, user_id: str) -> str:
    return (
        f"{_where(ref)}: kept running until {until} as <@{user_id}> asked; "
        "the schedule takes over then."
    )


def restarted_after_seven_days(sentence: str) -> str:
    return (
        f"{sentence} RDS starts a database by itself after seven days stopped; its "
        "schedule wants it stopped, so SnoozeDB stopped it again."
    )


def enforced(sentence: str) -> str:
    return (
        f"{sentence} It was started outside its schedule, which says `enforce`, so "
        "SnoozeDB stopped it again. Press *Keep running 1 hour* to start it again and "
        "keep it up for an hour."
    )


def role_broken_during_run(aws_account_id: str, sentence: str) -> str:
    return (
        f"*Scheduled run* could not reach AWS account {aws_account_id}; nothing was "
        f"stopped or started there. {sentence} SnoozeDB says this once and tries "
        "again at the next scheduled time."
    )


def aws_down_during_run(aws_account_id: str, sentence: str) -> str:
    return (
        f"*Scheduled run* could not reach AWS account {aws_account_id}; nothing was "
        f"stopped or started there. {sentence} SnoozeDB says this once per outage and "
        "keeps trying every minute: the stops and starts missed meanwhile are made as "
        "soon as AWS answers, if their schedules still want them."
    )


def role_denied_during_run(aws_account_id: str, permission: str) -> str:
    return (
        f"*AWS account {aws_account_id}* needs attention: AWS denied its SnoozeDB role "
        f"{permission}, so scheduled stops and starts there fail. The role's policy was "
        "probably edited; type `/snooze connect` to get the template again and redeploy "
        "the stack. SnoozeDB says this once, until an action there works again."
    )


def prestop_notice(at: str, minutes: int, identifiers: Sequence[str]) -> str:
    names = ", ".join(f"`{name}`" for name in identifiers)
    unit = "minute" if minutes == 1 else "minutes"
    return (
        f"In {minutes} {unit} ({at}) SnoozeDB stops {names} on schedule. "
        "Need it longer? Press a button."
    )


NOTICE_KEEP_HOUR = "Keep running 1 hour"
NOTICE_KEEP_WINDOW = "Keep running until the next window"
NOTICE_STOP_NOW = "Stop now"
NOTICE_ALREADY_ANSWERED = "This notice was already answered; nothing more was done."
NOTICE_NOT_ALLOWED = "This notice belongs to another channel; nothing was done."


def kept_running_by(user_id: str, identifiers: Sequence[str], until: str) -> str:
    names = ", ".join(f"`{name}`" for name in identifiers)
    return (
        f"<@{user_id}> kept {names} running until {until}; the schedule resumes then."
    )


def stopped_now_by(user_id: str) -> str:
    return f"<@{user_id}> asked to stop these now instead of on schedule:"


# `/snooze notice [MINUTES]`: how long before a scheduled stop the channel is warned.


def help_line(usage: str, summary: str, aliases: Sequence[str]) -> str:
    also = "".join(f" (or `{alias}`)" for alias in aliases)
    return f"`{usage}`{also} — {summary}"


USAGE_NOTICE = "/snooze notice [MINUTES]"
SUMMARY_NOTICE = (
    "show or set how many minutes before a scheduled stop the channel is warned; "
    "`notice 0` turns the warning off"
)
NOTICE_ONE_NUMBER = "Give one number of minutes."


def _minutes(minutes: int) -> str:
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def notice_current(minutes: int) -> str:
    if minutes <= 0:
        return (
            "This channel is not warned before scheduled stops. Type "
            "`/snooze notice 15` to be warned 15 minutes ahead."
        )
    return (
        f"This channel is warned {_minutes(minutes)} before each scheduled stop. Type "
        "`/snooze notice MINUTES` to change it, or `/snooze notice 0` to turn it off."
    )


def notice_set(user_id: str, minutes: int) -> str:
    if minutes <= 0:
        return (
            f"<@{user_id}> turned off the warning before scheduled stops in this "
            "channel; type `/snooze notice 15` to turn it back on."
        )
    return (
        f"<@{user_id}> set the warning before each scheduled stop in this channel to "
        f"{_minutes(minutes)}."
    )


def notice_not_minutes(text: str, limit: int) -> str:
    shown = _echo(text, 20)
    return (
        f"`{shown}` is not a number of minutes from 0 to {limit}; type "
        "`/snooze notice 30` to be warned 30 minutes ahead, or `/snooze notice 0` "
        "to turn the warning off."
    )


# --- Who may connect -------------------------------------------------------------
# Workspace admins and owners, and the people and user groups they name with
# `/snooze admins`, may connect and disconnect accounts. Mentions reach the bot as
# `<@U123|name>` and `<!subteam^S123|@group>` because the command escapes them.

USAGE_ADMINS = "/snooze admins add @PERSON|@GROUP | remove @PERSON|@GROUP | list"
SUMMARY_ADMINS = (
    "name who, besides workspace admins, may connect and disconnect accounts"
)
ADMINS_SAY_WHO = "Mention one person or user group, as in `/snooze admins add @ada`."
ADMINS_LIST_ALONE = "`/snooze admins list` takes nothing after `list`."
MANAGE_NOT_ALLOWED = (
    "Only workspace admins and the people named in `/snooze admins list` can connect "
    "or disconnect AWS accounts. Ask one of them, or ask a workspace admin to type "
    "`/snooze admins add @you`."
)
ADMINS_CHANGE_NOT_ALLOWED = (
    "Only workspace admins and owners can change who may connect accounts. "
    "`/snooze admins list` shows who can."
)
PERMISSION_UNKNOWN = (
    "I could not ask Slack whether you may connect accounts, so I did nothing. "
    "Try again in a minute."
)
ADMINS_NONE = (
    "Only workspace admins and owners can connect and disconnect accounts here; "
    "nobody else has been named. A workspace admin can add people with "
    "`/snooze admins add @PERSON`."
)


def subject(subject_id: str, is_group: bool) -> str:
    """A person or user group as Slack shows a mention of it."""
    return f"<!subteam^{subject_id}>" if is_group else f"<@{subject_id}>"


def admin_not_a_mention(word: str) -> str:
    return (
        f"`{_echo(word)}` is not a mention I can read. Pick the person or user group from "
        "Slack's @ list as you type, as in `/snooze admins add @ada`."
    )


def admin_added(user_id: str, who: str) -> str:
    return f"<@{user_id}> allowed {who} to connect and disconnect AWS accounts."


def admin_already(who: str) -> str:
    return f"{who} may already connect and disconnect AWS accounts; nothing changed."


def admin_removed(user_id: str, who: str) -> str:
    return (
        f"<@{user_id}> withdrew {who}'s permission to connect and disconnect accounts."
    )


def admin_not_named(who: str) -> str:
    return (
        f"{who} is not named in `/snooze admins list`, so there is nothing to remove. "
        "Workspace admins and owners always keep their permission."
    )


def admins_list(whos: Sequence[str]) -> str:
    names = ", ".join(whos)
    return (
        "Workspace admins and owners can connect and disconnect accounts, and so can: "
        f"{names}."
    )


CONNECT_FORM_FAILED = (
    "I could not open the form. Paste the role ARN with `/snooze connect ROLE_ARN` "
    "instead."
)


# --- Messages that could not be delivered ---------------------------------------


def undelivered_heading(count: int) -> str:
    return (
        f"*{count} message(s) to this channel could not be delivered*; invite me with "
        "`/invite @SnoozeDB` so they go out on the next try."
    )


def undelivered_line(at: datetime, error: str, text: str, gave_up: bool = False) -> str:
    first = text.splitlines()[0] if text else ""
    short = first if len(first) <= 80 else first[:79] + "…"
    why = f"{error}; no longer retried" if gave_up else error
    return f"• {when(at)} · not delivered ({why}) · {short}"


BAD_REQUEST = "Bad request."


# --- The offline demo --------------------------------------------------------------

DEMO_CONNECT_FIRST = (
    "Type /snooze connect first: it gives the External ID the stack needs."
)


def demo_tour_done(opens: str, closes: str) -> str:
    """The tour's last words: a schedule whose window opens and closes soon."""
    return (
        f"That was the tour. Try a schedule next: `/snooze schedule qa-db daily "
        f"{opens}-{closes}`, then `/snooze next`, `wait 2h` (the start at {opens}, the "
        f"15-minute notice and the stop at {closes} come on the way) and "
        "`/snooze history`."
    )


def demo_wait_refused(problem: str) -> str:
    return (
        f"The demo's clock cannot move so: {problem}. Type `wait 2h` or "
        "`wait until tomorrow 08:00`."
    )


def demo_waited(now: datetime) -> str:
    return f"(The demo's clock now shows {when_in_zone(now)}.)"


def demo_deployed(aws_account_id: str, role_arn: str) -> str:
    return (
        f"Deployed the SnoozeDB stack in account {aws_account_id}.\n"
        f"Its RoleArn output is {role_arn}\n"
        f"Next: /snooze connect {role_arn}"
    )


def demo_redeployed(aws_account_id: str, external_id: str, role_arn: str) -> str:
    return (
        f"Replaced the SnoozeDB stack already in account {aws_account_id}: its role "
        f"now trusts only the External ID {external_id}.\n"
        f"Its RoleArn output is {role_arn}\n"
        f"Next: /snooze connect {role_arn}"
    )


def demo_stack_in_use(aws_account_id: str, role_arn: str) -> str:
    return (
        f"Did not redeploy: this channel is connected through {role_arn}, and "
        "redeploying its stack with the new External ID would cut that connection. "
        "With a second AWS account you would deploy the stack there; the demo has "
        f"only {aws_account_id}, so to replace its stack type /snooze disconnect, "
        "then /snooze connect and deploy."
    )
