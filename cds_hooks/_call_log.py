"""One structured log line per hook call, whatever its outcome, and the observer told of it.

The protocol's middleware (cds_hooks/_middleware.py) writes the line outside the body limit and the
last-resort 500, so a 413 or a 500 is logged like any other answer. The hook endpoint fills in what only it learns (the verified issuer, the
hookInstance, the topics of the cards, the issue code of an error) in a :class:`CallInfo` it finds
in the ASGI scope. The line carries ids and codes only: never a token, a diagnostic text (it may
quote patient data), or a value from the request body other than hookInstance.

The line also carries ``stages_ms``: where the call's time went. The protocol times what happens
before the handler ("protocol": authentication, reading and validating the body, prefetch) and
after it ("respond": serialising the cards and sending them). A handler calls
:func:`handler_started` first, then names its own stages with :func:`lap` (time since the previous
mark) and :func:`add_stage` (work timed elsewhere, e.g. on a thread, which may overlap the laps).
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from starlette.types import Scope

from cds_hooks.events import CallRecord, Observer

logger = logging.getLogger("cds_hooks.calls")

CALL_INFO = "cds_hooks.call"
_OUTCOMES = {
    200: "ok",
    400: "invalid",
    401: "unauthorized",
    404: "not-found",
    405: "not-allowed",
    412: "unavailable",
    413: "too-large",
}


@dataclass
class CallInfo:
    hook_instance: str | None = None
    issuer: str | None = None
    topics: tuple[str, ...] = ()
    issue: str | None = None  # the OperationOutcome issue code of an error answer
    stages: dict[str, float] = field(default_factory=dict)  # stage -> seconds
    mark: float = 0.0  # perf_counter() at the end of the last stage
    # what the call made that is freed only once its answer is sent (the parsed request: freeing a
    # large chart takes milliseconds, which the answer need not wait for)
    keep: list[Any] = field(default_factory=list)


CURRENT: ContextVar[CallInfo | None] = ContextVar("cds_hooks.call", default=None)


def handler_started() -> None:
    """Charge the time so far to the "protocol" stage (a handler calls this on entry)."""
    lap("protocol")


def lap(stage: str) -> None:
    """Charge the time since the previous mark (the call's start at first) to ``stage``.

    Does nothing outside a hook call (a handler called directly, as in tests).
    """
    info = CURRENT.get()
    if info is not None:
        now = time.perf_counter()
        info.stages[stage] = info.stages.get(stage, 0.0) + now - info.mark
        info.mark = now


def add_stage(stage: str, seconds: float) -> None:
    """Add ``seconds`` measured elsewhere to ``stage``, without moving the mark."""
    info = CURRENT.get()
    if info is not None:
        info.stages[stage] = info.stages.get(stage, 0.0) + seconds


def call_info(scope: Scope) -> CallInfo:
    """The call's record in ``scope``; a throwaway one when the middleware is not installed."""
    info = scope.get(CALL_INFO)
    return info if isinstance(info, CallInfo) else CallInfo()


def outcome(status: int | None, issue: str | None) -> str:
    if status is None:
        return "no-answer"
    if status == 412 and issue == "timeout":
        return "timeout"
    return _OUTCOMES.get(status, "error" if status >= 500 else f"http-{status}")


def record_call(
    observer: Observer, service: str | None, status: int | None, info: CallInfo, seconds: float
) -> None:
    """Log the call's line and tell the observer."""
    result = outcome(status, info.issue)
    fields: dict[str, Any] = {
        "service": service,
        "hook_instance": info.hook_instance,
        "issuer": info.issuer,
        "status": status,
        "outcome": result,
        "issue": info.issue,
        "topics": list(info.topics),
        "latency_ms": round(seconds * 1000, 2),
        "stages_ms": {name: round(s * 1000, 2) for name, s in info.stages.items()},
    }
    level = logging.ERROR if status is None or status >= 500 else logging.INFO
    logger.log(level, "hook call", extra=fields)
    record = CallRecord(
        service_id=service,
        status=status,
        outcome=result,
        latency_seconds=seconds,
        hook_instance=info.hook_instance,
        issuer=info.issuer,
        topics=info.topics,
    )
    try:
        observer.hook_call(record)
    except Exception:  # a metrics bug must not turn an answered call into a failed one
        logger.exception("the call observer failed")
