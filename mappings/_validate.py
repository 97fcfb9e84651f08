"""Validation of what the rules read, with the FHIR R4B types (never the R5 default).

Only resources that map to a concept come here, and of those only the elements the mappers read are
validated: each with the R4B type that element has in its resource model, so a malformed element gets
the same message and FHIR path as a whole-resource validation gives. Elements the rules never read
(narrative, identifiers, notes, names, dosage...) are not validated: whole-model validation of every
relevant resource cost more than everything else in a request (docs/performance.md), and a malformed
note must not hide a patient's cards. Element values repeat across a chart (the same codes, the patient
reference, a visit's date), and whole resources repeat across the calls of one encounter, so verdicts
on both are cached by exact content (mappings._memo).

A resource that fails becomes a MappingError naming it and the FHIR path at fault (the app answers 400).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from fhir.resources.R4B.allergyintolerance import AllergyIntolerance
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.medication import Medication
from fhir.resources.R4B.medicationadministration import MedicationAdministration
from fhir.resources.R4B.medicationdispense import MedicationDispense
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.medicationstatement import MedicationStatement
from fhir.resources.R4B.observation import Observation, ObservationComponent
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.procedure import Procedure
from fhir.resources.R4B.servicerequest import ServiceRequest
from pydantic import BaseModel, TypeAdapter, ValidationError

from mappings._errors import MappingError
from mappings._memo import by_content

# What the mappers read of each type besides resourceType (JSON names). Each is validated when present,
# and R4B's required elements among them must be present. intent is not read, but R4 requires it of
# every order: without one, a MedicationRequest is not an order.
_READ: dict[str, tuple[type[BaseModel], str]] = {
    "Patient": (Patient, "id gender birthDate deceasedBoolean deceasedDateTime"),
    "Condition": (
        Condition,
        "id code subject clinicalStatus verificationStatus onsetDateTime onsetPeriod recordedDate",
    ),
    "Observation": (
        Observation,
        "id status code subject effectiveDateTime effectivePeriod effectiveInstant issued valueQuantity component",
    ),
    "Procedure": (Procedure, "id status code subject performedDateTime performedPeriod"),
    "DiagnosticReport": (DiagnosticReport, "id status code subject effectiveDateTime effectivePeriod issued"),
    "ServiceRequest": (ServiceRequest, "id status intent code subject authoredOn"),
    "AllergyIntolerance": (AllergyIntolerance, "id code patient clinicalStatus verificationStatus"),
    "Medication": (Medication, "id code"),
    "MedicationRequest": (
        MedicationRequest,
        "id status intent subject medicationCodeableConcept medicationReference authoredOn",
    ),
    "MedicationAdministration": (
        MedicationAdministration,
        "id status subject medicationCodeableConcept medicationReference effectiveDateTime effectivePeriod",
    ),
    "MedicationStatement": (
        MedicationStatement,
        "id status subject medicationCodeableConcept medicationReference effectiveDateTime effectivePeriod "
        "dateAsserted",
    ),
    "MedicationDispense": (
        MedicationDispense,
        "id status subject medicationCodeableConcept medicationReference whenHandedOver",
    ),
}
# A modifier extension can change the meaning of the elements the rules read, so extensions stay
# validated (cached by content; absent from most resources). This also keeps a resource with extensions
# nested hundreds deep a 400 (the R4B models recurse once per level), as before.
_EXTENSIONS = "extension modifierExtension"
# R4 makes the subject (AllergyIntolerance: patient) required; EHR searches in the patient compartment
# sometimes leave it out, and such resources are the patient's (the caller already dropped those about
# someone else).
_OPTIONAL_SUBJECT = frozenset({"subject", "patient"})
_CACHE_SIZE = 8192  # distinct element values; keys are a few hundred bytes each
_RESOURCE_CACHE_SIZE = 4096  # distinct relevant resources; keys are about a kilobyte each


@dataclass(frozen=True, slots=True)
class _Shape:
    """How to validate one resource type (or a backbone element such as Observation.component)."""

    name: str  # "Observation", "Observation.component"
    elements: tuple[str, ...]  # validated one by one when present (JSON names)
    required: tuple[str, ...]  # R4B cardinality 1..n among the elements read: the key must be there
    valued: tuple[str, ...]  # required primitives among them: a value (or its "_x" extension) too
    choices: tuple[tuple[str, frozenset[str], bool], ...]  # (name, every R4B member, required) of a [x]
    parts: dict[str, _Shape] = field(default_factory=dict)  # lists of backbone elements, read one by one


def _shape(name: str, model: type[BaseModel], read: str, parts: dict[str, _Shape] | None = None) -> _Shape:
    """The shape of ``model`` restricted to the ``read`` elements, with R4B's cardinalities and choices."""
    fields = {info.alias or key: info for key, info in model.model_fields.items()}
    elements = tuple(read.split())
    wanted = [e for e in elements if e not in _OPTIONAL_SUBJECT]
    required = tuple(e for e in wanted if fields[e].is_required())
    valued = tuple(e for e in wanted if (fields[e].json_schema_extra or {}).get("element_required"))  # type: ignore[union-attr]
    groups: dict[str, list[str]] = {}
    required_groups: set[str] = set()
    for key, info in fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if "one_of_many" in extra:
            groups.setdefault(str(extra["one_of_many"]), []).append(key)
            if extra.get("one_of_many_required") is True:
                required_groups.add(str(extra["one_of_many"]))
    choices = tuple(
        (group, frozenset(members), group in required_groups)
        for group, members in sorted(groups.items())
        if any(member in elements for member in members)
    )
    parts = parts or {}
    for element in elements:
        if element not in parts:
            _ADAPTERS[f"{name}.{element}"] = TypeAdapter(cast(Any, fields[element].annotation))
    return _Shape(name, elements, required, valued, choices, parts)


