"""How an application plugs into the protocol: a service definition plus a handler.

The protocol layer (``cds_hooks.router``) authenticates, validates the request against the spec,
resolves prefetch (present, fetched from ``fhirServer``, or null) and hands the handler a
:class:`HookCall`. The handler returns cards; the router serialises them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from cds_hooks.models import Card, FeedbackItem, ServiceDefinition

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class HookCall:
    """A validated hook request with its data resolved."""

    service_id: str
    hook: str
    hook_instance: str
    patient_id: str  # bare id: "Patient/123" in the request becomes "123"
    context: Mapping[str, Any]  # as sent (draftOrders is a Bundle dict, selections a list of "Type/id")
    # prefetch key → FHIR resources (raw JSON dicts); [] when null; an optional key that could not be had
    # is absent (ServiceDefinition.optional_prefetch)
    data: Mapping[str, Sequence[JSON]]
    language: str = "en"  # "en" or "zh", from Accept-Language
    issuer: str | None = None  # the JWT's iss, when auth is on
    fhir_server: str | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)
    base_url: str = ""  # this service's own URL (the public base URL, else the one called), for links


Handler = Callable[[HookCall], Awaitable[Sequence[Card]]]


@dataclass(frozen=True, slots=True)
class CdsService:
    definition: ServiceDefinition
    handler: Handler


class FeedbackStore(Protocol):
    """Where feedback goes. Must be idempotent on (card uuid, outcome, outcomeTimestamp)."""

    async def save(self, service_id: str, items: Sequence[FeedbackItem]) -> None: ...
