"""The local parsers in a child process with hard limits, the way Apache Tika's forked
mode protects its host.

A hostile file (a zip bomb under the size cap, a PDF built to loop) must not take
more than its share of a worker: each file is parsed in a child process of its own,
which sets, before it reads a byte of the file,

- a **memory cap** (``RLIMIT_AS``, the child's whole address space): an allocation
  past it fails, the parse stops with ``MemoryError``;
- a **CPU-time cap** (``RLIMIT_CPU``): past it the kernel ends the child (SIGXCPU);
- no core dumps (a core file would be a copy of a member's document on disk);

and the worker gives it a **wall-clock timeout**, past which it kills the child.

A file that breaks a limit ends ``failed`` at once (``PermanentError``): the same
file breaks the same limit every time, so a retry would only spend the worker's
time again. A child that dies any other way (a crash in a C library, the machine's
out-of-memory killer) is a ``TransientError``: tried again within
``WORKER_MAX_RETRIES``, so a file that crashes the reader every time still ends
``failed``, never retried forever.

Children are forked from a fork server that has already imported the parsers, so
starting one costs milliseconds, not the seconds of those imports. A child reads
exactly one file and exits: it is never reused (least of all after breaking a
limit), and no member's document stays in a process that reads another's. The
server starts with the first parse (about a second, once per worker process).

Only the reply crosses back: the pages, or which limit broke, or the parser's own
``PermanentError`` message. Nothing the child logs is needed by the parent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import multiprocessing
import os
import resource
import signal
import threading
import time
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext, ForkServerProcess
from typing import Any

import attrs

from adapters.parsers.local import SUPPORTED, parse_bytes
from adapters.parsers.pdf import PdfEngine
from domain.errors import PermanentError, TransientError
from domain.model import MediaType, ParsedDocument, ParsedPage, ParseRequest
from domain.ports import ParseCheckpoint
from domain.units import MIB

log = logging.getLogger(__name__)

TOO_LONG = (
    "this file takes too long to read: it may be damaged, or built to overload a "
    "document reader; open it, save or print it as a new PDF, and upload that copy"
)
TOO_MUCH_MEMORY = (
    "this file needs too much memory to read: it may be damaged, or built to overload "
    "a document reader; split it into smaller files, or save or print it as a new PDF, "
    "and upload that"
)
READER_BROKE = (
    "this file needs too much memory to read, or is damaged in a way that stops our "
    "document reader; save or print it as a new PDF, or split it into smaller files, "
    "and upload that"
)
READER_CRASHED = (
    "our document reader stopped unexpectedly while reading this file ({how})"
)
#: Signals a process raises on itself when what it reads breaks it: an allocation the
#: memory cap refused in C or C++ code (abort), or a reader bug the file triggers.
_SELF_INFLICTED = frozenset(
    {signal.SIGABRT, signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE, signal.SIGILL}
)

#: Imported once by the fork server, so that each child starts with them loaded.
PRELOAD = (
    "adapters.parsers.isolated", "pypdfium2", "pypdfium2.raw", "pypdf", "docx",
    "lxml.etree",
)
#: How long a child that sent its reply may take to exit before it is killed.
_EXIT_GRACE = 5.0
#: A child's exit status when it ends itself because its worker is gone.
_ORPHANED = 70


@attrs.frozen
class ParseLimits:
    """What one file's parse may take: address space, CPU time, wall-clock time."""

    memory_bytes: int = attrs.field(default=1024 * MIB, validator=attrs.validators.gt(0))
    cpu_seconds: float = attrs.field(default=120.0, validator=attrs.validators.gt(0))
    wall_seconds: float = attrs.field(default=300.0, validator=attrs.validators.gt(0))


