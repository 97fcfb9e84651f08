"""Whatever FHIR-shaped JSON arrives, build_record answers a record or a MappingError, nothing else;
and validating what the rules read never refuses what the whole R4B model accepts."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.medicationadministration import MedicationAdministration
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.procedure import Procedure
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from mappings import MappingError, build_record
from mappings._validate import validate
from service.kernel.record import PatientRecord
from tests.mappings.fhirdata import ATC, ICD10, ICD10CM, LOINC, PID, RXNORM, SNOMED

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(
        ["2024-01-01", "2024-13-45", "1950", "2024-03-01T10:00:00Z", "abc", "", "Patient/p1", "#m"]
    ),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
codes = st.sampled_from(
    [
        (LOINC, "2000-8"),
        (LOINC, "38267-1"),
        (LOINC, "4548-4"),
        (LOINC, "73830-2"),
        (SNOMED, "44054006"),
        (SNOMED, "443165006"),
        (SNOMED, "302497006"),
        (ICD10CM, "E11.22"),
        (ICD10, "M80"),
        (RXNORM, "993452"),
        (RXNORM, "1046402"),
        (ATC, "M05BA08"),
        (None, None),
        ("urn:x", "1"),
    ]
)


@st.composite
def codeable(draw: st.DrawFn) -> Any:
    system, code = draw(codes)
    return draw(
        st.one_of(
            st.just(
                {
                    "coding": [{"system": system, "code": code}],
                    "text": draw(st.sampled_from(["Prolia", "2型糖尿病", "x", ""])),
                }
            ),
            json_values,
        )
    )


@st.composite
def resources(draw: st.DrawFn) -> Any:
    rtype = draw(
        st.sampled_from(
            [
                "Patient",
                "Condition",
                "Observation",
                "Procedure",
                "MedicationRequest",
                "MedicationStatement",
                "MedicationAdministration",
                "MedicationDispense",
                "Medication",
                "Bundle",
                "Encounter",
            ]
        )
    )
    res: dict[str, Any] = {"resourceType": rtype}
    optional = {
        "id": st.one_of(st.just("r1"), json_values),
        "code": codeable(),
        "medicationCodeableConcept": codeable(),
        "medicationReference": st.one_of(
            st.just({"reference": "#m"}), st.just({"reference": "Medication/r1"}), json_values
        ),
        "contained": st.one_of(
            st.just(
                [
                    {
                        "resourceType": "Medication",
                        "id": "m",
                        "code": {"coding": [{"system": RXNORM, "code": "2418"}]},
                    }
                ]
            ),
            json_values,
        ),
        "status": st.one_of(
            st.sampled_from(["final", "active", "completed", "entered-in-error", "draft"]), json_values
        ),
        "subject": st.one_of(
            st.just({"reference": f"Patient/{PID}"}), st.just({"reference": "Patient/other"}), json_values
        ),
        "valueQuantity": st.one_of(
            st.fixed_dictionaries({"value": json_values, "unit": st.sampled_from(["mg/dL", "%", "kg", "x"])}),
            json_values,
        ),
        "component": st.lists(
            st.fixed_dictionaries({"code": codeable(), "valueQuantity": json_values}), max_size=2
        ),
        "effectiveDateTime": json_values,
        "effectivePeriod": json_values,
        "issued": json_values,
        "onsetDateTime": json_values,
        "clinicalStatus": json_values,
        "verificationStatus": json_values,
        "authoredOn": json_values,
        "performedDateTime": json_values,
        "gender": json_values,
        "birthDate": json_values,
        "deceasedBoolean": json_values,
        "entry": st.lists(
            st.one_of(json_values, st.fixed_dictionaries({"resource": json_values})), max_size=2
        ),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            res[key] = draw(strategy)
    return res


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.one_of(resources(), json_values), max_size=4),
    st.lists(st.one_of(resources(), json_values), max_size=2),
)
def test_only_mapping_errors_escape(items: list[Any], drafts: list[Any]) -> None:
    try:
        record = build_record(PID, items, drafts)
    except MappingError as err:
        assert err.resource and err.field
    else:
        assert isinstance(record, PatientRecord)


_R4B: dict[str, type[BaseModel]] = {
    "Condition": Condition,
    "MedicationAdministration": MedicationAdministration,
    "MedicationRequest": MedicationRequest,
    "Observation": Observation,
    "Patient": Patient,
    "Procedure": Procedure,
}
_CODE = {"coding": [{"system": LOINC, "code": "2000-8", "display": "Calcium"}]}
_BASES: dict[str, dict[str, Any]] = {
    "Condition": {"code": _CODE},
    "MedicationAdministration": {"status": "completed", "medicationCodeableConcept": _CODE},
    "MedicationRequest": {"status": "active", "intent": "order", "medicationCodeableConcept": _CODE},
    "Observation": {"status": "final", "code": _CODE},
    "Patient": {},
    "Procedure": {"status": "completed", "code": _CODE},
}
_SAMPLES = st.sampled_from(
    [
        None,
        12,
        True,
        "",
        "x y",
        "2024-03-01",
        "2024-13-45",
        "2024-03-01T10:00:00Z",
        "final",
        {"value": 2.3, "unit": "mmol/L"},
        {"value": "2,3"},
        {"reference": f"Patient/{PID}"},
        {"start": "2024-03-01"},
        _CODE,
        {"coding": [{"system": LOINC, "code": 5}]},
        {"coding": "x"},
        [{"text": "x"}],
        [{"url": "http://x", "valueString": "y"}],
        [{"code": _CODE, "valueQuantity": {"value": 1}}],
        [None],
    ]
)
_VALUES = st.one_of(_SAMPLES, _SAMPLES, _SAMPLES, json_values)  # mostly values R4B has an opinion on
# read by the rules on some type, and not read on any
_ELEMENTS = [
    "id",
    "status",
    "intent",
    "code",
    "subject",
    "effectiveDateTime",
    "effectivePeriod",
    "issued",
    "valueQuantity",
    "valueString",
    "component",
    "clinicalStatus",
    "onsetDateTime",
    "recordedDate",
    "authoredOn",
    "performedDateTime",
    "gender",
    "birthDate",
    "deceasedBoolean",
    "extension",
    "modifierExtension",
    "note",
    "category",
    "meta",
    "text",
    "identifier",
    "name",
    "dosageInstruction",
    "reasonCode",
]


@st.composite
def r4b_resources(draw: st.DrawFn) -> dict[str, Any]:
    """A valid R4B resource of a type the rules read, with a few elements set to anything at all."""
    rtype = draw(st.sampled_from(sorted(_BASES)))
    resource: dict[str, Any] = {"resourceType": rtype, "id": "r1", **_BASES[rtype]}
    fields = [f for f in _ELEMENTS if f in _R4B[rtype].model_fields]
    for name in draw(st.lists(st.sampled_from(fields), max_size=3, unique=True)):
        resource[name] = draw(_VALUES)
    return resource


# What the rules read, per docs/performance.md (Observation.component: its code and valueQuantity)
_READ = {
    "Condition": "id code subject clinicalStatus verificationStatus onsetDateTime onsetPeriod recordedDate",
    "MedicationAdministration": "id status subject medicationCodeableConcept effectiveDateTime effectivePeriod",
    "MedicationRequest": "id status intent subject medicationCodeableConcept authoredOn",
    "Observation": "id status code subject effectiveDateTime effectivePeriod issued valueQuantity component",
    "Patient": "id gender birthDate deceasedBoolean",
    "Procedure": "id status code subject performedDateTime",
}


def _read_by_rules(rtype: str, loc: tuple[int | str, ...]) -> bool:
    if not loc or loc[0] not in [*_READ[rtype].split(), "extension", "modifierExtension"]:
        return False
    return loc[0] != "component" or len(loc) < 3 or loc[2] in ("code", "valueQuantity")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(r4b_resources())
def test_validation_agrees_with_the_whole_r4b_model_on_what_the_rules_read(resource: dict[str, Any]) -> None:
    """Never stricter than validating the whole R4B resource, and as strict on every element read."""
    rtype = resource["resourceType"]
    model = _R4B[rtype]
    whole = (
        {"subject": {"reference": f"Patient/{PID}"}, **resource}
        if "subject" in model.model_fields
        else resource
    )
    try:
        model.model_validate(whole)
        refused: list[Any] = []
    except ValidationError as exc:
        refused = [e["loc"] for e in exc.errors() if _read_by_rules(rtype, e["loc"])] or ["elsewhere"]
    try:
        validate(resource, "r")
    except MappingError as err:
        assert refused, f"stricter than R4B: {err}"
    else:
        assert refused in ([], ["elsewhere"]), f"R4B refuses {refused}, which the rules read"
