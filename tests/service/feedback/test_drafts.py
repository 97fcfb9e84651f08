"""A draft's key: the same order is the same key; a changed medication, dose or route is another."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from service.feedback.drafts import draft_key, draft_keys

DRAFT: dict[str, Any] = {
    "resourceType": "MedicationRequest",
    "id": "mr-1",
    "status": "draft",
    "intent": "order",
    "subject": {"reference": "Patient/p1"},
    "medicationCodeableConcept": {
        "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "312440"}]
    },
    "dosageInstruction": [
        {
            "text": "15 mg daily",
            "route": {"coding": [{"system": "http://snomed.info/sct", "code": "26643006"}]},
            "doseAndRate": [{"doseQuantity": {"value": 15, "unit": "mg"}}],
            "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
        }
    ],
}


def test_the_same_draft_resent_has_the_same_key() -> None:
    reordered = dict(reversed(list(copy.deepcopy(DRAFT).items())))
    reordered["note"] = [{"text": "added at order-sign"}]
    reordered["dosageInstruction"][0]["text"] = "fifteen milligrams daily"  # free text is not the decision
    assert draft_key(reordered) == draft_key(DRAFT)
    assert draft_key(DRAFT).startswith("MedicationRequest/mr-1#")


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["medicationCodeableConcept"]["coding"][0].update(code="312441"),
        lambda d: d["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"].update(value=30),
        lambda d: d["dosageInstruction"][0]["route"]["coding"][0].update(code="47625008"),
        lambda d: d["dosageInstruction"][0]["timing"]["repeat"].update(period=7),
        lambda d: d.update(id="mr-2"),
    ],
    ids=["medication", "dose", "route", "frequency", "another draft"],
)
def test_a_changed_decision_is_another_key(change: Any) -> None:
    changed = copy.deepcopy(DRAFT)
    change(changed)
    assert draft_key(changed) != draft_key(DRAFT)


def test_keys_by_reference_skip_medication_resources() -> None:
    medication = {"resourceType": "Medication", "id": "m1"}
    assert set(draft_keys([DRAFT, medication])) == {"MedicationRequest/mr-1"}
