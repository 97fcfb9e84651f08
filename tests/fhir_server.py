"""The one FHIR server on loopback for the tests: a threaded HTTP server on 127.0.0.1.

It answers, in this order, for every request:

1. a route registered for the exact path and query (``json``, ``raw`` or ``on`` with a behaviour);
2. ``default``, a behaviour that answers every other request (fault injection: a behaviour writes
   whatever bytes it likes on the socket, see :class:`Exchange`);
3. ``get_handler`` for GETs, a function of (path, query, headers) returning (status, JSON body);
4. ``POST .../Task``: conditional create by identifier (``If-None-Exist``), atomically, with a
   per-patient ``script`` of error statuses to answer first and a ``delay`` after creating;
5. reads (``GET .../Type/id``) and patient-scoped searches (``GET .../Type?patient=...``) from the
   in-memory ``resources``, in pages of ``page_sizes[Type]`` linked by ``next`` URLs; a type it
   holds no list for is a 404, so an empty server answers 404 to everything.

Every request is recorded in ``seen`` (path with query, lower-cased headers, method, body); with
``token`` set, requests without ``Authorization: Bearer <token>`` get a 401. The FHIR base URL is
``url`` (``base + "/fhir"``); routes are absolute paths such as ``/fhir/Condition?patient=123``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socket import socket
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

GetHandler = Callable[[str, dict[str, list[str]], dict[str, str]], tuple[int, dict[str, Any]]]
Behaviour = Callable[["Exchange"], None]
OUTCOME = {"resourceType": "OperationOutcome", "issue": []}


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    method: str = "GET"
    body: bytes = b""


@dataclass
class Exchange:
    """One request as received, and the socket to answer it on (the connection closes after it)."""

    path: str
    headers: dict[str, str]
    sock: socket
    stop: threading.Event
    base: str
    method: str = "GET"
    body: bytes = b""

    def send(
        self,
        status: int,
        body: bytes,
        headers: dict[str, str] | None = None,
        length: int | None = None,
        until_close: bool = False,
    ) -> None:
        """Answer; ``length`` may lie, and ``until_close`` sends no length at all (read to EOF)."""
        extra = headers or {}
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "X"
        head = [f"HTTP/1.1 {status} {reason}", "Connection: close"]
        if not any(k.lower() == "content-type" for k in extra):
            head.append("Content-Type: application/fhir+json")
        head += [f"{k}: {v}" for k, v in extra.items()]
        if not until_close:
            head.append(f"Content-Length: {len(body) if length is None else length}")
        try:
            self.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        except (BrokenPipeError, ConnectionResetError):
            return  # the client (a killed worker, a timed-out fetch) is gone

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


def parse_token(token: str) -> tuple[str, str]:
    """``system|value`` with FHIR search escapes (``\\|``) in the value."""
    system, _, escaped = token.partition("|")
    value, i = [], 0
    while i < len(escaped):
        if escaped[i] == "\\" and i + 1 < len(escaped):
            value.append(escaped[i + 1])
            i += 2
        else:
            value.append(escaped[i])
            i += 1
    return system, "".join(value)


def searchset(*resources: dict[str, Any], next_url: str | None = None) -> dict[str, Any]:
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources],
    }
    if next_url:
        bundle["link"] = [{"relation": "next", "url": next_url}]
    return bundle


def _subject_id(resource: dict[str, Any]) -> str | None:
    if resource.get("resourceType") == "Patient":
        return str(resource.get("id"))
    ref = (resource.get("subject") or resource.get("patient") or resource.get("for") or {}).get("reference")
    return ref.rpartition("/")[2] if isinstance(ref, str) else None


@dataclass
class FhirServer:
    base: str = ""  # http://127.0.0.1:<port>
    resources: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # type → resources
    page_sizes: dict[str, int] = field(default_factory=dict)  # type → entries per search page
    token: str | None = None  # when set, the Bearer token every request must carry
    routes: dict[str, Behaviour] = field(default_factory=dict)  # exact path with query → behaviour
    default: Behaviour | None = None  # answers what no route does (fault injection)
    get_handler: GetHandler | None = None
    delay_seconds: float = 0.0  # before answering any request
    seen: list[Seen] = field(default_factory=list)
    connections: int = 0
    # conditional create of Tasks
    tasks: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    posts: list[dict[str, Any]] = field(default_factory=list)  # {"headers":..., "body":...}
    script: dict[str, list[int]] = field(default_factory=dict)  # patient id → statuses to answer first
    delay: float = 0.0  # after creating a Task, before answering
    in_flight: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """The FHIR base URL."""
        return self.base + "/fhir"

    @property
    def port(self) -> int:
        return int(self.base.rpartition(":")[2])

    # --- canned answers ---------------------------------------------------------------------------

    def on(self, path: str, behaviour: Behaviour) -> None:
        self.routes[path] = behaviour

    def raw(self, path: str, body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.on(path, lambda exchange: exchange.send(status, body, headers))

    def json(self, path: str, body: Any, status: int = 200) -> None:
        self.raw(path, json.dumps(body).encode(), status)

    def add(self, *resources: dict[str, Any]) -> None:
        for resource in resources:
            self.resources.setdefault(resource["resourceType"], []).append(resource)

    def paths(self) -> list[str]:
        return [s.path for s in self.seen]

    # --- Tasks --------------------------------------------------------------------------------------

    def task_count(self) -> int:
        with self.lock:
            return len(self.tasks)

    def posts_for(self, patient_id: str) -> int:
        with self.lock:
            return sum(1 for p in self.posts if p["body"]["for"]["reference"] == f"Patient/{patient_id}")

    def create(self, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        patient = body["for"]["reference"].removeprefix("Patient/")
        with self.lock:
            self.posts.append({"headers": headers, "body": body})
            statuses = self.script.get(patient)
            if statuses:
                status = statuses.pop(0)
                return status, {"resourceType": "OperationOutcome", "issue": [{"severity": "error"}]}
            condition = parse_qs(headers.get("if-none-exist", ""))["identifier"][0]
            key = parse_token(condition)
            if key in self.tasks:
                return 200, self.tasks[key]
            created = {**body, "id": str(len(self.tasks) + 1)}
            self.tasks[key] = created
        if self.delay:
            self.in_flight.set()
            time.sleep(self.delay)
        return 201, created

    # --- reads and searches -------------------------------------------------------------------------

    def answer(self, exchange: Exchange) -> None:
        """The server's own answer to a request no route or ``default`` took."""
        parts = urlsplit(exchange.path)
        query = parse_qs(parts.query)
        if self.token is not None and exchange.headers.get("authorization") != f"Bearer {self.token}":
            exchange.json(OUTCOME, 401)
        elif exchange.method == "POST":
            if parts.path.rstrip("/").endswith("/Task"):
                exchange.json(*reversed(self.create(exchange.headers, json.loads(exchange.body))))
            else:
                exchange.json({"resourceType": "OperationOutcome"}, 404)
        elif self.get_handler is not None:
            status, body = self.get_handler(parts.path, query, exchange.headers)
            exchange.json(body, status)
        else:
            exchange.json(*reversed(self.search(parts.path, query)))

    def search(self, path: str, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        segments = path.removeprefix("/fhir").strip("/").split("/")
        if len(segments) == 2:
            rtype, rid = segments
            found = [r for r in self.resources.get(rtype, []) if r.get("id") == rid]
            return (200, found[0]) if found else (404, {"resourceType": "OperationOutcome", "issue": []})
        if len(segments) != 1 or segments[0] not in self.resources:
            return 404, {"resourceType": "OperationOutcome", "issue": []}
        rtype = segments[0]
        wanted = query.get("patient") or query.get("subject") or []
        rows = [
            r
            for r in self.resources.get(rtype, [])
            if not wanted or _subject_id(r) == wanted[0].rpartition("/")[2]
        ]
        size = self.page_sizes.get(rtype)
        if size is None:
            return 200, {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{"resource": r} for r in rows],
            }
        page = int(query.get("_page", ["0"])[0])
        bundle: dict[str, Any] = {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [{"resource": r} for r in rows[page * size : (page + 1) * size]],
        }
        if (page + 1) * size < len(rows):
            params = {k: v[0] for k, v in query.items() if k != "_page"} | {"_page": str(page + 1)}
            bundle["link"] = [{"relation": "next", "url": f"{self.url}/{rtype}?{urlencode(params)}"}]
        return 200, bundle


class _Server(ThreadingHTTPServer):
    request_queue_size = 64  # the default 5 drops the SYNs of eight concurrent fetches: 1 s retries
    daemon_threads = True
    block_on_close = False


@contextmanager
def running_fhir_server(server: FhirServer | None = None) -> Iterator[FhirServer]:
    """Run ``server`` (a new one by default) on 127.0.0.1 in a thread for the duration of the block."""
    state = server or FhirServer()
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        timeout = 5

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            return

        def setup(self) -> None:
            state.connections += 1
            super().setup()

        def _dispatch(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            state.seen.append(Seen(self.path, headers, self.command, body))
            self.close_connection = True
            exchange = Exchange(self.path, headers, self.connection, stop, state.base, self.command, body)
            if state.delay_seconds:
                time.sleep(state.delay_seconds)
            behaviour = state.routes.get(self.path, state.default)
            try:
                (behaviour or state.answer)(exchange)
            except OSError:
                return

        do_GET = do_POST = do_PUT = do_DELETE = _dispatch

    httpd = _Server(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        stop.set()
        httpd.shutdown()
        httpd.server_close()
