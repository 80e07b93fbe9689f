"""The only module that talks to AWS: assume a customer's role, list and act on RDS.

Every operation starts with one AssumeRole carrying the channel's External ID. The
temporary credentials live in the `AccountSession` for that one operation and are
stored nowhere else: not in the database, not in a cache, not in a log line. Keeping
them only as long as one operation means a deleted stack or a changed External ID is
noticed on the very next operation, and a leaked process dump holds little.

Deciding whether an instance may be stopped is not done here (see `bot.rules`); this
module maps what AWS says into `bot.domain` values and performs the calls it is asked to.

No botocore exception leaves this module. botocore's standard retry mode retries
throttling, timeouts and connection errors a bounded number of times; what still fails
becomes an `Outcome` (acting on one instance) or a `SnoozeError` whose text is a
catalogue sentence (assuming a role, listing), with the AWS error code at most, never
the exception's own text.
"""

from __future__ import annotations

import copy
import functools
import logging
import re
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
    UnknownRegionError,
)
from botocore.exceptions import (
    ConnectionError as BotocoreConnectionError,
)
from botocore.utils import parse_timestamp as botocore_parse_timestamp

from bot.domain import (
    Action,
    Instance,
    InstanceRef,
    Outcome,
    OutcomeKind,
    Reason,
    RoleArn,
)
from bot.errors import (
    AwsCallFailed,
    AwsThrottled,
    AwsUnreachable,
    OwnCredentialsMissing,
    OwnCredentialsRefused,
    RoleArnMalformed,
    RoleNotAssumable,
    SettingInvalid,
)

if TYPE_CHECKING:
    from botocore.model import OperationModel
    from mypy_boto3_rds import RDSClient
    from mypy_boto3_rds.type_defs import DBInstanceTypeDef
    from mypy_boto3_sts import STSClient

logger = logging.getLogger(__name__)

SESSION_DURATION_SECONDS = 3600

# Every call is retried by botocore's standard retry mode: throttling answers with
# jittered exponential backoff (about 1 s, 2 s, 4 s), connection errors, timeouts and
# 5xx answers at once. The bound is small on purpose: the work runs after Slack's
# 3-second acknowledgement, but a user is waiting for the answer, and a scheduled run
# that still fails is reported and tried again at its next time.
MAX_ATTEMPTS = 4  # in all, the first call included
# RDS and STS answer in well under a second; a call that takes longer than this is
# stuck. Worst case, one call takes MAX_ATTEMPTS * (CONNECT + READ) plus backoff.
CONNECT_TIMEOUT_SECONDS = 3.0
READ_TIMEOUT_SECONDS = 10.0
# Connections each client keeps (botocore's default is 10): the STS client is shared
# by every account handled at once, and the scheduler makes up to 64 calls at once.
MAX_POOL_CONNECTIONS = 64

# StartDBInstance answered InsufficientDBInstanceCapacity: AWS has no room for the
# instance class in its availability zone right now. Capacity usually comes back within
# minutes, so SnoozeDB tries again with a growing pause for this long, then reports.
CAPACITY_RETRY_FOR = timedelta(minutes=10)
CAPACITY_FIRST_PAUSE_SECONDS = 30.0
CAPACITY_MAX_PAUSE_SECONDS = 120.0

