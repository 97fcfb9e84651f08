"""Revision 3 of the data layer: new problems (Conditions and Procedures), DXA procedures and reports, new
labs with their units, hCG presence, secretagogues and calcifediol, statement periods and statuses, test
orders (ServiceRequest) and drug allergies (AllergyIntolerance)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from mappings import MappingError, build_record
from mappings._terminology import icd10_edition
from service.kernel.record import DrugClass, Lab, Problem
from tests.mappings.fhirdata import (
    ATC,
    ICD10,
    ICD10CM,
    LOINC,
    PID,
    RXNORM,
    SNOMED,
    cc,
    coded,
    condition,
    med_request,
    observation,
)

D = DrugClass
P = Problem
CPT = "http://www.ama-assn.org/go/cpt"
CHINA_ICD10 = "urn:oid:2.16.156.10011.2.3.3.11"
SUBJECT = {"reference": f"Patient/{PID}"}


def problems(system: str, code: str) -> set[Problem]:
    return {c.problem for c in build_record(PID, [condition(cc(system, code))]).conditions}


# --- Conditions --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("system", "code", "expected"),
    [
        (ICD10CM, "Z51.5", {P.PALLIATIVE_CARE}),
        (ICD10, "Z51.5", {P.PALLIATIVE_CARE}),
        (SNOMED, "103735009", {P.PALLIATIVE_CARE}),
        (SNOMED, "385763009", {P.PALLIATIVE_CARE}),  # hospice care
        (ICD10CM, "Z51.1", set()),  # chemotherapy session: not palliative care
        (SNOMED, "77386006", {P.PREGNANCY}),
        (ICD10CM, "Z33.1", {P.PREGNANCY}),
        (ICD10CM, "Z33.2", set()),  # ICD-10-CM: encounter for elective termination, not a pregnancy
        (ICD10, "Z33", {P.PREGNANCY}),  # WHO ICD-10: pregnant state
        (CHINA_ICD10, "Z33.x00", {P.PREGNANCY}),  # the Chinese edition follows WHO
        (ICD10CM, "Z34.03", {P.PREGNANCY}),
        (ICD10, "Z34.0", set()),  # WHO Z34 is not listed by r3 (ICD-10-CM only)
        (ICD10CM, "Z3A.20", {P.PREGNANCY}),
        (ICD10CM, "O09.511", {P.PREGNANCY}),
        (ICD10CM, "O24.113", {P.PREGNANCY, P.T2DM}),  # pre-existing type 2 diabetes in pregnancy
        (ICD10CM, "O24.419", set()),  # gestational diabetes: not listed
        (ICD10CM, "O80", {P.PREGNANCY_OUTCOME}),
        (ICD10, "O84.0", {P.PREGNANCY_OUTCOME}),
        (ICD10CM, "O03.9", {P.PREGNANCY_OUTCOME}),
        (ICD10CM, "Z37.0", {P.PREGNANCY_OUTCOME}),
        (
            ICD10CM,
            "O10.02",
            set(),
        ),  # hypertension in pregnancy: neither a pregnancy code of r3 nor an outcome
        (SNOMED, "160685001", {P.BED_BOUND}),
        (ICD10CM, "K20.9", {P.OESOPHAGEAL_DISORDER}),
        (ICD10CM, "K21.00", {P.OESOPHAGEAL_DISORDER}),  # GORD with oesophagitis
        (ICD10CM, "K21.9", set()),  # GORD without oesophagitis
        (ICD10, "K22.0", {P.OESOPHAGEAL_DISORDER}),  # achalasia
        (ICD10CM, "K22.10", {P.OESOPHAGEAL_DISORDER}),
        (ICD10, "K22.2", {P.OESOPHAGEAL_DISORDER}),
        (ICD10, "K22.4", {P.OESOPHAGEAL_DISORDER}),
        (ICD10CM, "K22.70", {P.OESOPHAGEAL_DISORDER}),  # Barrett's
        (ICD10, "K22.3", set()),  # perforation: not listed
        (ICD10CM, "K22.5", set()),  # diverticulum: not listed
        (ICD10CM, "M87.180", {P.JAW_OSTEONECROSIS}),
        (ICD10, "M87.180", set()),  # ICD-10-CM code: not under a WHO URI
        (ICD10CM, "M87.18", set()),
        (ICD10CM, "M84.750A", {P.ATYPICAL_FEMORAL_FRACTURE}),
        (ICD10CM, "M84.40XA", set()),
        (ICD10CM, "S72.001A", {P.HIP_OR_VERTEBRAL_FRACTURE}),
        (ICD10, "S72.1", {P.HIP_OR_VERTEBRAL_FRACTURE}),
        (ICD10CM, "S72.21XA", {P.HIP_OR_VERTEBRAL_FRACTURE}),
        (ICD10CM, "S22.000A", {P.HIP_OR_VERTEBRAL_FRACTURE}),
        (ICD10, "S32.0", {P.HIP_OR_VERTEBRAL_FRACTURE}),
        (ICD10CM, "M48.50XA", {P.HIP_OR_VERTEBRAL_FRACTURE}),
        (ICD10CM, "S72.301A", set()),  # femoral shaft
        (ICD10CM, "S22.20XA", set()),  # sternum
        (ICD10CM, "Z87.310", {P.HEALED_FRAGILITY_FRACTURE, P.OSTEOPOROSIS}),  # no longer a fragility fracture
        (
            ICD10,
            "Z87.310",
            {P.OSTEOPOROSIS},
        ),  # history is an ICD-10-CM code (osteoporosis: VSAC, any edition)
        (ICD10CM, "M80.08XA", {P.FRAGILITY_FRACTURE, P.OSTEOPOROSIS}),
    ],
)
def test_new_problems_by_code_and_edition(system: str, code: str, expected: set[Problem]) -> None:
    assert problems(system, code) == expected


@pytest.mark.parametrize(
    ("system", "code", "dialysis"),
    [
        (ICD10CM, "Z99.2", True),
        (ICD10CM, "Z49.31", True),
        (ICD10CM, "Z49.32", True),
        (ICD10CM, "Z49.01", False),  # catheter fitting: preparatory care
        (ICD10CM, "Z49.1", False),  # not an ICD-10-CM code of dialysis
        (ICD10, "Z49.1", True),
        (ICD10, "Z49.2", True),
        (CHINA_ICD10, "Z49.100", True),
        (ICD10, "Z99.2", True),
        (ICD10, "Z49.0", False),  # preparation for dialysis
        (SNOMED, "105502003", True),
        (SNOMED, "236435004", True),
        (SNOMED, "714152005", True),
        (ICD10CM, "N18.6", False),  # end-stage kidney disease alone
        (SNOMED, "46177005", False),
    ],
)
def test_dialysis_as_revision_3_lists_it(system: str, code: str, dialysis: bool) -> None:
    assert (P.DIALYSIS in problems(system, code)) is dialysis


def test_icd10_editions_by_uri() -> None:
    assert icd10_edition(ICD10CM) == "cm"
    assert icd10_edition("urn:oid:2.16.840.1.113883.6.90") == "cm"
    assert icd10_edition(ICD10) == "who"
    assert icd10_edition(CHINA_ICD10) == "who"
    assert icd10_edition(SNOMED) is None


def test_a_new_problem_has_the_active_flag_and_onset_of_any_condition() -> None:
    resources = [
        condition(cc(ICD10CM, "Z3A.12"), "preg", recordedDate="2026-10-01"),
        condition(cc(ICD10CM, "O80"), "birth", clinical="resolved", onsetDateTime="2026-11-20T08:00:00Z"),
        condition(cc(SNOMED, "103735009"), "pall", verification="entered-in-error"),
        condition(cc(SNOMED, "160685001"), "bed", verification="refuted"),
    ]
    facts = {c.source: c for c in build_record(PID, resources).conditions}
    assert set(facts) == {"Condition/preg", "Condition/birth"}
    assert facts["Condition/preg"].active and facts["Condition/preg"].onset == date(2026, 10, 1)
    assert not facts["Condition/birth"].active and facts["Condition/birth"].onset == date(2026, 11, 20)
    assert not facts["Condition/preg"].from_procedure


def test_a_chinese_name_finds_a_new_problem_only_where_names_are_curated() -> None:
    assert problems(CHINA_ICD10, "Z99.200x001") == {P.DIALYSIS}
    assert {c.problem for c in build_record(PID, [condition(cc(text="腹膜透析"))]).conditions} == {P.DIALYSIS}


# --- Procedures and DiagnosticReports ----------------------------------------------------------------


def procedure(
    code: dict[str, Any], rid: str = "pr1", status: str = "completed", **fields: Any
) -> dict[str, Any]:
    return {
        "resourceType": "Procedure",
        "id": rid,
        "status": status,
        "code": code,
        "subject": SUBJECT,
        **fields,
    }


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        (cc(SNOMED, "103735009"), P.PALLIATIVE_CARE),
        (cc(SNOMED, "385763009"), P.PALLIATIVE_CARE),
        (cc(SNOMED, "108241001"), P.DIALYSIS),
        (cc(SNOMED, "302497006"), P.DIALYSIS),  # haemodialysis
        (cc(SNOMED, "71192002"), P.DIALYSIS),  # peritoneal dialysis
        (cc(CPT, "90935"), P.DIALYSIS),
    ],
)
def test_a_palliative_or_dialysis_procedure_is_a_condition_from_a_procedure(
    code: dict[str, Any], problem: Problem
) -> None:
    record = build_record(PID, [procedure(code, performedDateTime="2026-11-02T09:00:00+08:00")])
    (fact,) = record.conditions
    assert (fact.problem, fact.active, fact.onset, fact.source, fact.from_procedure) == (
        problem,
        True,
        date(2026, 11, 2),
        "Procedure/pr1",
        True,
    )


@pytest.mark.parametrize("status", ["not-done", "preparation", "entered-in-error", "stopped"])
def test_a_procedure_not_done_is_not_a_condition(status: str) -> None:
    resource = procedure(cc(SNOMED, "103735009"), status=status, performedDateTime="2026-11-02")
    assert build_record(PID, [resource]).conditions == ()


@pytest.mark.parametrize("code", [cc(CPT, "77080"), cc(CPT, "77081"), cc(LOINC, "38268-9")])
def test_a_dxa_procedure_is_a_bmd_result_by_presence(code: dict[str, Any]) -> None:
    record = build_record(PID, [procedure(code, performedPeriod={"start": "2025-06-01T10:00:00Z"})])
    (m,) = record.measurements
    assert (m.lab, m.value, m.at, m.source) == (
        Lab.BMD,
        None,
        datetime(2025, 6, 1, 10, tzinfo=UTC),
        "Procedure/pr1",
    )


def test_other_cpt_codes_and_undone_dxa_are_not_bmd_results() -> None:
    resources = [
        procedure(cc(CPT, "77082"), "a", performedDateTime="2025-06-01"),  # not listed by r3
        procedure(cc(CPT, "77080"), "b", status="not-done", performedDateTime="2025-06-01"),
    ]
    assert build_record(PID, resources).measurements == ()


def test_a_dxa_procedure_without_a_date_is_noted() -> None:
    record = build_record(PID, [procedure(cc(CPT, "77080"))])
    assert record.measurements == () and any("bmd procedure without a date" in n for n in record.notes)


def report(code: dict[str, Any], rid: str = "dr1", status: str = "final", **fields: Any) -> dict[str, Any]:
    return {
        "resourceType": "DiagnosticReport",
        "id": rid,
        "status": status,
        "code": code,
        "subject": SUBJECT,
        **fields,
    }


@pytest.mark.parametrize(
    "code",
    [
        cc(LOINC, "38268-9"),  # DXA Skeletal system Views for bone density
        cc(LOINC, "38267-1"),  # DXA Lumbar spine [T-score]
        cc(LOINC, "80933-5"),  # DXA Hip [Z-score]
        cc(LOINC, "24701-5"),  # DXA Femur [Mass/Area]
        cc(CPT, "77080"),
        cc(CPT, "77081"),
    ],
)
def test_a_dxa_report_is_a_bmd_result_by_presence(code: dict[str, Any]) -> None:
    record = build_record(PID, [report(code, effectiveDateTime="2025-05-05")])
    (m,) = record.measurements
    assert (m.lab, m.value, m.at, m.source) == (
        Lab.BMD,
        None,
        datetime(2025, 5, 5, tzinfo=UTC),
        "DiagnosticReport/dr1",
    )


def test_a_dxa_report_is_dated_by_issued_when_it_has_no_effective_date() -> None:
    (m,) = build_record(PID, [report(cc(CPT, "77080"), issued="2025-05-06T08:00:00Z")]).measurements
    assert m.at == datetime(2025, 5, 6, 8, tzinfo=UTC)


def test_reports_that_are_not_dxa_results() -> None:
    resources = [
        report(cc(LOINC, "24323-8"), "cmp", effectiveDateTime="2025-05-05"),  # metabolic panel
        report(cc(CPT, "77080"), "err", status="entered-in-error", effectiveDateTime="2025-05-05"),
        report(cc(CPT, "77080"), "reg", status="registered", effectiveDateTime="2025-05-05"),
        report(cc(CPT, "77080"), "can", status="cancelled", effectiveDateTime="2025-05-05"),
    ]
    assert build_record(PID, resources).measurements == ()


def test_a_dxa_report_without_a_date_is_noted_and_a_malformed_date_is_an_error() -> None:
    record = build_record(PID, [report(cc(CPT, "77080"))])
    assert record.measurements == () and any("DXA report" in n for n in record.notes)
    with pytest.raises(MappingError) as err:
        build_record(PID, [report(cc(CPT, "77080"), effectiveDateTime="yesterday")])
    assert err.value.field == "DiagnosticReport.effectiveDateTime"


# --- Observations ------------------------------------------------------------------------------------


def series(*resources: dict[str, Any]) -> list[tuple[Lab, float | None, str | None]]:
    return [(m.lab, m.value, m.unit) for m in build_record(PID, list(resources)).measurements]


@pytest.mark.parametrize(
    ("code", "value", "unit", "expected"),
    [
        ("1995-0", 1.12, "mmol/L", (Lab.IONISED_CALCIUM, 1.12, "mmol/L")),
        ("12180-6", 1.05, "mmol/L", (Lab.IONISED_CALCIUM, 1.05, "mmol/L")),
        ("17863-2", 4.5, "mg/dL", (Lab.IONISED_CALCIUM, 1.122754, "mmol/L")),  # ÷ 4.008
        ("2345-7", 90, "mg/dL", (Lab.GLUCOSE, 4.99556, "mmol/L")),  # ÷ 18.016
        ("2339-0", 54.048, "mg/dL", (Lab.GLUCOSE, 3.0, "mmol/L")),
        ("14749-6", 5.2, "mmol/L", (Lab.GLUCOSE, 5.2, "mmol/L")),
        ("41653-7", 72.064, "mg/dL", (Lab.GLUCOSE, 4.0, "mmol/L")),  # capillary, glucometer
        ("19123-9", 2.431, "mg/dL", (Lab.MAGNESIUM, 1.0, "mmol/L")),  # ÷ 2.431
        ("19123-9", 1.6, "meq/L", (Lab.MAGNESIUM, 0.8, "mmol/L")),  # ÷ 2
        ("2601-3", 0.7, "mmol/L", (Lab.MAGNESIUM, 0.7, "mmol/L")),
        ("6768-6", 85, "U/L", (Lab.ALKALINE_PHOSPHATASE, 85.0, "U/L")),
        ("6768-6", 1.5, "ukat/L", (Lab.ALKALINE_PHOSPHATASE, 90.0, "U/L")),
    ],
)
def test_new_labs_in_their_canonical_units(
    code: str, value: float, unit: str, expected: tuple[Lab, float, str]
) -> None:
    assert series(observation(code, value, unit)) == [expected]


@pytest.mark.parametrize(
    ("code", "value", "unit"),
    [
        ("2345-7", 90, "mg"),  # not a concentration
        ("19123-9", 2.0, "g"),
        ("6768-6", 85, "mg/dL"),  # not an enzyme activity
        ("1995-0", 1.1, None),  # no unit
    ],
)
def test_new_labs_with_an_unconvertible_unit_are_ignored_with_a_note(
    code: str, value: float, unit: str | None
) -> None:
    record = build_record(PID, [observation(code, value, unit)])
    assert record.measurements == () and len(record.notes) == 1


def test_ionised_calcium_is_never_total_calcium_and_urine_glucose_is_not_glucose() -> None:
    resources = [
        observation("1995-0", 1.1, "mmol/L", "ion"),
        observation("17861-6", 9.6, "mg/dL", "total"),
        observation("2350-7", 100, "mg/dL", "urine"),  # Glucose [Mass/volume] in Urine
        observation("2345-7", 90, "mg/dL", "err", status="entered-in-error"),
    ]
    assert {(m.source, m.lab) for m in build_record(PID, resources).measurements} == {
        ("Observation/ion", Lab.IONISED_CALCIUM),
        ("Observation/total", Lab.CALCIUM),
    }


def hcg(code: str = "2106-3", **value: Any) -> dict[str, Any]:
    return observation(code, None, None, **value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"valueCodeableConcept": cc(SNOMED, "10828004", "Positive")}, 1.0),
        ({"valueCodeableConcept": cc(SNOMED, "260385009", "Negative")}, 0.0),
        ({"valueCodeableConcept": cc(text="Detected")}, 1.0),
        ({"valueCodeableConcept": cc(text="Not detected")}, 0.0),
        ({"valueString": "POSITIVE"}, 1.0),
        ({"valueString": "neg"}, 0.0),
        ({"valueString": "阳性"}, 1.0),
        ({"valueString": "阴性（-）"}, 0.0),
        (
            {
                "interpretation": [
                    cc("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "POS")
                ]
            },
            1.0,
        ),
        (
            {
                "interpretation": [
                    cc("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "NEG")
                ]
            },
            0.0,
        ),
        (
            {
                "interpretation": [
                    cc("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "ND")
                ]
            },
            0.0,
        ),
    ],
)
def test_a_pregnancy_test_is_read_as_present_or_absent(value: dict[str, Any], expected: float) -> None:
    assert series(hcg(**value)) == [(Lab.HCG, expected, None)]
    assert series(hcg("2118-8", **value)) == [(Lab.HCG, expected, None)]


@pytest.mark.parametrize(
    "value",
    [
        {"valueString": "equivocal"},
        {"valueCodeableConcept": cc(SNOMED, "10828004")},  # a code alone, no words: not read
        {"valueString": "positive", "interpretation": [cc(text="negative")]},  # contradicts itself
        {"valueQuantity": {"value": 25, "unit": "m[IU]/mL"}},  # quantitative hCG is not read
        {},
    ],
)
def test_a_pregnancy_test_that_says_neither_is_ignored_with_a_note(value: dict[str, Any]) -> None:
    record = build_record(PID, [hcg(**value)])
    assert record.measurements == () and len(record.notes) == 1


# --- Medications -------------------------------------------------------------------------------------


def classes(medication: dict[str, Any]) -> set[DrugClass] | None:
    meds = build_record(PID, [med_request(medication)]).medications
    return set(meds[0].classes) if meds else None


SU = {D.SULFONYLUREA}
GL = {D.GLINIDE}


@pytest.mark.parametrize(
    ("medication", "expected"),
    [
        (coded(RXNORM, "4821"), SU),  # glipizide IN
        (coded(RXNORM, "25789"), SU),  # glimepiride IN
        (coded(RXNORM, "4815"), SU),  # glyburide IN
        (coded(RXNORM, "310490"), SU),  # glipizide 5 MG Oral Tablet (SCD)
        (coded(RXNORM, "205828"), SU),  # [Glucotrol] (SBD)
        (coded(RXNORM, "861753"), {D.SULFONYLUREA, D.METFORMIN}),  # glyburide / metformin
        (coded(RXNORM, "73044"), GL),  # repaglinide IN
        (coded(RXNORM, "274332"), GL),  # nateglinide IN
        (coded(RXNORM, "200256"), GL),  # repaglinide 1 MG Oral Tablet
        (coded(RXNORM, "284530"), GL),  # [Starlix]
        (coded(ATC, "A10BB09"), SU),  # gliclazide
        (coded(ATC, "A10BB08"), SU),  # gliquidone
        (coded(ATC, "A10BX02"), GL),  # repaglinide
        (coded(ATC, "A10BX08"), GL),  # mitiglinide
        (coded(ATC, "A10BD02"), {D.METFORMIN, D.SULFONYLUREA}),
        (coded(ATC, "A10BD06"), {D.TZD, D.SULFONYLUREA}),
        (coded(ATC, "A10BD14"), {D.METFORMIN, D.GLINIDE}),
        (coded(ATC, "A10BX16"), {D.GLP1_RA}),  # tirzepatide: not a glinide
        (coded(ATC, "A11CC06"), {D.NATIVE_VITAMIN_D}),  # calcifediol
        (coded(text="Gliclazide MR 30 mg"), SU),
        (coded(text="Amaryl 2 mg"), SU),
        (coded(text="格列本脲片"), SU),
        (coded(text="格列齐特缓释片"), SU),
        (coded(text="格列美脲"), SU),
        (coded(text="格列吡嗪控释片"), SU),
        (coded(text="格列喹酮"), SU),
        (coded(text="甲苯磺丁脲"), SU),
        (coded(text="氯磺丙脲"), SU),
        (coded(text="瑞格列奈片"), GL),
        (coded(text="那格列奈"), GL),
        (coded(text="米格列奈钙片"), GL),
        (coded(text="Starlix 120 mg"), GL),
        (coded(text="calcifediol 30 mcg"), {D.NATIVE_VITAMIN_D}),
        (coded(text="骨化二醇软胶囊"), {D.NATIVE_VITAMIN_D}),
        (coded(text="Glucophage 500 mg"), {D.METFORMIN}),
    ],
)
def test_secretagogues_and_calcifediol(medication: dict[str, Any], expected: set[DrugClass]) -> None:
    assert classes(medication) == expected


@pytest.mark.parametrize(
    ("medication", "expected"),
    [
        (coded(text="Fosamax Plus D 70 mg/2800 IU"), {D.BISPHOSPHONATE}),
        (coded(text="福美加"), {D.BISPHOSPHONATE}),
        (coded(text="alendronate 70 mg / cholecalciferol 5600 IU"), {D.BISPHOSPHONATE}),
        (coded(text="阿仑膦酸钠维D3片"), {D.BISPHOSPHONATE}),
        (coded(RXNORM, "904462"), {D.BISPHOSPHONATE}),  # alendronic acid 70 MG / cholecalciferol 5600 UNT
        (coded(ATC, "M05BB05"), {D.BISPHOSPHONATE, D.CALCIUM_SUPPLEMENT}),
        (coded(text="risedronate with cholecalciferol"), {D.BISPHOSPHONATE, D.NATIVE_VITAMIN_D}),
        (
            coded(text="calcium carbonate 600 mg + vitamin D3 400 IU"),
            {D.CALCIUM_SUPPLEMENT, D.NATIVE_VITAMIN_D},
        ),
    ],
)
def test_alendronate_with_cholecalciferol_is_not_vitamin_d_repletion(
    medication: dict[str, Any], expected: set[DrugClass]
) -> None:
    assert classes(medication) == expected


def statement(status: str, rid: str = "s1", **fields: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationStatement",
        "id": rid,
        "status": status,
        "subject": SUBJECT,
        **coded(RXNORM, "993452"),  # denosumab 60 mg
        **fields,
    }


def test_a_statement_carries_its_period_and_date_asserted() -> None:
    resource = statement(
        "completed",
        effectivePeriod={"start": "2024-01-10", "end": "2025-07-10T00:00:00Z"},
        dateAsserted="2025-08-01T09:30:00+08:00",
    )
    (m,) = build_record(PID, [resource]).medications
    assert m.period_start == datetime(2024, 1, 10, tzinfo=UTC)
    assert m.period_end == datetime(2025, 7, 10, tzinfo=UTC)
    assert m.asserted == datetime(2025, 8, 1, 1, 30, tzinfo=UTC)


def test_an_open_period_and_no_date_asserted() -> None:
    (m,) = build_record(PID, [statement("active", effectivePeriod={"start": "2024-01-10"})]).medications
    assert (m.period_start, m.period_end, m.asserted) == (datetime(2024, 1, 10, tzinfo=UTC), None, None)
    (m,) = build_record(PID, [statement("active", effectiveDateTime="2024-01-10")]).medications
    assert (m.period_start, m.period_end, m.asserted) == (None, None, None)


def test_a_malformed_period_end_names_its_path() -> None:
    bad = statement("completed", effectivePeriod={"start": "2024-01-10", "end": "soon"})
    with pytest.raises(MappingError) as err:
        build_record(PID, [bad])
    assert (err.value.resource, err.value.field) == (
        "MedicationStatement/s1",
        "MedicationStatement.effectivePeriod.end",
    )


def test_a_request_or_statement_has_no_period_fields_but_a_statement() -> None:
    (m,) = build_record(PID, [med_request(coded(RXNORM, "993452"))]).medications
    assert (m.period_start, m.period_end, m.asserted) == (None, None, None)


@pytest.mark.parametrize(
    ("resource", "active", "exposure"),
    [
        (statement("active", effectiveDateTime="2025-01-01"), True, True),
        (statement("completed", effectiveDateTime="2025-01-01"), False, True),
        (statement("stopped", dateAsserted="2025-06-01"), False, False),
        (statement("not-taken", dateAsserted="2025-06-01"), False, False),
        (statement("intended", effectiveDateTime="2025-06-01"), False, False),
        (med_request(coded(RXNORM, "993452"), status="cancelled"), False, False),
        (med_request(coded(RXNORM, "993452"), status="stopped"), False, True),
        (med_request(coded(RXNORM, "993452"), status="completed"), False, True),
        (med_request(coded(RXNORM, "993452"), status="on-hold"), True, True),
    ],
)
def test_every_word_on_a_course_reaches_the_record(
    resource: dict[str, Any], active: bool, exposure: bool
) -> None:
    (m,) = build_record(PID, [resource]).medications
    assert m.status == resource["status"] and m.active is active and m.is_exposure is exposure


@pytest.mark.parametrize(
    "resource",
    [
        statement("entered-in-error", effectiveDateTime="2025-01-01"),
        statement("unknown", effectiveDateTime="2025-01-01"),
        med_request(coded(RXNORM, "993452"), status="entered-in-error"),
        med_request(coded(RXNORM, "993452"), status="draft"),
    ],
)
def test_entered_in_error_and_unknown_statuses_do_not(resource: dict[str, Any]) -> None:
    assert build_record(PID, [resource]).medications == ()


# --- ServiceRequests ---------------------------------------------------------------------------------


def order(code: dict[str, Any], rid: str = "sr1", status: str = "active", **fields: Any) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "id": rid,
        "status": status,
        "intent": "order",
        "code": code,
        "subject": SUBJECT,
        "authoredOn": "2026-11-20T10:00:00Z",
        **fields,
    }


@pytest.mark.parametrize(
    ("code", "lab"),
    [
        (cc(LOINC, "2000-8"), Lab.CALCIUM),
        (cc(LOINC, "17861-6"), Lab.CALCIUM),
        (cc(LOINC, "1995-0"), Lab.IONISED_CALCIUM),
        (cc(LOINC, "2160-0"), Lab.CREATININE),
        (cc(LOINC, "62238-1"), Lab.EGFR),
        (cc(LOINC, "2777-1"), Lab.PHOSPHATE),
        (cc(LOINC, "2731-8"), Lab.PTH),
        (cc(LOINC, "62292-8"), Lab.VITAMIN_D),
        (cc(LOINC, "41171-0"), Lab.CTX),
        (cc(LOINC, "77370-5"), Lab.P1NP),
        (cc(LOINC, "1777-2"), Lab.BONE_ALP),
        (cc(LOINC, "19123-9"), Lab.MAGNESIUM),
        (cc(LOINC, "6768-6"), Lab.ALKALINE_PHOSPHATASE),
        (cc(CPT, "77080"), Lab.BMD),
        (cc(CPT, "77081"), Lab.BMD),
        (cc(LOINC, "38268-9"), Lab.BMD),  # DXA study
        (cc(LOINC, "38267-1"), Lab.BMD),  # a DXA T-score ordered: a DXA
        (cc(SNOMED, "414191008"), Lab.FALL_RISK_ASSESSMENT),
        (cc(LOINC, "73830-2"), Lab.FALL_RISK_ASSESSMENT),
        (cc(text="血钙"), Lab.CALCIUM),  # a local code with the Chinese name of serum calcium
    ],
)
def test_an_order_for_a_tracked_test_is_a_test_order(code: dict[str, Any], lab: Lab) -> None:
    (o,) = build_record(PID, [order(code)]).test_orders
    assert (o.lab, o.status, o.authored, o.source) == (
        lab,
        "active",
        datetime(2026, 11, 20, 10, tzinfo=UTC),
        "ServiceRequest/sr1",
    )


@pytest.mark.parametrize(
    "code", [cc(LOINC, "4548-4"), cc(LOINC, "2345-7"), cc(LOINC, "24323-8"), cc(text="MRI knee")]
)
def test_an_order_for_another_test_is_not(code: dict[str, Any]) -> None:
    assert build_record(PID, [order(code)]).test_orders == ()  # HbA1c, glucose, a panel, imaging


@pytest.mark.parametrize("status", ["draft", "active", "on-hold", "revoked", "completed", "unknown"])
def test_an_order_keeps_its_status_as_sent(status: str) -> None:
    (o,) = build_record(PID, [order(cc(LOINC, "2000-8"), status=status)]).test_orders
    assert o.status == status


def test_an_order_entered_in_error_is_dropped_and_one_without_a_date_kept() -> None:
    resources = [
        order(cc(LOINC, "2000-8"), "err", status="entered-in-error"),
        {**order(cc(LOINC, "62292-8"), "undated"), "authoredOn": None},
        order(cc(LOINC, "2731-8"), "later", authoredOn="2026-11-21"),
    ]
    orders = build_record(PID, resources).test_orders
    assert [(o.source, o.authored) for o in orders] == [
        ("ServiceRequest/undated", None),
        ("ServiceRequest/later", datetime(2026, 11, 21, tzinfo=UTC)),
    ]


def test_a_malformed_order_of_a_tracked_test_is_an_error_another_is_ignored() -> None:
    with pytest.raises(MappingError) as err:
        build_record(PID, [order(cc(LOINC, "2000-8"), authoredOn="last week")])
    assert err.value.field == "ServiceRequest.authoredOn"
    assert build_record(PID, [order(cc(LOINC, "4548-4"), authoredOn="last week")]).test_orders == ()


def test_an_order_for_another_patient_is_not_this_ones() -> None:
    other = order(cc(LOINC, "2000-8"), subject={"reference": "Patient/someone-else"})
    assert build_record(PID, [other]).test_orders == ()


# --- AllergyIntolerance ------------------------------------------------------------------------------


def allergy(
    code: dict[str, Any], rid: str = "a1", clinical: str | None = "active", verification: str | None = None
) -> dict[str, Any]:
    res: dict[str, Any] = {"resourceType": "AllergyIntolerance", "id": rid, "code": code, "patient": SUBJECT}
    if clinical:
        res["clinicalStatus"] = cc(
            "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", clinical
        )
    if verification:
        res["verificationStatus"] = cc(
            "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", verification
        )
    return res


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (cc(RXNORM, "46041", "Alendronate"), {D.BISPHOSPHONATE}),
        (cc(RXNORM, "904433"), {D.BISPHOSPHONATE}),  # [Fosamax]
        (cc(RXNORM, "77655"), {D.BISPHOSPHONATE, D.BISPHOSPHONATE_IV, D.ZOLEDRONIC_ACID}),
        (cc(ATC, "M05BX04"), {D.DENOSUMAB}),
        (cc(text="唑来膦酸"), {D.BISPHOSPHONATE, D.BISPHOSPHONATE_IV, D.ZOLEDRONIC_ACID}),
        (cc(text="Bisphosphonate"), {D.BISPHOSPHONATE}),
        (cc(text="Xgeva"), {D.DENOSUMAB_ONCOLOGY, D.DENOSUMAB}),  # an allergy to the ingredient
        (
            cc(RXNORM, "1865665"),  # zoledronic acid 4 MG Injection (Zometa)
            {D.ZOLEDRONIC_ACID_ONCOLOGY, D.ZOLEDRONIC_ACID, D.BISPHOSPHONATE_IV, D.BISPHOSPHONATE},
        ),
        (cc(RXNORM, "4821"), {D.SULFONYLUREA}),
        (cc(text="二甲双胍"), {D.METFORMIN}),
    ],
)
def test_an_active_allergy_to_one_of_our_drugs(code: dict[str, Any], expected: set[DrugClass]) -> None:
    record = build_record(PID, [allergy(code)])
    (a,) = record.allergies
    assert set(a.classes) == expected and a.source == "AllergyIntolerance/a1"
    assert record.allergies_known


def test_an_allergy_without_clinical_status_counts_and_keeps_its_display() -> None:
    (a,) = build_record(PID, [allergy(cc(RXNORM, "46041", "Alendronate"), clinical=None)]).allergies
    assert a.display == "Alendronate"


@pytest.mark.parametrize(
    ("clinical", "verification"),
    [("inactive", None), ("resolved", None), ("active", "refuted"), ("active", "entered-in-error")],
)
def test_an_inactive_refuted_or_erroneous_allergy_does_not(clinical: str, verification: str | None) -> None:
    record = build_record(PID, [allergy(cc(RXNORM, "46041"), clinical=clinical, verification=verification)])
    assert record.allergies == () and record.allergies_known


def test_an_allergy_to_another_substance_is_not_kept_but_says_allergies_are_known() -> None:
    record = build_record(PID, [allergy(cc(RXNORM, "7980", "Penicillin G"))])
    assert record.allergies == () and record.allergies_known


def test_allergies_are_unknown_unless_sent_or_said() -> None:
    assert not build_record(PID, []).allergies_known
    assert build_record(PID, [], allergies_known=True).allergies_known
    elsewhere = allergy(cc(RXNORM, "46041"))
    elsewhere["patient"] = {"reference": "Patient/someone-else"}
    assert not build_record(PID, [elsewhere]).allergies_known


def test_a_malformed_allergy_of_our_drugs_is_an_error() -> None:
    bad = allergy(cc(RXNORM, "46041"))
    bad["clinicalStatus"] = "active"
    with pytest.raises(MappingError) as err:
        build_record(PID, [bad])
    assert err.value.field.startswith("AllergyIntolerance.clinicalStatus")
