"""The AWS stand-in refuses the AssumeRole calls real AWS refuses, and lets the rest through.

These tests talk to the stand-in with plain boto3, not through the bot, so they pin
down what the stand-in itself guarantees.
"""

from __future__ import annotations

import json
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from bot.standins.aws import SNOOZEDB_ACCOUNT_ID, AwsStandIn

CUSTOMER = "210987654321"
OTHER = "333333333333"


def _assume(
    session: boto3.Session, role_arn: str, external_id: str | None = None
) -> dict:
    arguments = {"RoleArn": role_arn, "RoleSessionName": "snoozedb-test-T1"}
    if external_id is not None:
        arguments["ExternalId"] = external_id
    return session.client("sts").assume_role(**arguments)["Credentials"]


def _refusal(error: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = error.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


def test_right_external_id_gives_credentials_in_the_role_account(
    aws: AwsStandIn,
) -> None:
    external_id = str(uuid.uuid4())
    role_arn = aws.deploy_role_stack(CUSTOMER, external_id, SNOOZEDB_ACCOUNT_ID)

    credentials = _assume(boto3.Session(), role_arn, external_id)
    assumed = boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    identity = assumed.client("sts").get_caller_identity()

    assert identity["Account"] == CUSTOMER
    assert aws.assume_role_calls[-1].allowed
    assert aws.assume_role_calls[-1].access_key_id == credentials["AccessKeyId"]


def test_wrong_external_id_is_refused_like_aws(aws: AwsStandIn) -> None:
    role_arn = aws.deploy_role_stack(CUSTOMER, str(uuid.uuid4()), SNOOZEDB_ACCOUNT_ID)

    with pytest.raises(ClientError) as error:
        _assume(boto3.Session(), role_arn, str(uuid.uuid4()))

    code, status, message = _refusal(error)
    assert (code, status) == ("AccessDenied", 403)
    assert message == (
        f"User: arn:aws:sts::{SNOOZEDB_ACCOUNT_ID}:user/moto is not authorized to "
        f"perform: sts:AssumeRole on resource: {role_arn}"
    )
    assert not aws.assume_role_calls[-1].allowed


def test_missing_external_id_is_refused(aws: AwsStandIn) -> None:
    role_arn = aws.deploy_role_stack(CUSTOMER, str(uuid.uuid4()), SNOOZEDB_ACCOUNT_ID)

    with pytest.raises(ClientError) as error:
        _assume(boto3.Session(), role_arn)

    assert _refusal(error)[:2] == ("AccessDenied", 403)
    assert aws.assume_role_calls[-1].external_id is None


def test_missing_role_is_refused(aws: AwsStandIn) -> None:
    role_arn = f"arn:aws:iam::{CUSTOMER}:role/SnoozeDBAccess"

    with pytest.raises(ClientError) as error:
        _assume(boto3.Session(), role_arn, str(uuid.uuid4()))

    assert _refusal(error)[:2] == ("AccessDenied", 403)
    assert aws.assume_role_calls[-1].refusal == "the role does not exist"


def test_trust_policy_naming_another_account_is_refused(aws: AwsStandIn) -> None:
    external_id = str(uuid.uuid4())
    role_arn = aws.deploy_role_stack(CUSTOMER, external_id, OTHER)

    with pytest.raises(ClientError) as error:
        _assume(boto3.Session(), role_arn, external_id)

    assert _refusal(error)[:2] == ("AccessDenied", 403)


def test_a_caller_from_another_account_is_refused_even_with_the_external_id(
    aws: AwsStandIn,
) -> None:
    """The confused deputy: someone else's account knows the External ID."""
    external_id = str(uuid.uuid4())
    role_arn = aws.deploy_role_stack(CUSTOMER, external_id, SNOOZEDB_ACCOUNT_ID)

    with pytest.raises(ClientError) as error:
        _assume(aws.customer_session(OTHER), role_arn, external_id)

    assert _refusal(error)[:2] == ("AccessDenied", 403)
    assert aws.assume_role_calls[-1].caller_account_id == OTHER


def test_bare_account_principal_and_listed_external_ids_are_understood(
    aws: AwsStandIn,
) -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": {
            "Effect": "Allow",
            "Principal": {"AWS": [OTHER, SNOOZEDB_ACCOUNT_ID]},
            "Action": ["sts:AssumeRole"],
            "Condition": {"StringEquals": {"sts:ExternalId": ["one-id", "two-id"]}},
        },
    }
    iam = aws.customer_session(CUSTOMER).client("iam")
    role = iam.create_role(
        RoleName="Handmade", AssumeRolePolicyDocument=json.dumps(trust)
    )

    credentials = _assume(boto3.Session(), role["Role"]["Arn"], "two-id")

    assert credentials["AccessKeyId"]


