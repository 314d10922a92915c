"""The services: ``navigator api``, ``navigator worker``, and ``navigator up`` (all in one).

``up`` is the newcomer's first command: the embedded PostgreSQL server (or
``DATABASE_URL``), the migrations, the API (uvicorn, in this event loop) and a
worker, in one process. It listens on 127.0.0.1 unless ``SERVICE_HOST`` says
otherwise, prints the URL, a link to the member's page that signs a browser in with a
dev token (in the URL's fragment), the token itself and a first command to try.

Stopping (Ctrl-C or SIGTERM, for every service): the worker stops claiming, lets
its running jobs finish within ``WORKER_SHUTDOWN_GRACE`` seconds and gives the
rest back without counting an attempt; then the API stops. ``up`` stops the
embedded server last, unless another navigator process still uses it; the data
stays in ``NAVIGATOR_HOME/pgdata`` and the next ``up`` starts where this one
left off. A second Ctrl-C stops at once (jobs still held come back when their
lease expires).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import logging
import os
import shutil
import signal
import socket
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import uvicorn

from entrypoints.api.app import create_app
from entrypoints.cli.database import database, database_errors
from entrypoints.cli.files import describe_move, move_files_from_disk
from entrypoints.cli.operator import check_worker, require_migrated
from entrypoints.cli.outcomes import OK, CommandFailed
from entrypoints.container import Container, build_container, start, stop
from entrypoints.container.database import describe_dsn, run_migrations
from entrypoints.logs import configure_logging
from entrypoints.metrics import serve_metrics
from entrypoints.settings import Settings
from entrypoints.tokens import DEFAULT_TTL, mint_dev_token
from entrypoints.tracing import configure_tracing

log = logging.getLogger("navigator")
UP_HOST = "127.0.0.1"
#: The sample document a checkout holds (README, "First steps"), offered in the banner.
SAMPLE = Path("examples") / "sample_summary_of_benefits.pdf"


# -- pieces shared by the services ----------------------------------------------------------


def serve_worker_metrics(container: Container, settings: Settings) -> None:
    """``WORKER_METRICS_PORT``: the worker's step durations, retries and failures for
    Prometheus, on ``SERVICE_HOST`` (a small HTTP server in a thread), behind
    ``METRICS_TOKEN`` as the API's ``/metrics`` is."""
    if settings.worker_metrics_port is None:
        return
    token, host, port = settings.metrics_token, settings.service_host, settings.worker_metrics_port
    try:
        serve_metrics(container.metrics(), host, port,
                      token=token.get_secret_value() if token else None,
                      open_without_token=settings.is_development)
    except OSError as exc:
        raise cannot_listen(exc, host, port, "WORKER_METRICS_PORT",
                            "another worker on this machine?") from None
    log.info("worker metrics served", extra={"port": settings.worker_metrics_port})


