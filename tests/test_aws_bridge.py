"""The AWS bridge assumes the customer's role once per operation and maps RDS answers.

Everything goes over HTTP to the AWS stand-in (`aws` fixture), which refuses what real
STS refuses, so a missing External ID or a deleted role fails here as it would in AWS.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import boto3
import botocore.endpoint
import pytest

from bot.aws_bridge import (
    MAX_ATTEMPTS,
    AccountSession,
    AwsBridge,
    AwsCallFailed,
    AwsThrottled,
    OwnCredentialsRefused,
    redact,
    role_session_name,
)
from bot.domain import Action, Instance, InstanceRef, OutcomeKind, Reason
from bot.errors import AwsUnreachable, RoleArnMalformed, RoleNotAssumable
from bot.standins.aws import SNOOZEDB_ACCOUNT_ID, AwsStandIn

CUSTOMER = "210987654321"
REGIONS = ("us-east-1", "eu-west-1")
CLOSED_PORT_URL = "http://127.0.0.1:9"


@pytest.fixture
def botocore_waits(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """The pauses botocore's retry mode asks for, recorded instead of slept.

    botocore sleeps between retries in `botocore.endpoint` (and only there); the
    tests check that the retries happen, not that the clock moves.
    """
    waits: list[float] = []
    monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=waits.append))
    yield waits


class FakeClock:
    """A monotonic clock that moves only when the bridge sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.pauses: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds


def _connect(aws: AwsStandIn) -> tuple[str, str]:
    external_id = str(uuid.uuid4())
    role_arn = aws.deploy_role_stack(CUSTOMER, external_id, SNOOZEDB_ACCOUNT_ID)
    return role_arn, external_id


def _create(
    aws: AwsStandIn,
    region: str,
    *identifiers: str,
    engine: str = "postgres",
    tags: dict[str, str] | None = None,
) -> None:
    rds = aws.customer_session(CUSTOMER, region).client("rds")
    for identifier in identifiers:
        rds.create_db_instance(
            DBInstanceIdentifier=identifier,
            Engine=engine,
            DBInstanceClass="db.t3.micro",
            AllocatedStorage=20,
            MasterUsername="snoozedb",
            MasterUserPassword="not-a-real-password",
            Tags=[{"Key": key, "Value": value} for key, value in (tags or {}).items()],
        )


def _open(aws: AwsStandIn, purpose: str = "test", **options: Any) -> AccountSession:
    role_arn, external_id = _connect(aws)
    return AwsBridge(REGIONS, **options).open(role_arn, external_id, purpose, "T0123")


def _instance(status: str, identifier: str = "staging-db") -> Instance:
    return Instance(
        ref=InstanceRef(CUSTOMER, "us-east-1", identifier),
        engine="postgres",
        instance_class="db.t3.micro",
        status=status,
    )


# --- scanning ------------------------------------------------------------------------


def test_scan_reads_every_region_with_one_describe_each_and_tags_from_taglist(
    aws: AwsStandIn,
) -> None:
    """R6: tags come with DescribeDBInstances; no ListTagsForResource per instance."""
    _create(aws, "us-east-1", "staging-db", tags={"snoozedb:exclude": "true"})
    _create(aws, "eu-west-1", "qa-db", tags={"team": "qa"})
    account = _open(aws)
    aws.reset_counts()

    result = account.scan(REGIONS)

    by_name = {instance.identifier: instance for instance in result.instances}
    assert by_name["staging-db"].ref == InstanceRef(CUSTOMER, "us-east-1", "staging-db")
    assert by_name["staging-db"].excluded
    assert by_name["qa-db"].tags == {"team": "qa"}
    assert by_name["qa-db"].engine == "postgres"
    assert by_name["qa-db"].instance_class == "db.t3.micro"
    assert by_name["qa-db"].status == "available"
    assert result.regions_with_instances == REGIONS
    assert result.skipped_regions == ()
    assert aws.calls_by_region[(CUSTOMER, "us-east-1", "DescribeDBInstances")] == 1
    assert aws.calls_by_region[(CUSTOMER, "eu-west-1", "DescribeDBInstances")] == 1
    assert aws.calls[(CUSTOMER, "ListTagsForResource")] == 0
    assert aws.calls[(SNOOZEDB_ACCOUNT_ID, "AssumeRole")] == 0