def test_duration_above_the_role_maximum_is_refused(aws: AwsStandIn) -> None:
    external_id = str(uuid.uuid4())
    role_arn = aws.deploy_role_stack(CUSTOMER, external_id, SNOOZEDB_ACCOUNT_ID)

    with pytest.raises(ClientError) as error:
        boto3.client("sts").assume_role(
            RoleArn=role_arn,
            RoleSessionName="too-long",
            ExternalId=external_id,
            DurationSeconds=7200,
        )

    assert _refusal(error)[:2] == ("ValidationError", 400)


def test_organization_access_role_reaches_any_account(aws: AwsStandIn) -> None:
    session = aws.customer_session(OTHER)

    identity = session.client("sts").get_caller_identity()

    assert identity["Account"] == OTHER
    assert aws.assume_role_calls[-1].role_arn.endswith(
        ":role/OrganizationAccountAccessRole"
    )


def test_injected_faults_fail_the_next_calls_then_stop(aws: AwsStandIn) -> None:
    no_retries = Config(retries={"total_max_attempts": 1, "mode": "standard"})
    rds = aws.customer_session(CUSTOMER).client("rds", config=no_retries)
    aws.fail_next("DescribeDBInstances", "Throttling", account_id=CUSTOMER)

    with pytest.raises(ClientError) as error:
        rds.describe_db_instances()
    rds.describe_db_instances()

    assert error.value.response["Error"]["Code"] == "Throttling"
    assert aws.calls[(CUSTOMER, "DescribeDBInstances")] == 2
    assert aws.calls_by_region[(CUSTOMER, "us-east-1", "DescribeDBInstances")] == 2


def test_instance_status_can_be_set_on_the_backend(aws: AwsStandIn) -> None:
    rds = aws.customer_session(CUSTOMER, "eu-west-1").client("rds")
    rds.create_db_instance(
        DBInstanceIdentifier="staging-db",
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        MasterUsername="admin",
        MasterUserPassword="password1234",
    )

    aws.set_instance_status(CUSTOMER, "eu-west-1", "staging-db", "backing-up")
    described = rds.describe_db_instances(DBInstanceIdentifier="staging-db")

    assert described["DBInstances"][0]["DBInstanceStatus"] == "backing-up"


def test_setting_the_status_of_a_missing_instance_says_so(aws: AwsStandIn) -> None:
    with pytest.raises(LookupError):
        aws.set_instance_status(CUSTOMER, "eu-west-1", "nothing-here", "stopped")


def test_deploying_the_stack_again_makes_the_role_trust_only_the_new_external_id(
    aws: AwsStandIn,
) -> None:
    """moto's update_stack keeps the old trust policy; redeploying must not."""
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    role_arn = aws.deploy_role_stack(CUSTOMER, first, SNOOZEDB_ACCOUNT_ID)

    again = aws.deploy_role_stack(CUSTOMER, second, SNOOZEDB_ACCOUNT_ID)

    assert again == role_arn == aws.role_stack_arn(CUSTOMER)
    assert _assume(boto3.Session(), role_arn, second)["AccessKeyId"]
    with pytest.raises(ClientError) as error:
        _assume(boto3.Session(), role_arn, first)
    assert _refusal(error)[0] == "AccessDenied"


def test_a_stack_never_deployed_has_no_role_arn(aws: AwsStandIn) -> None:
    assert aws.role_stack_arn(CUSTOMER) is None
