"""Wiring: settings -> storage, AWS bridge, operations -> bolt app -> a real server.

`snoozedb serve` runs gunicorn (threaded worker) through bolt's WSGI adapter, not
bolt's development server; `snoozedb socket` uses Socket Mode for development.
"""

from __future__ import annotations

import errno
import logging
import signal
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot import messages
from bot.aws_bridge import AwsBridge
from bot.commands import Context
from bot.config import LOG_FORMAT, Settings, load_settings
from bot.errors import SettingInvalid
from bot.operations import Operations
from bot.slack_app import (
    Responder,
    SlackPermissions,
    UserZones,
    build_app,
    web_client,
)
from bot.storage import Storage, check_database

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
# Every interface: the server runs behind a load balancer or in a container.
BIND_HOST = "0.0.0.0"  # noqa: S104
MAX_BODY_BYTES = 1_000_000
REQUEST_THREADS = 8


@dataclass
class Runtime:
    """Everything one SnoozeDB process holds while it runs."""

    settings: Settings
    storage: Storage
    context: Context
    app: App
    responder: Responder

    def close(self) -> None:
        """Finish in-flight work, then release the database."""
        self.responder.shutdown()
        self.storage.close()


def build_runtime(settings: Settings) -> Runtime:
    """Create storage, the AWS bridge and the bolt app from checked settings."""
    storage = Storage(settings.database_url)
    storage.create_tables()
    bridge = AwsBridge(
        regions=settings.snoozedb_regions,
        own_account_id=settings.snoozedb_aws_account_id,
    )
    client = web_client(settings.slack_bot_token, settings.slack_api_url)
    permissions = SlackPermissions(client, storage)
    context = Context(
        storage=storage,
        operations=Operations(storage, bridge),
        own_account_id=bridge.own_account_id(),
        own_partition=bridge.partition(),
        template_url=settings.snoozedb_template_url,
        user_zone=UserZones(client),
        is_admin=permissions.is_admin,
        group_members=permissions.group_members,
    )
    responder = Responder()
    app = build_app(
        context,
        signing_secret=settings.slack_signing_secret,
        client=client,
        responder=responder,
    )
    return Runtime(settings, storage, context, app, responder)