def test_scan_pages_through_150_instances_in_one_region(aws: AwsStandIn) -> None:
    """R6: DescribeDBInstances answers 100 at a time; all 150 come back."""
    _create(aws, "eu-west-1", *(f"fleet-{number:03d}" for number in range(150)))
    account = _open(aws)
    aws.reset_counts()

    result = account.scan(["eu-west-1"])

    assert len({instance.identifier for instance in result.instances}) == 150
    assert aws.calls[(CUSTOMER, "DescribeDBInstances")] == 2
    assert aws.calls[(CUSTOMER, "ListTagsForResource")] == 0


def test_scan_maps_cluster_and_replica_facts(aws: AwsStandIn) -> None:
    _create(aws, "us-east-1", "staging-db")
    aws.customer_session(CUSTOMER).client("rds").create_db_instance_read_replica(
        DBInstanceIdentifier="staging-db-ro", SourceDBInstanceIdentifier="staging-db"
    )
    account = _open(aws)

    result = account.scan(["us-east-1"])

    by_name = {instance.identifier: instance for instance in result.instances}
    assert by_name["staging-db"].read_replicas == ("staging-db-ro",)
    assert by_name["staging-db-ro"].read_replica_source == "staging-db"
    assert by_name["staging-db"].cluster_identifier is None


def test_unknown_engine_is_passed_through(aws: AwsStandIn) -> None:
    """R7: no engine list; an engine we never heard of is listed and acted on."""
    _create(aws, "us-east-1", "reports-db")
    aws.patch_instance(CUSTOMER, "us-east-1", "reports-db", engine="db2-se")
    account = _open(aws)

    [instance] = account.scan(["us-east-1"]).instances
    outcome = account.act(instance, Action.STOP)

    assert instance.engine == "db2-se"
    assert outcome.kind is OutcomeKind.STOPPED


def test_region_the_account_has_not_enabled_is_skipped(aws: AwsStandIn) -> None:
    _create(aws, "us-east-1", "staging-db")
    account = _open(aws)
    aws.fail_next("DescribeDBInstances", "InvalidClientTokenId", region="eu-west-1")

    result = account.scan(REGIONS)

    assert [instance.identifier for instance in result.instances] == ["staging-db"]
    assert result.regions_with_instances == ("us-east-1",)
    assert result.skipped_regions == ("eu-west-1",)


def test_access_denied_mid_scan_means_the_role_is_not_usable(aws: AwsStandIn) -> None:
    account = _open(aws)
    aws.fail_next("DescribeDBInstances", "AccessDenied", region="eu-west-1", status=403)

    with pytest.raises(RoleNotAssumable) as error:
        account.scan(REGIONS)

    assert error.value.role_arn == account.role_arn
    assert error.value.aws_code == "AccessDenied"


def test_throttling_is_retried_by_botocore(
    aws: AwsStandIn, botocore_waits: list[float]
) -> None:
    """R6: a Throttling answer is retried with backoff, not reported."""
    _create(aws, "us-east-1", "staging-db")
    account = _open(aws)
    aws.reset_counts()
    aws.fail_next("DescribeDBInstances", "Throttling", account_id=CUSTOMER)

    result = account.scan(["us-east-1"])

    assert [instance.identifier for instance in result.instances] == ["staging-db"]
    assert aws.calls[(CUSTOMER, "DescribeDBInstances")] == 2
    assert len(botocore_waits) == 1


