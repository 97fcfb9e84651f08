"""Structured JSON logs: one object per line, ids and measurements only (never tokens or PHI).

Two leaks are closed here rather than at every call site. Exception messages can quote the data
that failed (pydantic's ``input_value='<a patient's name>'``), so tracebacks are logged with each
exception's type and frames but not its message. And libraries that dump wire data at DEBUG
(SQLAlchemy's statement parameters, httpcore's headers) stay at a quieter level even when the
service runs at DEBUG, so ``BHCDS_LOG_LEVEL=DEBUG`` is safe in production.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from types import TracebackType
from typing import Any

import orjson

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}

# logger → the most verbose level it may log at, whatever the service's level
QUIET_LOGGERS = {
    "sqlalchemy": logging.WARNING,  # INFO logs every statement with its parameters (patient ids, comments)
    "httpcore": logging.INFO,  # DEBUG logs response headers
    "hpack": logging.INFO,
    "multipart": logging.INFO,
}
# logger → its level unless the service runs at DEBUG (alembic announces its plugins on every start; httpx
# logs every request URL, one line per FHIR call or delivery)
CHATTY_LOGGERS = {"alembic": logging.WARNING, "httpx": logging.WARNING, "httpcore": logging.WARNING}


def redacted_traceback(exc: BaseException) -> str:
    """The traceback of ``exc`` and its causes: types and frames, never the messages."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = "".join(traceback.format_tb(current.__traceback__))
        parts.append(f"Traceback (most recent call last):\n{frames}{type(current).__qualname__}")
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return "\n\nwhile handling an exception raised by:\n\n".join(reversed(parts))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info and record.exc_info[1] is not None:
            entry["exc"] = redacted_traceback(record.exc_info[1])
        return orjson.dumps(entry, default=str).decode()

    def formatException(self, ei: Any) -> str:
        exc: BaseException | None = ei[1] if isinstance(ei, tuple) else None
        return redacted_traceback(exc) if exc is not None else ""

    def formatStack(self, stack_info: str) -> str:
        return stack_info


def configure(level: str = "INFO") -> None:
    """JSON lines on stderr for this process: every logger, and exceptions nobody caught."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name, quietest in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(max(quietest, root.level))
    for name, usual in CHATTY_LOGGERS.items():
        logging.getLogger(name).setLevel(
            root.level if root.level <= logging.DEBUG else max(usual, root.level)
        )
    # An uncaught exception would otherwise print a multi-line traceback: one record instead.
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread


def _log_uncaught(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, exc, tb)
        return
    logging.getLogger("uncaught").critical("uncaught %s", kind.__qualname__, exc_info=(kind, exc, tb))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None or issubclass(args.exc_type, SystemExit):
        return
    name = args.thread.name if args.thread is not None else "?"
    logging.getLogger("uncaught").critical(
        "uncaught %s in thread %s",
        args.exc_type.__qualname__,
        name,
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )
