"""Reading FHIR data the EHR did not prefetch: GET from ``fhirServer``, following Bundle ``next`` links.

The bearer token from ``fhirAuthorization`` goes only to the origin of ``fhirServer``: redirects are
never followed and a ``next`` link to another origin is refused, so the token cannot leak. The FHIR
server is input like any other: each response is read up to a byte limit (counted after
decompression, so a gzip bomb stops early), a search up to a page limit, and the hook's deadline
bounds a server that drips bytes slowly enough to dodge every read timeout. Anything that stops the
data from being complete (server error, timeout, malformed JSON, too many pages or bytes) is a 412:
rules must not run on part of a record.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

import httpx
import orjson

from cds_hooks._clients import Clients
from cds_hooks._request import check_resource
from cds_hooks.errors import CdsError, unavailable

logger = logging.getLogger("cds_hooks.fhir")

JSON = dict[str, Any]
_DEFAULT_PORTS = {"http": 80, "https": 443}


class FhirSource(Protocol):
    """Where prefetch resolution gets data that was not prefetched."""

    async def search(self, key: str, relative_url: str) -> list[JSON]: ...

    async def rest_of(self, key: str, next_url: str, pages_read: int) -> list[JSON]: ...


def entries(bundle: Mapping[str, Any]) -> list[JSON]:
    """The resources of a Bundle, without ``search.mode = outcome`` entries (server warnings)."""
    return [
        entry["resource"] for entry in bundle.get("entry", []) if "resource" in entry and not _outcome(entry)
    ]


def _outcome(entry: Mapping[str, Any]) -> bool:
    search = entry.get("search")
    return isinstance(search, dict) and search.get("mode") == "outcome"


def next_link(bundle: Mapping[str, Any]) -> str | None:
    for link in bundle.get("link", []):
        if link.get("relation") == "next":
            url: str = link["url"]
            return url
    return None


def origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme)


class FhirClient:
    """GETs from one FHIR base URL with the request's bearer token."""

    def __init__(
        self,
        clients: Clients,
        base_url: str,
        access_token: str | None,
        max_pages: int,
        max_response_bytes: int = 10 * 1024 * 1024,
    ) -> None:
        self._clients = clients
        self._base = httpx.URL(base_url.rstrip("/") + "/")
        self._token = access_token
        self._max_pages = max_pages
        self._max_bytes = max_response_bytes

    async def search(self, key: str, relative_url: str) -> list[JSON]:
        """All resources a rendered prefetch query returns (every page), or one resource for a read."""
        return await self._collect(key, self._base.join(relative_url), pages_read=0)

    async def rest_of(self, key: str, next_url: str, pages_read: int) -> list[JSON]:
        """The remaining pages of a Bundle the EHR sent, starting at its ``next`` link."""
        return await self._collect(key, self._base.join(next_url), pages_read)

    async def _collect(self, key: str, url: httpx.URL | None, pages_read: int) -> list[JSON]:
        resources: list[JSON] = []
        while url is not None:
            if pages_read >= self._max_pages:
                raise unavailable(f"prefetch '{key}': FHIR search has more than {self._max_pages} pages")
            body = await self._get(key, url)
            pages_read += 1
            if body["resourceType"] != "Bundle":
                resources.append(body)
                break
            resources.extend(entries(body))
            following = next_link(body)
            url = self._base.join(following) if following else None
        return resources

    async def _get(self, key: str, url: httpx.URL) -> JSON:
        if origin(url) != origin(self._base):
            logger.warning("prefetch %r: refusing a link to another origin than fhirServer", key)
            raise unavailable(f"prefetch '{key}': FHIR server linked to another origin")
        headers = {"Accept": "application/fhir+json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            async with (
                self._clients.http() as http,
                http.stream("GET", url, headers=headers, follow_redirects=False) as response,
            ):
                if response.status_code != 200:
                    logger.warning("prefetch %r: FHIR server answered %d", key, response.status_code)
                    raise unavailable(f"prefetch '{key}': FHIR server answered HTTP {response.status_code}")
                content = await _bounded_body(key, response, self._max_bytes)
        except httpx.TimeoutException as exc:
            logger.warning("prefetch %r: FHIR server timed out", key)
            raise unavailable(f"prefetch '{key}': FHIR server timed out", code="timeout") from exc
        except httpx.HTTPError as exc:
            logger.warning("prefetch %r: FHIR server unreachable (%s)", key, type(exc).__name__)
            raise unavailable(f"prefetch '{key}': FHIR server unreachable") from exc
        return _resource(key, content)


async def _bounded_body(key: str, response: httpx.Response, max_bytes: int) -> bytes:
    """The decoded body, or a 412 as soon as it passes ``max_bytes`` (declared or actually sent)."""
    declared = response.headers.get("content-length", "")
    size = int(declared) if declared.isdigit() else 0  # a declared length over the limit: refused unread
    chunks: list[bytes] = []
    if size <= max_bytes:
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > max_bytes:
                break
            chunks.append(chunk)
    if size > max_bytes:
        logger.warning("prefetch %r: FHIR response larger than %d bytes", key, max_bytes)
        raise unavailable(
            f"prefetch '{key}': FHIR response is larger than {max_bytes} bytes", code="too-long"
        )
    return b"".join(chunks)


def _resource(key: str, content: bytes) -> JSON:
    """The body as a well-formed resource; an OperationOutcome or anything malformed is a 412."""
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        logger.warning("prefetch %r: FHIR server sent malformed JSON", key)
        raise unavailable(f"prefetch '{key}': FHIR server sent malformed JSON") from exc
    try:
        if not isinstance(body, dict):
            raise CdsError(400, "structure", "not a JSON object")
        check_resource(body, "response")
    except CdsError as exc:
        logger.warning("prefetch %r: FHIR server sent a malformed resource", key)
        raise unavailable(f"prefetch '{key}': FHIR server sent a malformed resource") from exc
    if body["resourceType"] == "OperationOutcome":
        logger.warning("prefetch %r: FHIR server answered with an OperationOutcome", key)
        raise unavailable(f"prefetch '{key}': FHIR server answered with an OperationOutcome")
    return body


class NoFhirServer:
    """Stands in for a client when no FHIR server may be called; says why in the 412."""

    def __init__(self, reason: str) -> None:
        self._reason = reason

    async def search(self, key: str, relative_url: str) -> list[JSON]:
        raise unavailable(f"prefetch '{key}' was not sent and {self._reason}")

    async def rest_of(self, key: str, next_url: str, pages_read: int) -> list[JSON]:
        raise unavailable(f"prefetch '{key}' has more pages and {self._reason}")