def test_throttling_beyond_the_retries_is_aws_throttled(
    aws: AwsStandIn, botocore_waits: list[float]
) -> None:
    account = _open(aws)
    aws.reset_counts()
    aws.fail_next(
        "DescribeDBInstances", "Throttling", MAX_ATTEMPTS, account_id=CUSTOMER
    )

    with pytest.raises(AwsThrottled) as error:
        account.scan(["us-east-1"])

    assert error.value.aws_code == "Throttling"
    assert "AWS is throttling" in str(error.value)
    assert "try again" in str(error.value)
    assert aws.calls[(CUSTOMER, "DescribeDBInstances")] == MAX_ATTEMPTS
    assert len(botocore_waits) == MAX_ATTEMPTS - 1


def test_unknown_error_while_listing_names_the_code_only(
    aws: AwsStandIn, botocore_waits: list[float]
) -> None:
    account = _open(aws)
    aws.fail_next(
        "DescribeDBInstances", "BrandNewFault", message="text that must not be shown"
    )

    with pytest.raises(AwsCallFailed) as error:
        account.scan(["us-east-1"])

    assert "(BrandNewFault)" in str(error.value)
    assert "must not be shown" not in str(error.value)


# --- acting --------------------------------------------------------------------------


def test_stop_then_start(aws: AwsStandIn) -> None:
    _create(aws, "us-east-1", "staging-db")
    account = _open(aws)
    [instance] = account.scan(["us-east-1"]).instances

    stopped = account.act(instance, Action.STOP)
    [after_stop] = account.scan(["us-east-1"]).instances
    started = account.act(after_stop, Action.START)
    [after_start] = account.scan(["us-east-1"]).instances

    assert (stopped.kind, stopped.ref, stopped.action) == (
        OutcomeKind.STOPPED,
        instance.ref,
        Action.STOP,
    )
    assert after_stop.status == "stopped"
    assert started.kind is OutcomeKind.STARTED
    assert after_start.status == "available"


def test_stopping_a_stopped_instance_is_already_stopped(aws: AwsStandIn) -> None:
    """R4: the second stop is a success, not an AWS error text."""
    _create(aws, "us-east-1", "staging-db")
    account = _open(aws)
    [instance] = account.scan(["us-east-1"]).instances
    account.act(instance, Action.STOP)
    [stopped] = account.scan(["us-east-1"]).instances
    aws.reset_counts()

    outcome = account.act(stopped, Action.STOP)

    assert outcome.kind is OutcomeKind.ALREADY_STOPPED
    assert outcome.kind.succeeded
    assert aws.calls[(CUSTOMER, "StopDBInstance")] == 1
    assert aws.calls[(CUSTOMER, "DescribeDBInstances")] == 0


def test_starting_a_running_instance_is_already_running(aws: AwsStandIn) -> None:
    """R4: start on an available instance."""
    _create(aws, "us-east-1", "staging-db")
    account = _open(aws)
    [instance] = account.scan(["us-east-1"]).instances

    outcome = account.act(instance, Action.START)

    assert outcome.kind is OutcomeKind.ALREADY_RUNNING


def test_stopping_a_busy_instance_is_refused_with_its_state(aws: AwsStandIn) -> None:
    _create(aws, "us-east-1", "staging-db")
    aws.set_instance_status(CUSTOMER, "us-east-1", "staging-db", "backing-up")
    account = _open(aws)
    [instance] = account.scan(["us-east-1"]).instances

    outcome = account.act(instance, Action.STOP)

    assert (outcome.kind, outcome.reason, outcome.detail) == (
        OutcomeKind.REFUSED,
        Reason.BUSY,
        "backing-up",
    )


def test_a_vanished_instance_is_not_found(aws: AwsStandIn) -> None:
    account = _open(aws)

    outcome = account.act(_instance("available", "gone-db"), Action.STOP)

    assert (outcome.kind, outcome.reason) == (OutcomeKind.FAILED, Reason.NOT_FOUND)


