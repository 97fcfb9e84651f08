"""Fixtures for the protocol tests; the helpers themselves are in support.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cds_hooks import Card, HookCall, ProtocolConfig, mount
from tests.cds_hooks.support import (
    Harness,
    MemoryFeedbackStore,
    SigningKey,
    dummy_services,
)
from tests.fhir_server import FhirServer, running_fhir_server


@pytest.fixture
def fhir() -> Iterator[FhirServer]:
    """A FHIR server on 127.0.0.1 (base URL ``fhir.url``, that is ``fhir.base + "/fhir"``)."""
    with running_fhir_server() as server:
        yield server


@pytest.fixture
def elsewhere() -> Iterator[FhirServer]:
    """Another origin (another port on 127.0.0.1)."""
    with running_fhir_server() as server:
        yield server


@pytest.fixture
def jwks_server() -> Iterator[FhirServer]:
    with running_fhir_server() as server:
        yield server


@pytest.fixture(scope="session")
def ec_key() -> SigningKey:
    return SigningKey(ec.generate_private_key(ec.SECP384R1()), "ES384", "ec-1")


@pytest.fixture(scope="session")
def rsa_key() -> SigningKey:
    return SigningKey(rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS384", "rsa-1")


@pytest.fixture
def make_app() -> Iterator[Callable[..., Harness]]:
    """Build an app for a config and start it (``with TestClient`` semantics, so the lifespan runs)."""
    started: list[TestClient] = []

    def build(
        config: ProtocolConfig | None = None, *, languages: Sequence[str] = ("en",), **client_kwargs: Any
    ) -> Harness:
        app = FastAPI()
        calls: list[HookCall] = []
        cards: list[Card] = []
        store = MemoryFeedbackStore()
        config = config or ProtocolConfig(auth_enabled=False)
        mount(app, dummy_services(calls, cards), config, store, languages=languages)
        client = TestClient(app, **client_kwargs)
        client.__enter__()
        started.append(client)
        return Harness(client, calls, store, cards)

    yield build
    for client in started:
        client.__exit__(None, None, None)


@pytest.fixture
def app(make_app: Callable[..., Harness]) -> Harness:
    """Auth off, as in a local demo: the protocol's behaviour without tokens."""
    return make_app()
