"""What the protocol layer needs to know: trusted issuers, limits, CORS, where it is published."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import httpx


@dataclass(frozen=True)
class IssuerPolicy:
    """One trusted EHR (a JWT ``iss``).

    ``jwks`` is an http(s) URL or a file path of its JWK Set, the keys tried first. A ``jku`` header
    is honoured only when it is one of ``jku``, and fetched only when the token's ``kid`` is not among
    the ``jwks`` keys. ``fhir_servers`` lists the FHIR base URLs the service may call for this issuer
    (see :func:`fhir_server_allowed`); ``None`` means any.
    """

    jwks: str
    jku: tuple[str, ...] = ()
    fhir_servers: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ProtocolConfig:
    auth_enabled: bool = True
    issuers: Mapping[str, IssuerPolicy] = field(default_factory=dict)
    # With auth off, the FHIR base URLs a request may name (see fhir_server_allowed); None means any.
    # With auth on, each issuer's own fhir_servers applies instead.
    fhir_servers: tuple[str, ...] | None = None
    public_base_url: str | None = None  # used for the JWT `aud` check when behind a proxy
    clock_skew_seconds: int = 60
    cors_origins: Sequence[str] = ("*",)
    # the methods a browser on another origin may use: the protocol's own, plus any the application's
    # routes beside it need (e.g. DELETE)
    cors_methods: Sequence[str] = ("GET", "POST", "OPTIONS")
    max_body_bytes: int = 20 * 1024 * 1024
    fhir_timeout_seconds: float = 3.0
    fhir_max_pages: int = 50
    fhir_max_response_bytes: int = 10 * 1024 * 1024  # one FHIR response, after decompression
    hook_deadline_ms: int = 4000
    replay_cache_redis_url: str | None = None  # None: in-memory replay cache (one process only)


def fhir_server_allowed(fhir_server: str, allowlist: Iterable[str]) -> bool:
    """Whether ``fhir_server`` is under one of the ``allowlist`` base URLs: the same scheme, host and
    port (default ports made explicit, case-insensitive) and a path that is the allowed path or lies
    below it at a segment boundary (``/fhir`` allows ``/fhir`` and ``/fhir/tenant``, not ``/fhir2``).
    A trailing slash makes no difference; a URL that cannot be parsed, or has a query or fragment, or
    dot segments, is never allowed."""
    wanted = _origin_and_path(fhir_server)
    if wanted is None:
        return False
    for allowed in allowlist:
        base = _origin_and_path(allowed)
        if base is None or base[0] != wanted[0]:
            continue
        if base[1] == "" or wanted[1] == base[1] or wanted[1].startswith(base[1] + "/"):
            return True
    return False


def _origin_and_path(url: str) -> tuple[tuple[str, str, int], str] | None:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return None
    scheme = parsed.scheme.lower()
    if scheme not in ("http", "https") or not parsed.host or parsed.query or parsed.fragment:
        return None  # a FHIR base URL has no query or fragment
    if any(segment in (".", "..") for segment in parsed.path.split("/")):  # "%2e%2e" left after parsing
        return None
    port = parsed.port or (443 if scheme == "https" else 80)
    return (scheme, parsed.host.lower(), port), parsed.path.rstrip("/")
