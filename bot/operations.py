"""Scan, stop and start across a channel's accounts, one role assumption each.

An operation opens one short-lived session per account (one AssumeRole), reads each
region once, lets the pure rules decide, acts, and returns outcomes as values. The
temporary credentials live only inside the `AccountSession` objects of one call and
are dropped when it returns: caching them would keep access alive after a customer
deletes the stack.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from bot import rules
from bot.aws_bridge import AccountSession, AwsBridge, ScanResult
from bot.domain import Account, Action, Instance, Outcome, OutcomeKind, Reason
from bot.errors import AwsUnreachable, RoleNotAssumable, SnoozeError
from bot.storage import Storage

logger = logging.getLogger(__name__)

_DONE = frozenset({OutcomeKind.STOPPED, OutcomeKind.STARTED})


# The `attention` an account gets when AssumeRole works but AWS denies the role an RDS
# call (the customer edited its policy): the permission, such as `rds:StopDBInstance`.
DENIED_PREFIX = "rds:"


@dataclass(frozen=True)
class AccountProblem:
    """An account SnoozeDB could not reach during an operation, with the sentence why.

    `aws_down` says AWS did not answer (or throttled beyond the retries), as opposed
    to refusing the role: nothing is the customer's to fix then.
    """

    account: Account
    sentence: str
    newly_broken: bool
    aws_down: bool = False


@dataclass
class Survey:
    """What an operation found: instances per account, and the accounts it could not read."""

    sessions: dict[int, AccountSession] = field(default_factory=dict)
    instances: list[Instance] = field(default_factory=list)
    problems: list[AccountProblem] = field(default_factory=list)

    def close(self) -> None:
        """Drop every session's temporary credentials."""
        for session in self.sessions.values():
            session.close()
        self.sessions.clear()

    def instances_of(self, account: Account) -> list[Instance]:
        """The instances found in one account."""
        return [
            i for i in self.instances if i.ref.aws_account_id == account.aws_account_id
        ]


@dataclass(frozen=True)
class ActionReport:
    """Everything one stop or start produced: an outcome per instance, and problems.

    `instances` are the instances acted on, as listed before acting (with their tags).
    """

    action: Action
    target: str
    outcomes: tuple[Outcome, ...]
    problems: tuple[AccountProblem, ...]
    instances: tuple[Instance, ...] = ()


