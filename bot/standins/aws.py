"""An AWS stand-in: moto's server on 127.0.0.1, with STS that refuses what AWS refuses.

moto's own STS hands out credentials for any AssumeRole, so with moto alone a bot
that forgot its External ID, or trusted the wrong account, would pass every test. This
stand-in puts a WSGI layer in front of moto that evaluates the role's trust policy the
way IAM does (principal account, `sts:ExternalId`), refuses with AWS's own AccessDenied
shape, and records every AssumeRole so tests can check what the bot sent.

Only one stand-in should run per process at a time: moto keeps its state in module
globals, and the stand-in resets that state when it starts and when it stops.
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote

import boto3
import moto.iam.models
from botocore.exceptions import ClientError
from moto.core.utils import get_pagination_model, get_service_model
from moto.iam.models import iam_backends
from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.rds.models import rds_backends
from moto.sts.models import sts_backends
from werkzeug.serving import make_server

from bot.template import CAPABILITY, DEFAULT_STACK_NAME, render_template

# moto maps access keys it never issued to this account: SnoozeDB's own in tests.
SNOOZEDB_ACCOUNT_ID = "123456789012"
ORGANIZATION_ROLE_NAME = "OrganizationAccountAccessRole"

# The stand-in's own key for reaching member accounts; unknown to moto, so it is
# treated as a caller in SNOOZEDB_ACCOUNT_ID (the organization's management account).
_ADMIN_ACCESS_KEY_ID = "AKIASTANDINADMIN0000"
_ADMIN_SECRET_ACCESS_KEY = "standin-admin-secret"  # noqa: S105 - moto checks no secret

_ROLE_ARN = re.compile(
    r"^arn:(?P<partition>[\w-]+):iam::(?P<account>\d{12}):role/(?P<rest>.+)$"
)
_SIGV4_SCOPE = re.compile(
    r"Credential=(?P<key>[^/,\s]+)/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request"
)
_CREDENTIAL_FIELD = re.compile(
    r"<(?P<name>AccessKeyId|SecretAccessKey|SessionToken)>(?P<value>[^<]*)</(?P=name)>"
)

StartResponse = Callable[..., Callable[[bytes], object]]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass(frozen=True)
class AssumeRoleCall:
    """One AssumeRole request as the stand-in saw it, and what it answered.

    The issued credentials are kept for allowed calls so tests can prove they never
    reach a log; they are excluded from `repr` so assertion output does not print them.
    """

    role_arn: str
    external_id: str | None
    role_session_name: str | None
    duration_seconds: int | None
    allowed: bool
    caller_account_id: str
    refusal: str = ""
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)


@dataclass
class _Fault:
    action: str
    code: str
    remaining: int
    account_id: str | None
    region: str | None
    status: int
    message: str


@dataclass(frozen=True)
class _Request:
    service: str
    region: str
    action: str
    access_key: str
    account_id: str
    params: dict[str, str]


class AwsStandIn:
    """moto's server in a thread, fronted by an STS that evaluates trust policies.

    Use it as a context manager; `endpoint_url` is what `AWS_ENDPOINT_URL` should be.

    Attributes:
        assume_role_calls: Every AssumeRole request, in arrival order.
        calls: Requests per (caller account, action), for RDS, STS and the rest.
        calls_by_region: Requests per (caller account, region, action).
    """

    def __init__(
        self, *, latency_seconds: float = 0.0, host: str = "127.0.0.1"
    ) -> None:
        """Prepare a stand-in; nothing listens until it is entered or started.

        Args:
            latency_seconds: Delay added to every request, for benchmarks.
            host: The address to bind; the port is always a free one.
        """
        self.latency_seconds = latency_seconds
        self.assume_role_calls: list[AssumeRoleCall] = []
        self.calls: Counter[tuple[str, str]] = Counter()
        self.calls_by_region: Counter[tuple[str, str, str]] = Counter()
        # Requests being answered right now, for tests that wait out a dead client's.
        self.in_flight = 0
        self._host = host
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._moto = DomainDispatcherApplication(create_backend_app)
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------

    def __enter__(self) -> AwsStandIn:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Reset moto's state and start serving on a free port."""
        moto_api_backend.reset()
        _index_access_keys()
        _load_service_models()
        self._server = make_server(
            self._host, 0, self._wsgi, threaded=True, request_handler=_QuietHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # shutdown waits up to one poll
            name="aws-standin",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and forget moto's state."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None
        self._thread = None
        moto_api_backend.reset()

    @property
    def endpoint_url(self) -> str:
        """The `http://127.0.0.1:<port>` every AWS client should be pointed at."""
        if self._server is None:
            raise RuntimeError("the AWS stand-in is not running")
        return f"http://{self._host}:{self._server.server_port}"

    # --- test hooks ----------------------------------------------------------------

    def fail_next(
        self,
        action: str,
        code: str,
        times: int = 1,
        *,
        account_id: str | None = None,
        region: str | None = None,
        status: int = 400,
        message: str = "",
    ) -> None:
        """Answer the next `times` requests for `action` with an AWS error.

        Args:
            action: The API action, for example `StopDBInstance`.
            code: The AWS error code, for example `Throttling`.
            times: How many requests fail before the action works again.
            account_id: Only fail requests made with this account's credentials.
            region: Only fail requests signed for this region.
            status: The HTTP status of the error answer.
            message: The error message; a generic one when empty.
        """
        text = message or (
            "Rate exceeded" if "Throttl" in code else f"{code} (stand-in)"
        )
        with self._lock:
            self._faults.append(
                _Fault(action, code, times, account_id, region, status, text)
            )

    def set_instance_status(
        self, account_id: str, region: str, identifier: str, status: str
    ) -> None:
        """Put a DB instance into a state, for example `backing-up`.

        Args:
            account_id: The customer account holding the instance.
            region: Its region.
            identifier: Its DBInstanceIdentifier.
            status: The DBInstanceStatus it should report from now on.
        """
        self.patch_instance(account_id, region, identifier, status=status)

    def patch_instance(
        self, account_id: str, region: str, identifier: str, **attributes: object
    ) -> None:
        """Change attributes of moto's DB instance model, for what moto cannot create.

        Args:
            account_id: The customer account holding the instance.
            region: Its region.
            identifier: Its DBInstanceIdentifier.
            **attributes: moto model attributes, for example `engine="db2-se"`.

        Raises:
            LookupError: No such instance in that account and region.
        """
        databases = rds_backends[account_id][region].databases
        if identifier not in databases:
            raise LookupError(f"no DB instance {identifier} in {account_id}/{region}")
        for name, value in attributes.items():
            setattr(databases[identifier], name, value)

    def reset_counts(self) -> None:
        """Forget recorded calls, keeping moto's resources."""
        with self._lock:
            self.assume_role_calls.clear()
            self.calls.clear()
            self.calls_by_region.clear()

    # --- customer-side helpers -----------------------------------------------------

    def customer_session(
        self, account_id: str, region: str = "us-east-1"
    ) -> boto3.Session:
        """Return a session acting inside a customer account, as an organization admin.

        Args:
            account_id: The customer account to act in.
            region: The session's default region.

        Returns:
            A boto3 session on the stand-in with credentials of that account.
        """
        admin = self._session(
            region, _ADMIN_ACCESS_KEY_ID, _ADMIN_SECRET_ACCESS_KEY, session_token=None
        )
        answer = admin.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/{ORGANIZATION_ROLE_NAME}",
            RoleSessionName="standin-admin",
        )
        credentials = answer["Credentials"]
        return self._session(
            region,
            credentials["AccessKeyId"],
            credentials["SecretAccessKey"],
            session_token=credentials["SessionToken"],
        )

    def role_stack_arn(
        self,
        account_id: str,
        region: str = "us-east-1",
        stack_name: str = DEFAULT_STACK_NAME,
    ) -> str | None:
        """The `RoleArn` output of a SnoozeDB stack already deployed, or None.

        Args:
            account_id: The customer account.
            region: Where the stack would be.
            stack_name: The stack name, which is also the role name.

        Returns:
            The role ARN, or None when no such stack exists.
        """
        cloudformation = self.customer_session(account_id, region).client(
            "cloudformation"
        )
        try:
            stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
        except ClientError:
            return None
        outputs = {
            item["OutputKey"]: item["OutputValue"]
            for stack in stacks
            for item in stack.get("Outputs", [])
        }
        return outputs.get("RoleArn")

    def deploy_role_stack(
        self,
        account_id: str,
        external_id: str,
        trusted_account: str,
        region: str = "us-east-1",
        stack_name: str = DEFAULT_STACK_NAME,
    ) -> str:
        """Deploy SnoozeDB's own template in a customer account, as a customer would.

        A stack of that name already there is deleted and created again: redeploying
        on AWS updates the role's trust policy to the new External ID, and moto's
        `update_stack` leaves the role as it was.

        Args:
            account_id: The customer account.
            external_id: The External ID the channel was given.
            trusted_account: The account SnoozeDB runs in.
            region: Where the stack is created.
            stack_name: The stack name, which is also the role name.

        Returns:
            The stack's `RoleArn` output.
        """
        cloudformation = self.customer_session(account_id, region).client(
            "cloudformation"
        )
        if self.role_stack_arn(account_id, region, stack_name) is not None:
            cloudformation.delete_stack(StackName=stack_name)
        cloudformation.create_stack(
            StackName=stack_name,
            TemplateBody=render_template(),
            Capabilities=[CAPABILITY],
            Parameters=[
                {"ParameterKey": "ExternalId", "ParameterValue": external_id},
                {"ParameterKey": "TrustedAccountId", "ParameterValue": trusted_account},
            ],
        )
        stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
        outputs = {item["OutputKey"]: item["OutputValue"] for item in stack["Outputs"]}
        return outputs["RoleArn"]

    def _session(
        self, region: str, access_key: str, secret_key: str, session_token: str | None
    ) -> boto3.Session:
        return _StandInSession(
            self.endpoint_url,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            aws_session_token=session_token,
            region_name=region,
        )

    # --- the WSGI layer ------------------------------------------------------------

    def _wsgi(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        with self._lock:
            self.in_flight += 1
        try:
            return self._answer(environ, start_response)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _answer(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        request = self._read_request(environ)
        if self.latency_seconds > 0:
            time.sleep(self.latency_seconds)
        if request is None:
            return self._moto(environ, start_response)  # type: ignore[no-any-return]
        if not request.access_key:
            message = "Request is missing Authentication Token"
            return _error(start_response, 403, "MissingAuthenticationToken", message)

        with self._lock:
            self.calls[(request.account_id, request.action)] += 1
            self.calls_by_region[
                (request.account_id, request.region, request.action)
            ] += 1
            fault = self._take_fault(request)
        if fault is not None:
            return _error(start_response, fault.status, fault.code, fault.message)
        if request.service == "sts" and request.action == "AssumeRole":
            return self._assume_role(request, environ, start_response)
        return self._moto(environ, start_response)  # type: ignore[no-any-return]

    def _read_request(self, environ: dict[str, Any]) -> _Request | None:
        scope = _credential_scope(environ.get("HTTP_AUTHORIZATION", ""))
        body = b""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length:
            body = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(body)
        params = parse_qs(environ.get("QUERY_STRING", ""))
        if environ.get("CONTENT_TYPE", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            params.update(parse_qs(body.decode("utf-8")))
        flat = {name: values[0] for name, values in params.items()}

        action = flat.get("Action", "")
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not action and target:
            action = target.rsplit(".", 1)[-1]
        if scope is None:
            # Unsigned: only moto's own API and the odd console call come this way.
            return (
                None
                if action != "AssumeRole"
                else _Request("sts", "", action, "", "", flat)
            )
        access_key, region, service = scope
        return _Request(
            service=service,
            region=region,
            action=action or "?",
            access_key=access_key,
            account_id=moto.iam.models.get_account_id_from(access_key),
            params=flat,
        )

    def _take_fault(self, request: _Request) -> _Fault | None:
        for fault in self._faults:
            if fault.action != request.action or fault.remaining <= 0:
                continue
            if fault.account_id not in (None, request.account_id):
                continue
            if fault.region not in (None, request.region):
                continue
            fault.remaining -= 1
            return fault
        return None

    def _assume_role(
        self, request: _Request, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        role_arn = request.params.get("RoleArn", "")
        external_id = request.params.get("ExternalId")
        duration_text = request.params.get("DurationSeconds")
        duration = (
            int(duration_text) if duration_text and duration_text.isdigit() else None
        )
        refusal, status, code = _judge(
            role_arn, request.account_id, external_id, duration
        )

        def record(allowed: bool, credentials: dict[str, str]) -> None:
            call = AssumeRoleCall(
                role_arn=role_arn,
                external_id=external_id,
                role_session_name=request.params.get("RoleSessionName"),
                duration_seconds=duration,
                allowed=allowed,
                caller_account_id=request.account_id,
                refusal=refusal,
                access_key_id=credentials.get("AccessKeyId"),
                secret_access_key=credentials.get("SecretAccessKey"),
                session_token=credentials.get("SessionToken"),
            )
            with self._lock:
                self.assume_role_calls.append(call)

        if refusal:
            record(False, {})
            message = refusal
            if code == "AccessDenied":
                caller = _caller_arn(request)
                message = (
                    f"User: {caller} is not authorized to perform: sts:AssumeRole "
                    f"on resource: {role_arn}"
                )
            return _error(start_response, status, code, message)

        status_line, headers, body = call_app(self._moto, environ)
        credentials = {
            m["name"]: m["value"] for m in _CREDENTIAL_FIELD.finditer(body.decode())
        }
        allowed = status_line.startswith("200")
        record(allowed, credentials)
        role_account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else ""
        if allowed and "AccessKeyId" in credentials and role_account.isdigit():
            # moto gives assumed-role keys the account of the role's ARN; noted now,
            # the first call made with them needs no search through every account.
            _remember_key(credentials["AccessKeyId"], role_account)
        start_response(status_line, headers)
        return [body]


class _StandInSession(boto3.Session):
    """A boto3 session whose clients go to the stand-in whatever the environment says."""

    def __init__(self, endpoint_url: str, **arguments: Any) -> None:
        super().__init__(**arguments)
        self._endpoint_url = endpoint_url

    def client(self, *arguments: Any, **options: Any) -> Any:
        """Create a client on the stand-in's endpoint unless one is given."""
        options.setdefault("endpoint_url", self._endpoint_url)
        return super().client(*arguments, **options)

    def resource(self, *arguments: Any, **options: Any) -> Any:
        """Create a resource on the stand-in's endpoint unless one is given."""
        options.setdefault("endpoint_url", self._endpoint_url)
        return super().resource(*arguments, **options)


class _QuietHandler(MotoRequestHandler):
    """moto's request handler without a log line per request."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log nothing: tests make thousands of requests."""


_KEY_ACCOUNTS: dict[str, str] = {}
_KEY_ACCOUNTS_LOCK = threading.Lock()
_MOTO_ACCOUNT_OF_KEY = moto.iam.models.get_account_id_from


def _indexed_account_of_key(access_key: str) -> str:
    """moto's account lookup for an access key, remembered once found.

    moto searches every account's keys on each request (itself, and once more in
    the stand-in), which at a thousand customer accounts costs the stand-in more CPU
    than the bot it serves. A key never moves to another account, so the first
    answer is kept until moto's state is reset; keys moto does not know are looked
    up each time, as they may be issued later.
    """
    found = _KEY_ACCOUNTS.get(access_key)
    if found is not None:
        return found
    found = _MOTO_ACCOUNT_OF_KEY(access_key)
    if found != SNOOZEDB_ACCOUNT_ID:
        _remember_key(access_key, found)
    return found


def _remember_key(access_key: str, account_id: str) -> None:
    with _KEY_ACCOUNTS_LOCK:
        _KEY_ACCOUNTS[access_key] = account_id


def _index_access_keys() -> None:
    """Forget the remembered keys (moto was reset) and use the index from now on."""
    with _KEY_ACCOUNTS_LOCK:
        _KEY_ACCOUNTS.clear()
    moto.iam.models.get_account_id_from = _indexed_account_of_key


def _credential_scope(authorization: str) -> tuple[str, str, str] | None:
    """Return (access key, region, service) from a SigV4 Authorization header.

    Any access key is read, not only the 20-character ones moto's own parser
    recognises, so a caller with a key like `testing` is still checked; moto maps
    such keys to its default account, and so does `get_account_id_from`.
    """
    scope = _SIGV4_SCOPE.search(authorization)
    if scope is None:
        return None
    return scope["key"], scope["region"], scope["service"].lower()


def _judge(
    role_arn: str, caller_account: str, external_id: str | None, duration: int | None
) -> tuple[str, int, str]:
    """Decide an AssumeRole as IAM would: ("", 200, "") or (refusal, status, code)."""
    parsed = _ROLE_ARN.match(role_arn)
    if parsed is None:
        return f"{role_arn} is invalid", 400, "ValidationError"

    backend = iam_backends[parsed["account"]][parsed["partition"]]
    role = next((r for r in backend.roles.values() if r.arn == role_arn), None)
    if role is None:
        if parsed["rest"].rsplit("/", 1)[-1] == ORGANIZATION_ROLE_NAME:
            return "", 200, ""
        return "the role does not exist", 403, "AccessDenied"

    maximum = int(role.max_session_duration or 3600)
    if duration is not None and duration > maximum:
        message = (
            f"The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
            f" ({duration} > {maximum})"
        )
        return message, 400, "ValidationError"

    refusal = _trust_refusal(
        _policy(role.assume_role_policy_document), caller_account, external_id
    )
    if refusal:
        return refusal, 403, "AccessDenied"
    return "", 200, ""


def _policy(document: str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(document, dict):
        return document
    try:
        parsed = json.loads(document)
    except json.JSONDecodeError:
        parsed = json.loads(unquote(document))
    return parsed if isinstance(parsed, dict) else {}


def _trust_refusal(
    policy: dict[str, Any], caller_account: str, external_id: str | None
) -> str:
    """Return why the trust policy refuses the caller, or "" when it allows it."""
    statements = _as_list(policy.get("Statement"))
    applicable = [
        statement
        for statement in statements
        if isinstance(statement, dict)
        and _names_caller(statement, caller_account)
        and _names_assume_role(statement)
    ]
    for statement in applicable:
        if (
            statement.get("Effect") == "Deny"
            and _conditions(statement, external_id) is not False
        ):
            return "an explicit Deny in the trust policy"
    allows = [
        statement for statement in applicable if statement.get("Effect") == "Allow"
    ]
    if not allows:
        return f"the trust policy does not allow account {caller_account}"
    if any(_conditions(statement, external_id) is True for statement in allows):
        return ""
    return "the sts:ExternalId condition does not hold"


def _names_caller(statement: dict[str, Any], caller_account: str) -> bool:
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    for value in _as_list(principal.get("AWS")):
        if value in ("*", caller_account):
            return True
        if re.fullmatch(rf"arn:[\w-]+:iam::{caller_account}:root", str(value)):
            return True
    return False


def _names_assume_role(statement: dict[str, Any]) -> bool:
    return any(
        fnmatchcase("sts:assumerole", str(pattern).lower())
        for pattern in _as_list(statement.get("Action"))
    )


def _conditions(statement: dict[str, Any], external_id: str | None) -> bool | None:
    """True/False when every condition is understood, None when one is not.

    Only `StringEquals` on `sts:ExternalId` is understood; a stand-in that guessed at
    other conditions could allow what AWS refuses, so callers treat None as "not met"
    for Allow and "met" for Deny.
    """
    conditions = statement.get("Condition") or {}
    if not isinstance(conditions, dict):
        return None
    for operator, clauses in conditions.items():
        if operator != "StringEquals" or not isinstance(clauses, dict):
            return None
        for key, expected in clauses.items():
            if key.lower() != "sts:externalid":
                return None
            if external_id is None or external_id not in _as_list(expected):
                return False
    return True


def _as_list(value: object) -> Sequence[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def _caller_arn(request: _Request) -> str:
    backend = sts_backends[request.account_id]["aws"]
    _user_id, arn, _account = backend.get_caller_identity(
        request.access_key, request.region
    )
    return str(arn)


def call_app(
    app: WsgiApp, environ: dict[str, Any]
) -> tuple[str, list[tuple[str, str]], bytes]:
    """Run a WSGI app to completion and return its status line, headers and body."""
    captured: dict[str, Any] = {}
    chunks: list[bytes] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: object = None
    ) -> Callable[[bytes], object]:
        captured["status"] = status
        captured["headers"] = headers
        return chunks.append

    result = app(environ, start_response)
    try:
        chunks.extend(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    body = b"".join(chunks)
    headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
    headers.append(("Content-Length", str(len(body))))
    return captured["status"], headers, body


def _error(
    start_response: StartResponse, status: int, code: str, message: str
) -> Iterator[bytes]:
    """Answer with AWS's query-protocol error document."""
    kind = "Sender" if status < 500 else "Receiver"
    body = (
        "<ErrorResponse><Error>"
        f"<Type>{kind}</Type><Code>{_xml(code)}</Code><Message>{_xml(message)}</Message>"
        f"</Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()
    reason = {400: "Bad Request", 403: "Forbidden", 404: "Not Found"}.get(
        status, "Error"
    )
    start_response(
        f"{status} {reason}",
        [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))],
    )
    return iter([body])


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# The services the stand-in answers for.
_SERVED = ("rds", "sts", "iam", "cloudformation")


def _load_service_models() -> None:
    """Load moto's service models before the first request, in one thread.

    moto caches each model once loaded, but requests that arrive together before
    that all load it at once: tens of threads parsing the RDS model for seconds.
    """
    for service in _SERVED:
        get_service_model(service)
        get_pagination_model(service)