def test_other_refusals_carry_the_aws_code_only(aws: AwsStandIn) -> None:
    _create(aws, "us-east-1", "staging-db")
    account = _open(aws)
    aws.fail_next(
        "StopDBInstance",
        "InvalidDBClusterStateFault",
        message="secret-looking text that must not reach Slack",
    )

    outcome = account.act(_instance("available"), Action.STOP)

    assert (outcome.kind, outcome.reason, outcome.detail) == (
        OutcomeKind.FAILED,
        Reason.AWS_REFUSED,
        "InvalidDBClusterStateFault",
    )


def test_throttled_stop_is_retried_then_stops(
    aws: AwsStandIn, botocore_waits: list[float]
) -> None:
    _create(aws, "us-east-1", "staging-db")
    account = _open(aws)
    aws.reset_counts()
    aws.fail_next("StopDBInstance", "Throttling", 2)

    outcome = account.act(_instance("available"), Action.STOP)

    assert outcome.kind is OutcomeKind.STOPPED
    assert aws.calls[(CUSTOMER, "StopDBInstance")] == 3
    assert len(botocore_waits) == 2


def test_stop_throttled_beyond_the_retries_is_a_throttled_outcome(
    aws: AwsStandIn, botocore_waits: list[float]
) -> None:
    _create(aws, "us-east-1", "staging-db")
    account = _open(aws)
    aws.reset_counts()
    aws.fail_next("StopDBInstance", "ThrottlingException", MAX_ATTEMPTS)

    outcome = account.act(_instance("available"), Action.STOP)

    assert (outcome.kind, outcome.reason, outcome.detail) == (
        OutcomeKind.FAILED,
        Reason.THROTTLED,
        "ThrottlingException",
    )
    assert aws.calls[(CUSTOMER, "StopDBInstance")] == MAX_ATTEMPTS


def test_access_denied_on_stop_names_the_role(aws: AwsStandIn) -> None:
    """The customer edited the role's policy: the call itself is refused."""
    _create(aws, "us-east-1", "staging-db")
    account = _open(aws)
    aws.fail_next("StopDBInstance", "AccessDenied", status=403)

    outcome = account.act(_instance("available"), Action.STOP)

    assert (outcome.kind, outcome.reason, outcome.detail) == (
        OutcomeKind.FAILED,
        Reason.ROLE_UNAVAILABLE,
        account.role_arn,
    )


def test_instance_stopped_since_the_scan_is_already_stopped(aws: AwsStandIn) -> None:
    """Someone stopped it between list and stop; the state is read again, once."""
    _create(aws, "us-east-1", "staging-db")
    account = _open(aws)
    [instance] = account.scan(["us-east-1"]).instances
    aws.customer_session(CUSTOMER).client("rds").stop_db_instance(
        DBInstanceIdentifier="staging-db"
    )
    aws.reset_counts()

    outcome = account.act(instance, Action.STOP)

    assert instance.status == "available"
    assert outcome.kind is OutcomeKind.ALREADY_STOPPED
    assert aws.calls[(CUSTOMER, "DescribeDBInstances")] == 1


def test_start_without_capacity_is_tried_again_until_it_works(aws: AwsStandIn) -> None:
    _create(aws, "us-east-1", "staging-db")
    clock = FakeClock()
    account = _open(aws, sleep=clock.sleep, clock=clock)
    account.act(_instance("available"), Action.STOP)
    aws.reset_counts()
    aws.fail_next("StartDBInstance", "InsufficientDBInstanceCapacity", 2)

    outcome = account.act(_instance("stopped"), Action.START)

    assert outcome.kind is OutcomeKind.STARTED
    assert aws.calls[(CUSTOMER, "StartDBInstance")] == 3
    assert clock.pauses == [30.0, 60.0]


