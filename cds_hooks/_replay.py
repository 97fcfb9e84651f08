"""The ``jti`` replay cache: a JWT is accepted once, until it expires.

In memory for a single process; on Redis (``SET NX EX``) when several API processes must agree.
When Redis fails, :class:`FallbackReplayCache` keeps answering from the process's own memory (the
reason is in the README's Security section): every token is still single-use within a process and
short-lived, the degraded state is logged loudly and counted, and hooks keep their cards.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections.abc import Callable
from typing import Protocol

from redis.exceptions import RedisError

from cds_hooks._clients import REDIS_TIMEOUT_SECONDS, Clients

logger = logging.getLogger("cds_hooks.auth")


class ReplayCache(Protocol):
    async def first_use(self, issuer: str, jti: str, expires_at: float) -> bool:
        """True the first time (issuer, jti) is seen before ``expires_at`` (epoch seconds)."""
        ...


def _name(issuer: str, jti: str) -> str:
    digest = hashlib.sha256(f"{issuer}\0{jti}".encode()).hexdigest()
    return f"cds-hooks:jti:{digest}"


class MemoryReplayCache:
    _PURGE_EVERY = 1024

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._seen: dict[str, float] = {}
        self._inserts = 0

    async def first_use(self, issuer: str, jti: str, expires_at: float) -> bool:
        now = self._clock()
        name = _name(issuer, jti)
        if self._seen.get(name, 0.0) > now:
            return False
        self._seen[name] = expires_at
        self._inserts += 1
        if self._inserts % self._PURGE_EVERY == 0:
            self._seen = {key: until for key, until in self._seen.items() if until > now}
        return True


class RedisReplayCache:
    def __init__(self, clients: Clients, clock: Callable[[], float] = time.time) -> None:
        self._clients = clients
        self._clock = clock

    async def first_use(self, issuer: str, jti: str, expires_at: float) -> bool:
        ttl = max(1, math.ceil(expires_at - self._clock()))
        async with self._clients.redis() as redis:
            return bool(await redis.set(_name(issuer, jti), b"1", nx=True, ex=ttl))


class FallbackReplayCache:
    """The shared cache while it answers, this process's memory while it does not.

    Every token is recorded in memory too, so a token seen here before an outage stays refused here
    during it. What the fallback gives up: another process may accept, once, a token this one saw
    while the shared cache was down, until that token expires.
    """

    def __init__(
        self,
        shared: ReplayCache,
        local: MemoryReplayCache,
        on_fallback: Callable[[], None],
        timeout_seconds: float = 2 * REDIS_TIMEOUT_SECONDS,
    ) -> None:
        self._shared = shared
        self._local = local
        self._on_fallback = on_fallback
        self._timeout = timeout_seconds
        self._degraded = False

    async def first_use(self, issuer: str, jti: str, expires_at: float) -> bool:
        first_here = await self._local.first_use(issuer, jti, expires_at)
        try:
            async with asyncio.timeout(self._timeout):
                first_everywhere = await self._shared.first_use(issuer, jti, expires_at)
        except (RedisError, OSError) as exc:  # asyncio's TimeoutError is an OSError
            if not self._degraded:
                logger.error(
                    "JWT replay cache unreachable (%s): checking jti in this process only until it is back",
                    type(exc).__name__,
                )
            self._degraded = True
            self._on_fallback()
            return first_here
        if self._degraded:
            logger.warning("JWT replay cache reachable again: jti checks are shared across processes")
            self._degraded = False
        return first_here and first_everywhere
