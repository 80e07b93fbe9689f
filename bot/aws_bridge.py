"""The only module that talks to AWS: assume a customer's role, list and act on RDS.

Every operation starts with one AssumeRole carrying the channel's External ID. The
temporary credentials live in the `AccountSession` for that one operation and are
stored nowhere else: not in the database, not in a cache, not in a log line. Keeping
them only as long as one operation means a deleted stack or a changed External ID is
noticed on the very next operation, and a leaked process dump holds little.

Deciding whether an instance may be stopped is not done here (see `bot.rules`); this
module maps what AWS says into `bot.domain` values and performs the calls it is asked to.
"""

from __future__ import annotations

import logging
import re
import threading
import weakref
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    HTTPClientError,
    NoCredentialsError,
)
from botocore.exceptions import (
    ConnectionError as BotocoreConnectionError,
)

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
    AwsUnreachable,
    RoleArnMalformed,
    RoleNotAssumable,
    SettingInvalid,
)

if TYPE_CHECKING:
    from mypy_boto3_rds import RDSClient
    from mypy_boto3_rds.type_defs import DBInstanceTypeDef
    from mypy_boto3_sts import STSClient

logger = logging.getLogger(__name__)

SESSION_DURATION_SECONDS = 3600
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=5,
    read_timeout=20,
)

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
NOT_FOUND_CODES = frozenset({"DBInstanceNotFound", "DBInstanceNotFoundFault"})
INVALID_STATE_CODES = frozenset(
    {"InvalidDBInstanceState", "InvalidDBInstanceStateFault"}
)
UNREACHABLE_ERRORS = (BotocoreConnectionError, HTTPClientError)

_SCAN_WORKERS = 8
_DEFAULT_STS_REGION = "us-east-1"
_SESSION_NAME_UNSAFE = re.compile(r"[^\w+=,.@-]")

# States in which the instance is already where the action wants it, or on its way.
_ALREADY = {
    Action.STOP: (frozenset({"stopped", "stopping"}), OutcomeKind.ALREADY_STOPPED),
    Action.START: (frozenset({"available", "starting"}), OutcomeKind.ALREADY_RUNNING),
}


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
    ) -> None:
        """Prepare the bridge; no AWS call is made yet.

        Args:
            regions: Regions to scan; empty means every region where RDS exists.
            own_account_id: SnoozeDB's own AWS account, when known; otherwise it is
                asked of STS once.
            session: The session with SnoozeDB's own credentials; the default
                credential chain when None.
        """
        self._session = session if session is not None else boto3.Session()
        self._regions = tuple(regions) or tuple(
            self._session.get_available_regions("rds")
        )
        self._own_account_id = own_account_id
        self._sts_region = self._session.region_name or _DEFAULT_STS_REGION
        # boto3 sessions are not thread-safe; clients are. Create clients one at a time.
        self._client_lock = threading.Lock()
        self._sts: STSClient | None = None
        _guard_library_loggers()

    @property
    def regions(self) -> tuple[str, ...]:
        """The regions a scan covers when the caller names none."""
        return self._regions

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

        try:
            account = self._own_sts().get_caller_identity()["Account"]
        except NoCredentialsError as error:
            raise SettingInvalid("AWS credentials", "are not configured") from error
        except ClientError as error:
            code = _error_code(error)
            raise SettingInvalid(
                "AWS credentials", f"were refused by AWS ({code})"
            ) from error
        except UNREACHABLE_ERRORS as error:
            raise AwsUnreachable("finding its own AWS account") from error

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
            AwsUnreachable: STS did not answer.
        """
        role = RoleArn.parse(role_arn)
        if role is None:
            raise RoleArnMalformed(role_arn)

        session_name = role_session_name(purpose, team_id)
        sts = self._own_sts()
        try:
            answer = sts.assume_role(
                RoleArn=role.arn,
                RoleSessionName=session_name,
                ExternalId=external_id,
                DurationSeconds=SESSION_DURATION_SECONDS,
            )
        except ClientError as error:
            code = _error_code(error)
            logger.warning("AssumeRole refused for %s (%s)", role.arn, code)
            raise RoleNotAssumable(role.arn, self._trusted_account(), code) from error
        except UNREACHABLE_ERRORS as error:
            raise AwsUnreachable(f"assuming the role `{role.arn}`") from error

        granted = answer["Credentials"]
        credentials = _Credentials(
            access_key_id=granted["AccessKeyId"],
            secret_access_key=granted["SecretAccessKey"],
            session_token=granted["SessionToken"],
        )
        logger.debug("Assumed %s as session %s", role.arn, session_name)
        return AccountSession(self, role, credentials)

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
                config=CLIENT_CONFIG,
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

        Args:
            instance: The instance, as last scanned.
            action: Stop or start.

        Returns:
            The outcome; AWS errors become outcomes, never exceptions.
        """
        ref = instance.ref
        rds = self._rds(ref.region)
        try:
            if action is Action.STOP:
                rds.stop_db_instance(DBInstanceIdentifier=ref.identifier)
            else:
                rds.start_db_instance(DBInstanceIdentifier=ref.identifier)
        except ClientError as error:
            return self._refused(
                instance, action, _error_code(error), _error_message(error)
            )
        except UNREACHABLE_ERRORS:
            logger.warning("AWS did not answer %s of %s", action.value, ref.qualified)
            return Outcome(ref, action, OutcomeKind.FAILED, Reason.AWS_UNREACHABLE)

        done = OutcomeKind.STOPPED if action is Action.STOP else OutcomeKind.STARTED
        logger.info(
            "%s %s (role %s)", done.value.capitalize(), ref.qualified, self.role_arn
        )
        return Outcome(ref, action, done)

    def _refused(
        self, instance: Instance, action: Action, code: str, message: str
    ) -> Outcome:
        ref = instance.ref
        if code in INVALID_STATE_CODES:
            states, already = _ALREADY[action]
            if instance.status in states or _says_already(message, action):
                logger.info("%s was already %s", ref.qualified, instance.status)
                return Outcome(ref, action, already)
            logger.warning(
                "%s is %s; %s refused", ref.qualified, instance.status, action.value
            )
            return Outcome(
                ref, action, OutcomeKind.REFUSED, Reason.BUSY, instance.status
            )

        logger.warning("%s of %s failed: %s", action.value, ref.qualified, code)
        if code in NOT_FOUND_CODES:
            return Outcome(ref, action, OutcomeKind.FAILED, Reason.NOT_FOUND)
        return Outcome(ref, action, OutcomeKind.FAILED, Reason.AWS_REFUSED, code)

    def _scan_region(self, region: str) -> _RegionScan:
        rds = self._rds(region)
        instances: list[Instance] = []
        try:
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
            raise AwsUnreachable(self._listing(region)) from error
        except UNREACHABLE_ERRORS as error:
            raise AwsUnreachable(self._listing(region)) from error
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
    return str(error.response.get("Error", {}).get("Code", "Unknown"))


def _error_message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", ""))


def _says_already(message: str, action: Action) -> bool:
    """True when AWS's refusal itself says the instance is already where we want it."""
    lowered = message.lower()
    if action is Action.STOP:
        return "already stopped" in lowered
    return "already available" in lowered or "already running" in lowered
