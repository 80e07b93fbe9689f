"""`/snooze connect [role-arn]`: issue an External ID, then verify the customer's role.

The External ID is generated here, never typed by a user: it is what stops another
Slack team from pointing SnoozeDB at a role that is not theirs (the confused deputy).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot import blocks, messages
from bot.commands import Context, Message, Reply, Request
from bot.commands.admins import may_manage
from bot.commands.status import instance_lines
from bot.domain import Account, RoleArn
from bot.errors import RoleArnMalformed, SnoozeError
from bot.template import deploy_command, quick_create_url, render_template

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
    refusal = may_manage(context, request)
    if refusal is not None:
        return Reply(refusal)

    account, created = context.storage.pending_account(
        request.team_id, request.channel_id, request.user_id
    )
    if role is None or created:
        return Reply(instructions(context, account, first_deploy=role is not None))
    return Reply(
        Message(messages.connect_checking(role.arn)),
        lambda: verify(context, account, role, request.user_id),
    )


def instructions(
    context: Context, account: Account, *, first_deploy: bool = False
) -> Message:
    """The template, quick-create link, CLI command and paste button for `account`."""
    trusted = context.own_account_id
    parts = [blocks.header(messages.CONNECT_TITLE)]
    parts.append(blocks.section(messages.connect_intro(account.external_id, trusted)))
    if context.template_url:
        url = quick_create_url(
            context.template_url, TEMPLATE_REGION, account.external_id, trusted
        )
        parts.append(blocks.section(messages.connect_quick_create(url)))
    parts.append(blocks.section(messages.CONNECT_NO_TEMPLATE_URL))
    parts.append(
        blocks.section(
            messages.connect_cli(deploy_command(account.external_id, trusted))
        )
    )
    parts.append(blocks.section(messages.connect_template(render_template())))
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
    text = messages.connect_intro(account.external_id, trusted)
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
