"""`/snooze admins add|remove|list`: who, besides workspace admins, may connect accounts.

Connecting an account gives a channel the power to stop and start its databases, so
`/snooze connect` and `/snooze disconnect` are kept for workspace admins and owners
(users.info `is_admin`, `is_owner`, `is_primary_owner`) and for the people and user
groups they name here. Only workspace admins and owners change the list. Who is an
admin and who is in a group come from Slack through `Context` callables, so this
module knows nothing of the Web API; when Slack cannot say, the answer is no.
"""

from __future__ import annotations

import re

from bot import messages
from bot.commands import Context, Message, Reply, Request
from bot.domain import AdminGrant, GrantKind

# What Slack sends for a picked mention when the command escapes them.
_USER_MENTION = re.compile(r"^<@(?P<id>[UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_GROUP_MENTION = re.compile(r"^<!subteam\^(?P<id>S[A-Z0-9]+)(?:\|[^>]*)?>$")


def parse_mention(word: str) -> tuple[str, GrantKind] | None:
    """Read an escaped Slack mention of a person or user group.

    Args:
        word: One word of the command, such as `<@U123|ada>` or `<!subteam^S1|@dba>`.

    Returns:
        The user or user group ID and its kind, or None for anything else (a plain
        `@name` arrives when the command does not escape mentions).
    """
    user = _USER_MENTION.match(word)
    if user is not None:
        return user.group("id"), GrantKind.USER
    group = _GROUP_MENTION.match(word)
    if group is not None:
        return group.group("id"), GrantKind.GROUP
    return None


def may_manage(context: Context, request: Request) -> Message | None:
    """Check that the asker may connect and disconnect accounts in their team.

    Named people are checked first (no Slack call), then workspace admin, then the
    named user groups. A Slack failure anywhere that leaves the question open
    refuses with a sentence saying so.

    Args:
        context: Storage and the Slack-backed checks.
        request: Who asked, in which team.

    Returns:
        None when allowed, otherwise the refusal to show.
    """
    grants = context.storage.admin_grants(request.team_id)
    if any(
        g.kind is GrantKind.USER and g.subject_id == request.user_id for g in grants
    ):
        return None
    admin = context.is_admin(request.team_id, request.user_id)
    if admin:
        return None

    unknown = admin is None
    for grant in grants:
        if grant.kind is not GrantKind.GROUP:
            continue
        members = context.group_members(request.team_id, grant.subject_id)
        if members is None:
            unknown = True
        elif request.user_id in members:
            return None
    return Message(
        messages.PERMISSION_UNKNOWN if unknown else messages.MANAGE_NOT_ALLOWED
    )


def handle(context: Context, request: Request, words: list[str]) -> Reply:
    """List the named people and groups, or add or remove one (workspace admins only)."""
    verb = words[0].lower() if words else "list"
    if verb == "list":
        if len(words) > 1:
            problem = messages.ADMINS_LIST_ALONE
            return Reply(Message(messages.usage_error(problem, messages.USAGE_ADMINS)))
        return Reply(Message(_listing(context.storage.admin_grants(request.team_id))))
    if verb not in {"add", "remove"} or len(words) != 2:
        problem = messages.ADMINS_SAY_WHO
        return Reply(Message(messages.usage_error(problem, messages.USAGE_ADMINS)))
    mentioned = parse_mention(words[1])
    if mentioned is None:
        return Reply(Message(messages.admin_not_a_mention(words[1])))
    admin = context.is_admin(request.team_id, request.user_id)
    if admin is None:
        return Reply(Message(messages.PERMISSION_UNKNOWN))
    if not admin:
        return Reply(Message(messages.ADMINS_CHANGE_NOT_ALLOWED))

    subject_id, kind = mentioned
    who = messages.subject(subject_id, kind is GrantKind.GROUP)
    storage = context.storage
    if verb == "add":
        if not storage.grant_admin(request.team_id, subject_id, kind, request.user_id):
            return Reply(Message(messages.admin_already(who)))
        text = messages.admin_added(request.user_id, who)
    else:
        if not storage.revoke_admin(request.team_id, subject_id):
            return Reply(Message(messages.admin_not_named(who)))
        text = messages.admin_removed(request.user_id, who)
    return Reply(Message(text, in_channel=True))


def _listing(grants: list[AdminGrant]) -> str:
    if not grants:
        return messages.ADMINS_NONE
    whos = [messages.subject(g.subject_id, g.kind is GrantKind.GROUP) for g in grants]
    return messages.admins_list(whos)