def test_start_without_capacity_gives_up_after_the_time_allowed(
    aws: AwsStandIn,
) -> None:
    _create(aws, "us-east-1", "staging-db")
    clock = FakeClock()
    account = _open(
        aws,
        capacity_retry_for=timedelta(minutes=2),
        sleep=clock.sleep,
        clock=clock,
    )
    account.act(_instance("available"), Action.STOP)
    aws.reset_counts()
    aws.fail_next("StartDBInstance", "InsufficientDBInstanceCapacity", 4)

    outcome = account.act(_instance("stopped"), Action.START)

    assert (outcome.kind, outcome.reason, outcome.detail) == (
        OutcomeKind.FAILED,
        Reason.NO_CAPACITY,
        "db.t3.micro",
    )
    assert clock.pauses == [30.0, 60.0, 30.0]
    assert aws.calls[(CUSTOMER, "StartDBInstance")] == 4


def test_act_makes_exactly_one_call(aws: AwsStandIn) -> None:
    _create(aws, "us-east-1", "staging-db")
    account = _open(aws)
    aws.reset_counts()

    account.act(_instance("available"), Action.STOP)

    assert sum(aws.calls.values()) == 1


def test_unreachable_aws_during_act_is_an_outcome(
    aws: AwsStandIn, monkeypatch: pytest.MonkeyPatch, botocore_waits: list[float]
) -> None:
    """The endpoint goes down between AssumeRole and the stop: retried, then reported."""
    account = _open(aws)
    monkeypatch.setenv("AWS_ENDPOINT_URL", CLOSED_PORT_URL)

    outcome = account.act(_instance("available"), Action.STOP)

    assert (outcome.kind, outcome.reason) == (
        OutcomeKind.FAILED,
        Reason.AWS_UNREACHABLE,
    )
    assert len(botocore_waits) == MAX_ATTEMPTS - 1


def test_aws_answering_too_slowly_is_unreachable_within_the_timeouts(
    aws: AwsStandIn, botocore_waits: list[float]
) -> None:
    role_arn, external_id = _connect(aws)
    bridge = AwsBridge(REGIONS, connect_timeout=0.2, read_timeout=0.2)
    aws.latency_seconds = 0.5
    started = time.monotonic()

    with pytest.raises(AwsUnreachable) as error:
        bridge.open(role_arn, external_id, "stop", "T0123")

    assert time.monotonic() - started < MAX_ATTEMPTS * 0.2 + 2
    assert type(error.value) is AwsUnreachable
    assert "AWS did not answer" in str(error.value)
    assert len(botocore_waits) == MAX_ATTEMPTS - 1


# --- assuming the role ---------------------------------------------------------------


def test_every_assume_role_carries_the_external_id(aws: AwsStandIn) -> None:
    role_arn, external_id = _connect(aws)
    bridge = AwsBridge(REGIONS)
    aws.reset_counts()

    with bridge.open(role_arn, external_id, "scan", "T0123") as account:
        account.scan(REGIONS)
    with bridge.open(role_arn, external_id, "stop", "T0123"):
        pass

    calls = [call for call in aws.assume_role_calls if call.role_arn == role_arn]
    assert [call.external_id for call in calls] == [external_id, external_id]
    assert [call.role_session_name for call in calls] == [
        "snoozedb-scan-T0123",
        "snoozedb-stop-T0123",
    ]
    assert {call.duration_seconds for call in calls} == {3600}
    assert all(call.allowed for call in calls)


def test_assumed_credentials_act_in_the_customer_account(aws: AwsStandIn) -> None:
    _create(aws, "us-east-1", "staging-db")

    account = _open(aws)

    assert account.aws_account_id == CUSTOMER
    assert [i.ref.aws_account_id for i in account.scan(["us-east-1"]).instances] == [
        CUSTOMER
    ]