class _Uvicorn(uvicorn.Server):
    """uvicorn without its own signal handlers: the service's handlers stop it, in order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything else starts, so a busy port is a
    clear message at once rather than a log line after the database started."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except socket.gaierror:
        raise CommandFailed(f"SERVICE_HOST {host!r} is not an address of this machine") from None
    except OSError as exc:
        raise cannot_listen(exc, host, port, "SERVICE_PORT",
                            "another `navigator up` or `navigator api`?") from None
    sock.setblocking(False)
    return sock


def cannot_listen(exc: OSError, host: str, port: int, variable: str, who: str
                  ) -> CommandFailed:
    """Why a port could not be listened on, saying which variable to change when busy."""
    if exc.errno == errno.EADDRINUSE:
        return CommandFailed(f"port {port} on {host} is already in use ({who}): stop it, or "
                             f"set {variable} to a free port")
    return CommandFailed(f"cannot listen on {host}:{port}: {exc.strerror}")


def api_server(container: Container, settings: Settings, *, access_log: bool) -> _Uvicorn:
    config = uvicorn.Config(
        create_app(container), lifespan="on", log_config=None, access_log=access_log,
        timeout_graceful_shutdown=10, proxy_headers=True, server_header=False,
        log_level=settings.log_level.lower(),
    )
    return _Uvicorn(config)


class Signals:
    """SIGINT and SIGTERM set ``stop``; a second one sets ``force`` too."""

    def __init__(self) -> None:
        self.stop = asyncio.Event()
        self.force = asyncio.Event()

    def __enter__(self) -> Signals:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._received, sig)
        return self

    def __exit__(self, *_exc: object) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)

    def _received(self, sig: signal.Signals) -> None:
        if self.stop.is_set():
            log.warning("second signal: stopping now")
            self.force.set()
        else:
            log.info("stopping", extra={"signal": sig.name})
        self.stop.set()


async def _until_stopped(signals: Signals, *tasks: asyncio.Task[object]) -> None:
    """Wait for a stop signal, or for one of ``tasks`` to end on its own (a crash)."""
    stopping = asyncio.create_task(signals.stop.wait())
    try:
        await asyncio.wait({stopping, *tasks}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()


async def _stop_worker(task: asyncio.Task[None], stop: asyncio.Event,
                       signals: Signals) -> None:
    stop.set()
    forced = asyncio.create_task(signals.force.wait())
    try:
        await asyncio.wait({task, forced}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        forced.cancel()
    if not task.done():
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _stop_api(server: _Uvicorn, task: asyncio.Task[None], signals: Signals,
                    container: Container) -> None:
    server.should_exit = True
    if signals.force.is_set():
        server.force_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await task
    if server.force_exit:  # uvicorn then skips the lifespan's shutdown: close the pool here
        with contextlib.suppress(Exception):
            await stop(container)


# -- navigator api --------------------------------------------------------------------------


def command_api(args: argparse.Namespace, settings: Settings) -> int:
    configure_logging(settings.log_level)
    configure_tracing("navigator-api")  # only if OTEL_EXPORTER_OTLP_ENDPOINT is set
    return asyncio.run(_api(settings))


async def _api(settings: Settings) -> int:
    sock = bind(settings.service_host, settings.service_port)
    async with database(settings) as dsn:
        container = build_container(settings, dsn)
        server = api_server(container, settings, access_log=True)
        with Signals() as signals:
            serving = asyncio.create_task(server.serve(sockets=[sock]))
            await _until_stopped(signals, serving)
            await _stop_api(server, serving, signals, container)
        if not server.started:
            raise CommandFailed("the API could not start; the log above says why")
    return OK


# -- navigator worker ------------------------------------------------------------------------


def command_worker(args: argparse.Namespace, settings: Settings) -> int:
    if args.check:
        return check_worker(settings)
    configure_logging(settings.effective_worker_log_level)
    configure_tracing("navigator-worker")  # only if OTEL_EXPORTER_OTLP_ENDPOINT is set
    return asyncio.run(_worker(settings))


async def _worker(settings: Settings) -> int:
    async with database(settings) as dsn:
        with database_errors():
            status = await require_migrated(dsn, settings)
        if status.pending:
            # its statements name what those migrations add: every step would fail
            raise CommandFailed(
                f"{len(status.pending)} migration(s) this worker needs are not applied to "
                f"schema {settings.database_schema} ({', '.join(status.pending)}): run "
                "`navigator migrate` first")
        container = build_container(settings, dsn)
        with database_errors():
            await start(container)
        try:
            serve_worker_metrics(container, settings)
            worker = container.worker_service()
            stop_worker = asyncio.Event()
            with Signals() as signals:
                working = asyncio.create_task(worker.run(stop_worker))
                await _until_stopped(signals, working)
                await _stop_worker(working, stop_worker, signals)
        finally:
            await stop(container)
    crashed = working.done() and not working.cancelled() and working.exception()
    if crashed:
        raise CommandFailed(f"the worker stopped with an error: {crashed!r}")
    return OK


# -- navigator up ---------------------------------------------------------------------------


def command_up(args: argparse.Namespace, settings: Settings) -> int:
    if "service_host" not in settings.model_fields_set:  # SERVICE_HOST not given
        settings = settings.model_copy(update={"service_host": UP_HOST})
    configure_logging(settings.log_level, console=True)
    configure_tracing("navigator")  # only if OTEL_EXPORTER_OTLP_ENDPOINT is set
    return asyncio.run(_up(settings, member=args.member))


async def _up(settings: Settings, member: str) -> int:
    sock = bind(settings.service_host, settings.service_port)
    say(f"starting the database ({database_label(settings)}) ...")
    async with database(settings) as dsn:
        with database_errors():
            applied = await run_migrations(dsn, settings.database_schema,
                                           settings.rag_vector_dimension)
        if applied:
            say(f"applied migrations: {', '.join(applied)}")
        container = build_container(settings, dsn)
        server = api_server(container, settings, access_log=False)
        with Signals() as signals:
            serving = asyncio.create_task(server.serve(sockets=[sock]))
            # uvicorn only offers a flag for "listening and lifespan done": poll it.
            while not (server.started or serving.done() or signals.stop.is_set()):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            if not server.started:
                await _stop_api(server, serving, signals, container)
                if signals.stop.is_set():
                    return OK
                raise CommandFailed("the API could not start; the log above says why")
            # Before the worker starts: a job needs its file in the store.
            with database_errors():
                moved = await move_files_from_disk(container)
            if moved is not None:
                say("\n".join(describe_move(moved, settings)))
            worker = container.worker_service()
            worker_stop = asyncio.Event()
            working = asyncio.create_task(worker.run(worker_stop))
            print(banner(settings, dsn, container, member), flush=True)
            await _until_stopped(signals, serving, working)
            say("stopping: the worker finishes or gives back its jobs ...")
            await _stop_worker(working, worker_stop, signals)
            await _stop_api(server, serving, signals, container)
        crashed = working.done() and not working.cancelled() and working.exception()
        if crashed:
            raise CommandFailed(f"the worker stopped with an error: {crashed!r}")
    say("stopped" + (" (the embedded database too; its data stays in "
                     f"{settings.pgdata_dir})"
                     if settings.uses_embedded_database else ""))
    return OK


def database_label(settings: Settings) -> str:
    """Where the database is, with no password: the embedded server's folder or the DSN."""
    if settings.uses_embedded_database:
        return f"embedded PostgreSQL in {settings.pgdata_dir}"
    return describe_dsn(settings.database_dsn() or "")