# A region the customer has not enabled answers with one of these: skip it quietly.
REGION_DISABLED_CODES = frozenset(
    {
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "AuthFailure",
        "OptInRequired",
    }
)
# The role exists no more, or lost its permissions, while we were using it.
ACCESS_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnauthorizedAccess",
    }
)
# The temporary credentials themselves were refused while acting: the role was
# deleted after it was assumed, or the session ended.
CREDENTIALS_REJECTED_CODES = frozenset(
    {
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "ExpiredToken",
        "ExpiredTokenException",
    }
)
# SnoozeDB's own credentials were refused by STS: an operator's problem, not the
# customer's role, so no account is marked as needing attention for it.
OWN_CREDENTIALS_REFUSED_CODES = CREDENTIALS_REJECTED_CODES | {
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "MissingAuthenticationToken",
}
# What botocore's standard mode retries as throttling; still there after the retries,
# it is reported as throttling, never as a refusal.
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "LimitExceededException",
    }
)
NOT_FOUND_CODES = frozenset({"DBInstanceNotFound", "DBInstanceNotFoundFault"})
INVALID_STATE_CODES = frozenset(
    {"InvalidDBInstanceState", "InvalidDBInstanceStateFault"}
)
NO_CAPACITY_CODES = frozenset(
    {"InsufficientDBInstanceCapacity", "InsufficientDBInstanceCapacityFault"}
)
UNREACHABLE_ERRORS = (BotocoreConnectionError, HTTPClientError)
OWN_CREDENTIAL_ERRORS = (
    NoCredentialsError,
    PartialCredentialsError,
    CredentialRetrievalError,
)

_SCAN_WORKERS = 8
_DEFAULT_STS_REGION = "us-east-1"
DEFAULT_PARTITION = "aws"
_SESSION_NAME_UNSAFE = re.compile(r"[^\w+=,.@-]")
# An error code is shown to users; keep it to the characters AWS codes are made of.
_CODE_UNSAFE = re.compile(r"[^\w.:-]")
_CODE_MAX_LENGTH = 64

# States in which the instance is already where the action wants it, or on its way.
_ALREADY = {
    Action.STOP: (frozenset({"stopped", "stopping"}), OutcomeKind.ALREADY_STOPPED),
    Action.START: (frozenset({"available", "starting"}), OutcomeKind.ALREADY_RUNNING),
}
_ON_ITS_WAY = frozenset({"stopping", "starting"})
# The one state in which the action can be taken.
_READY = {Action.STOP: "available", Action.START: "stopped"}


# --- keeping secrets out of logs ---------------------------------------------------

_SECRET_PATTERNS = (
    # The AssumeRole answer, which botocore.parsers logs at DEBUG.
    re.compile(r"(<(?:AccessKeyId|SecretAccessKey|SessionToken)>)[^<]*(</)"),
    # Parsed dicts and keyword arguments.
    re.compile(
        r"""(['"]?(?:AccessKeyId|SecretAccessKey|SessionToken|aws_access_key_id"""
        r"""|aws_secret_access_key|aws_session_token)['"]?\s*[:=]\s*b?['"])[^'"]*(['"])""",
        re.IGNORECASE,
    ),
    # Signed requests, which botocore.endpoint and botocore.auth log at DEBUG.
    re.compile(
        r"""(x-amz-security-token['"]?\s*[:=]\s*b?['"]?)[^'",\s}]+()""", re.IGNORECASE
    ),
    re.compile(r"(Credential=)[^/,\s'\"]+()"),
)
_LIBRARY_LOGGERS = ("botocore", "boto3", "urllib3", "s3transfer")
_live_secrets: set[str] = set()
_live_secrets_lock = threading.Lock()


@functools.cache
def rds_regions() -> frozenset[str]:
    """Every region botocore knows RDS in, across all partitions; makes no AWS call."""
    session = boto3.Session()
    return frozenset(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("rds", partition_name=partition)
    )


