"""What the protocol layer needs to know: trusted issuers, limits, CORS, where it is published."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class IssuerPolicy:
    """One trusted EHR (a JWT ``iss``).

    ``jwks`` is an http(s) URL or a file path of its JWK Set. A ``jku`` header is honoured only when
    it is one of ``jku``. ``fhir_servers`` lists the FHIR base URLs the service may call for this
    issuer; ``None`` means any.
    """

    jwks: str
    jku: tuple[str, ...] = ()
    fhir_servers: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ProtocolConfig:
    auth_enabled: bool = True
    issuers: Mapping[str, IssuerPolicy] = field(default_factory=dict)
    public_base_url: str | None = None  # used for the JWT `aud` check when behind a proxy
    clock_skew_seconds: int = 60
    cors_origins: Sequence[str] = ("*",)
    max_body_bytes: int = 20 * 1024 * 1024
    fhir_timeout_seconds: float = 3.0
    fhir_max_pages: int = 50
    fhir_max_response_bytes: int = 10 * 1024 * 1024  # one FHIR response, after decompression
    hook_deadline_ms: int = 4000
    replay_cache_redis_url: str | None = None  # None: in-memory replay cache (one process only)
