"""The customer's CloudFormation template grants exactly what SnoozeDB needs, to SnoozeDB only."""

from __future__ import annotations

import json
import re
import shlex
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.exceptions import ClientError
from cfnlint.api import lint
from cfnlint.decode.decode import decode_str

from bot import cli
from bot.standins.aws import SNOOZEDB_ACCOUNT_ID, AwsStandIn
from bot.template import deploy_command, quick_create_url, render_template

CUSTOMER = "210987654321"
EXTERNAL_ID = "3f0c1f9e-8a51-4c2b-9d6e-0b7f2a4e5c11"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    decoded, errors = decode_str(render_template())
    assert not errors
    assert decoded is not None
    return dict(decoded)


def _role(template: dict[str, Any]) -> dict[str, Any]:
    roles = [
        resource
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::IAM::Role"
    ]
    assert len(roles) == 1
    return dict(roles[0]["Properties"])


def test_cfn_lint_finds_no_error_or_warning() -> None:
    matches = lint(render_template(), regions=["us-east-1", "eu-west-1"])

    assert [str(match) for match in matches] == []


def test_the_template_creates_only_the_role(template: dict[str, Any]) -> None:
    types = [resource["Type"] for resource in template["Resources"].values()]

    assert types == ["AWS::IAM::Role"]
    assert set(template["Outputs"]) == {"RoleArn"}


def test_the_role_may_do_exactly_the_four_rds_actions(template: dict[str, Any]) -> None:
    role = _role(template)

    statements = [
        statement
        for policy in role["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
    ]

    assert "ManagedPolicyArns" not in role
    assert len(statements) == 1
    assert statements[0]["Effect"] == "Allow"
    assert sorted(statements[0]["Action"]) == [
        "rds:DescribeDBInstances",
        "rds:ListTagsForResource",
        "rds:StartDBInstance",
        "rds:StopDBInstance",
    ]
    assert statements[0]["Resource"] == "*"


def test_only_the_trusted_account_with_the_external_id_may_assume_it(
    template: dict[str, Any],
) -> None:
    trust = _role(template)["AssumeRolePolicyDocument"]["Statement"]

    assert len(trust) == 1
    assert trust[0]["Effect"] == "Allow"
    assert trust[0]["Action"] == "sts:AssumeRole"
    assert trust[0]["Principal"] == {
        "AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${TrustedAccountId}:root"}
    }
    assert trust[0]["Condition"] == {
        "StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}
    }


def test_parameters_accept_a_uuid_and_twelve_digits_only(
    template: dict[str, Any],
) -> None:
    external = re.compile(template["Parameters"]["ExternalId"]["AllowedPattern"])
    account = re.compile(template["Parameters"]["TrustedAccountId"]["AllowedPattern"])

    assert external.fullmatch(str(uuid.uuid4()))
    assert not external.fullmatch("not-a-uuid")
    assert not external.fullmatch(str(uuid.uuid4()) + " ")
    assert account.fullmatch(SNOOZEDB_ACCOUNT_ID)
    assert not account.fullmatch("12345678901")


def test_quick_create_url_carries_the_encoded_parameters() -> None:
    template_url = "https://example-bucket.s3.amazonaws.com/snoozedb role.yaml?v=1&x=2"

    url = quick_create_url(template_url, "eu-west-1", EXTERNAL_ID, SNOOZEDB_ACCOUNT_ID)
    parts = urlsplit(url)
    route, _, query = parts.fragment.partition("?")
    parameters = parse_qs(query)

    assert parts.netloc == "eu-west-1.console.aws.amazon.com"
    assert parse_qs(parts.query) == {"region": ["eu-west-1"]}
    assert route == "/stacks/quickcreate"
    assert parameters == {
        "templateURL": [template_url],
        "stackName": ["SnoozeDBAccess"],
        "param_ExternalId": [EXTERNAL_ID],
        "param_TrustedAccountId": [SNOOZEDB_ACCOUNT_ID],
    }
    assert "snoozedb%20role.yaml%3Fv%3D1%26x%3D2" in url


def test_deploy_command_names_the_parameters_and_the_capability() -> None:
    command = deploy_command(
        EXTERNAL_ID, SNOOZEDB_ACCOUNT_ID, stack_name="SnoozeDBStaging"
    )

    words = shlex.split(command)

    assert words[:3] == ["aws", "cloudformation", "deploy"]
    assert words[words.index("--template-file") + 1] == "snoozedb-role.yaml"
    assert words[words.index("--stack-name") + 1] == "SnoozeDBStaging"
    assert words[words.index("--capabilities") + 1] == "CAPABILITY_NAMED_IAM"
    assert words[words.index("--parameter-overrides") + 1 :] == [
        f"ExternalId={EXTERNAL_ID}",
        f"TrustedAccountId={SNOOZEDB_ACCOUNT_ID}",
    ]
    assert "\n" not in command


def test_snoozedb_template_prints_the_template(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = cli.main(["template"])

    assert status == 0
    assert capsys.readouterr().out == render_template()


def test_deployed_role_is_assumable_with_the_external_id_only(aws: AwsStandIn) -> None:
    role_arn = aws.deploy_role_stack(CUSTOMER, EXTERNAL_ID, SNOOZEDB_ACCOUNT_ID)
    sts = boto3.client("sts")

    granted = sts.assume_role(
        RoleArn=role_arn, RoleSessionName="snoozedb-test-T1", ExternalId=EXTERNAL_ID
    )
    with pytest.raises(ClientError) as refused:
        sts.assume_role(
            RoleArn=role_arn,
            RoleSessionName="snoozedb-test-T1",
            ExternalId=str(uuid.uuid4()),
        )

    assert role_arn == f"arn:aws:iam::{CUSTOMER}:role/SnoozeDBAccess"
    assert granted["AssumedRoleUser"]["Arn"].startswith(f"arn:aws:sts::{CUSTOMER}:")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"


def test_deployed_role_carries_only_the_inline_rds_policy(aws: AwsStandIn) -> None:
    aws.deploy_role_stack(CUSTOMER, EXTERNAL_ID, SNOOZEDB_ACCOUNT_ID)
    iam = aws.customer_session(CUSTOMER).client("iam")

    inline = iam.list_role_policies(RoleName="SnoozeDBAccess")["PolicyNames"]
    attached = iam.list_attached_role_policies(RoleName="SnoozeDBAccess")
    document = iam.get_role_policy(RoleName="SnoozeDBAccess", PolicyName=inline[0])

    assert inline == ["SnoozeDBStopStartRDS"]
    assert attached["AttachedPolicies"] == []
    policy = document["PolicyDocument"]
    # moto hands back CloudFormation-made policies as Python-repr text, AWS as a dict.
    text = policy if isinstance(policy, str) else json.dumps(policy)
    actions = set(re.findall(r"""['"]([a-z0-9-]+:[A-Za-z*]+)['"]""", text))
    assert actions == {
        "rds:DescribeDBInstances",
        "rds:ListTagsForResource",
        "rds:StartDBInstance",
        "rds:StopDBInstance",
    }
