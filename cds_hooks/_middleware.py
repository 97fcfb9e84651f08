"""The one ASGI middleware the protocol puts around every route: CORS, the call log, the body-size
limit and a last-resort 500, in that order from the outside in.

They were four middlewares, each a layer of calls and ``send`` wrappers on every request; folded into
one, a hook call passes one layer and one ``send`` wrapper (docs/performance.md measures it). What
each does is unchanged:

- **CORS** (Starlette's ``CORSMiddleware``, delegated to only when the request has an ``Origin``:
  EHRs calling server to server send none) is outermost, so every answer, a 413 or a 500 included,
  carries ``Access-Control-Allow-Origin``;
- **the call log** (cds_hooks/_call_log.py): one line per hook call, whatever its outcome, a 413 or
  a 500 included;
- **the body limit**: 413 for a body over ``max_bytes``, by its Content-Length before anything is
  read, or as soon as a streamed body passes the limit (raised from ``receive`` as a
  :class:`CdsError`, which the router's exception handler answers);
- **the last-resort 500**: any exception nothing else handled is logged with its traceback and
  answered with a bare 500 OperationOutcome.

The objects a call parked in its :class:`CallInfo` (``keep``: the parsed request) are let go only
after the answer has been sent, so freeing a large chart does not delay its answer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Sequence

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cds_hooks._call_log import CALL_INFO, CURRENT, CallInfo, record_call
from cds_hooks._json import JsonResponse
from cds_hooks.errors import CdsError, operation_outcome
from cds_hooks.events import Observer

logger = logging.getLogger("cds_hooks")


class ProtocolMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        prefix: str,
        service_ids: Collection[str],
        observer: Observer,
        max_bytes: int,
        cors_origins: Sequence[str],
        cors_methods: Sequence[str],
        cors_headers: Sequence[str],
    ) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/") + "/"
        self.service_ids = frozenset(service_ids)
        self.observer = observer
        self.max_bytes = max_bytes
        self.cors = CORSMiddleware(
            self._protocol,
            allow_origins=list(cors_origins),
            allow_methods=list(cors_methods),
            allow_headers=list(cors_headers),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if any(name == b"origin" for name, _ in scope["headers"]):
            await self.cors(scope, receive, send)  # which calls _protocol
        else:
            await self._protocol(scope, receive, send)

    async def _protocol(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The call log around the body limit around the last-resort 500."""
        service = self._hook_path(scope)
        info: CallInfo | None = None
        if service is not None:
            started = time.perf_counter()
            info = scope[CALL_INFO] = CallInfo(mark=started)
            token = CURRENT.set(info)
        status: int | None = None

        async def tracking_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self._limited(scope, receive, tracking_send)
        except Exception:
            logger.exception("unexpected error answering %s %s", scope.get("method"), scope.get("path"))
            if status is not None:
                raise
            outcome = operation_outcome("exception", "internal error")
            await JsonResponse(outcome, status_code=500)(scope, receive, tracking_send)
        finally:
            if info is not None:
                CURRENT.reset(token)
                ended = time.perf_counter()
                if info.stages:  # the handler ran: before it was the protocol's, after it the answer's
                    info.stages["respond"] = ended - info.mark
                known = service if service in self.service_ids else None
                record_call(self.observer, known, status, info, ended - started)
                info.keep.clear()  # the parsed request is freed now, after its answer went out

    async def _limited(self, scope: Scope, receive: Receive, send: Send) -> None:
        """413 for a body over the limit: by its Content-Length, or as a streamed body passes it."""
        declared = next((value for name, value in scope["headers"] if name == b"content-length"), b"")
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

    def _hook_path(self, scope: Scope) -> str | None:
        """The service id of a POST to a hook endpoint (known or not); None for anything else."""
        if scope.get("method") != "POST":
            return None
        path: str = scope["path"]
        path = path.removeprefix(scope.get("root_path", ""))
        if not path.startswith(self.prefix):
            return None
        service = path[len(self.prefix) :]
        return service if service and "/" not in service else None

    def _too_large(self) -> CdsError:
        return CdsError(413, "too-long", f"request body is larger than {self.max_bytes} bytes")