class _RedactSecrets(logging.Filter):
    """Blank AWS keys and session tokens out of records before any handler sees them.

    botocore logs whole requests and responses at DEBUG, session tokens and the
    AssumeRole answer included. An operator who turns on DEBUG must not turn on a
    credential leak, so the library loggers get this filter.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except (TypeError, ValueError):
            return True
        cleaned = redact(text)
        if cleaned != text:
            record.msg = cleaned
            record.args = None
        return True


_REDACTOR = _RedactSecrets()


def redact(text: str) -> str:
    """Return `text` with AWS access keys, secret keys and session tokens blanked out.

    Args:
        text: Any text that may hold credentials, such as a logged request.

    Returns:
        The text with each credential value replaced by `***`.
    """
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(r"\1***\2", text)
    with _live_secrets_lock:
        secrets = tuple(_live_secrets)
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def _guard_library_loggers() -> None:
    """Attach the redacting filter to every AWS library logger that exists so far.

    A filter on a logger applies only to records created on that very logger, so
    each one needs it; `addFilter` ignores a filter it already has.
    """
    for name, candidate in list(logging.root.manager.loggerDict.items()):
        if not isinstance(candidate, logging.Logger):
            continue
        if name.split(".", 1)[0] in _LIBRARY_LOGGERS:
            candidate.addFilter(_REDACTOR)
    for name in _LIBRARY_LOGGERS:
        logging.getLogger(name).addFilter(_REDACTOR)


def _forget_secrets(secrets: tuple[str, ...]) -> None:
    with _live_secrets_lock:
        _live_secrets.difference_update(secrets)


# --- errors ------------------------------------------------------------------------
#
# AWS answered, but not with what was asked, even after retrying. Each is an
# `AwsUnreachable`, so every caller that reports an account it could not reach (a
# problem for that account, the rest of the operation goes on, nothing is marked as
# needing attention) reports these too, with a sentence that says what really happened.


# --- values ------------------------------------------------------------------------


@dataclass(frozen=True)
class ScanResult:
    """What one account holds across the regions scanned."""

    instances: tuple[Instance, ...]
    regions_with_instances: tuple[str, ...]
    skipped_regions: tuple[str, ...]


@dataclass(frozen=True)
class _Credentials:
    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)


@dataclass(frozen=True)
class _RegionScan:
    region: str
    instances: tuple[Instance, ...] = ()
    skipped: bool = False


# --- the bridge --------------------------------------------------------------------


class AwsBridge:
    """SnoozeDB's way into AWS: its own credentials, and customers' roles through them."""

    def __init__(
        self,
        regions: Sequence[str] = (),
        own_account_id: str = "",
        session: boto3.Session | None = None,
        *,
        endpoint_url: str | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
        read_timeout: float = READ_TIMEOUT_SECONDS,
        capacity_retry_for: timedelta = CAPACITY_RETRY_FOR,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Prepare the bridge; no AWS call is made yet.

        Args:
            regions: Regions to scan; empty means every region where RDS exists.
            own_account_id: SnoozeDB's own AWS account, when known; otherwise it is
                asked of STS once.
            session: The session with SnoozeDB's own credentials; the default
                credential chain when None.
            endpoint_url: Where every client goes instead of AWS's own endpoints;
                None leaves it to boto3 (`AWS_ENDPOINT_URL`, then AWS).
            max_attempts: Calls per request in all, retries by botocore's standard
                mode included.
            connect_timeout: Seconds to wait for a connection to AWS.
            read_timeout: Seconds to wait for AWS's answer once connected.
            capacity_retry_for: How long a start refused for lack of capacity is
                tried again before it is reported.
            sleep: Waits between those tries; tests pass one that returns at once.
            clock: Monotonic seconds, read to keep those tries within their time.
        """
        self._session = session if session is not None else _new_session()
        self._regions = tuple(regions) or tuple(
            self._session.get_available_regions("rds")
        )
        self._own_account_id = own_account_id
        self._sts_region = self._session.region_name or _DEFAULT_STS_REGION
        self._endpoint_url = endpoint_url
        self._config = Config(
            retries={"mode": "standard", "total_max_attempts": max_attempts},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_pool_connections=MAX_POOL_CONNECTIONS,
        )
        self.capacity_retry_seconds = capacity_retry_for.total_seconds()
        self.sleep = sleep
        self.clock = clock
        # boto3 sessions are not thread-safe; clients are. Create clients one at a time.
        self._client_lock = threading.Lock()
        self._sts: STSClient | None = None
        # Registered once on the session, whose handlers every client it creates
        # copies: registering on each client cost half a millisecond an account.
        for operation in _UNREAD_ANSWERS:
            self._session.events.register(
                f"before-parse.rds.{operation}",
                _skip_unread_answer,
                unique_id=f"snoozedb-skip-{operation}",
            )
        _guard_library_loggers()

    def without_capacity_retries(self) -> AwsBridge:
        """This bridge for the scheduler: a start refused for capacity is not retried.

        The scheduler's worker must not wait out capacity for minutes while other
        accounts' transitions are due: it keeps the start in its own retry queue and
        tries again on later runs instead. Session, clients and their lock are shared.

        Returns:
            A shallow copy whose `capacity_retry_seconds` is 0.
        """
        scheduled = copy.copy(self)
        scheduled.capacity_retry_seconds = 0.0
        return scheduled

    @property
    def regions(self) -> tuple[str, ...]:
        """The regions a scan covers when the caller names none."""
        return self._regions

    def partition(self) -> str:
        """The AWS partition SnoozeDB's own credentials are used in (`aws`, `aws-cn`...).

        Read from botocore's endpoint data for the region STS is asked in, so it
        costs no call; AssumeRole can only reach roles of this partition.

        Returns:
            The partition name, `aws` when botocore does not know the region.
        """
        try:
            return self._session.get_partition_for_region(self._sts_region)
        except UnknownRegionError:
            return DEFAULT_PARTITION

    def own_account_id(self) -> str:
        """Return SnoozeDB's own AWS account id, asking STS the first time.

        Returns:
            The 12-digit account id that customer trust policies must name.

        Raises:
            SettingInvalid: SnoozeDB has no AWS credentials, or AWS refuses them.
            AwsUnreachable: STS did not answer.
        """
        if self._own_account_id:
            return self._own_account_id

        what = "finding its own AWS account"
        try:
            account = self._own_sts().get_caller_identity()["Account"]
        except OWN_CREDENTIAL_ERRORS as error:
            raise OwnCredentialsMissing() from error
        except ClientError as error:
            code = _error_code(error)
            if code in THROTTLING_CODES:
                raise AwsThrottled(what, code) from error
            raise SettingInvalid(
                "AWS credentials", f"were refused by AWS ({code})"
            ) from error
        except UNREACHABLE_ERRORS as error:
            raise AwsUnreachable(what) from error
        except BotoCoreError as error:
            raise AwsCallFailed(what, type(error).__name__) from error

        self._own_account_id = account
        return account

    def open(
        self, role_arn: str, external_id: str, purpose: str, team_id: str
    ) -> AccountSession:
        """Assume a customer's role for one operation.

        Args:
            role_arn: The RoleArn output of the customer's SnoozeDB stack.
            external_id: The External ID issued to the channel, sent on every call.
            purpose: A short word for the operation (`stop`, `scan`...), shown in the
                customer's CloudTrail as part of the role session name.
            team_id: The Slack team, also part of the role session name.

        Returns:
            A session holding the temporary credentials, for this operation only.

        Raises:
            RoleArnMalformed: `role_arn` is not an IAM role ARN.
            RoleNotAssumable: STS refused (role gone, wrong External ID or account).
            AwsThrottled: STS still throttled after the retries.
            OwnCredentialsRefused: SnoozeDB's own credentials are missing or refused.
            AwsCallFailed: STS failed in another way (a 5xx, a botocore error).
            AwsUnreachable: STS did not answer (the base of the three above).
        """
        role = RoleArn.parse(role_arn)
        if role is None:
            raise RoleArnMalformed(role_arn)

        session_name = role_session_name(purpose, team_id)
        what = f"assuming the role `{role.arn}`"
        try:
            answer = self._own_sts().assume_role(
                RoleArn=role.arn,
                RoleSessionName=session_name,
                ExternalId=external_id,
                DurationSeconds=SESSION_DURATION_SECONDS,
            )
        except ClientError as error:
            raise self._assume_role_refused(role, what, error) from error
        except OWN_CREDENTIAL_ERRORS as error:
            logger.warning(
                "No AWS credentials of SnoozeDB's own to assume %s", role.arn
            )
            raise OwnCredentialsRefused(what, type(error).__name__) from error
        except UNREACHABLE_ERRORS as error:
            logger.warning("STS did not answer AssumeRole for %s", role.arn)
            raise AwsUnreachable(what) from error
        except BotoCoreError as error:
            logger.warning(
                "AssumeRole for %s failed: %s", role.arn, type(error).__name__
            )
            raise AwsCallFailed(what, type(error).__name__) from error

        granted = answer["Credentials"]
        credentials = _Credentials(
            access_key_id=granted["AccessKeyId"],
            secret_access_key=granted["SecretAccessKey"],
            session_token=granted["SessionToken"],
        )
        logger.debug("Assumed %s as session %s", role.arn, session_name)
        return AccountSession(self, role, credentials)

    def _assume_role_refused(
        self, role: RoleArn, what: str, error: ClientError
    ) -> AwsUnreachable | RoleNotAssumable:
        """Turn an AssumeRole error answer into the error that says what it means.

        Only an answer about the customer's role marks it as not assumable: SnoozeDB's
        own credentials being refused, throttling and AWS's own failures are not the
        customer's to fix.
        """
        code = _error_code(error)
        logger.warning("AssumeRole refused for %s (%s)", role.arn, code)
        if code in THROTTLING_CODES:
            return AwsThrottled(what, code)
        if code in OWN_CREDENTIALS_REFUSED_CODES:
            return OwnCredentialsRefused(what, code)
        if _http_status(error) >= 500:
            return AwsCallFailed(what, code)
        return RoleNotAssumable(role.arn, self._trusted_account(), code)

    def _own_sts(self) -> STSClient:
        """The STS client on SnoozeDB's own credentials, made once and shared."""
        if self._sts is None:
            self._sts = self._client("sts", self._sts_region)
        return self._sts

    @overload
    def _client(
        self,
        service: Literal["sts"],
        region: str,
        credentials: _Credentials | None = None,
    ) -> STSClient: ...

    @overload
    def _client(
        self,
        service: Literal["rds"],
        region: str,
        credentials: _Credentials | None = None,
    ) -> RDSClient: ...

    def _client(
        self,
        service: Literal["sts", "rds"],
        region: str,
        credentials: _Credentials | None = None,
    ) -> Any:
        """Create a client with SnoozeDB's timeouts and retry mode.

        Without credentials the client uses the bridge's own (default chain).
        """
        keys: dict[str, str] = {}
        if credentials is not None:
            keys = {
                "aws_access_key_id": credentials.access_key_id,
                "aws_secret_access_key": credentials.secret_access_key,
                "aws_session_token": credentials.session_token,
            }
        with self._client_lock:
            client = self._session.client(
                service,  # type: ignore[call-overload]
                region_name=region,
                endpoint_url=self._endpoint_url,
                config=self._config,
                **keys,
            )
            _guard_library_loggers()
        return client

    def _trusted_account(self) -> str:
        try:
            return self.own_account_id()
        except (SettingInvalid, AwsUnreachable):
            return "SnoozeDB's account"


