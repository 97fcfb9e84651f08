"""Helpers for the protocol tests: signing keys and tokens, a dummy app (the FHIR server is tests/fhir_server.py)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jwt
from fastapi.testclient import TestClient

from cds_hooks import Card, CdsService, FeedbackItem, HookCall, ServiceDefinition, Source
from tests.fhir_server import searchset

ISSUER = "https://ehr.example.org"
TESTSERVER = "http://testserver"
PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
}
PATIENT = {"resourceType": "Patient", "id": "123"}
CONDITION = {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/123"}}


# --- keys and tokens ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SigningKey:
    private: Any
    alg: str
    kid: str

    def jwk(self) -> dict[str, Any]:
        algorithm = jwt.algorithms.get_default_algorithms()[self.alg]
        public = json.loads(algorithm.to_jwk(self.private.public_key()))
        return {**public, "kid": self.kid, "use": "sig", "alg": self.alg}

    def with_kid(self, kid: str) -> SigningKey:
        return SigningKey(self.private, self.alg, kid)


def jwks(*keys: SigningKey) -> dict[str, Any]:
    return {"keys": [key.jwk() for key in keys]}


def make_token(
    key: SigningKey,
    aud: str | list[str],
    *,
    iss: str = ISSUER,
    headers: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    """A CDS Hooks JWT; pass a claim or header as ``None`` to leave it out."""
    now = int(time.time())
    payload = {"iss": iss, "aud": aud, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4()), **claims}
    payload = {k: v for k, v in payload.items() if v is not None}
    header = {k: v for k, v in {"kid": key.kid, **(headers or {})}.items() if v is not None}
    return jwt.encode(payload, key.private, algorithm=key.alg, headers=header)


# --- the app --------------------------------------------------------------------------------------


class MemoryFeedbackStore:
    def __init__(self) -> None:
        self.saved: list[tuple[str, list[FeedbackItem]]] = []

    async def save(self, service_id: str, items: Sequence[FeedbackItem]) -> None:
        self.saved.append((service_id, list(items)))


@dataclass
class Harness:
    client: TestClient
    calls: list[HookCall]  # what the handlers received
    store: MemoryFeedbackStore
    cards: list[Card]  # what every handler answers with; tests append to it


def dummy_services(calls: list[HookCall], cards: list[Card]) -> list[CdsService]:
    async def handler(call: HookCall) -> Sequence[Card]:
        calls.append(call)
        return cards

    return [
        CdsService(
            ServiceDefinition(
                hook=hook, id=f"test-{hook}", title=f"Test {hook}", description="dummy", prefetch=PREFETCH
            ),
            handler,
        )
        for hook in ("patient-view", "order-select", "order-sign")
    ]


def a_card(**fields: Any) -> Card:
    return Card(summary="A card", indicator="info", source=Source(label="Test"), **fields)


def draft_orders(*ids: str) -> dict[str, Any]:
    """A draft-orders Bundle of MedicationRequests, still incomplete (no medication, no intent)."""
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": {"resourceType": "MedicationRequest", "id": i, "status": "draft"}} for i in ids
        ],
    }


def hook_body(hook: str = "patient-view", **overrides: Any) -> dict[str, Any]:
    """A valid request for ``hook`` with a full prefetch; ``overrides`` replace top-level fields."""
    context: dict[str, Any] = {"userId": "Practitioner/p1", "patientId": "123"}
    if hook in ("order-select", "order-sign"):
        context["draftOrders"] = draft_orders("mr1", "mr2")
    if hook == "order-select":
        context["selections"] = ["MedicationRequest/mr1"]
    body: dict[str, Any] = {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": context,
        "prefetch": {"patient": PATIENT, "conditions": searchset(CONDITION)},
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}
