"""JWT verification for CDS Hooks 2.0 (§Trusting CDS Clients).

Every call (discovery, hook, feedback) carries ``Authorization: Bearer <JWT>`` signed by the EHR
with an asymmetric key. The token must come from an allowlisted ``iss``, be signed with a key from
that issuer's JWK Set (or, for a key id that set lacks, from a ``jku`` URL on the issuer's
allowlist), name this endpoint in ``aud``, carry ``exp``, ``iat`` and ``jti``, and never have been
used before. Any failure is the same bare 401, logged with its reason (never with the token).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import jwt
from redis.exceptions import RedisError

from cds_hooks._jwks import JwksCache, JwksUnavailable
from cds_hooks._replay import ReplayCache
from cds_hooks.config import IssuerPolicy
from cds_hooks.errors import Unauthorized

logger = logging.getLogger("cds_hooks.auth")

# Asymmetric only: "none" and the HMAC family would let anyone holding the public key sign tokens.
ALLOWED_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"}
)
_KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC"}


class _Rejected(Exception):
    """Why a token failed; logged, never sent to the client."""


class JwtVerifier:
    def __init__(
        self,
        issuers: Mapping[str, IssuerPolicy],
        jwks: JwksCache,
        replay: ReplayCache,
        clock_skew_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._issuers = issuers
        self._jwks = jwks
        self._replay = replay
        self._skew = clock_skew_seconds
        self._clock = clock

    async def verify(self, authorization: str | None, audience: str) -> str:
        """The token's issuer; raises :class:`Unauthorized` for anything less than a valid, fresh JWT."""
        try:
            return await self._verify(authorization, audience)
        except _Rejected as rejected:
            logger.info("JWT rejected for %s: %s", audience, rejected)
            raise Unauthorized() from None

    async def _verify(self, authorization: str | None, audience: str) -> str:
        token = _bearer(authorization)
        try:
            # Read only to choose whose keys verify it: nothing here is trusted until the decode below.
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise _Rejected(f"malformed token ({type(exc).__name__})") from None

        alg, kid, issuer = header.get("alg"), header.get("kid"), unverified.get("iss")
        if alg not in ALLOWED_ALGORITHMS:
            raise _Rejected(f"algorithm {alg!r} not allowed")
        if not isinstance(kid, str):
            raise _Rejected("no kid header")
        if not isinstance(issuer, str) or issuer not in self._issuers:
            raise _Rejected(f"issuer {issuer!r} not trusted")
        key = await self._key(self._issuers[issuer], header, kid, alg)

        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=_audiences(audience),
                issuer=issuer,
                leeway=self._skew,
                options={"require": ["exp", "iat", "jti", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise _Rejected(f"{type(exc).__name__}: {exc}") from None

        now = self._clock()
        if claims["iat"] > now + self._skew:  # PyJWT checks this too; the spec makes it ours
            raise _Rejected("iat in the future")
        jti = claims["jti"]
        if not isinstance(jti, str) or not jti:
            raise _Rejected("jti is not a non-empty string")
        try:
            first = await self._replay.first_use(issuer, jti, float(claims["exp"]) + self._skew)
        except (RedisError, OSError) as exc:
            logger.error("replay cache unavailable (%s); rejecting the token", type(exc).__name__)
            raise _Rejected("replay cache unavailable") from None
        if not first:
            raise _Rejected(f"jti replayed (issuer {issuer})")
        return issuer

    async def _key(self, policy: IssuerPolicy, header: Mapping[str, Any], kid: str, alg: str) -> Any:
        """The verification key for ``kid``: from the issuer's configured (pinned) JWKS first; from the
        token's ``jku``, when that is on the issuer's allowlist, only if the pinned keys lack ``kid``.
        So pinned keys keep working when the ``jku`` host is unreachable."""
        jku = header.get("jku")
        if jku is not None and jku not in policy.jku:
            raise _Rejected("jku not on the issuer's allowlist")
        jwk = None
        try:
            jwk = await self._jwks.key(policy.jwks, kid)
        except JwksUnavailable:
            if jku is None:
                raise _Rejected("issuer's JWKS unavailable") from None
        if jwk is None and isinstance(jku, str):
            try:
                jwk = await self._jwks.key(jku, kid)
            except JwksUnavailable:
                raise _Rejected("issuer's jku JWKS unavailable") from None
        if jwk is None:
            raise _Rejected(f"unknown kid {kid!r}")
        if jwk.get("kty") != _KEY_TYPES[alg[:2]]:
            raise _Rejected(f"key {kid!r} is {jwk.get('kty')!r}, token says {alg}")
        if jwk.get("alg", alg) != alg or jwk.get("use", "sig") != "sig":
            raise _Rejected(f"key {kid!r} is not for {alg} signatures")
        try:
            return jwt.PyJWK(jwk, algorithm=alg).key
        except jwt.PyJWTError as exc:
            raise _Rejected(f"key {kid!r} unusable ({type(exc).__name__})") from None


def _bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _Rejected("no bearer token")
    return token.strip()


def _audiences(url: str) -> list[str]:
    """The called URL, with and without a trailing slash (the only difference tolerated)."""
    bare = url.rstrip("/")
    return [bare, bare + "/"]
