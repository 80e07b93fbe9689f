"""`/snooze status [db | tag:KEY=VALUE]` (alias `list`): the channel's databases."""

from __future__ import annotations

from collections.abc import Sequence

from bot import blocks, messages, rules
from bot.commands import Context, Message, Reply, Request
from bot.commands.acting import target_refusal
from bot.domain import Instance
from bot.errors import SnoozeError
from bot.operations import DENIED_PREFIX

MAX_LINES = 300


def verdict(instance: Instance) -> str:
    """Whether the instance can be stopped, or why not, in a few words."""
    refusal = rules.why_not_stoppable(instance)
    if refusal is not None:
        return messages.not_stoppable(refusal.reason, refusal.detail)
    if instance.excluded:
        return messages.EXCLUDED_NOTE
    return messages.STOPPABLE


def instance_lines(instances: Sequence[Instance]) -> list[str]:
    """One line per instance, sorted by region and identifier."""
    ordered = sorted(instances, key=lambda i: (i.ref.region, i.identifier))
    return [messages.instance_line(i, verdict(i)) for i in ordered]


def handle(context: Context, request: Request, words: list[str]) -> Reply:
    """Reply at once, then list every instance of the channel's accounts."""
    if len(words) > 1:
        return Reply(
            Message(
                messages.usage_error(
                    messages.NAME_AT_MOST_ONE_DATABASE, messages.USAGE_STATUS
                )
            )
        )
    target = words[0] if words else None
    refusal = None if target is None else target_refusal(target)
    if refusal is not None:
        return Reply(Message(refusal))
    accounts = context.storage.accounts(request.team_id, request.channel_id)
    if not accounts:
        return Reply(Message(messages.NO_ACCOUNTS))

    def later() -> list[Message]:
        survey = context.operations.survey(
            accounts, "status", all_regions=target is None
        )
        lines: list[str] = []
        if target is not None:
            try:
                found = rules.resolve(target, survey.instances)
            except SnoozeError as error:
                return [Message(str(error))]
            # Only a tag selector finds nothing without raising; say so.
            lines = instance_lines(found) or [messages.nothing_matched(target)]
            lines.extend(problem.sentence for problem in survey.problems)
            return [_message(lines)]

        for account in accounts:
            problem = next(
                (p for p in survey.problems if p.account.id == account.id), None
            )
            if problem is not None:
                lines.append(
                    messages.account_needs_attention(
                        account.aws_account_id, problem.sentence
                    )
                )
                continue
            mine = survey.instances_of(account)
            if account.attention.startswith(DENIED_PREFIX):
                # The role can be assumed, but its policy refused a stop or start.
                lines.append(
                    messages.account_denied(account, len(mine), account.attention)
                )
            else:
                lines.append(messages.account_heading(account, len(mine)))
            lines.extend(instance_lines(mine))
        return [_message(lines)]

    return Reply(Message(messages.STATUS_WORKING), later)


def _message(lines: list[str]) -> Message:
    shown = lines[:MAX_LINES]
    if len(lines) > MAX_LINES:
        shown.append(messages.status_truncated(len(lines) - MAX_LINES))
    body = blocks.sections(shown)[: blocks.MESSAGE_BLOCK_LIMIT]
    return Message("\n".join(shown), body)
