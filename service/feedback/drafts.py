"""A draft order's identity for feedback: the same resource with the same medication, dose and route.

An override at order time, or a card seen at order-select, holds for "that same, unchanged draft"
(architecture.md): the resource id alone is not enough, since an EHR keeps the id while the prescriber
edits the dose. The key is the resource reference and a hash of what makes the decision.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

_MEDICATION = ("medicationCodeableConcept", "medicationReference")
_DOSAGE = ("doseAndRate", "route", "timing", "asNeededBoolean", "asNeededCodeableConcept")


def draft_key(resource: Mapping[str, Any]) -> str:
    """``MedicationRequest/abc#<hash of medication, dose and route>``."""
    reference = f"{resource.get('resourceType')}/{resource.get('id')}"
    dosage = resource.get("dosageInstruction")
    decision = {
        "medication": {k: resource[k] for k in _MEDICATION if k in resource},
        "dosage": [
            {k: d[k] for k in _DOSAGE if k in d}
            for d in (dosage if isinstance(dosage, list) else [dosage])
            if isinstance(d, Mapping)
        ],
    }
    digest = hashlib.sha256(orjson.dumps(decision, option=orjson.OPT_SORT_KEYS)).hexdigest()[:24]
    return f"{reference}#{digest}"


def draft_keys(resources: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Reference (``MedicationRequest/abc``) → key, for the draft orders of one call."""
    return {
        f"{r.get('resourceType')}/{r.get('id')}": draft_key(r)
        for r in resources
        if r.get("resourceType") != "Medication"
    }
