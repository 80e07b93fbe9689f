"""`/snooze next`: the channel's coming actions, from schedules, one-offs and overrides.

Needs no AWS: direct targets are listed by name, tag selectors by their tag ("databases
tagged `team=qa`") rather than by scanning for the instances they match today, and so
are saved schedules that instances follow through their `snoozedb:schedule` tag. A
keep-running override holds a direct target's transitions until it ends. Times of a
schedule are shown on its own clock; a one-off's on the asker's clock.
"""

from __future__ import annotations

from bot import blocks, messages, planning, rules
from bot.commands import Context, Message, Reply, Request
from bot.commands.acting import user_zone

SHOWN = 10


def handle(context: Context, request: Request, words: list[str]) -> Reply:
    """List the next actions of the channel, soonest first.

    Args:
        context: Storage, the user's zone and the clock.
        request: Who asked, and where.
        words: Nothing is expected after `next`.

    Returns:
        The list, for the asker only.
    """
    if words:
        return Reply(
            Message(messages.usage_error(messages.TYPE_IT_ALONE, messages.USAGE_NEXT))
        )
    storage = context.storage
    team_id, channel_id = request.team_id, request.channel_id
    now = context.clock()
    overrides = [
        o for o in storage.overrides(team_id, now) if o.channel_id == channel_id
    ]
    # A schedule given to a database of an account disconnected since then waits
    # for the account to be connected again; until then nothing happens to it. With
    # nothing connected at all, everything is listed under a note saying so.
    connected = {a.aws_account_id for a in storage.accounts(team_id, channel_id)}
    assignments = [
        a
        for a in storage.assignments(team_id, channel_id)
        if not connected
        or a.target.count("/") != 2
        or a.target.split("/")[0] in connected
    ]
    named = storage.named_schedules(team_id, channel_id)
    found = planning.coming(
        assignments,
        storage.one_offs(team_id, channel_id),
        now,
        overrides=overrides,
        named=named,
        count=SHOWN + 1,  # one more than shown, to know whether to say so
    )
    if not found:
        return Reply(Message(messages.NEXT_EMPTY))
    more = len(found) > SHOWN
    found = found[:SHOWN]

    by_tag = any(s.name for s in named) or any(
        rules.TagSelector.parse(a.target) is not None for a in assignments
    )
    lines = [messages.NEXT_HEADING]
    for step in found:
        at = step.at
        if step.one_off is not None:
            # Without a direct schedule, a tag may give the instance one, which only
            # AWS knows: the way back is listed with the condition the scheduler
            # checks when it falls due.
            unsure = by_tag and not planning.directly_scheduled(
                step.target, assignments
            )
            why = messages.next_by_one_off(
                step.one_off.created_by, step.action, conditional=unsure
            )
            at = at.astimezone(user_zone(context, request.user_id))
        elif step.override is not None:
            schedule = None
            if step.saved is not None:
                schedule = messages.next_by_schedule(step.saved.name, step.saved.text)
            else:
                at = at.astimezone(user_zone(context, request.user_id))
            why = messages.next_by_override(step.override.created_by, schedule)
        elif step.saved is not None:
            why = messages.next_by_schedule(step.saved.name, step.saved.text)
        else:
            continue
        lines.append(messages.next_line(at, step.action, step.target, why))
    if more:
        lines.append(messages.next_more(SHOWN))
    if not connected:
        lines.append(messages.NEXT_NOTHING_CONNECTED)
    return Reply(Message("\n".join(lines), blocks.sections(lines)))
