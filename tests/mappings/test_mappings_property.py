"""Whatever FHIR-shaped JSON arrives, build_record answers a record or a MappingError, nothing else."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mappings import MappingError, build_record
from service.domain import PatientRecord
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
