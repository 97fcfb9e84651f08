"""CDS Hooks 2.0, the protocol only: discovery, hook calls, prefetch, feedback, JWT security.

Nothing here knows about any clinical domain. An application describes its services
(:class:`CdsService`: a :class:`ServiceDefinition` and an async handler from :class:`HookCall` to
cards) and calls :func:`mount`::

    async def greet(call: HookCall) -> list[Card]:
        patient = call.data["patient"][0]  # prefetch key -> FHIR resources, fetched if not sent
        return [Card(summary=f"Hello {patient['id']}", indicator="info", source=Source(label="Demo"))]

    definition = ServiceDefinition(
        hook="patient-view", id="greeter", title="Greeter", description="Says hello",
        prefetch={"patient": "Patient/{{context.patientId}}"},
    )
    mount(app, [CdsService(definition, greet)], ProtocolConfig(issuers={iss: IssuerPolicy(jwks=url)}), store)

Errors a handler wants to answer with (a 400 or 412 of its own) are raised as :class:`CdsError`.
``mount`` returns an :class:`Authenticator` (a FastAPI dependency) for the application's own routes,
and takes an optional :class:`Observer` that hears of every hook call (for metrics).
"""

from cds_hooks._call_log import add_stage, handler_started, lap
from cds_hooks.config import IssuerPolicy, ProtocolConfig
from cds_hooks.errors import CardContractError, CdsError
from cds_hooks.events import CallRecord, Observer
from cds_hooks.handler import CdsService, FeedbackStore, Handler, HookCall
from cds_hooks.models import (
    Action,
    Card,
    Coding,
    FeedbackItem,
    FeedbackRequest,
    Link,
    ServiceDefinition,
    Source,
    Suggestion,
)
from cds_hooks.router import Authenticator, mount

__all__ = [
    "Action",
    "Authenticator",
    "CallRecord",
    "Card",
    "CardContractError",
    "CdsError",
    "CdsService",
    "Coding",
    "FeedbackItem",
    "FeedbackRequest",
    "FeedbackStore",
    "Handler",
    "HookCall",
    "IssuerPolicy",
    "Link",
    "Observer",
    "ProtocolConfig",
    "ServiceDefinition",
    "Source",
    "Suggestion",
    "add_stage",
    "handler_started",
    "lap",
    "mount",
]
