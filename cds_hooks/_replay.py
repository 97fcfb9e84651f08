"""The ``jti`` replay cache: a JWT is accepted once, until it expires.

In memory for a single process; on Redis (``SET NX EX``) when several API processes must agree.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from typing import Protocol

from cds_hooks._clients import Clients


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
