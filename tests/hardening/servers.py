"""Real misbehaving servers on 127.0.0.1: a hand-written HTTP server and a TCP proxy that can be cut.

The HTTP server writes its answers byte by byte when a test needs it to (a slow drip, a body cut
short, a gzip bomb), which a well-behaved framework would never do. The proxy stands between the
app and a real PostgreSQL or Redis so a test can take the dependency "down" and bring it back on
the same port without touching the machine's shared servers.
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

Behaviour = Callable[["Exchange"], None]


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


@dataclass
class Exchange:
    """One request as received, and the socket to answer it on."""

    path: str
    headers: dict[str, str]
    sock: socket.socket
    stop: threading.Event
    base: str

    def send(
        self,
        status: int,
        body: bytes,
        headers: dict[str, str] | None = None,
        length: int | None = None,
        until_close: bool = False,
    ) -> None:
        """Answer; ``length`` may lie, and ``until_close`` sends no length at all (read to EOF)."""
        head = [f"HTTP/1.1 {status} X", "Content-Type: application/fhir+json", "Connection: close"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if not until_close:
            head.append(f"Content-Length: {len(body) if length is None else length}")
        self.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)

    def json(self, body: Any, status: int = 200) -> None:
        self.send(status, json.dumps(body).encode())

    def drip(self, body: bytes, every_seconds: float) -> None:
        """Headers at once, then the body one byte at a time, until it is done or the client leaves."""
        self.send(200, b"", length=len(body))
        for i in range(len(body)):
            if self.stop.wait(every_seconds):
                return
            try:
                self.sock.sendall(body[i : i + 1])
            except OSError:
                return

    def hang(self) -> None:
        """Read the request and never answer."""
        self.stop.wait(30)


@dataclass
class MisbehavingServer:
    base: str = ""
    routes: dict[str, Behaviour] = field(default_factory=dict)
    default: Behaviour | None = None
    seen: list[Seen] = field(default_factory=list)
    connections: int = 0

    def on(self, path: str, behaviour: Behaviour) -> None:
        self.routes[path] = behaviour

    def paths(self) -> list[str]:
        return [s.path for s in self.seen]


class _Server(socketserver.ThreadingTCPServer):
    request_queue_size = 64  # the default 5 drops the SYNs of eight concurrent fetches: 1 s retries
    daemon_threads = True
    block_on_close = False


@contextmanager
def misbehaving_server() -> Iterator[MisbehavingServer]:
    state = MisbehavingServer()
    stop = threading.Event()

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            state.connections += 1
            sock: socket.socket = self.request
            sock.settimeout(5)
            raw = b""
            try:
                while b"\r\n\r\n" not in raw:
                    chunk = sock.recv(65536)
                    if not chunk:
                        return
                    raw += chunk
            except OSError:
                return
            lines = raw.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
            state.seen.append(Seen(path, headers))
            behaviour = state.routes.get(path, state.default)
            exchange = Exchange(path, headers, sock, stop, state.base)
            try:
                if behaviour is None:
                    exchange.json({"resourceType": "OperationOutcome", "issue": []}, status=404)
                else:
                    behaviour(exchange)
            except OSError:
                return

    server = _Server(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


def searchset(*resources: dict[str, Any], next_url: str | None = None) -> dict[str, Any]:
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources],
    }
    if next_url:
        bundle["link"] = [{"relation": "next", "url": next_url}]
    return bundle


def gzip_bomb(decoded_bytes: int) -> bytes:
    """A gzip body of ``decoded_bytes`` zeros (about a thousandth of that on the wire)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * (1 << 20)
    out = [packer.compress(block) for _ in range(decoded_bytes >> 20)]
    return b"".join([*out, packer.flush()])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a real server; ``stop`` closes the port and every connection,
    ``start`` opens the same port again."""

    def __init__(self, target: tuple[str, int], port: int | None = None) -> None:
        self.target = target
        self.port = port or free_port()
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        deadline = time.monotonic() + 5
        while True:
            try:
                listener.bind(("127.0.0.1", self.port))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with suppress(OSError):  # wakes the thread blocked in accept() (Linux); close alone does not
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with suppress(OSError):  # the peer may have closed it already
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=3)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(a, b), daemon=True).start()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    with suppress(OSError):  # either side going away ends the pipe
        while data := source.recv(65536):
            sink.sendall(data)
    for sock in (source, sink):
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
