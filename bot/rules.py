"""What should happen to which instance, and why: pure rules, no I/O.

Real RDS refuses to stop some instances that moto happily stops (Aurora cluster
members, read replicas, sources of read replicas), so SnoozeDB checks these itself and
never sends the call. The engine name is deliberately not checked: a hard-coded engine
list goes stale, and AWS's own refusal is the better answer.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.domain import Action, Instance, InstanceRef, Outcome, OutcomeKind, Reason
from bot.errors import InstanceAmbiguous, InstanceNotFound

_STOPPED_STATES = {"stopped"}
_RUNNING_STATES = {"available"}
_TRANSIENT_TOWARDS = {Action.STOP: "stopping", Action.START: "starting"}


@dataclass(frozen=True)
class Refusal:
    """Why an instance cannot be stopped at all, whatever its state."""

    reason: Reason
    detail: str


def why_not_stoppable(instance: Instance) -> Refusal | None:
    """Say why RDS would refuse to stop this instance, or None when it can be stopped.

    Args:
        instance: what DescribeDBInstances said about it.

    Returns:
        The refusal with the related cluster or replica named, or None.
    """
    if instance.cluster_identifier:
        return Refusal(Reason.AURORA_MEMBER, instance.cluster_identifier)
    if instance.read_replica_source:
        return Refusal(Reason.READ_REPLICA, instance.read_replica_source)
    if instance.read_replicas:
        return Refusal(Reason.HAS_READ_REPLICAS, ", ".join(instance.read_replicas))
    return None


def plan(
    instance: Instance, action: Action, *, manual: bool, confirmed: bool
) -> Outcome | None:
    """Decide whether to call AWS for `action` on `instance`.

    Args:
        instance: what SnoozeDB knows of the instance right now.
        action: stop or start.
        manual: a person asked for this one instance by name (not a bulk or scheduled run).
        confirmed: the person already confirmed acting on an excluded instance.

    Returns:
        None when the call should be made; otherwise the outcome to report instead.
    """

    def outcome(
        kind: OutcomeKind, reason: Reason | None = None, detail: str = ""
    ) -> Outcome:
        return Outcome(instance.ref, action, kind, reason, detail)

    if action is Action.STOP:
        refusal = why_not_stoppable(instance)
        if refusal is not None:
            return outcome(OutcomeKind.REFUSED, refusal.reason, refusal.detail)
    if instance.excluded and not confirmed:
        if manual:
            return outcome(OutcomeKind.NEEDS_CONFIRMATION, Reason.EXCLUDED_BY_TAG)
        return outcome(OutcomeKind.SKIPPED, Reason.EXCLUDED_BY_TAG)

    status = instance.status
    if action is Action.STOP and status in _STOPPED_STATES:
        return outcome(OutcomeKind.ALREADY_STOPPED)
    if action is Action.START and status in _RUNNING_STATES:
        return outcome(OutcomeKind.ALREADY_RUNNING)
    if status == _TRANSIENT_TOWARDS[action]:
        kind = (
            OutcomeKind.ALREADY_STOPPED
            if action is Action.STOP
            else OutcomeKind.ALREADY_RUNNING
        )
        return outcome(kind, detail=status)
    ready = _RUNNING_STATES if action is Action.STOP else _STOPPED_STATES
    if status not in ready:
        return outcome(OutcomeKind.REFUSED, Reason.BUSY, status)
    return None


@dataclass(frozen=True)
class TagSelector:
    """`tag:KEY=VALUE`: every instance carrying that tag."""

    key: str
    value: str

    @classmethod
    def parse(cls, text: str) -> TagSelector | None:
        """Return the selector in `text`, or None when `text` is not `tag:KEY=VALUE`."""
        if not text.startswith("tag:") or "=" not in text:
            return None
        key, _, value = text[4:].partition("=")
        if not key:
            return None
        return cls(key, value)

    def matches(self, instance: Instance) -> bool:
        """True when the instance carries this tag with this value."""
        return instance.tags.get(self.key) == self.value


def resolve(target: str, instances: Sequence[Instance]) -> list[Instance]:
    """Find the instances a user meant by `target`.

    Args:
        target: a DBInstanceIdentifier, `account/region/identifier`, or `tag:KEY=VALUE`.
        instances: every instance of the channel's accounts.

    Returns:
        The matching instances; for a tag selector possibly none.

    Raises:
        InstanceNotFound: no instance has that name (with close names suggested).
        InstanceAmbiguous: several accounts or regions hold that name.
    """
    selector = TagSelector.parse(target)
    if selector is not None:
        return sorted(
            (i for i in instances if selector.matches(i)), key=lambda i: i.ref
        )

    found = [i for i in instances if names(target, i.ref)]
    if len(found) > 1:
        raise InstanceAmbiguous(target, sorted(i.ref.qualified for i in found))
    if not found:
        raise InstanceNotFound(
            target, suggest(target, (i.identifier for i in instances))
        )
    return found


_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,62}$")


def could_name_instances(target: str) -> bool:
    """True when `target` has the shape of a tag selector or an RDS instance name.

    Checked before any AWS call, so a stray word costs the user one sentence, not a
    role assumption and a scan of every region.
    """
    if TagSelector.parse(target) is not None:
        return True
    identifier = target.rsplit("/", 1)[-1] if target.count("/") == 2 else target
    return _IDENTIFIER.match(identifier) is not None


def names(target: str, ref: InstanceRef) -> bool:
    """True when `target` is this instance's identifier or `account/region/identifier`.

    RDS keeps identifiers in lower case and matches them without regard to case,
    so `QA-DB` names `qa-db` here too.
    """
    wanted = target.strip().lower()
    if wanted.count("/") == 2:
        return wanted == ref.qualified.lower()
    return wanted == ref.identifier.lower()


def suggest(word: str, known: Iterable[str]) -> list[str]:
    """Up to three known names close to `word`, for "did you mean" replies.

    Close spellings come first, then names that begin with `word` (`qa` for
    `qa-db`), which a spelling comparison finds too far apart when `word` is short.
    """
    choices = sorted(set(known))
    wanted = word.lower()
    close = difflib.get_close_matches(wanted, choices, n=3, cutoff=0.6)
    if len(wanted) >= 2:
        close += [c for c in choices if c.lower().startswith(wanted) and c not in close]
    return close[:3]
