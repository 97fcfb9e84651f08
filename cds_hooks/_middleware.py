"""ASGI middleware the protocol needs around every route: a body-size limit and a last-resort 500."""

from __future__ import annotations

import logging

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cds_hooks._json import JsonResponse
from cds_hooks.errors import CdsError, operation_outcome

logger = logging.getLogger("cds_hooks")


class BodyLimitMiddleware:
    """413 for a body over ``max_bytes``: by its Content-Length before anything is read, or as soon
    as a streamed body passes the limit (raised from ``receive`` as a :class:`CdsError`)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await JsonResponse(self._too_large().outcome(), status_code=413)(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise self._too_large()
            return message

        await self.app(scope, limited_receive, send)

    def _too_large(self) -> CdsError:
        return CdsError(413, "too-long", f"request body is larger than {self.max_bytes} bytes")


class CatchAllMiddleware:
    """Any exception nothing else handled: logged with its traceback, answered with a bare 500
    OperationOutcome. Sits inside CORS so even this answer carries Access-Control-Allow-Origin."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            logger.exception("unexpected error answering %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            outcome = operation_outcome("exception", "internal error")
            await JsonResponse(outcome, status_code=500)(scope, receive, send)