_ADAPTERS: dict[str, TypeAdapter[Any]] = {}  # "Observation.valueQuantity" -> the R4B type of that element
_COMPONENT = _shape("Observation.component", ObservationComponent, "code valueQuantity")
_SHAPES: dict[str, _Shape] = {
    rtype: _shape(
        rtype, model, f"{read} {_EXTENSIONS}", {"component": _COMPONENT} if rtype == "Observation" else None
    )
    for rtype, (model, read) in _READ.items()
}

_Problem = tuple[tuple[int | str, ...], str]  # (path inside the element, message)


def validate(resource: Mapping[str, Any], label: str) -> None:
    """Raise MappingError unless what the rules read of ``resource`` is valid R4B."""
    rtype = str(resource.get("resourceType"))
    if rtype not in _SHAPES:
        raise MappingError(label, rtype, "not a resource type the rules read")
    problem = _resource_problem(resource, rtype)
    if problem is not None:
        loc, message = problem
        raise MappingError(label, _path(rtype, loc), message)


@by_content(maxsize=_RESOURCE_CACHE_SIZE, private=True)
def _resource_problem(resource: Mapping[str, Any], rtype: str) -> _Problem | None:
    """The first problem of one resource, memoised whole: an EHR sends the same chart again at
    patient-view, at each order-select while an order is typed, and at order-sign."""
    problem = _check(_SHAPES[rtype], resource)
    reference = _reference(resource)
    if problem is None and isinstance(reference, str) and reference.startswith("#"):
        problem = _check_contained(resource, reference[1:])
    return problem


def _check(shape: _Shape, data: Mapping[str, Any]) -> _Problem | None:
    """The first problem among the elements ``shape`` reads of ``data``, or None."""
    for element in shape.required:
        if element not in data:
            return (element,), "required"
    for element in shape.valued:
        if data.get(element) is None and f"_{element}" not in data:  # "_status": a primitive's extension
            return (element,), "required"
    for group, members, required in shape.choices:
        present = sorted(m for m in members.intersection(data) if data[m] is not None)
        if len(present) > 1:
            return (f"{group}[x]",), f"only one of {', '.join(present)} is allowed"
        if required and not present:
            return (f"{group}[x]",), "required"
    for element in shape.elements:
        value = data.get(element)
        if value is None:
            continue
        if isinstance(value, list) and any(item is None for item in value):
            return (element,), f"None is not allowed as an element of {element}"
        if element in shape.parts:
            problem = _check_list(shape.parts[element], value)
        else:
            problem = _element_problem(value, f"{shape.name}.{element}")
        if problem is not None:
            return (element, *problem[0]), problem[1]
    return None


def _check_list(shape: _Shape, value: object) -> _Problem | None:
    """A list of backbone elements (Observation.component), each checked element by element."""
    if not isinstance(value, list):
        return (), "Input should be a valid list"
    for i, item in enumerate(value):
        if not isinstance(item, Mapping):
            return (i,), "Input should be an object"
        problem = _check(shape, item)
        if problem is not None:
            return (i, *problem[0]), problem[1]
    return None


def _check_contained(resource: Mapping[str, Any], target: str) -> _Problem | None:
    """The contained Medication that medicationReference "#id" points to is read: validate it too."""
    contained = resource.get("contained")
    for i, item in enumerate(contained if isinstance(contained, list) else []):
        if (
            isinstance(item, Mapping)
            and item.get("id") == target
            and item.get("resourceType") == "Medication"
        ):
            problem = _check(_SHAPES["Medication"], item)
            if problem is not None:
                return ("contained", i, *problem[0]), problem[1]
    return None


def _reference(resource: Mapping[str, Any]) -> object:
    reference = resource.get("medicationReference")
    return reference.get("reference") if isinstance(reference, Mapping) else None


@by_content(maxsize=_CACHE_SIZE, private=True)
def _element_problem(value: object, element: str) -> _Problem | None:
    """The first R4B validation problem of one element's value ("Observation.valueQuantity"), or None."""
    try:
        _ADAPTERS[element].validate_python(value)
    except ValidationError as exc:
        errors = exc.errors()
        return (
            (errors[0]["loc"], _plain(errors[0]["type"], errors[0]["msg"], errors[0].get("input")))
            if errors
            else ((), str(exc))
        )
    except (TypeError, ValueError, AttributeError, KeyError) as exc:  # model code on odd input shapes
        return (), type(exc).__name__
    return None


# The R4B models answer a JSON array or string where an element is an object with Python's words
# ("... but got type <class 'list'>", "Invalid JSON: expected value"): say it in JSON's.
_OBJECT_EXPECTED = frozenset({"model_validation_format", "dict_type", "model_type", "model_attributes_type"})


def _plain(error_type: str, message: str, value: object) -> str:
    if error_type in _OBJECT_EXPECTED or (error_type == "json_invalid" and isinstance(value, str | bytes)):
        return f"expected an object, got {_json_kind(value)}"
    if error_type == "list_type":
        return f"expected an array, got {_json_kind(value)}"
    return message


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str | bytes):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    return "an object" if isinstance(value, Mapping) else "a value of another kind"


def _path(rtype: str, loc: tuple[int | str, ...]) -> str:
    path = rtype
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part not in ("root", "__root__") and not part.startswith("function-"):
            path += f".{part}"
    return path
