"""Suggestions as real FHIR R4 resources, each validated with fhir.resources (R4B) before it leaves."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.servicerequest import ServiceRequest

from cds_hooks.models import Action, Suggestion
from service.cards import _catalog
from service.cards._phrases import Phrases, iso_day
from service.kernel.findings import Order, Proposal
from service.kernel.record import Lab


def _validated(model: Any, resource: dict[str, Any]) -> dict[str, Any]:
    """Round-trip through the R4B model so an invalid suggestion fails loudly in tests, not in the EHR."""
    model.model_validate(resource)
    return resource


def delete_drafts(references: list[str], names: list[str], p: Phrases) -> Suggestion:
    """One suggestion removing every risky draft at once (the EHR applies it or not, as a whole):
    one delete action per draft, since a delete action names exactly one resource."""
    listed = p("suggestion.names_separator").join(names)
    label = p("suggestion.delete", names=listed)
    return Suggestion(
        label=label[:120],
        is_recommended=True,
        actions=[
            Action(type="delete", description=label[:120], resource_id=reference) for reference in references
        ],
    )


def _service_request(
    patient_id: str, coding: _catalog.Orderable, authored: datetime, note: str
) -> dict[str, Any]:
    resource = {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "proposal",
        "code": {
            "coding": [{"system": coding["system"], "code": coding["code"], "display": coding["display"]}],
            "text": coding["en"],
        },
        "subject": {"reference": f"Patient/{patient_id}"},
        "authoredOn": authored.isoformat(),
        "note": [{"text": note}],
    }
    return _validated(ServiceRequest, resource)


def _order(
    coding: _catalog.Orderable, kind: str, patient_id: str, now: datetime, p: Phrases, reason: str
) -> Suggestion:
    """A suggestion creating one draft ServiceRequest, labelled in the card's language."""
    label = p(f"suggestion.{kind}", name=coding[p.name_key])  # type: ignore[literal-required]
    resource = _service_request(patient_id, coding, now, reason)
    return Suggestion(label=label, actions=[Action(type="create", description=label, resource=resource)])


def order_lab(item: Lab, patient_id: str, now: datetime, p: Phrases, reason: str) -> Suggestion:
    return _order(_catalog.lab(item), "order_test", patient_id, now, p, reason)


def order_service(order: Order, patient_id: str, now: datetime, p: Phrases, reason: str) -> Suggestion:
    """Non-laboratory services: a DXA scan, a fall-risk assessment."""
    return _order(_catalog.service(order), "order_service", patient_id, now, p, reason)


def propose_medication(
    proposal: Proposal,
    patient_id: str,
    now: datetime,
    start: date,
    p: Phrases,
    reason: str,
) -> Suggestion:
    """A draft MedicationRequest for a bisphosphonate, to start on ``start``.

    ``tests`` prepare the drug's first dose (rules.md "Selection (r3)": "a test the guard adds to prepare
    a drug's first dose is an extra create action inside each drug suggestion"): one draft ServiceRequest
    each, in the same suggestion, so the EHR accepts the drug and its tests together.
    """
    med = _catalog.medication(proposal)
    name = med[p.name_key]
    dosage = med[f"dosage_{p.name_key}"]
    resource = _validated(
        MedicationRequest,
        {
            "resourceType": "MedicationRequest",
            "status": "draft",
            "intent": "proposal",
            "medicationCodeableConcept": {
                "coding": [{"system": med["system"], "code": med["code"], "display": med["display"]}],
                "text": med["en"],
            },
            "subject": {"reference": f"Patient/{patient_id}"},
            "authoredOn": now.isoformat(),
            "note": [{"text": reason}],
            "dosageInstruction": [
                {
                    "text": dosage,
                    "timing": {"repeat": {"boundsPeriod": {"start": start.isoformat()}}},
                }
            ],
        },
    )
    label = p("suggestion.start", name=name, day=iso_day(start))
    return Suggestion(label=label, actions=[Action(type="create", description=label, resource=resource)])


def prepared(
    suggestion: Suggestion, labs: tuple[Lab, ...], patient_id: str, now: datetime, p: Phrases, reason: str
) -> Suggestion:
    """A drug suggestion with the tests that prepare its first dose as extra create actions (the drug
    guard, rules.md "Selection (r3)"): one suggestion, so the drug is never ordered without them."""
    extra = [order_lab(lab, patient_id, now, p, reason).actions[0] for lab in labs]
    return suggestion.model_copy(update={"actions": [*suggestion.actions, *extra]})


def replacing(suggestion: Suggestion, references: list[str], names: list[str], p: Phrases) -> Suggestion:
    """A drug suggestion that first removes the drafts it replaces: one suggestion, applied as a whole."""
    deleted = delete_drafts(references, names, p)
    label = p("suggestion.replace", names=p("suggestion.names_separator").join(names), start=suggestion.label)
    return suggestion.model_copy(
        update={"label": label[:120], "actions": [*deleted.actions, *suggestion.actions]}
    )
