"""`/snooze connect [role-arn]`: issue an External ID, then verify the customer's role.

The External ID is generated here, never typed by a user: it is what stops another
Slack team from pointing SnoozeDB at a role that is not theirs (the confused deputy).

An account whose role could not be assumed (its stack deleted or changed) is repaired
rather than connected anew: `/snooze connect` shows that account's own External ID and
stack name, so redeploying the stack restores the same role ARN, and pasting that ARN
checks it again and makes the account healthy.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot import blocks, messages
from bot.commands import Context, Message, Reply, Request
from bot.commands.admins import may_manage
from bot.commands.status import instance_lines
from bot.domain import Account, AccountStatus, RoleArn
from bot.errors import RoleArnMalformed, SnoozeError
from bot.template import (
    DEFAULT_STACK_NAME,
    deploy_command,
    quick_create_url,
    render_template,
)

OPEN_MODAL = "connect_open_modal"
TEMPLATE_REGION = "us-east-1"


def handle(context: Context, request: Request, words: list[str]) -> Reply:
    """Give the role template and External ID, or verify a pasted role ARN."""
    if len(words) > 1:
        return Reply(
            Message(
                messages.usage_error(
                    messages.PASTE_ONLY_THE_ROLE_ARN, messages.USAGE_CONNECT
                )
            )
        )
    role = RoleArn.parse(words[0]) if words else None
    if words and role is None:
        return Reply(Message(str(RoleArnMalformed(words[0]))))
    if role is not None and role.partition != context.own_partition:
        return Reply(Message(elsewhere(context, role)))
    refusal = may_manage(context, request)
    if refusal is not None:
        return Reply(refusal)
    if role is not None:
        working = connected_here(context, request.team_id, request.channel_id, role)
        if working is not None:
            # Nothing to check: a new External ID here would only tempt the user
            # to redeploy a role that works, breaking it.
            return Reply(Message(messages.already_connected(working, role.arn)))
    broken = needing_attention(context, request.team_id, request.channel_id)
    if role is None and broken:
        return Reply(instructions(context, broken[0]))
    repaired = [a for a in broken if role is not None and a.role_arn == role.arn]
    if role is not None and repaired:
        return Reply(
            Message(messages.connect_checking(role.arn)),
            lambda: verify(context, repaired[0], role, request.user_id),
        )

    account, created = context.storage.pending_account(
        request.team_id, request.channel_id, request.user_id
    )
    if role is None or created:
        connected = [
            a.aws_account_id
            for a in context.storage.accounts(request.team_id, request.channel_id)
            if a.status is AccountStatus.ACTIVE
        ]
        return Reply(
            instructions(
                context, account, first_deploy=role is not None, connected=connected
            )
        )
    return Reply(
        Message(messages.connect_checking(role.arn)),
        lambda: verify(context, account, role, request.user_id),
    )


def elsewhere(context: Context, role: RoleArn) -> str:
    """Why a role of another AWS partition cannot be connected."""
    return messages.role_other_partition(
        role.arn, role.partition, context.own_partition
    )


def connected_here(
    context: Context, team_id: str, channel_id: str, role: RoleArn
) -> str | None:
    """The AWS account this channel already reaches through `role`, if active."""
    return next(
        (
            account.aws_account_id
            for account in context.storage.accounts(team_id, channel_id)
            if account.status is AccountStatus.ACTIVE and account.role_arn == role.arn
        ),
        None,
    )


def needing_attention(context: Context, team_id: str, channel_id: str) -> list[Account]:
    """The channel's accounts whose role could not be assumed the last time."""
    return [
        account
        for account in context.storage.accounts(team_id, channel_id)
        if account.status is AccountStatus.NEEDS_ATTENTION
    ]


def instructions(
    context: Context,
    account: Account,
    *,
    first_deploy: bool = False,
    connected: Sequence[str] = (),
) -> Message:
    """The template, quick-create link, CLI command and paste button for `account`.

    For an account needing attention the stack name is its role's name, so that
    redeploying gives back the role ARN the account already has. `connected` names
    the AWS accounts already working in the channel: the reply says they stay
    connected and that the stack belongs in another account.
    """
    trusted = context.own_account_id
    external_id = account.external_id
    role = RoleArn.parse(account.role_arn)
    stack = role.name.rsplit("/", 1)[-1] if role is not None else DEFAULT_STACK_NAME
    repairing = account.status is AccountStatus.NEEDS_ATTENTION
    title = messages.CONNECT_REPAIR_TITLE if repairing else messages.CONNECT_TITLE
    parts = [blocks.header(title)]
    if repairing:
        parts.append(
            blocks.section(
                messages.connect_repair(account.aws_account_id, account.role_arn, stack)
            )
        )
    if connected and not repairing:
        parts.append(blocks.section(messages.connect_another(connected)))
    parts.append(blocks.section(messages.connect_intro(external_id, trusted)))
    if context.template_url:
        url = quick_create_url(
            context.template_url, TEMPLATE_REGION, external_id, trusted, stack
        )
        parts.append(blocks.section(messages.connect_quick_create(url)))
    parts.append(blocks.section(messages.CONNECT_NO_TEMPLATE_URL))
    parts.append(
        blocks.section(
            messages.connect_cli(deploy_command(external_id, trusted, stack))
        )
    )
    parts.append(blocks.section(messages.connect_template(render_template())))
    if repairing:
        parts.append(blocks.section(messages.connect_repair_then(account.role_arn)))
    else:
        parts.append(blocks.section(messages.CONNECT_THEN))
    parts.append(
        blocks.actions(
            blocks.button(
                messages.CONNECT_BUTTON, OPEN_MODAL, str(account.id), style="primary"
            )
        )
    )
    if first_deploy:
        parts.append(blocks.context(messages.connect_first_deploy()))
    text = messages.connect_intro(external_id, trusted)
    if repairing:
        text = messages.connect_repair(account.aws_account_id, account.role_arn, stack)
    return Message(text, parts)


def verify(
    context: Context, account: Account, role: RoleArn, user_id: str
) -> Sequence[Message]:
    """Assume the pasted role, list its databases, and activate the connection."""
    try:
        found = context.operations.verify(account, role.arn)
    except SnoozeError as error:
        return [Message(str(error))]

    if context.storage.role_arn_taken(role.arn, account.id):
        return [Message(messages.role_taken())]
    active = context.storage.activate(
        account.id, role.arn, role.aws_account_id, found.regions_with_instances
    )
    if active is None:
        return [Message(messages.role_taken())]

    if account.status is AccountStatus.NEEDS_ATTENTION:
        lines = [messages.reconnected(role.arn, role.aws_account_id, user_id)]
    else:
        lines = [messages.connected(role.arn, role.aws_account_id, user_id)]
    lines.extend(instance_lines(found.instances))
    if not found.instances:
        lines.append(messages.nothing_found(len(context.operations.bridge.regions)))
    return [
        Message(
            "\n".join(lines),
            blocks.sections(lines)[: blocks.MESSAGE_BLOCK_LIMIT],
            in_channel=True,
        )
    ]
