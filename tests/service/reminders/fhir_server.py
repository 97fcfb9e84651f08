"""A small FHIR server on loopback for the delivery and scan tests.

POST /Task implements conditional create by identifier (``If-None-Exist``) atomically and counts
Tasks; a per-patient script of status codes makes it fail before it succeeds; ``delay`` makes it
slow (after creating the Task, before answering: the worst case for a worker killed mid-request).
GET requests are answered by a pluggable function (the scan tests serve Bundles with it).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

GetHandler = Callable[[str, dict[str, list[str]], dict[str, str]], tuple[int, dict[str, Any]]]


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


@dataclass
class FhirServer:
    url: str = ""
    tasks: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    posts: list[dict[str, Any]] = field(default_factory=list)  # {"headers":..., "body":...}
    script: dict[str, list[int]] = field(default_factory=dict)  # patient id → statuses to answer first
    delay: float = 0.0
    get_handler: GetHandler | None = None
    in_flight: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

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


@contextmanager
def running_fhir_server(server: FhirServer | None = None) -> Iterator[FhirServer]:
    state = server or FhirServer()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            return

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                return  # the client (a killed worker) is gone

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length))
            headers = {k.lower(): v for k, v in self.headers.items()}
            if urlsplit(self.path).path.rstrip("/").endswith("/Task"):
                self._answer(*state.create(headers, body))
            else:
                self._answer(404, {"resourceType": "OperationOutcome"})

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            if state.get_handler is None:
                self._answer(404, {"resourceType": "OperationOutcome"})
                return
            self._answer(*state.get_handler(parts.path, parse_qs(parts.query), headers))

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/fhir"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
