"""The outbound HTTP and Redis clients, shared for the life of the application.

``mount`` opens them in the application's lifespan so connections are pooled across hook calls.
When no lifespan is running on the current event loop (a test client used without ``with``, a
script) each use gets a short-lived client instead, because pooled connections belong to the
event loop that opened them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from redis.asyncio import Redis

# A Redis that is down or unreachable must cost a hook call at most this long (redis-py waits forever).
REDIS_TIMEOUT_SECONDS = 1.0


class Clients:
    def __init__(self, timeout_seconds: float, redis_url: str | None) -> None:
        self._timeout = httpx.Timeout(timeout_seconds)
        self._redis_url = redis_url
        self._http: httpx.AsyncClient | None = None
        self._redis: Redis | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._redis = _new_redis(self._redis_url) if self._redis_url else None

    async def stop(self) -> None:
        http, redis, self._http, self._redis, self._loop = self._http, self._redis, None, None, None
        if http is not None:
            await http.aclose()
        if redis is not None:
            await redis.aclose()

    @asynccontextmanager
    async def http(self) -> AsyncIterator[httpx.AsyncClient]:
        if self._on_own_loop():
            if self._http is None:  # made on first use: building its TLS context costs ~40 ms
                self._http = self._new_http()
            yield self._http
            return
        async with self._new_http() as client:
            yield client

    @asynccontextmanager
    async def redis(self) -> AsyncIterator[Redis]:
        if self._redis_url is None:
            raise RuntimeError("no Redis URL configured")
        if self._redis is not None and self._on_own_loop():
            yield self._redis
            return
        client = _new_redis(self._redis_url)
        try:
            yield client
        finally:
            await client.aclose()

    def _on_own_loop(self) -> bool:
        return self._loop is not None and self._loop is asyncio.get_running_loop()

    def _new_http(self) -> httpx.AsyncClient:
        # Redirects are never followed: a FHIR server or JWKS host must not send the bearer token or
        # the key lookup elsewhere.
        return httpx.AsyncClient(timeout=self._timeout, follow_redirects=False)


def _new_redis(url: str) -> Redis:
    return Redis.from_url(
        url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS
    )