def traces_line(environ: Mapping[str, str] = os.environ) -> str:
    """Where traces go: the OpenTelemetry SDK's own variables say, as they do for it."""
    endpoint = (environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
                or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip())
    if endpoint and environ.get("OTEL_SDK_DISABLED", "").strip().lower() != "true":
        return f"sent over OTLP to {endpoint}"
    return "off (set OTEL_EXPORTER_OTLP_ENDPOINT to send them; docs/OPERATIONS.md)"


def banner(settings: Settings, dsn: str, container: Container, member: str) -> str:
    host = settings.service_host
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    if ":" in shown_host:
        shown_host = f"[{shown_host}]"
    url = f"http://{shown_host}:{settings.service_port}"
    token = mint_dev_token(container.settings(), member)
    hours = DEFAULT_TTL.total_seconds() / 3600
    embedder = container.embedder()
    default_port = Settings.model_fields["service_port"].default
    port_flag = "" if settings.service_port == default_port else f" --api {url}"
    navigator = self_command()
    metrics_note = ("  (send Authorization: Bearer $METRICS_TOKEN)" if settings.metrics_token
                    else f"  (`{navigator} status` shows the same queue figures)")
    return f"""
Insurance Navigator is up.

Open the member's page in a browser (the link signs you in as member {member}):

  {page_link(url, token)}

  API        {url}      (API docs: {url}/docs)
  database   {database_label(settings)}, schema {settings.database_schema}
  parser     {container.parser().name}
  embedder   {embedder.model} ({embedder.dimensions} dimensions)
  worker     in this process, {settings.worker_concurrency} job(s) at a time
  metrics    {url}/metrics{metrics_note}
  traces     {traces_line()}

A token for member {member} (valid {hours:g} hours), for curl or your app:

  export NAVIGATOR_TOKEN={token}

Try, in another terminal (the commands mint their own dev token):

  {navigator} upload{port_flag} {first_file()}
  {navigator} search{port_flag} "What is the out-of-pocket maximum?"
  {navigator} ask{port_flag} "How much is a specialist visit?"

Press Ctrl-C to stop.
"""


def page_link(url: str, token: str) -> str:
    """The member's page with a development token in the URL's fragment: a browser
    never sends a fragment to the server, so the token stays out of every log."""
    return f"{url}/#token={token}"


def first_file() -> str:
    """The sample document when run from a checkout (``make up``), else a placeholder."""
    return str(SAMPLE) if SAMPLE.is_file() else "path/to/policy.pdf"


def self_command() -> str:
    """How to run this same ``navigator`` again: plain ``navigator`` when that is what
    the PATH finds, else the path it was started by (``.venv/bin/navigator`` from
    ``make up``)."""
    started = Path(sys.argv[0])
    if started.name != "navigator":
        return "navigator"
    found = shutil.which("navigator")
    if found and Path(found).resolve() == started.resolve():
        return "navigator"
    try:
        return str(started.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(started)


def say(message: str) -> None:
    print(message, flush=True)
