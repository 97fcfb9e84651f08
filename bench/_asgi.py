"""A minimal in-process ASGI client: the app's lifespan and one HTTP exchange, nothing else.

The benchmark measures the application, so the harness must cost next to nothing: no sockets, no
HTTP parsing, no httpx request objects; a hand-rolled scope, one ``http.request`` message, and the
response body collected from ``send``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from starlette.types import ASGIApp, Message

_ASGI = {"version": "3.0", "spec_version": "2.3"}


class AsgiClient:
    """``async with AsgiClient(app) as client: status, body = await client.post(path, body)``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._state: dict[str, Any] = {}
        self._lifespan_in: asyncio.Queue[Message] = asyncio.Queue()
        self._lifespan_out: asyncio.Queue[Message] = asyncio.Queue()
        self._lifespan: asyncio.Task[None] | None = None

    async def __aenter__(self) -> AsgiClient:
        scope = {"type": "lifespan", "asgi": _ASGI, "state": self._state}

        async def lifespan() -> None:
            await self.app(scope, self._lifespan_in.get, self._lifespan_out.put)

        self._lifespan = asyncio.create_task(lifespan())
        await self._lifespan_in.put({"type": "lifespan.startup"})
        answer = await self._lifespan_out.get()
        if answer["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"application startup failed: {answer.get('message', answer['type'])}")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._lifespan_in.put({"type": "lifespan.shutdown"})
        answer = await self._lifespan_out.get()
        if self._lifespan is not None:
            await self._lifespan
        if answer["type"] != "lifespan.shutdown.complete":
            raise RuntimeError(f"application shutdown failed: {answer.get('message', answer['type'])}")

    async def post(
        self, path: str, body: bytes, headers: Sequence[tuple[bytes, bytes]] = ()
    ) -> tuple[int, bytes]:
        """POST ``body`` to ``path``; returns (status, response body)."""
        scope = {
            "type": "http",
            "asgi": _ASGI,
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"bench.local"),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 80),
            "state": dict(self._state),
        }
        delivered = False
        done = asyncio.Event()
        status = 0
        chunks: list[bytes] = []

        async def receive() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await done.wait()  # the client stays connected until the answer is complete
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    done.set()

        await self.app(scope, receive, send)
        return status, b"".join(chunks)
