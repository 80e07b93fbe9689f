"""`/snooze disconnect [aws-account-id]`: forget a connection made in this channel."""

from __future__ import annotations

from bot import messages
from bot.commands import Context, Message, Reply, Request
from bot.commands.acting import user_zone
from bot.commands.admins import may_manage


def handle(context: Context, request: Request, words: list[str]) -> Reply:
    """Forget one connected account (or the pending one) and say how to end access."""
    refusal = may_manage(context, request)
    if refusal is not None:
        return Reply(refusal)
    accounts = context.storage.accounts(request.team_id, request.channel_id)
    pending = context.storage.pending(request.team_id, request.channel_id)
    if len(words) > 1:
        return Reply(
            Message(
                messages.usage_error(
                    messages.NAME_ONE_ACCOUNT, messages.USAGE_DISCONNECT
                )
            )
        )
    if not accounts:
        if pending is None:
            return Reply(Message(messages.NO_ACCOUNTS))
        context.storage.remove_account(pending.id)
        return Reply(Message(messages.PENDING_DISCONNECTED))

    choices = [a.aws_account_id for a in accounts]
    if not words and len(accounts) > 1:
        return Reply(Message(messages.disconnect_which(choices)))
    if words:
        chosen = [a for a in accounts if words[0] in (a.aws_account_id, a.role_arn)]
        if not chosen:
            return Reply(Message(messages.disconnect_unknown(words[0], choices)))
        account = chosen[0]
    else:
        account = accounts[0]

    # The account's pending ways back go with it: say which, since a database
    # stopped "for 2h" now stays stopped. They follow the reply, as the asker's
    # zone may need a Slack call that must not delay it.
    dropped = context.storage.remove_account(account.id)
    if pending is not None and len(accounts) == 1:
        # The channel is left with nothing connected: the External ID handed out
        # for a further account goes too, so a later `/snooze connect` starts afresh.
        context.storage.remove_account(pending.id)
    text = messages.disconnected(
        account.aws_account_id, account.role_arn, request.user_id
    )
    if not dropped:
        return Reply(Message(text, in_channel=True))

    def cancelled() -> list[Message]:
        zone = user_zone(context, request.user_id)
        lines = [
            messages.dropped_one_off(o.action, o.instance, o.due_at.astimezone(zone))
            for o in dropped
        ]
        return [
            Message("\n".join([messages.ONE_OFFS_DROPPED, *lines]), in_channel=True)
        ]

    return Reply(Message(text, in_channel=True), cancelled)
