"""A small, quick HTTP/1.1 server for the benchmarks' loopback FHIR server, in processes of its own.

The scan benchmark first served its synthetic FHIR server with ``http.server`` threads inside the
benchmark process: Python's header parsing (``email.parser``) and a thread per connection, all under
one GIL beside the benchmark's own work. At about 150 searches a second that server, not the Celery
workers, was the bound. This one parses only what the benchmark needs (request line, Content-Length,
the headers it is asked for), answers with one ``write`` per response, keeps connections alive, and
runs in ``processes`` forked processes that share one port (``SO_REUSEPORT``), on uvloop when it is
installed. Each process has its own copy of the handler's state (forked after it is built), so state
that must be shared across processes (the created Tasks of a conditional create) is per process.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

# (method, path with query, lower-case headers it asked for, body) -> (status, body)
Handler = Callable[[str, str, dict[str, str], bytes], tuple[int, bytes]]

_REASONS = {200: b"OK", 201: b"Created", 404: b"Not Found", 400: b"Bad Request"}


class _Protocol(asyncio.Protocol):
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.buffer = b""
        self.transport: Any = None  # asyncio's or uvloop's transport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.transport is not None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1").split("\r\n")
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            method, target, _version = head[0].split(" ", 2)
            status, answer = self.handler(method, target, headers, body)
            self.transport.write(
                b"HTTP/1.1 %d %s\r\nContent-Type: application/fhir+json\r\nContent-Length: %d\r\n\r\n%s"
                % (status, _REASONS.get(status, b"OK"), len(answer), answer)
            )
            if headers.get("connection", "").lower() == "close":
                self.transport.close()
                self.transport = None

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


def _serve(sock: socket.socket, handler: Handler) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # the stock loop: slower, still far quicker than http.server
        pass

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _Protocol(handler), sock=sock)
        await server.serve_forever()

    asyncio.run(main())


@contextmanager
def serve(handler_factory: Callable[[int], Handler], processes: int = 2) -> Iterator[int]:
    """Serve on a free loopback port in ``processes`` forked processes; yields the port.

    ``handler_factory(port)`` builds the handler in this process, before the fork (so it is built
    once), knowing the port it will be reached at.
    """
    probe = socket.socket()
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    probe.bind(("127.0.0.1", 0))
    port = int(probe.getsockname()[1])
    handler = handler_factory(port)
    context = multiprocessing.get_context("fork")
    children: list[Any] = []
    try:
        for _ in range(processes):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind(("127.0.0.1", port))
            sock.listen(1024)
            child = context.Process(target=_serve, args=(sock, handler), daemon=True)
            child.start()
            sock.close()
            children.append(child)
        probe.close()
        yield port
    finally:
        for child in children:
            if child.pid is not None:
                os.kill(child.pid, signal.SIGTERM)
        for child in children:
            child.join(timeout=10)
