"""One structured log line per hook call, whatever its outcome, and the observer told of it.

The middleware sits outside the body limit and the last-resort 500, so a 413 or a 500 is logged
like any other answer. The hook endpoint fills in what only it learns (the verified issuer, the
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
from collections.abc import Collection
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


_CURRENT: ContextVar[CallInfo | None] = ContextVar("cds_hooks.call", default=None)


def handler_started() -> None:
    """Charge the time so far to the "protocol" stage (a handler calls this on entry)."""
    lap("protocol")


def lap(stage: str) -> None:
    """Charge the time since the previous mark (the call's start at first) to ``stage``.

    Does nothing outside a hook call (a handler called directly, as in tests).
    """
    info = _CURRENT.get()
    if info is not None:
        now = time.perf_counter()
        info.stages[stage] = info.stages.get(stage, 0.0) + now - info.mark
        info.mark = now


def add_stage(stage: str, seconds: float) -> None:
    """Add ``seconds`` measured elsewhere to ``stage``, without moving the mark."""
    info = _CURRENT.get()
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


class CallLogMiddleware:
    def __init__(self, app: ASGIApp, prefix: str, service_ids: Collection[str], observer: Observer) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/") + "/"
        self.service_ids = frozenset(service_ids)
        self.observer = observer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        requested = self._hook_path(scope)
        if requested is None:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        info = scope[CALL_INFO] = CallInfo(mark=started)
        token = _CURRENT.set(info)
        status: int | None = None

        async def tracking_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        finally:
            _CURRENT.reset(token)
            if info.stages:  # the handler ran: what came before it was the protocol's, after it the answer's
                info.stages["respond"] = time.perf_counter() - info.mark
            service = requested if requested in self.service_ids else None
            self._record(service, status, info, time.perf_counter() - started)

    def _hook_path(self, scope: Scope) -> str | None:
        """The service id of a POST to a hook endpoint (known or not); None for anything else."""
        if scope["type"] != "http" or scope.get("method") != "POST":
            return None
        path: str = scope["path"]
        path = path.removeprefix(scope.get("root_path", ""))
        if not path.startswith(self.prefix):
            return None
        service = path[len(self.prefix) :]
        return service if service and "/" not in service else None

    def _record(self, service: str | None, status: int | None, info: CallInfo, seconds: float) -> None:
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
            self.observer.hook_call(record)
        except Exception:  # a metrics bug must not turn an answered call into a failed one
            logger.exception("the call observer failed")