class AccountSession:
    """One customer account reached through its role, for the length of one operation.

    The temporary credentials are held in memory by this object only. Use it as a
    context manager, or call `close`, to drop them as soon as the operation ends.

    Attributes:
        aws_account_id: The customer's account (the 12 digits of the role ARN).
        role_arn: The role assumed.
    """

    def __init__(
        self, bridge: AwsBridge, role: RoleArn, credentials: _Credentials
    ) -> None:
        """Wrap credentials from `AwsBridge.open`; not meant to be built elsewhere."""
        self.aws_account_id = role.aws_account_id
        self.role_arn = role.arn
        self._bridge = bridge
        self._credentials: _Credentials | None = credentials
        self._clients: dict[str, RDSClient] = {}
        self._lock = threading.Lock()

        secrets = (
            credentials.access_key_id,
            credentials.secret_access_key,
            credentials.session_token,
        )
        with _live_secrets_lock:
            _live_secrets.update(secrets)
        self._forget = weakref.finalize(self, _forget_secrets, secrets)

    def __repr__(self) -> str:
        return f"AccountSession(aws_account_id={self.aws_account_id!r}, role_arn={self.role_arn!r})"

    def __enter__(self) -> AccountSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Drop the temporary credentials and the clients built on them."""
        with self._lock:
            self._credentials = None
            self._clients.clear()
        self._forget()

    def scan(self, regions: Sequence[str]) -> ScanResult:
        """List every DB instance of the account in the given regions.

        One paginated DescribeDBInstances per region, run concurrently; tags come
        from its TagList. A region the account has not enabled is skipped.

        Args:
            regions: The regions to look in.

        Returns:
            The instances, in region order, and which regions held some or were skipped.

        Raises:
            RoleNotAssumable: AWS refused the role's credentials mid-scan.
            AwsUnreachable: A region did not answer, even after retries.
        """
        if not regions:
            return ScanResult((), (), ())

        with ThreadPoolExecutor(max_workers=min(_SCAN_WORKERS, len(regions))) as pool:
            scans = list(pool.map(self._scan_region, regions))

        instances = tuple(instance for scan in scans for instance in scan.instances)
        with_instances = tuple(scan.region for scan in scans if scan.instances)
        skipped = tuple(scan.region for scan in scans if scan.skipped)
        logger.debug(
            "Scanned %s: %s instances in %s regions, %s skipped",
            self.aws_account_id,
            len(instances),
            len(with_instances),
            len(skipped),
        )
        return ScanResult(instances, with_instances, skipped)

    def act(self, instance: Instance, action: Action) -> Outcome:
        """Make one StopDBInstance or StartDBInstance call and say how it ended.

        Whether the instance may be stopped at all is decided before this call.
        botocore retries throttling, timeouts and connection errors; a start that
        AWS refuses for lack of capacity is tried again here, with a growing pause,
        for the bridge's `capacity_retry_for`.

        Args:
            instance: The instance, as last scanned.
            action: Stop or start.

        Returns:
            The outcome; AWS and botocore errors become outcomes, never exceptions.
        """
        bridge = self._bridge
        deadline = bridge.clock() + bridge.capacity_retry_seconds
        pause = CAPACITY_FIRST_PAUSE_SECONDS
        while True:
            outcome = self._act_once(instance, action)
            if outcome.reason is not Reason.NO_CAPACITY:
                return outcome

            wait = min(pause, deadline - bridge.clock())
            if wait <= 0:
                logger.warning(
                    "No capacity to start %s (%s); gave up",
                    instance.ref.qualified,
                    instance.instance_class,
                )
                return outcome
            logger.info(
                "No capacity to start %s (%s); trying again in %.0f s",
                instance.ref.qualified,
                instance.instance_class,
                wait,
            )
            bridge.sleep(wait)
            pause = min(pause * 2, CAPACITY_MAX_PAUSE_SECONDS)

    def _act_once(self, instance: Instance, action: Action) -> Outcome:
        """One call (botocore's retries included), mapped to an outcome."""
        ref = instance.ref
        try:
            rds = self._rds(ref.region)
            if action is Action.STOP:
                rds.stop_db_instance(DBInstanceIdentifier=ref.identifier)
            else:
                rds.start_db_instance(DBInstanceIdentifier=ref.identifier)
        except ClientError as error:
            return self._refused(instance, action, error)
        except UNREACHABLE_ERRORS as error:
            logger.warning(
                "AWS did not answer %s of %s (%s)",
                action.value,
                ref.qualified,
                type(error).__name__,
            )
            return Outcome(ref, action, OutcomeKind.FAILED, Reason.AWS_UNREACHABLE)
        except BotoCoreError as error:
            code = type(error).__name__
            logger.warning("%s of %s failed: %s", action.value, ref.qualified, code)
            return Outcome(ref, action, OutcomeKind.FAILED, Reason.AWS_REFUSED, code)

        done = OutcomeKind.STOPPED if action is Action.STOP else OutcomeKind.STARTED
        logger.info(
            "%s %s (role %s)", done.value.capitalize(), ref.qualified, self.role_arn
        )
        return Outcome(ref, action, done)

    def _refused(
        self, instance: Instance, action: Action, error: ClientError
    ) -> Outcome:
        """Map an error answer to StopDBInstance or StartDBInstance to an outcome."""
        ref = instance.ref
        code = _error_code(error)
        if code in INVALID_STATE_CODES:
            return self._not_ready(instance, action, _error_message(error))

        logger.warning("%s of %s failed: %s", action.value, ref.qualified, code)
        failed = OutcomeKind.FAILED
        if code in NOT_FOUND_CODES:
            return Outcome(ref, action, failed, Reason.NOT_FOUND)
        if code in THROTTLING_CODES:
            return Outcome(ref, action, failed, Reason.THROTTLED, code)
        if code in ACCESS_DENIED_CODES or code in CREDENTIALS_REJECTED_CODES:
            return Outcome(ref, action, failed, Reason.ROLE_UNAVAILABLE, self.role_arn)
        if action is Action.START and code in NO_CAPACITY_CODES:
            return Outcome(
                ref, action, failed, Reason.NO_CAPACITY, instance.instance_class
            )
        return Outcome(ref, action, failed, Reason.AWS_REFUSED, code)

    def _not_ready(self, instance: Instance, action: Action, message: str) -> Outcome:
        """RDS says the instance is in no state for the action: already there, or busy.

        When the last scan found it ready, its state changed since: someone else
        acted, or an earlier try of this very call went through before its answer
        was lost. Then the state is asked again, so the sentence names the real one.
        """
        ref = instance.ref
        states, already = _ALREADY[action]
        status = instance.status
        if status == _READY[action] and not _says_already(message, action):
            status = self._status_now(instance) or status

        if status in states or _says_already(message, action):
            logger.info("%s was already %s", ref.qualified, status)
            detail = status if status in _ON_ITS_WAY else ""
            return Outcome(ref, action, already, detail=detail)
        logger.warning("%s is %s; %s refused", ref.qualified, status, action.value)
        return Outcome(ref, action, OutcomeKind.REFUSED, Reason.BUSY, status)

    def _status_now(self, instance: Instance) -> str | None:
        """The instance's DBInstanceStatus as AWS says it now; None when unknown."""
        try:
            answer = self._rds(instance.ref.region).describe_db_instances(
                DBInstanceIdentifier=instance.identifier
            )
        except (ClientError, BotoCoreError) as error:
            logger.debug(
                "Could not read the state of %s again: %s",
                instance.ref.qualified,
                type(error).__name__,
            )
            return None
        found = answer.get("DBInstances", [])
        return found[0].get("DBInstanceStatus") if found else None

    def _scan_region(self, region: str) -> _RegionScan:
        what = self._listing(region)
        instances: list[Instance] = []
        try:
            rds = self._rds(region)
            for page in rds.get_paginator("describe_db_instances").paginate():
                for item in page.get("DBInstances", ()):
                    instances.append(_instance(self.aws_account_id, region, item))
        except ClientError as error:
            code = _error_code(error)
            if code in REGION_DISABLED_CODES:
                logger.debug("Skipped %s in %s (%s)", self.aws_account_id, region, code)
                return _RegionScan(region, skipped=True)
            if code in ACCESS_DENIED_CODES:
                logger.warning(
                    "Role %s refused in %s (%s)", self.role_arn, region, code
                )
                trusted = self._bridge._trusted_account()
                raise RoleNotAssumable(self.role_arn, trusted, code) from error
            logger.warning(
                "Listing %s in %s failed: %s", self.aws_account_id, region, code
            )
            if code in THROTTLING_CODES:
                raise AwsThrottled(what, code) from error
            raise AwsCallFailed(what, code) from error
        except UNREACHABLE_ERRORS as error:
            logger.warning(
                "AWS did not answer listing %s in %s (%s)",
                self.aws_account_id,
                region,
                type(error).__name__,
            )
            raise AwsUnreachable(what) from error
        except BotoCoreError as error:
            code = type(error).__name__
            logger.warning(
                "Listing %s in %s failed: %s", self.aws_account_id, region, code
            )
            raise AwsCallFailed(what, code) from error
        return _RegionScan(region, tuple(instances))

    def _listing(self, region: str) -> str:
        return f"listing the databases of account {self.aws_account_id} in {region}"

    def _rds(self, region: str) -> RDSClient:
        with self._lock:
            if self._credentials is None:
                raise RuntimeError("this AccountSession is closed")
            client = self._clients.get(region)
            if client is None:
                client = self._bridge._client("rds", region, self._credentials)
                self._clients[region] = client
            return client


# --- helpers -----------------------------------------------------------------------

# A successful StopDBInstance or StartDBInstance answers with the whole instance
# description, which SnoozeDB never reads (the outcome is the call's success).
# botocore's parsing of it is most of the CPU a stop costs: at a thousand accounts
# stopping at once, it decides whether the last stop goes out in one minute or two.
# Error answers are parsed as usual, so codes and messages are unchanged.
_UNREAD_ANSWERS = ("StopDBInstance", "StartDBInstance")


def _skip_unread_answer(
    operation_model: OperationModel, response_dict: dict[str, Any], **_: Any
) -> None:
    """botocore's `before-parse` hook: a success leaves an empty result to parse."""
    if response_dict.get("status_code", 500) < 300:
        name = operation_model.name
        response_dict["body"] = (
            f"<{name}Response><{name}Result/></{name}Response>".encode()
        )


def _new_session() -> boto3.Session:
    """A boto3 session whose answers read timestamps with the standard library.

    botocore reads each timestamp with dateutil's general parser by default (about
    40 microseconds here); RDS and STS send ISO 8601, which `datetime.fromisoformat`
    reads in well under one. A listing of 20 instances carries about 60 of them.
    """
    core = botocore.session.get_session()
    factory = core.get_component("response_parser_factory")
    factory.set_parser_defaults(timestamp_parser=_parse_timestamp)
    return boto3.Session(botocore_session=core)


def _parse_timestamp(value: Any) -> datetime:
    """A datetime from an ISO 8601 timestamp; botocore's own parser for any other form."""
    if isinstance(value, str) and "T" in value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    return botocore_parse_timestamp(value)


def role_session_name(purpose: str, team_id: str) -> str:
    """Return the RoleSessionName customers see in CloudTrail, like `snoozedb-stop-T0123`.

    Args:
        purpose: A short word for the operation.
        team_id: The Slack team id.

    Returns:
        A name within STS's limits (64 characters of `[\\w+=,.@-]`).
    """
    name = "-".join(part for part in ("snoozedb", purpose, team_id) if part)
    return _SESSION_NAME_UNSAFE.sub("-", name)[:64]


def _instance(account_id: str, region: str, item: DBInstanceTypeDef) -> Instance:
    return Instance(
        ref=InstanceRef(account_id, region, item["DBInstanceIdentifier"]),
        engine=item.get("Engine", ""),
        instance_class=item.get("DBInstanceClass", ""),
        status=item.get("DBInstanceStatus", ""),
        cluster_identifier=item.get("DBClusterIdentifier") or None,
        read_replica_source=item.get("ReadReplicaSourceDBInstanceIdentifier") or None,
        read_replicas=tuple(item.get("ReadReplicaDBInstanceIdentifiers", ())),
        tags=_tags(item.get("TagList", ())),
    )


def _tags(tag_list: Iterable[Any]) -> dict[str, str]:
    return {tag["Key"]: tag.get("Value", "") for tag in tag_list if "Key" in tag}


def _error_code(error: ClientError) -> str:
    """The AWS error code, fit to show a user: only the characters codes are made of."""
    code = str(error.response.get("Error", {}).get("Code", "")) or "Unknown"
    return _CODE_UNSAFE.sub("", code)[:_CODE_MAX_LENGTH] or "Unknown"


def _http_status(error: ClientError) -> int:
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return status if isinstance(status, int) else 0


def _error_message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", ""))


def _says_already(message: str, action: Action) -> bool:
    """True when AWS's refusal itself says the instance is already where we want it."""
    lowered = message.lower()
    if action is Action.STOP:
        return "already stopped" in lowered
    return "already available" in lowered or "already running" in lowered
