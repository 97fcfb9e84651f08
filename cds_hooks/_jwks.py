"""JWK Sets of trusted issuers, cached, refreshed when a token names a key id we have not seen.

A source is an http(s) URL (fetched with httpx) or a file path. Keys are reloaded after
``max_age_seconds`` so a revoked key stops working without a restart, and an unknown ``kid``
triggers a refresh (key rotation) at most once per ``min_refresh_seconds`` per source, so random
key ids cannot turn the service into a traffic amplifier against the issuer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from cds_hooks._clients import Clients

logger = logging.getLogger("cds_hooks.jwks")

JWK = dict[str, Any]


class JwksUnavailable(Exception):
    """The key set could not be loaded (network, file, or not a JWK Set)."""


@dataclass
class _Entry:
    keys: dict[str, JWK]
    loaded_at: float
    last_refresh: float | None = None  # last refresh caused by an unknown kid


class JwksCache:
    def __init__(
        self,
        clients: Clients,
        *,
        min_refresh_seconds: float = 30.0,
        max_age_seconds: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clients = clients
        self._min_refresh = min_refresh_seconds
        self._max_age = max_age_seconds
        self._clock = clock
        self._entries: dict[str, _Entry] = {}

    async def key(self, source: str, kid: str) -> JWK | None:
        """The JWK with this ``kid`` from ``source``, or ``None``; raises :class:`JwksUnavailable`."""
        now = self._clock()
        entry = self._entries.get(source)
        if entry is None:
            entry = self._entries[source] = _Entry(await _load(self._clients, source), loaded_at=now)
        elif now - entry.loaded_at >= self._max_age:
            await self._reload(source, entry, now)
        found = entry.keys.get(kid)
        if found is None and (entry.last_refresh is None or now - entry.last_refresh >= self._min_refresh):
            entry.last_refresh = now
            await self._reload(source, entry, now)
            found = entry.keys.get(kid)
        return found

    async def _reload(self, source: str, entry: _Entry, now: float) -> None:
        """Replace the keys; on failure keep the old ones (an outage at the issuer is not a revocation)."""
        try:
            entry.keys = await _load(self._clients, source)
            entry.loaded_at = now
        except JwksUnavailable:
            logger.warning("JWKS %s could not be reloaded; keeping the cached keys", source)


async def _load(clients: Clients, source: str) -> dict[str, JWK]:
    try:
        if source.startswith(("http://", "https://")):
            async with clients.http() as http:
                response = await http.get(source, headers={"Accept": "application/json"})
            response.raise_for_status()
            raw = response.content
        else:
            raw = await asyncio.to_thread(Path(source).read_bytes)
        document = orjson.loads(raw)
        keys = document["keys"]
        if not isinstance(keys, list):
            raise TypeError("keys is not an array")
    except (httpx.HTTPError, OSError, ValueError, KeyError, TypeError) as exc:
        logger.warning("JWKS %s could not be loaded (%s)", source, type(exc).__name__)
        raise JwksUnavailable(source) from exc
    return {key["kid"]: key for key in keys if isinstance(key, dict) and isinstance(key.get("kid"), str)}
