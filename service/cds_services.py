"""The three bone-health services: their discovery entries, what they prefetch, which drafts they read."""

from __future__ import annotations

from typing import Any

from cds_hooks.handler import HookCall
from cds_hooks.models import ServiceDefinition

# What the rules read, in the query subset the spec allows (patient-scoped type searches).
PREFETCH: dict[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "observations": "Observation?patient={{context.patientId}}",
    "medicationRequests": "MedicationRequest?patient={{context.patientId}}",
    "medicationStatements": "MedicationStatement?patient={{context.patientId}}",
    "medicationAdministrations": "MedicationAdministration?patient={{context.patientId}}",
    "medicationDispenses": "MedicationDispense?patient={{context.patientId}}",
    "procedures": "Procedure?patient={{context.patientId}}",
    # revision 3: optional (an EHR configured for the eight keys above, with no fhirServer, is answered)
    "serviceRequests": "ServiceRequest?patient={{context.patientId}}",
    "diagnosticReports": "DiagnosticReport?patient={{context.patientId}}",
    "allergies": "AllergyIntolerance?patient={{context.patientId}}",
}
ALLERGIES = "allergies"
#: Keys the rules can do without: not sent and not fetchable, the chart is read as holding none of them
#: (and a card that offers a drug says "allergies not checked").
OPTIONAL_PREFETCH: frozenset[str] = frozenset({"serviceRequests", "diagnosticReports", ALLERGIES})

#: resourceType → the prefetch key whose query returns it (for clients building prefetch by hand)
PREFETCH_KEY_BY_TYPE: dict[str, str] = {
    query.split("?")[0].split("/")[0]: key for key, query in PREFETCH.items()
}

#: The languages cards are worded in, the default first: English, and Simplified Chinese (any ``zh``
#: tag of Accept-Language, zh-TW and zh-Hant included, gets it; no Traditional wording is offered).
LANGUAGES: tuple[str, ...] = ("en", "zh")

SERVICES: tuple[ServiceDefinition, ...] = (
    ServiceDefinition(
        hook="patient-view",
        id="bone-health-patient-view",
        title="Bone health review",
        description="Overdue osteoporosis-therapy monitoring, denosumab doses and sequencing, and bone "
        "fracture-risk findings in type 2 diabetes and obesity.",
        prefetch=PREFETCH,
        optional_prefetch=OPTIONAL_PREFETCH,
    ),
    ServiceDefinition(
        hook="order-select",
        id="bone-health-order-select",
        title="Bone safety of a selected order",
        description="Checks a selected medication order against the patient's bone health: "
        "thiazolidinediones in osteoporosis, bisphosphonates with poor kidney function, and more.",
        prefetch=PREFETCH,
        optional_prefetch=OPTIONAL_PREFETCH,
    ),
    ServiceDefinition(
        hook="order-sign",
        id="bone-health-order-sign",
        title="Bone safety of orders being signed",
        description="Checks every draft medication order against the patient's bone health before signing.",
        prefetch=PREFETCH,
        optional_prefetch=OPTIONAL_PREFETCH,
    ),
)


def allergies_known(call: HookCall) -> bool:
    """The EHR sent the patient's allergies (even none, or null) or they were fetched."""
    return ALLERGIES in call.data


def draft_resources(call: HookCall) -> list[dict[str, Any]]:
    """The draft orders the rules look at: the selections at order-select, every draft at order-sign.

    Medication resources that travel in ``draftOrders`` are kept either way: a selected order may
    name its drug by ``medicationReference`` to one of them.
    """
    if call.hook == "patient-view":
        return []
    bundle = call.context.get("draftOrders") or {}
    entries = [e.get("resource") for e in bundle.get("entry", []) if isinstance(e, dict)]
    resources = [r for r in entries if isinstance(r, dict)]
    if call.hook == "order-select":
        selected = set(call.context.get("selections") or [])
        resources = [
            r
            for r in resources
            if r.get("resourceType") == "Medication" or f"{r.get('resourceType')}/{r.get('id')}" in selected
        ]
    return resources
