"""JWT security with generated EC P-384 and RSA keys, JWKS served from a loopback HTTP server."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cds_hooks import CallRecord, IssuerPolicy, ProtocolConfig, mount
from cds_hooks._clients import Clients
from cds_hooks._jwks import JwksCache, JwksUnavailable
from cds_hooks._replay import _name
from tests.cds_hooks.support import (
    ISSUER,
    TESTSERVER,
    Harness,
    MemoryFeedbackStore,
    SigningKey,
    dummy_services,
    hook_body,
    jwks,
    make_token,
)
from tests.conftest import service_unavailable
from tests.fhir_server import FhirServer

PV = "/cds-services/test-patient-view"
PV_URL = TESTSERVER + PV
UNAUTHORIZED = {
    "resourceType": "OperationOutcome",
    "issue": [{"severity": "error", "code": "security", "diagnostics": "unauthorized"}],
}
REDIS_URL = "redis://127.0.0.1:6379/0"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_unauthorized(response: Any) -> None:
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.fixture(scope="module")
def other_ec_key() -> SigningKey:
    return SigningKey(ec.generate_private_key(ec.SECP384R1()), "ES384", "ec-2")


@pytest.fixture
def policy(jwks_server: FhirServer, ec_key: SigningKey, rsa_key: SigningKey) -> IssuerPolicy:
    jwks_server.json("/jwks.json", jwks(ec_key, rsa_key))
    return IssuerPolicy(jwks=jwks_server.base + "/jwks.json")


@pytest.fixture
def secured(make_app: Callable[..., Harness], policy: IssuerPolicy) -> Harness:
    return make_app(ProtocolConfig(issuers={ISSUER: policy}))


# --- valid tokens ----------------------------------------------------------------------------------


def test_a_valid_es384_token_opens_discovery(secured: Harness, ec_key: SigningKey) -> None:
    response = secured.client.get(
        "/cds-services", headers=bearer(make_token(ec_key, TESTSERVER + "/cds-services"))
    )

    assert response.status_code == 200
    assert len(response.json()["services"]) == 3


def test_a_valid_rs384_token_calls_a_hook_and_names_its_issuer(secured: Harness, rsa_key: SigningKey) -> None:
    response = secured.client.post(PV, json=hook_body(), headers=bearer(make_token(rsa_key, PV_URL)))

    assert response.status_code == 200
    assert secured.calls[0].issuer == ISSUER


def test_a_valid_token_sends_feedback(secured: Harness, ec_key: SigningKey) -> None:
    url = "/cds-services/test-order-sign/feedback"
    body = {"feedback": [{"card": "c1", "outcome": "accepted", "outcomeTimestamp": "2024-01-01T00:00:00Z"}]}

    response = secured.client.post(url, json=body, headers=bearer(make_token(ec_key, TESTSERVER + url)))

    assert response.status_code == 200
    assert len(secured.store.saved) == 1


@pytest.mark.parametrize(
    "aud",
    [PV_URL + "/", ["https://other.example/cds-services", PV_URL]],
    ids=["trailing slash", "one of several audiences"],
)
def test_audiences_that_name_the_called_url_pass(secured: Harness, ec_key: SigningKey, aud: Any) -> None:
    assert (
        secured.client.post(PV, json=hook_body(), headers=bearer(make_token(ec_key, aud))).status_code == 200
    )


@pytest.mark.parametrize(
    "claims",
    [{"exp": -30}, {"iat": 30}],
    ids=["expired within the clock skew", "issued ahead within the clock skew"],
)
def test_clock_skew_is_tolerated_up_to_its_limit(
    secured: Harness, ec_key: SigningKey, claims: dict[str, int]
) -> None:
    now = int(time.time())
    shifted: dict[str, Any] = {name: now + offset for name, offset in claims.items()}
    token = make_token(ec_key, PV_URL, **shifted)

    assert secured.client.post(PV, json=hook_body(), headers=bearer(token)).status_code == 200


# --- the 401 matrix --------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], aud: str) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": aud, "exp": now + 300, "iat": now, "jti": f"j-{time.time_ns()}"}
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"


def _alg_none(keys: dict[str, SigningKey]) -> str:
    return _unsigned({"alg": "none", "typ": "JWT", "kid": "ec-1"}, PV_URL) + "."


def _hs256_with_public_key(keys: dict[str, SigningKey]) -> str:
    """The classic confusion attack: HMAC keyed with the issuer's *public* key."""
    public_pem = (
        keys["ec"]
        .private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    signing_input = _unsigned({"alg": "HS256", "typ": "JWT", "kid": "ec-1"}, PV_URL)
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _stranger() -> SigningKey:
    return SigningKey(ec.generate_private_key(ec.SECP384R1()), "ES384", "ec-1")


def _embedded_jwk(keys: dict[str, SigningKey]) -> str:
    """The attacker signs with their own key and ships its public half in the ``jwk`` header."""
    attacker = _stranger()
    return make_token(attacker, PV_URL, headers={"jwk": attacker.jwk()})


BAD_TOKENS: dict[str, Callable[[dict[str, SigningKey]], str | None]] = {
    "no token": lambda keys: None,
    "not a JWT": lambda keys: "not.a.jwt",
    "alg none": _alg_none,
    "HS256 keyed with the public key": _hs256_with_public_key,
    "unknown iss": lambda keys: make_token(keys["ec"], PV_URL, iss="https://evil.example"),
    "unknown kid": lambda keys: make_token(keys["ec"].with_kid("ec-404"), PV_URL),
    "no kid": lambda keys: make_token(keys["ec"], PV_URL, headers={"kid": None}),
    "signed by another key under a known kid": lambda keys: make_token(_stranger(), PV_URL),
    "EC signature under an RSA kid": lambda keys: make_token(keys["ec"].with_kid("rsa-1"), PV_URL),
    "ES256 under an ES384 key": lambda keys: make_token(
        SigningKey(ec.generate_private_key(ec.SECP256R1()), "ES256", "ec-1"), PV_URL
    ),
    "wrong aud": lambda keys: make_token(keys["ec"], "https://other.example/cds-services/test-patient-view"),
    "aud of another endpoint": lambda keys: make_token(keys["ec"], TESTSERVER + "/cds-services"),
    "expired": lambda keys: make_token(keys["ec"], PV_URL, exp=int(time.time()) - 120),
    "iat in the future": lambda keys: make_token(keys["ec"], PV_URL, iat=int(time.time()) + 120),
    "no exp": lambda keys: make_token(keys["ec"], PV_URL, exp=None),
    "no iat": lambda keys: make_token(keys["ec"], PV_URL, iat=None),
    "no jti": lambda keys: make_token(keys["ec"], PV_URL, jti=None),
    "jti not a string": lambda keys: make_token(keys["ec"], PV_URL, jti=42),
    "no aud": lambda keys: make_token(keys["ec"], None),  # type: ignore[arg-type]
    "own key embedded in the jwk header": _embedded_jwk,
    "kid that looks like a path": lambda keys: make_token(keys["ec"].with_kid("../../../etc/passwd"), PV_URL),
    "aud list without this endpoint": lambda keys: make_token(keys["ec"], ["https://a.example", TESTSERVER]),
}


@pytest.mark.parametrize("make_bad", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
def test_every_bad_token_is_a_bare_401(
    secured: Harness,
    ec_key: SigningKey,
    rsa_key: SigningKey,
    make_bad: Callable[[dict[str, SigningKey]], str | None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = make_bad({"ec": ec_key, "rsa": rsa_key})
    headers = bearer(token) if token else {}

    with caplog.at_level("DEBUG"):
        response = secured.client.post(PV, json=hook_body(), headers=headers)

    assert_unauthorized(response)
    assert secured.calls == []
    if token:
        assert token not in caplog.text  # never logged


@pytest.mark.parametrize("authorization", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "Token abc"])
def test_an_authorization_header_without_a_bearer_jwt_is_a_401(secured: Harness, authorization: str) -> None:
    assert_unauthorized(secured.client.post(PV, json=hook_body(), headers={"Authorization": authorization}))


@pytest.mark.parametrize(
    "method, path, body",
    [("get", "/cds-services", None), ("post", "/cds-services/test-order-sign/feedback", {"feedback": []})],
)
def test_discovery_and_feedback_need_a_token_too(secured: Harness, method: str, path: str, body: Any) -> None:
    assert_unauthorized(secured.client.request(method, path, json=body))


def test_authentication_comes_before_any_other_answer(secured: Harness) -> None:
    """Without a token, an unknown service or a malformed body tells the caller nothing."""
    assert_unauthorized(secured.client.post("/cds-services/nope", content=b"{"))


def test_a_replayed_jti_is_a_401(secured: Harness, ec_key: SigningKey) -> None:
    token = make_token(ec_key, PV_URL)

    first = secured.client.post(PV, json=hook_body(), headers=bearer(token))
    second = secured.client.post(PV, json=hook_body(), headers=bearer(token))

    assert first.status_code == 200
    assert_unauthorized(second)


def test_a_rejected_token_does_not_burn_its_jti(secured: Harness, ec_key: SigningKey) -> None:
    """The replay cache only records tokens that passed every other check."""
    jti = "shared-jti"
    assert_unauthorized(
        secured.client.post(PV, json=hook_body(), headers=bearer(make_token(ec_key, "x", jti=jti)))
    )

    response = secured.client.post(PV, json=hook_body(), headers=bearer(make_token(ec_key, PV_URL, jti=jti)))

    assert response.status_code == 200


def test_auth_off_needs_no_token(app: Harness) -> None:
    assert app.client.post(PV, json=hook_body()).status_code == 200


def test_auth_on_with_no_trusted_issuer_refuses_everyone(
    make_app: Callable[..., Harness], ec_key: SigningKey
) -> None:
    harness = make_app(ProtocolConfig())

    assert_unauthorized(harness.client.post(PV, json=hook_body(), headers=bearer(make_token(ec_key, PV_URL))))


# --- aud behind a proxy ----------------------------------------------------------------------------


def test_behind_a_proxy_aud_is_the_public_url(
    make_app: Callable[..., Harness], policy: IssuerPolicy, ec_key: SigningKey
) -> None:
    harness = make_app(
        ProtocolConfig(issuers={ISSUER: policy}, public_base_url="https://cds.example.org/bone/")
    )
    public = "https://cds.example.org/bone" + PV

    ok = harness.client.post(PV, json=hook_body(), headers=bearer(make_token(ec_key, public)))
    internal = harness.client.post(PV, json=hook_body(), headers=bearer(make_token(ec_key, PV_URL)))

    assert ok.status_code == 200
    assert_unauthorized(internal)


# --- jku -------------------------------------------------------------------------------------------


def test_a_jku_not_on_the_allowlist_is_never_fetched(
    secured: Harness, elsewhere: FhirServer, other_ec_key: SigningKey
) -> None:
    elsewhere.json("/jwks.json", jwks(other_ec_key))
    token = make_token(other_ec_key, PV_URL, headers={"jku": elsewhere.base + "/jwks.json"})

    assert_unauthorized(secured.client.post(PV, json=hook_body(), headers=bearer(token)))
    assert elsewhere.seen == []


def test_an_allowlisted_jku_supplies_the_key(
    make_app: Callable[..., Harness],
    jwks_server: FhirServer,
    elsewhere: FhirServer,
    ec_key: SigningKey,
    other_ec_key: SigningKey,
) -> None:
    jwks_server.json("/jwks.json", jwks(ec_key))
    elsewhere.json("/jwks.json", jwks(other_ec_key))
    policy = IssuerPolicy(jwks=jwks_server.base + "/jwks.json", jku=(elsewhere.base + "/jwks.json",))
    harness = make_app(ProtocolConfig(issuers={ISSUER: policy}))
    token = make_token(other_ec_key, PV_URL, headers={"jku": elsewhere.base + "/jwks.json"})

    response = harness.client.post(PV, json=hook_body(), headers=bearer(token))

    assert response.status_code == 200
    assert elsewhere.paths() == ["/jwks.json"]
    assert jwks_server.paths()[:1] == ["/jwks.json"]  # the configured keys were looked at first


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # closed again: a connection to it is refused


@pytest.fixture
def pinned(make_app: Callable[..., Harness], ec_key: SigningKey, tmp_path: Path) -> Callable[[str], Harness]:
    """An issuer whose keys are pinned in a JWKS file (``ec_key``) and who allowlists one ``jku``."""
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(jwks(ec_key)))

    def build(jku: str) -> Harness:
        return make_app(ProtocolConfig(issuers={ISSUER: IssuerPolicy(jwks=str(jwks_file), jku=(jku,))}))

    return build


def test_a_pinned_key_verifies_a_token_whose_jku_host_is_unreachable(
    pinned: Callable[[str], Harness], ec_key: SigningKey
) -> None:
    jku = f"http://127.0.0.1:{_closed_port()}/jwks.json"
    token = make_token(ec_key, PV_URL, headers={"jku": jku})

    response = pinned(jku).client.post(PV, json=hook_body(), headers=bearer(token))

    assert response.status_code == 200


def test_a_pinned_key_wins_over_a_jku_serving_another_key_under_its_kid(
    pinned: Callable[[str], Harness], elsewhere: FhirServer, ec_key: SigningKey, other_ec_key: SigningKey
) -> None:
    elsewhere.json("/jwks.json", jwks(other_ec_key.with_kid(ec_key.kid)))
    token = make_token(ec_key, PV_URL, headers={"jku": elsewhere.base + "/jwks.json"})

    response = pinned(elsewhere.base + "/jwks.json").client.post(PV, json=hook_body(), headers=bearer(token))

    assert response.status_code == 200
    assert elsewhere.seen == []  # the kid is pinned: the jku is not even fetched


def test_a_kid_the_pinned_keys_lack_is_fetched_from_the_allowlisted_jku(
    pinned: Callable[[str], Harness], elsewhere: FhirServer, other_ec_key: SigningKey
) -> None:
    elsewhere.json("/jwks.json", jwks(other_ec_key))
    token = make_token(other_ec_key, PV_URL, headers={"jku": elsewhere.base + "/jwks.json"})

    response = pinned(elsewhere.base + "/jwks.json").client.post(PV, json=hook_body(), headers=bearer(token))

    assert response.status_code == 200
    assert elsewhere.paths() == ["/jwks.json"]


def test_a_kid_neither_pinned_nor_at_an_unreachable_jku_is_a_401(
    pinned: Callable[[str], Harness], other_ec_key: SigningKey
) -> None:
    jku = f"http://127.0.0.1:{_closed_port()}/jwks.json"
    token = make_token(other_ec_key, PV_URL, headers={"jku": jku})

    assert_unauthorized(pinned(jku).client.post(PV, json=hook_body(), headers=bearer(token)))


# --- key rotation and the JWKS cache ---------------------------------------------------------------


def test_a_rotated_key_is_picked_up_without_a_restart(
    secured: Harness, jwks_server: FhirServer, ec_key: SigningKey, other_ec_key: SigningKey
) -> None:
    def call(key: SigningKey) -> int:
        return secured.client.post(PV, json=hook_body(), headers=bearer(make_token(key, PV_URL))).status_code

    assert call(ec_key) == 200
    jwks_server.json("/jwks.json", jwks(other_ec_key))  # the EHR rotates: ec-1 retired, ec-2 published

    assert call(other_ec_key) == 200
    assert len(jwks_server.seen) == 2
    assert call(ec_key) == 401  # the retired key no longer verifies
    assert call(ec_key.with_kid("ec-3")) == 401
    assert len(jwks_server.seen) == 2  # unknown kids right after a refresh do not refetch


def test_an_unreachable_jwks_is_a_401(
    make_app: Callable[..., Harness], jwks_server: FhirServer, ec_key: SigningKey
) -> None:
    jwks_server.raw("/jwks.json", b"oops", 500)
    harness = make_app(ProtocolConfig(issuers={ISSUER: IssuerPolicy(jwks=jwks_server.base + "/jwks.json")}))

    assert_unauthorized(harness.client.post(PV, json=hook_body(), headers=bearer(make_token(ec_key, PV_URL))))


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def cache_and_clock() -> Iterator[tuple[JwksCache, FakeClock]]:
    clock = FakeClock()
    yield JwksCache(Clients(2.0, None), min_refresh_seconds=30, max_age_seconds=3600, clock=clock), clock


def test_unknown_kids_refresh_at_most_once_per_interval(
    cache_and_clock: tuple[JwksCache, FakeClock], jwks_server: FhirServer, ec_key: SigningKey
) -> None:
    cache, clock = cache_and_clock
    source = jwks_server.base + "/jwks.json"
    jwks_server.json("/jwks.json", jwks(ec_key))

    async def scenario() -> None:
        assert await cache.key(source, "ec-1") is not None  # load: 1 fetch
        assert await cache.key(source, "nope") is None  # refresh: 2
        clock.now += 29.9
        assert await cache.key(source, "nope") is None  # too soon: no fetch
        clock.now += 0.1
        assert await cache.key(source, "nope") is None  # interval passed: 3

    asyncio.run(scenario())
    assert len(jwks_server.seen) == 3


def test_keys_are_reloaded_after_max_age_and_kept_if_the_reload_fails(
    cache_and_clock: tuple[JwksCache, FakeClock],
    jwks_server: FhirServer,
    ec_key: SigningKey,
    other_ec_key: SigningKey,
) -> None:
    cache, clock = cache_and_clock
    source = jwks_server.base + "/jwks.json"
    jwks_server.json("/jwks.json", jwks(ec_key))

    async def scenario() -> None:
        assert await cache.key(source, "ec-1") is not None
        jwks_server.raw("/jwks.json", b"down", 503)
        clock.now += 3600
        assert await cache.key(source, "ec-1") is not None  # reload failed: cached keys still serve
        jwks_server.json("/jwks.json", jwks(other_ec_key))
        clock.now += 3600
        assert await cache.key(source, "ec-1") is None  # reloaded: ec-1 revoked
        assert await cache.key(source, "ec-2") is not None

    asyncio.run(scenario())


def test_a_jwks_file_and_a_missing_one(
    cache_and_clock: tuple[JwksCache, FakeClock], tmp_path: Any, ec_key: SigningKey
) -> None:
    cache, _ = cache_and_clock
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks(ec_key)))

    assert asyncio.run(cache.key(str(path), "ec-1")) == ec_key.jwk()
    with pytest.raises(JwksUnavailable):
        asyncio.run(cache.key(str(tmp_path / "absent.json"), "ec-1"))


