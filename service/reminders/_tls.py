"""One TLS context per process for the reminder workers' HTTP clients.

httpx builds a new SSL context for every client it makes, loading the whole CA bundle each time:
about 100 ms on the reference machine, far more than a delivery's own work. A delivery makes a
client per reminder (and the chart re-read another), so the context is built once here and shared
(an SSLContext is safe to share between threads, and holds no connection across a fork).
"""

from __future__ import annotations

import ssl
from functools import lru_cache

import httpx


@lru_cache(maxsize=1)
def tls_context() -> ssl.SSLContext:
    """What httpx would build for ``verify=True`` (certifi's bundle, or SSL_CERT_FILE/DIR), once."""
    return httpx.create_ssl_context()