def test_deleted_role_names_the_role_arn(aws: AwsStandIn) -> None:
    """R5: the stack is gone; the error names the role and SnoozeDB's account."""
    role_arn, external_id = _connect(aws)
    cloudformation = aws.customer_session(CUSTOMER).client("cloudformation")
    cloudformation.delete_stack(StackName="SnoozeDBAccess")

    with pytest.raises(RoleNotAssumable) as error:
        AwsBridge(REGIONS).open(role_arn, external_id, "stop", "T0123")

    assert error.value.role_arn == role_arn
    assert error.value.trusted_account == SNOOZEDB_ACCOUNT_ID
    assert error.value.aws_code == "AccessDenied"
    assert role_arn in str(error.value)
    assert len([c for c in aws.assume_role_calls if c.role_arn == role_arn]) == 1


def test_wrong_external_id_is_not_assumable(aws: AwsStandIn) -> None:
    role_arn, _ = _connect(aws)

    with pytest.raises(RoleNotAssumable):
        AwsBridge(REGIONS).open(role_arn, str(uuid.uuid4()), "stop", "T0123")


def test_malformed_role_arn_is_refused_before_any_call(aws: AwsStandIn) -> None:
    with pytest.raises(RoleArnMalformed):
        AwsBridge(REGIONS).open("arn:aws:iam::12:user/bob", "x", "stop", "T0123")

    assert aws.assume_role_calls == []


def test_unreachable_sts_is_aws_unreachable(
    aws: AwsStandIn, botocore_waits: list[float]
) -> None:
    role_arn, external_id = _connect(aws)
    bridge = AwsBridge(REGIONS, endpoint_url=CLOSED_PORT_URL)

    with pytest.raises(AwsUnreachable) as error:
        bridge.open(role_arn, external_id, "stop", "T0123")

    assert f"assuming the role `{role_arn}`" in str(error.value)


def test_throttled_sts_is_not_blamed_on_the_role(
    aws: AwsStandIn, botocore_waits: list[float]
) -> None:
    role_arn, external_id = _connect(aws)
    aws.fail_next("AssumeRole", "Throttling", MAX_ATTEMPTS)

    with pytest.raises(AwsThrottled):
        AwsBridge(REGIONS).open(role_arn, external_id, "stop", "T0123")


def test_sts_failing_on_its_side_is_not_blamed_on_the_role(
    aws: AwsStandIn, botocore_waits: list[float]
) -> None:
    role_arn, external_id = _connect(aws)
    aws.fail_next("AssumeRole", "InternalFailure", MAX_ATTEMPTS, status=500)

    with pytest.raises(AwsCallFailed) as error:
        AwsBridge(REGIONS).open(role_arn, external_id, "stop", "T0123")

    assert "(InternalFailure)" in str(error.value)


def test_refused_own_credentials_are_an_operator_problem(aws: AwsStandIn) -> None:
    role_arn, external_id = _connect(aws)
    aws.fail_next("AssumeRole", "InvalidClientTokenId", status=403)

    with pytest.raises(OwnCredentialsRefused) as error:
        AwsBridge(REGIONS).open(role_arn, external_id, "stop", "T0123")

    assert "SnoozeDB's own AWS credentials did not work" in str(error.value)


