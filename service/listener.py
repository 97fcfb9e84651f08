"""`bone-health-cds listen`: a local webhook receiver that prints what it is sent (demo and debugging)."""

from __future__ import annotations

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _PrintBodies(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", errors="replace")
        sys.stdout.write(f"POST {self.path}\n{body}\n")
        sys.stdout.flush()
        self.send_response(204)
        self.end_headers()

    do_PUT = do_POST

    def log_message(self, format: str, *args: object) -> None:
        pass  # the bodies are the output; no access log


def make_server(host: str, port: int) -> ThreadingHTTPServer:
    return ThreadingHTTPServer((host, port), _PrintBodies)


def listen(host: str, port: int) -> None:
    """Print every POST body until interrupted."""
    server = make_server(host, port)
    sys.stdout.write(f"listening on http://{host}:{server.server_address[1]}/ (Ctrl-C stops)\n")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