class IsolatedLocalParser:
    """The local parsers (PDF, Word, HTML, markdown, text), each file in a child
    process under :class:`ParseLimits`."""

    name = "local"

    def __init__(
        self, *, limits: ParseLimits | None = None,
        pdf_engine: PdfEngine = PdfEngine.PDFIUM,
    ) -> None:
        self.limits = limits or ParseLimits()
        self._pdf_engine = pdf_engine
        # One child started ahead of need, waiting for a file: its start-up is off the
        # path of the next parse. It has read nothing yet, so it is not "reused".
        self._spare: _Child | None = None
        self._spare_lock = threading.Lock()
        self._preparing: set[asyncio.Future[None]] = set()
        self._closed = False

    def __repr__(self) -> str:
        return f"IsolatedLocalParser(limits={self.limits!r})"

    def supports(self, media_type: MediaType) -> bool:
        return media_type in SUPPORTED

    async def parse(self, request: ParseRequest, checkpoint: ParseCheckpoint) -> ParsedDocument:
        """``checkpoint`` is unused: a local parse has no external job to resume."""
        started = time.perf_counter()
        child = self._take_spare() or _Child(self.limits)
        try:
            reply = await asyncio.to_thread(
                child.run, str(request.media_type), str(self._pdf_engine), request.data
            )
        finally:
            child.kill()  # cancelled (step timeout, shutdown) or done: never left running
            self._prepare_spare()  # after, not during: it would compete for the CPU
        seconds = time.perf_counter() - started
        return self._outcome(request, reply, seconds)

    async def aclose(self) -> None:
        """Stop the spare child (the container calls this at shutdown), waiting for one
        still starting, so no child outlives the parser."""
        self._closed = True
        if self._preparing:
            await asyncio.gather(*self._preparing, return_exceptions=True)
        spare = self._take_spare()
        if spare is not None:
            spare.kill()

    def _take_spare(self) -> _Child | None:
        with self._spare_lock:
            child, self._spare = self._spare, None
        return child if child is not None and child.waiting else None

    def _prepare_spare(self) -> None:
        """Start the next file's child in the background."""
        if self._closed or self._preparing or self._spare is not None:
            return

        def start() -> None:
            child = _Child(self.limits)
            child.start()
            replaced: _Child | None
            with self._spare_lock:
                if self._closed:  # shut down while it started: nobody will use it
                    replaced = child
                else:
                    replaced, self._spare = self._spare, child
            if replaced is not None:
                replaced.kill()

        future = asyncio.ensure_future(asyncio.to_thread(start))
        self._preparing.add(future)
        future.add_done_callback(self._spare_ready)

    def _spare_ready(self, future: asyncio.Future[None]) -> None:
        self._preparing.discard(future)
        if not future.cancelled() and future.exception() is not None:
            log.warning("could not start a spare parser process: %r", future.exception())

    def _outcome(self, request: ParseRequest, reply: _Reply, seconds: float) -> ParsedDocument:
        ids = {"document_id": str(request.document_id), "media_type": str(request.media_type),
               "bytes": len(request.data), "seconds": round(seconds, 2)}
        if reply.kind == "ok":
            assert reply.pages is not None
            log.info("parsed document %s in a child process: %d pages with text in %.2f s, "
                     "peak memory %d MiB", request.document_id, len(reply.pages), seconds,
                     reply.peak_bytes // MIB, extra=ids)
            return ParsedDocument(pages=reply.pages, parser=self.name)
        if reply.kind == "permanent":
            raise PermanentError(reply.detail)
        if reply.kind in ("cpu", "wall", "memory"):
            limit = {"cpu": f"{self.limits.cpu_seconds:g} s of CPU time",
                     "wall": f"{self.limits.wall_seconds:g} s",
                     "memory": f"{self.limits.memory_bytes // MIB} MiB of memory"}[reply.kind]
            log.warning("parsing document %s broke the parser's limit of %s; the child "
                        "process was stopped", request.document_id, limit,
                        extra={**ids, "limit": reply.kind})
            raise PermanentError(TOO_MUCH_MEMORY if reply.kind == "memory" else TOO_LONG)
        if reply.kind == "broke":
            log.warning("the parser's child process broke on document %s (%s)",
                        request.document_id, reply.detail, extra=ids)
            raise PermanentError(READER_BROKE)
        log.warning("the parser's child process died while parsing document %s (%s)",
                    request.document_id, reply.detail, extra=ids)
        raise TransientError(READER_CRASHED.format(how=reply.detail))


# -- the parent's side ----------------------------------------------------------------


@attrs.frozen
class _Reply:
    """``kind``: ok, permanent (``detail`` is the parser's message), cpu, wall or
    memory (a limit broke), broke (the reader killed itself on the file) or crashed
    (ended from outside, or an unexpected error; ``detail`` says how)."""

    kind: str
    pages: tuple[ParsedPage, ...] | None = None
    detail: str = ""
    peak_bytes: int = 0


class _Child:
    """One child process, for one file. ``run`` blocks (call it in a thread);
    ``kill`` may be called from any thread, before, during or after ``run``."""

    def __init__(self, limits: ParseLimits) -> None:
        self._limits = limits
        self._lock = threading.Lock()
        self._process: ForkServerProcess | None = None
        self._killed = False
        self._timed_out = False
        self._conn: Connection | None = None

    @property
    def waiting(self) -> bool:
        """Started, alive, and not yet given a file."""
        with self._lock:
            return (self._conn is not None and not self._killed and self._process is not None
                    and self._process.exitcode is None)

    def start(self) -> None:
        """Start the process (it waits for the file). Blocking: call it in a thread."""
        if self._process is None:
            conn = self._start()
            with self._lock:
                if self._killed and conn is not None:
                    conn.close()
                else:
                    self._conn = conn

    def run(self, media_type: str, engine: str, data: bytes) -> _Reply:
        self.start()
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is None:
            return _Reply("crashed", detail="stopped before it started")
        try:
            deadline = time.monotonic() + self._limits.wall_seconds
            reply: Any = None
            with contextlib.suppress(OSError, EOFError):  # the child died: see below
                conn.send((media_type, engine))
                conn.send_bytes(data)
                if conn.poll(max(0.0, deadline - time.monotonic())):
                    reply = conn.recv()
                else:
                    self._timed_out = True
                    self.kill()
        finally:
            conn.close()
        self._reap()
        if isinstance(reply, tuple) and reply and reply[0] == "ok":
            return _Reply("ok", pages=reply[1], peak_bytes=reply[2])
        if isinstance(reply, tuple) and reply:
            return _Reply(reply[0], detail=reply[1])
        return self._death()

    def kill(self) -> None:
        with self._lock:
            self._killed = True
            if self._conn is not None:  # a spare never given a file
                self._conn.close()
                self._conn = None
            if self._process is not None and self._process.exitcode is None:
                with contextlib.suppress(OSError, ValueError):
                    self._process.kill()

    def _start(self) -> Connection | None:
        context = _context()
        parent_end, child_end = context.Pipe()
        process = context.Process(target=_child_main, args=(child_end, self._limits),
                                  name="navigator-parse", daemon=True)
        with self._lock:
            if self._killed:
                parent_end.close()
                child_end.close()
                return None
            process.start()
            self._process = process
        child_end.close()
        return parent_end

    def _reap(self) -> None:
        assert self._process is not None
        self._process.join(_EXIT_GRACE)
        if self._process.exitcode is None:
            self.kill()
            self._process.join()

    def _death(self) -> _Reply:
        """No reply came: why the child ended."""
        assert self._process is not None
        code = self._process.exitcode
        if self._timed_out:
            return _Reply("wall")
        if code == -signal.SIGXCPU:
            return _Reply("cpu")
        if self._killed:
            return _Reply("crashed", detail="stopped by the worker")
        if code is not None and code < 0:
            kind = "broke" if -code in _SELF_INFLICTED else "crashed"
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return _Reply(kind, detail=f"ended by {name}")
        return _Reply("crashed", detail=f"exit code {code}")


_CONTEXT_LOCK = threading.Lock()


def _context() -> ForkServerContext:
    """The fork-server context, with the parsers preloaded into the server."""
    context = multiprocessing.get_context("forkserver")
    assert isinstance(context, ForkServerContext)
    with _CONTEXT_LOCK:
        context.set_forkserver_preload(list(PRELOAD))
    return context


# -- the child's side -------------------------------------------------------------------


def _child_main(conn: Connection, limits: ParseLimits) -> None:
    """Read one request, set the limits, parse, answer, exit."""
    try:
        try:
            media_type, engine = conn.recv()
            data = conn.recv_bytes()
        except (EOFError, OSError):  # a spare retired, or its worker gone: nothing to do
            return
        threading.Thread(target=_watch_parent, args=(conn, limits.wall_seconds),
                         name="watch-parent", daemon=True).start()
        _set_limits(limits)
        reply = _parse(media_type, engine, data)
        del data
        try:
            conn.send(reply)
        except MemoryError:
            conn.send(("memory", ""))
    finally:
        conn.close()


def _watch_parent(conn: Connection, wall_seconds: float) -> None:
    """End this child if the worker that started it is gone (killed, crashed: its end
    of the pipe closed) or the wall-clock limit has passed, whether or not the worker
    is there to stop it. The worker sends nothing after the file, so the pipe becomes
    readable only when the worker's end closes."""
    conn.poll(wall_seconds + _EXIT_GRACE)
    os._exit(_ORPHANED)


def _set_limits(limits: ParseLimits) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    spent = usage.ru_utime + usage.ru_stime  # what starting up took, not the file's share
    _lower(resource.RLIMIT_CPU, math.ceil(spent + limits.cpu_seconds))
    _lower(resource.RLIMIT_AS, limits.memory_bytes)
    _lower(resource.RLIMIT_CORE, 0)


def _lower(which: int, value: int) -> None:
    """Soft and hard limit to ``value`` (or to the hard limit already in force, if lower).
    The hard CPU limit stays where it was: the soft one's SIGXCPU is the signal we read."""
    _, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, hard if which == resource.RLIMIT_CPU else value))


def _parse(media_type: str, engine: str, data: bytes) -> tuple[Any, ...]:
    try:
        pages = parse_bytes(MediaType(media_type), data, PdfEngine(engine))
    except MemoryError:
        return ("memory", "")
    except PermanentError as exc:
        if _caused_by_memory(exc):  # a parser that calls every failure "damaged"
            return ("memory", "")
        return ("permanent", str(exc))
    except Exception as exc:  # a bug or an unexpected library error: worth a retry
        if _caused_by_memory(exc):
            return ("memory", "")
        return ("crashed", f"{type(exc).__name__} in the {media_type} reader")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    return ("ok", pages, peak)


def _caused_by_memory(exc: BaseException) -> bool:
    """A ``MemoryError`` anywhere in the chain, or libxml2 (under python-docx) saying it
    ran out (it raises a syntax error whose log says ``ERR_NO_MEMORY``)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, MemoryError):
            return True
        if "ERR_NO_MEMORY" in str(getattr(current, "error_log", "")):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False
