"""What `/snooze stop` and `/snooze start` share: act now, report every outcome.

The result goes to the channel and names who asked, since stopping a shared database
is something the whole team should be able to see. Errors go to the asker only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from bot import blocks, messages
from bot.commands import Context, Message, Reply, Request
from bot.domain import Action, Outcome, OutcomeKind
from bot.errors import SnoozeError
from bot.operations import ActionReport
from bot.rules import TagSelector

CONFIRM = "confirm_action"


def handle(context: Context, request: Request, words: list[str], action: Action) -> Reply:
    """Parse `<db>` and act on it outside the three-second window."""
    usage = messages.USAGE_STOP if action is Action.STOP else messages.USAGE_START
    if len(words) != 1:
        problem = "Name the database." if not words else "Name one database, or a tag:KEY=VALUE."
        return Reply(Message(messages.usage_error(problem, usage)))
    accounts = context.storage.accounts(request.team_id, request.channel_id)
    if not accounts:
        return Reply(Message(messages.NO_ACCOUNTS))

    target = words[0]
    return Reply(
        Message(messages.working(action, target)),
        lambda: run(context, request, action, target, confirmed=False),
    )


def run(
    context: Context, request: Request, action: Action, target: str, *, confirmed: bool
) -> Sequence[Message]:
    """Act on `target` in the channel's accounts and turn the report into messages."""
    accounts = context.storage.accounts(request.team_id, request.channel_id)
    if not accounts:
        return [Message(messages.NO_ACCOUNTS)]
    try:
        report = context.operations.act(
            accounts,
            target,
            action,
            actor=f"user:{request.user_id}",
            manual=TagSelector.parse(target) is None,
            confirmed=confirmed,
        )
    except SnoozeError as error:
        return [Message(str(error))]
    return report_messages(report, request.user_id)


def report_messages(report: ActionReport, user_id: str) -> list[Message]:
    """The channel post of outcomes, plus confirmation requests and problems."""
    said: list[Message] = []
    public = [o for o in report.outcomes if o.kind is not OutcomeKind.NEEDS_CONFIRMATION]
    if public:
        lines = [messages.action_heading(user_id, report.action, report.target)]
        lines.extend(messages.outcome_sentence(o) for o in public)
        said.append(Message("\n".join(lines), blocks.sections(lines), in_channel=True))
    for outcome in report.outcomes:
        if outcome.kind is OutcomeKind.NEEDS_CONFIRMATION:
            said.append(_confirmation(outcome))
    for problem in report.problems:
        said.append(Message(problem.sentence, in_channel=problem.newly_broken))
    if not report.outcomes and not report.problems:
        said.append(Message(messages.nothing_matched(report.target)))
    return said


def _confirmation(outcome: Outcome) -> Message:
    sentence = messages.outcome_sentence(outcome)
    value = json.dumps({"action": outcome.action.value, "target": outcome.ref.qualified})
    button = blocks.button(messages.confirm_button(outcome.action), CONFIRM, value, style="danger")
    return Message(sentence, [blocks.section(sentence), blocks.actions(button)])


def confirmed(context: Context, request: Request, value: str) -> Reply:
    """The "Stop anyway" button: act on the excluded instance it names."""
    try:
        chosen = json.loads(value)
        action = Action(chosen["action"])
        target = str(chosen["target"])
    except (ValueError, KeyError, TypeError):
        return Reply(Message(messages.confirm_expired()))
    return Reply(
        Message(messages.working(action, target)),
        lambda: run(context, request, action, target, confirmed=True),
    )