# --- the replay cache on Redis ---------------------------------------------------------------------


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        service_unavailable("Redis at 127.0.0.1:6379")
    yield client
    client.close()


def _process(policy: IssuerPolicy, redis_url: str | None) -> FastAPI:
    """One API process: its own app, verifier and caches."""
    app = FastAPI()
    config = ProtocolConfig(issuers={ISSUER: policy}, replay_cache_redis_url=redis_url)
    mount(app, dummy_services([], []), config, MemoryFeedbackStore())
    return app


@pytest.mark.services
def test_a_jti_used_on_one_process_is_refused_by_another(
    redis_client: redis.Redis, policy: IssuerPolicy, ec_key: SigningKey
) -> None:
    token = make_token(ec_key, PV_URL)
    with TestClient(_process(policy, REDIS_URL)) as one, TestClient(_process(policy, REDIS_URL)) as two:
        assert one.post(PV, json=hook_body(), headers=bearer(token)).status_code == 200
        assert_unauthorized(two.post(PV, json=hook_body(), headers=bearer(token)))

    jti = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "==").decode())["jti"]
    ttl = redis_client.ttl(_name(ISSUER, jti))
    assert 0 < ttl <= 300 + 60  # kept until the token's exp (plus skew), then forgotten


@pytest.mark.services
def test_redis_replay_cache_works_without_a_running_lifespan(
    redis_client: redis.Redis, policy: IssuerPolicy, ec_key: SigningKey
) -> None:
    client = TestClient(_process(policy, REDIS_URL))  # not entered: every request on its own event loop
    token = make_token(ec_key, PV_URL)

    assert client.post(PV, json=hook_body(), headers=bearer(token)).status_code == 200
    assert client.post(PV, json=hook_body(), headers=bearer(make_token(ec_key, PV_URL))).status_code == 200
    assert_unauthorized(client.post(PV, json=hook_body(), headers=bearer(token)))