def test_missing_own_credentials_are_an_operator_problem(
    aws: AwsStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    role_arn, external_id = _connect(aws)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    bridge = AwsBridge(REGIONS, session=boto3.Session(region_name="us-east-1"))

    with pytest.raises(OwnCredentialsRefused) as error:
        bridge.open(role_arn, external_id, "stop", "T0123")

    assert error.value.code == "NoCredentialsError"


def test_invalid_parameters_are_mapped_not_raised(aws: AwsStandIn) -> None:
    """botocore refuses an External ID of one character before sending anything."""
    role_arn, _ = _connect(aws)
    aws.reset_counts()

    with pytest.raises(AwsCallFailed) as error:
        AwsBridge(REGIONS).open(role_arn, "x", "stop", "T0123")

    assert error.value.code == "ParamValidationError"
    assert aws.assume_role_calls == []


def test_closed_session_holds_no_credentials(aws: AwsStandIn) -> None:
    account = _open(aws)

    account.close()

    with pytest.raises(RuntimeError):
        account.scan(["us-east-1"])
    assert "Credentials" not in repr(account)


# --- the bridge itself ---------------------------------------------------------------


def test_own_account_is_asked_once(aws: AwsStandIn) -> None:
    bridge = AwsBridge(REGIONS)

    first = bridge.own_account_id()
    second = bridge.own_account_id()

    assert first == second == SNOOZEDB_ACCOUNT_ID
    assert aws.calls[(SNOOZEDB_ACCOUNT_ID, "GetCallerIdentity")] == 1


def test_given_own_account_needs_no_call(aws: AwsStandIn) -> None:
    bridge = AwsBridge(REGIONS, own_account_id="999999999999")

    assert bridge.own_account_id() == "999999999999"
    assert sum(aws.calls.values()) == 0


def test_no_regions_means_every_rds_region(aws: AwsStandIn) -> None:
    bridge = AwsBridge()

    assert {"us-east-1", "eu-west-1", "ap-southeast-2"} <= set(bridge.regions)


def test_role_session_name_stays_within_sts_limits() -> None:
    name = role_session_name("stop", "T0123 weird/team:" + "x" * 80)

    assert name.startswith("snoozedb-stop-T0123-weird-team-")
    assert len(name) == 64


# --- secrets -------------------------------------------------------------------------


def test_temporary_credentials_never_reach_a_log_record(
    aws: AwsStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    """Even with botocore at DEBUG, which logs whole requests and responses."""
    _create(aws, "us-east-1", "staging-db")
    role_arn, external_id = _connect(aws)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="botocore")
    caplog.set_level(logging.DEBUG, logger="urllib3")

    with AwsBridge(REGIONS).open(role_arn, external_id, "stop", "T0123") as account:
        [instance] = account.scan(["us-east-1"]).instances
        account.act(instance, Action.STOP)
        account.act(instance, Action.START)

    [call] = [c for c in aws.assume_role_calls if c.role_arn == role_arn]
    issued = (call.access_key_id, call.secret_access_key, call.session_token)
    secrets = [secret for secret in issued if secret]
    assert len(secrets) == 3
    logged = [
        f"{record.name}: {record.getMessage()} {record.exc_text or ''}"
        for record in caplog.records
    ]
    assert any(line.startswith("botocore.parsers") for line in logged)
    for line in logged:
        for secret in secrets:
            assert secret not in line, line[:200]


def test_redact_blanks_keys_in_xml_headers_and_dicts() -> None:
    text = (
        "<AccessKeyId>ASIAEXAMPLEEXAMPLE12</AccessKeyId>"
        "<SecretAccessKey>abc/def+ghi</SecretAccessKey>"
        "<SessionToken>FwoGZXIvYXdz</SessionToken> "
        "{'X-Amz-Security-Token': b'FwoGZXIvYXdz', "
        "'Authorization': b'AWS4-HMAC-SHA256 Credential=ASIAEXAMPLEEXAMPLE12/2026'} "
        "x-amz-security-token:FwoGZXIvYXdz\n"
        "{'SecretAccessKey': 'abc/def+ghi'}"
    )

    cleaned = redact(text)

    for secret in ("ASIAEXAMPLEEXAMPLE12", "abc/def+ghi", "FwoGZXIvYXdz"):
        assert secret not in cleaned


@pytest.mark.parametrize(
    ("region", "partition"),
    [("eu-west-1", "aws"), ("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")],
)
def test_own_partition_follows_the_region_snoozedb_asks_sts_in(
    region: str, partition: str
) -> None:
    bridge = AwsBridge(regions=REGIONS, session=boto3.Session(region_name=region))

    assert bridge.partition() == partition
