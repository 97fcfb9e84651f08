"""The metrics port (``BHCDS_METRICS_PORT``): ``/metrics`` served beside the API, on its own socket.

Each API process serves its own registry from a thread. With several API processes they all bind the
port with SO_REUSEPORT, as they share the API's port, so a scrape reaches one of them.
"""

from __future__ import annotations

import socket
import threading

import uvicorn
from fastapi import FastAPI

_STOP_SECONDS = 5.0


class MetricsServer:
    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if hasattr(socket, "SO_REUSEPORT"):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((self.host, self.port))
        sock.listen(64)
        config = uvicorn.Config(self.app, log_config=None, lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        # not the main thread: uvicorn leaves the signal handlers to the API server
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="metrics", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(_STOP_SECONDS)