class Operations:
    """The steps behind `/snooze status`, `stop` and `start`, and scheduled runs."""

    def __init__(self, storage: Storage, bridge: AwsBridge) -> None:
        self.storage = storage
        self.bridge = bridge

    def survey(
        self, accounts: Sequence[Account], purpose: str, *, all_regions: bool = False
    ) -> Survey:
        """Assume each account's role once and list its instances; drop the credentials.

        Args:
            accounts: the accounts to read.
            purpose: a word for the RoleSessionName (status, stop, start, schedule).
            all_regions: read every configured region, not only those remembered as
                holding instances; the regions found are remembered again.

        Returns:
            The survey, with a problem for each account that could not be read.
        """
        survey = self._open_survey(accounts, purpose, all_regions=all_regions)
        survey.close()
        return survey

    @contextmanager
    def session_survey(
        self, accounts: Sequence[Account], purpose: str, *, all_regions: bool = False
    ) -> Iterator[Survey]:
        """Survey the accounts and keep their sessions open until the block ends.

        For callers that act with the sessions they listed with, so a run still
        assumes each role once (the scheduler, the notice's "Stop now" button). The
        temporary credentials are dropped when the block ends, also on an error;
        they are never kept beyond it (see the module docstring).

        Args:
            accounts: the accounts to read.
            purpose: a word for the RoleSessionName (status, stop, start, schedule).
            all_regions: as for `survey`.

        Yields:
            The survey, with a session per account that could be read and a problem
            for each account that could not.
        """
        survey = self._open_survey(accounts, purpose, all_regions=all_regions)
        try:
            yield survey
        finally:
            survey.close()

    def _open_survey(
        self, accounts: Sequence[Account], purpose: str, *, all_regions: bool = False
    ) -> Survey:
        survey = Survey()
        for account in accounts:
            try:
                session = self.bridge.open(
                    account.role_arn, account.external_id, purpose, account.team_id
                )
                regions = self.bridge.regions if all_regions else self._regions(account)
                found = session.scan(regions)
            except (RoleNotAssumable, AwsUnreachable) as error:
                survey.problems.append(self._problem(account, error))
                continue

            if account.attention and not account.attention.startswith(DENIED_PREFIX):
                # A denied RDS call is cleared by an action that works (`note_denials`):
                # assuming the role and listing prove nothing about the policy.
                self.storage.mark_healthy(account.id)
            if all_regions or not account.regions:
                self.storage.note_regions(
                    account.id, sorted(found.regions_with_instances)
                )
            survey.sessions[account.id] = session
            survey.instances.extend(found.instances)
        return survey

    def verify(self, account: Account, role_arn: str) -> ScanResult:
        """Assume a newly pasted role with the account's External ID and list everything.

        Raises:
            RoleNotAssumable: the trust policy refused (stack missing, other External ID,
                other trusted account).
            AwsUnreachable: AWS did not answer.
        """
        session = self.bridge.open(
            role_arn, account.external_id, "connect", account.team_id
        )
        return session.scan(self.bridge.regions)

    def _regions(self, account: Account) -> tuple[str, ...]:
        return account.regions or self.bridge.regions

    def _problem(self, account: Account, error: SnoozeError) -> AccountProblem:
        newly_broken = False
        if isinstance(error, RoleNotAssumable):
            newly_broken = self.storage.mark_needs_attention(account.id, error.aws_code)
            logger.warning(
                "role not assumable team=%s account=%s role=%s code=%s",
                account.team_id,
                account.aws_account_id,
                account.role_arn,
                error.aws_code,
            )
        else:
            logger.warning("AWS unreachable for account=%s", account.aws_account_id)
        aws_down = not isinstance(error, RoleNotAssumable)
        return AccountProblem(account, str(error), newly_broken, aws_down)

    def note_denials(self, account: Account, outcomes: Sequence[Outcome]) -> str | None:
        """Flag the account when AWS denied its role a stop or start; clear it after.

        The customer edited the role's policy (or deleted the stack after the role
        was assumed): the account needs attention like one whose role cannot be
        assumed, and the channel is told once. An action that works again clears it.

        Args:
            account: the account acted in.
            outcomes: the outcomes of the actions taken there.

        Returns:
            The permission denied (`rds:StopDBInstance`) when the account was newly
            flagged, so the caller announces it; None otherwise.
        """
        denied = [o for o in outcomes if o.reason is Reason.ROLE_UNAVAILABLE]
        if denied:
            permission = (
                f"{DENIED_PREFIX}{denied[0].action.value.capitalize()}DBInstance"
            )
            newly = self.storage.mark_needs_attention(account.id, permission)
            logger.warning(
                "role denied team=%s account=%s role=%s permission=%s",
                account.team_id,
                account.aws_account_id,
                account.role_arn,
                permission,
            )
            return permission if newly else None
        worked = any(o.kind in _DONE for o in outcomes)
        if worked and account.attention.startswith(DENIED_PREFIX):
            self.storage.mark_healthy(account.id)
        return None

    def act(
        self,
        accounts: Sequence[Account],
        target: str,
        action: Action,
        *,
        actor: str,
        manual: bool,
        now: datetime,
        confirmed: bool = False,
    ) -> ActionReport:
        """Stop or start every instance `target` names in the given accounts.

        Args:
            accounts: the channel's accounts.
            target: identifier, `account/region/identifier`, or `tag:KEY=VALUE`.
            action: stop or start.
            actor: who asked (`user:U123`) or which schedule, for the audit log.
            manual: a person named the instance (excluded ones then need confirming).
            now: the current instant, remembered with each stop and start made, so
                the scheduler's seven-day rule knows the bot made them.
            confirmed: the person confirmed acting on an excluded instance.

        Returns:
            One outcome per matching instance, and the accounts that could not be read.

        Raises:
            InstanceNotFound: no instance matches and every account could be read.
            InstanceAmbiguous: the name exists in several accounts or regions.
        """
        survey = self._open_survey(accounts, action.value)
        try:
            targets = self._resolve(target, accounts, survey)
            if targets is None:
                # The instance may live in the account that could not be read: say
                # that, not "no such database".
                return ActionReport(action, target, (), tuple(survey.problems))
            outcomes = [
                self._act_on(survey, instance, action, manual, confirmed)
                for instance in targets
            ]
        finally:
            survey.close()

        for account in accounts:
            mine = [
                o for o in outcomes if o.ref.aws_account_id == account.aws_account_id
            ]
            if mine:
                self.note_denials(account, mine)
        if accounts:
            # Asking for confirmation is not an action taken; the audit log skips it.
            taken = [
                o for o in outcomes if o.kind is not OutcomeKind.NEEDS_CONFIRMATION
            ]
            self.storage.record_outcomes(
                accounts[0].team_id, accounts[0].channel_id, actor, taken, now
            )
        # A stop made here is the bot's, as a scheduled one is: when RDS restarts the
        # instance seven days later the scheduler stops it again; a start made here
        # is no RDS restart.
        self.storage.note_bot_actions(
            [(o.ref.qualified, o.action) for o in outcomes if o.kind in _DONE], now
        )
        for outcome in outcomes:
            logger.info(
                "%s %s by %s: %s",
                action.value,
                outcome.ref.qualified,
                actor,
                outcome.kind.value,
            )
        return ActionReport(
            action, target, tuple(outcomes), tuple(survey.problems), tuple(targets)
        )

    def _resolve(
        self, target: str, accounts: Sequence[Account], survey: Survey
    ) -> list[Instance] | None:
        """Resolve `target`, reading the regions not yet known to hold instances if needed.

        The extra regions are read with the sessions already open, so the operation
        still assumes each role once. Returns None when an account could not be read.
        """
        try:
            return rules.resolve(target, survey.instances)
        except SnoozeError:
            if survey.problems:
                return None
            if not self._scan_remaining_regions(accounts, survey):
                raise
        return rules.resolve(target, survey.instances)

    def _scan_remaining_regions(
        self, accounts: Sequence[Account], survey: Survey
    ) -> bool:
        scanned = False
        for account in accounts:
            session = survey.sessions.get(account.id)
            remaining = [r for r in self.bridge.regions if r not in account.regions]
            if session is None or not remaining or not account.regions:
                continue
            found = session.scan(remaining)
            survey.instances.extend(found.instances)
            regions = sorted(set(account.regions) | set(found.regions_with_instances))
            self.storage.note_regions(account.id, regions)
            scanned = True
        return scanned

    def _act_on(
        self,
        survey: Survey,
        instance: Instance,
        action: Action,
        manual: bool,
        confirmed: bool,
    ) -> Outcome:
        decided = rules.plan(instance, action, manual=manual, confirmed=confirmed)
        if decided is not None:
            return decided
        session = next(
            s
            for s in survey.sessions.values()
            if s.aws_account_id == instance.ref.aws_account_id
        )
        return session.act(instance, action)
