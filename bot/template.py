"""The CloudFormation template customers deploy, and the two ways to deploy it.

The template (`role_template.yaml`, shipped inside the package) creates the one IAM
role SnoozeDB assumes: trusted only by SnoozeDB's account, only with the channel's
External ID, and allowed only to describe, stop and start RDS DB instances.
"""

from __future__ import annotations

import shlex
from importlib import resources
from typing import Literal
from urllib.parse import quote, urlencode

TEMPLATE_RESOURCE = "role_template.yaml"
TEMPLATE_FILE_NAME = "snoozedb-role.yaml"
DEFAULT_STACK_NAME = "SnoozeDBAccess"

# The role is named after the stack, so deploying it needs the named-IAM capability.
CAPABILITY: Literal["CAPABILITY_NAMED_IAM"] = "CAPABILITY_NAMED_IAM"


def render_template() -> str:
    """Return the customer-facing CloudFormation template as YAML text.

    Returns:
        The template, exactly as `snoozedb template` prints it.
    """
    return (
        resources.files("bot").joinpath(TEMPLATE_RESOURCE).read_text(encoding="utf-8")
    )


def quick_create_url(
    template_url: str,
    region: str,
    external_id: str,
    trusted_account: str,
    stack_name: str = DEFAULT_STACK_NAME,
) -> str:
    """Return a CloudFormation console link that opens the stack form pre-filled.

    Args:
        template_url: Where the console can fetch the template (an S3 HTTPS URL).
        region: The region whose console opens, for example `eu-west-1`.
        external_id: The External ID issued to the channel.
        trusted_account: SnoozeDB's own AWS account id.
        stack_name: The stack name, which also becomes the role name.

    Returns:
        The quick-create URL, every parameter URL-encoded.
    """
    query = urlencode(
        {
            "templateURL": template_url,
            "stackName": stack_name,
            "param_ExternalId": external_id,
            "param_TrustedAccountId": trusted_account,
        },
        quote_via=quote,
        safe="",
    )
    region_part = quote(region, safe="")
    return (
        f"https://{region_part}.console.aws.amazon.com/cloudformation/home"
        f"?region={region_part}#/stacks/quickcreate?{query}"
    )


def deploy_command(
    external_id: str, trusted_account: str, stack_name: str = DEFAULT_STACK_NAME
) -> str:
    """Return the one-line AWS CLI command that deploys the template.

    The command expects the template saved as `snoozedb-role.yaml` in the current
    directory (`snoozedb template > snoozedb-role.yaml`).

    Args:
        external_id: The External ID issued to the channel.
        trusted_account: SnoozeDB's own AWS account id.
        stack_name: The stack name, which also becomes the role name.

    Returns:
        A shell-safe `aws cloudformation deploy` command.
    """
    words = [
        "aws",
        "cloudformation",
        "deploy",
        "--template-file",
        TEMPLATE_FILE_NAME,
        "--stack-name",
        stack_name,
        "--capabilities",
        CAPABILITY,
        "--parameter-overrides",
        f"ExternalId={external_id}",
        f"TrustedAccountId={trusted_account}",
    ]
    return " ".join(shlex.quote(word) for word in words)