def wsgi_app(app: App) -> Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]:
    """The WSGI application: Slack requests, a health check, and a body size limit."""
    slack = SlackRequestHandler(app, path=EVENTS_PATH)

    def application(
        environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz" and environ.get("REQUEST_METHOD") == "GET":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = MAX_BODY_BYTES + 1
        if length > MAX_BODY_BYTES:
            start_response("413 Payload Too Large", [("Content-Type", "text/plain")])
            return [messages.BODY_TOO_LARGE.encode()]
        try:
            return slack(environ, start_response)
        except (ValueError, TypeError, LookupError, AttributeError) as error:
            # bolt parses the body before checking the signature and trusts the
            # payload's shape: bytes that are not UTF-8, JSON that is not an object,
            # or a payload missing a field it expects raise here. That is a bad
            # request, not a server fault; the payload itself is never logged.
            logger.warning("malformed request refused: %s", type(error).__name__)
            start_response("400 Bad Request", [("Content-Type", "text/plain")])
            return [messages.BAD_REQUEST.encode() + b"\n"]

    return application


def _check_port(port: int) -> None:
    """Bind the port once, as gunicorn will, and let it go again.

    gunicorn meets a port in use by retrying and logging each failure; checked here,
    it is one sentence and exit status 2 instead.

    Raises:
        SettingInvalid: the port is in use, privileged, or cannot be opened.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As gunicorn does, so a port left in TIME_WAIT by a restart still counts
        # as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((BIND_HOST, port))
        except PermissionError:
            raise SettingInvalid("PORT", messages.port_privileged(port)) from None
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                problem = messages.port_in_use(port)
            else:
                code = errno.errorcode.get(error.errno or 0, type(error).__name__)
                problem = messages.port_unavailable(port, code)
            raise SettingInvalid("PORT", problem) from None


def _serve_gunicorn(settings: Settings) -> int:
    from gunicorn.app.base import BaseApplication

    from bot.scheduler import Engine, engine_for

    running: list[tuple[Runtime, Engine]] = []

    def finish(server: object, worker: object) -> None:
        # gunicorn calls this in the worker on SIGTERM, after in-flight requests are
        # answered: the scheduler finishes the accounts it is handling and the
        # replies still being worked on are posted before the process exits.
        for runtime, engine in running:
            engine.shutdown()
            runtime.close()

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{BIND_HOST}:{settings.port}")
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("workers", 1)
            # Each request thread only reads and writes the database before its
            # ack; AWS and Slack calls wait on the responder's own threads. More
            # request threads would only take turns on the one interpreter lock:
            # 8 acknowledged 50 commands at once faster than 16 or 24 did.
            self.cfg.set("threads", REQUEST_THREADS)
            self.cfg.set("graceful_timeout", 60)
            self.cfg.set("accesslog", None)
            self.cfg.set("worker_exit", finish)

        def load(self) -> Any:
            # Built inside the worker, after the fork, so its threads belong to it.
            runtime = build_runtime(settings)
            # One scheduler per process; claims make several replicas safe.
            engine = engine_for(settings, runtime.storage, runtime.context.operations)
            engine.start()
            running.append((runtime, engine))
            return wsgi_app(runtime.app)

    _check_port(settings.port)
    logger.info("serving on port %s", settings.port)
    Server().run()
    return 0


class SocketConnection(Protocol):
    """What `_serve_socket` needs of bolt's SocketModeHandler."""

    def connect(self) -> None: ...

    def close(self) -> None: ...


def _socket_mode_handler(app: App, app_token: str) -> SocketConnection:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    return SocketModeHandler(app, app_token)


def _serve_socket(
    settings: Settings,
    connection_for: Callable[[App, str], SocketConnection] = _socket_mode_handler,
) -> int:
    """Run in Socket Mode until SIGTERM or SIGINT, then stop cleanly and return 0.

    bolt's `SocketModeHandler.start()` blocks forever, so a signal handler alone
    cannot end it: the main thread connects, waits for the signal, then closes the
    connection (its close waits for the envelopes being handled), stops the
    scheduler and posts the replies still pending.

    Args:
        settings: The checked settings; SLACK_APP_TOKEN must be set.
        connection_for: Builds the Socket Mode connection (tests pass a fake).

    Returns:
        The exit status.

    Raises:
        SettingInvalid: SLACK_APP_TOKEN is not set.
    """
    if not settings.slack_app_token:
        raise SettingInvalid(
            "SLACK_APP_TOKEN",
            "is not set (Socket Mode needs an app-level token, xapp-...)",
        )
    runtime = build_runtime(settings)
    from bot.scheduler import engine_for

    engine = engine_for(settings, runtime.storage, runtime.context.operations)
    connection = connection_for(runtime.app, settings.slack_app_token)
    stopping = threading.Event()
    previous = {
        signum: signal.signal(signum, lambda *_: stopping.set())
        for signum in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        engine.start()
        connection.connect()
        logger.info("connected in Socket Mode")
        stopping.wait()
        logger.info("stopping: finishing the requests and accounts in progress")
    finally:
        connection.close()
        engine.shutdown()
        runtime.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    logger.info("Socket Mode stopped")
    return 0


def _with_own_account(settings: Settings) -> Settings:
    """Find SnoozeDB's own AWS account once, before any worker starts.

    Asking inside gunicorn's worker would turn missing credentials into a worker
    that fails to boot; here they become one sentence and exit status 2.
    """
    if settings.snoozedb_aws_account_id:
        return settings
    bridge = AwsBridge(regions=settings.snoozedb_regions)
    return settings.model_copy(
        update={"snoozedb_aws_account_id": bridge.own_account_id()}
    )


def run(command: str) -> int:
    """Run `snoozedb serve`, `snoozedb socket` or `snoozedb scheduler`."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    settings = load_settings()
    # Before gunicorn forks: a database that does not answer is one sentence and
    # exit status 2 here, not a worker that fails to boot over and over.
    check_database(settings.database_url)
    settings = _with_own_account(settings)
    if command == "socket":
        return _serve_socket(settings)
    if command == "scheduler":
        from bot.scheduler import run_forever

        return run_forever(settings)
    return _serve_gunicorn(settings)