def test_in_memory_replay_caches_are_per_process(policy: IssuerPolicy, ec_key: SigningKey) -> None:
    """Why several processes need Redis: each in-memory cache only knows its own tokens."""
    token = make_token(ec_key, PV_URL)
    with TestClient(_process(policy, None)) as one, TestClient(_process(policy, None)) as two:
        assert one.post(PV, json=hook_body(), headers=bearer(token)).status_code == 200
        assert two.post(PV, json=hook_body(), headers=bearer(token)).status_code == 200


class CountingObserver:
    def __init__(self) -> None:
        self.fallbacks = 0
        self.calls: list[CallRecord] = []

    def hook_call(self, record: CallRecord) -> None:
        self.calls.append(record)

    def replay_cache_fallback(self) -> None:
        self.fallbacks += 1


def test_an_unreachable_replay_cache_falls_back_to_this_process_loudly(
    policy: IssuerPolicy, ec_key: SigningKey, caplog: pytest.LogCaptureFixture
) -> None:
    """The README's decision: hooks keep their cards while Redis is down; each process still refuses
    a token it has seen, and the degraded state is logged at ERROR once and counted on every use."""
    app, observer = FastAPI(), CountingObserver()
    config = ProtocolConfig(issuers={ISSUER: policy}, replay_cache_redis_url="redis://127.0.0.1:9/0")
    mount(app, dummy_services([], []), config, MemoryFeedbackStore(), observer=observer)
    token = make_token(ec_key, PV_URL)

    with TestClient(app) as client, caplog.at_level("INFO", logger="cds_hooks"):
        first = client.post(PV, json=hook_body(), headers=bearer(token))
        replay = client.post(PV, json=hook_body(), headers=bearer(token))
        other = client.post(PV, json=hook_body(), headers=bearer(make_token(ec_key, PV_URL)))

    assert first.status_code == 200 and other.status_code == 200
    assert_unauthorized(replay)
    assert observer.fallbacks == 3
    errors = [r for r in caplog.records if r.levelname == "ERROR" and "replay cache" in r.getMessage()]
    assert len(errors) == 1
    assert token not in caplog.text
