"""Validation of the resources that map to a concept with the FHIR R4B models (never the R5 default).

Only relevant resources come here, so a 700-resource prefetch pays for the few it uses. A resource that
fails becomes a MappingError naming it and the FHIR path at fault (the app answers 400).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.medication import Medication
from fhir.resources.R4B.medicationadministration import MedicationAdministration
from fhir.resources.R4B.medicationdispense import MedicationDispense
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.medicationstatement import MedicationStatement
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.procedure import Procedure
from pydantic import ValidationError

from mappings._errors import MappingError

_MODELS: dict[str, Any] = {
    "Condition": Condition,
    "Medication": Medication,
    "MedicationAdministration": MedicationAdministration,
    "MedicationDispense": MedicationDispense,
    "MedicationRequest": MedicationRequest,
    "MedicationStatement": MedicationStatement,
    "Observation": Observation,
    "Patient": Patient,
    "Procedure": Procedure,
}


# R4 makes the subject required here; EHR searches in the patient compartment sometimes leave it out,
# and such resources are the patient's (the caller already dropped those about someone else).
_SUBJECT_REQUIRED = frozenset(
    {"Condition", "MedicationRequest", "MedicationAdministration", "MedicationStatement", "Procedure"}
)


def validate(resource: Mapping[str, Any], label: str) -> None:
    """Raise MappingError unless ``resource`` is a valid R4B resource of a type we read."""
    rtype = str(resource.get("resourceType"))
    model = _MODELS.get(rtype)
    if model is None:
        raise MappingError(label, rtype, "not a resource type the rules read")
    data = dict(resource)
    if rtype in _SUBJECT_REQUIRED and "subject" not in data:
        data["subject"] = {"reference": "Patient/subject-absent"}
    try:
        model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        loc = errors[0]["loc"] if errors else ()
        raise MappingError(label, _path(rtype, loc), errors[0]["msg"] if errors else "") from exc
    except (TypeError, ValueError, AttributeError, KeyError) as exc:  # model code on odd input shapes
        raise MappingError(label, rtype, type(exc).__name__) from exc


def _path(rtype: str, loc: tuple[int | str, ...]) -> str:
    path = rtype
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part not in ("root", "__root__") and not part.startswith("function-"):
            path += f".{part}"
    return path
