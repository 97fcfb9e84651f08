"""Medications -> MedicationExposure: classes by RxNorm (IN/SCD/SBD/pack), ATC, names, references; oncology
regimens in their own classes (r3)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from mappings import MappingError, build_record
from service.kernel.record import DrugClass, ExposureKind
from tests.mappings.fhirdata import ATC, PID, RXNORM, cc, coded, med_request

D = DrugClass
BP = {D.BISPHOSPHONATE}
ZOL = {D.BISPHOSPHONATE, D.BISPHOSPHONATE_IV, D.ZOLEDRONIC_ACID}


def classes(medication: dict, **fields: Any) -> set[DrugClass] | None:
    meds = build_record(PID, [med_request(medication, **fields)]).medications
    return set(meds[0].classes) if meds else None


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("33738", {D.TZD}),  # pioglitazone IN
        ("312440", {D.TZD}),  # pioglitazone 30 MG SCD
        ("261267", {D.TZD}),  # [Actos] SBD
        ("861783", {D.TZD, D.METFORMIN}),  # metformin/pioglitazone SCD
        ("861785", {D.TZD, D.METFORMIN}),  # [Actoplus Met]
        ("84108", {D.TZD}),  # rosiglitazone
        ("6809", {D.METFORMIN}),
        ("860975", {D.METFORMIN}),  # 24 HR ER 500 mg (Synthea)
        ("274783", {D.INSULIN}),
        ("285018", {D.INSULIN}),  # [Lantus]
        ("1545653", {D.SGLT2_INHIBITOR}),
        ("1486977", {D.SGLT2_INHIBITOR}),  # [Farxiga]
        ("1991302", {D.GLP1_RA}),
        ("1551295", {D.GLP1_RA}),
        ("46041", BP),  # alendronate IN
        ("904419", BP),  # alendronic acid 10 MG (Synthea)
        ("904433", BP),  # [Fosamax] 70 mg
        ("904492", BP),  # alendronate/cholecalciferol: not vitamin D repletion (r3)
        ("905024", BP),  # risedronate 35 mg
        ("1020065", BP),  # risedronate pack (GPCK)
        ("904932", BP),  # ibandronate 150 mg oral
        ("904955", {D.BISPHOSPHONATE, D.BISPHOSPHONATE_IV}),  # ibandronate injection
        ("77655", ZOL),  # zoledronic acid IN: no strength -> osteoporosis product
        ("705824", ZOL),  # 5 mg/100 mL
        ("705875", ZOL),  # [Reclast]
        ("993449", {D.DENOSUMAB}),
        ("993452", {D.DENOSUMAB}),
        ("993456", {D.DENOSUMAB}),  # [Prolia]
        ("2715520", {D.DENOSUMAB}),  # [Jubbonti] biosimilar
        ("32915", {D.ANABOLIC}),
        ("1435117", {D.ANABOLIC}),  # [Forteo]
        ("2123190", {D.ROMOSOZUMAB}),
        ("2123185", {D.ROMOSOZUMAB}),  # pack
        ("1897", {D.CALCIUM_SUPPLEMENT}),
        ("809536", {D.CALCIUM_SUPPLEMENT, D.NATIVE_VITAMIN_D}),  # calcium carbonate/cholecalciferol
        ("2418", {D.NATIVE_VITAMIN_D}),
        ("1894", {D.ACTIVE_VITAMIN_D}),
        ("209006", {D.ACTIVE_VITAMIN_D}),  # [Rocaltrol]
    ],
)
def test_rxnorm_ingredient_clinical_and_branded(code: str, expected: set[DrugClass]) -> None:
    assert classes(coded(RXNORM, code)) == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("A10BG03", {D.TZD}),
        ("A10BD05", {D.TZD, D.METFORMIN}),
        ("A10BA02", {D.METFORMIN}),
        ("A10AE04", {D.INSULIN}),
        ("A10BK01", {D.SGLT2_INHIBITOR}),
        ("A10BJ06", {D.GLP1_RA}),
        ("A10BH01", {D.DPP4_INHIBITOR}),
        ("M05BA04", BP),
        ("M05BA08", ZOL),
        ("M05BB03", BP),  # alendronic acid and colecalciferol: not vitamin D repletion (r3)
        ("M05BB07", {D.BISPHOSPHONATE, D.NATIVE_VITAMIN_D}),  # risedronic acid and colecalciferol
        ("M05BX04", {D.DENOSUMAB}),
        ("H05AA02", {D.ANABOLIC}),
        ("H05AA04", {D.ANABOLIC}),
        ("M05BX06", {D.ROMOSOZUMAB}),
        ("A12AA04", {D.CALCIUM_SUPPLEMENT}),
        ("A11CC05", {D.NATIVE_VITAMIN_D}),
        ("A11CC01", {D.NATIVE_VITAMIN_D}),
        ("A11CC04", {D.ACTIVE_VITAMIN_D}),
        ("A11CC03", {D.ACTIVE_VITAMIN_D}),
        ("A12AX", {D.CALCIUM_SUPPLEMENT, D.NATIVE_VITAMIN_D}),  # calcium with vitamin D (Caltrate D, 钙尔奇D)
        ("C09AA02", None),  # enalapril: not ours
    ],
)
def test_atc(code: str, expected: set[DrugClass] | None) -> None:
    assert classes(coded(ATC, code)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Actos 30 mg tablet", {D.TZD}),
        ("吡格列酮片 15mg", {D.TZD}),
        ("Avandia", {D.TZD}),
        ("罗格列酮", {D.TZD}),
        ("Prolia 60 mg/mL syringe", {D.DENOSUMAB}),
        ("地舒单抗注射液 60mg", {D.DENOSUMAB}),
        ("普罗力", {D.DENOSUMAB}),
        ("denosumab-bbdz (Jubbonti)", {D.DENOSUMAB}),
        ("Aclasta 5 mg/100 mL", ZOL),
        ("Reclast infusion", ZOL),
        ("唑来膦酸注射液 5mg", ZOL),
        ("密固达", ZOL),
        ("Fosamax 70 mg weekly", BP),
        ("阿仑膦酸钠片 70mg", BP),
        ("福善美", BP),
        ("ibandronate 3 mg/3 mL injection", {D.BISPHOSPHONATE, D.BISPHOSPHONATE_IV}),
        ("伊班膦酸钠注射液", {D.BISPHOSPHONATE, D.BISPHOSPHONATE_IV}),
        ("Boniva 3 mg/3 mL injection", {D.BISPHOSPHONATE, D.BISPHOSPHONATE_IV}),  # brand of an RxNorm product
        ("Bonviva 3 mg solution for injection", {D.BISPHOSPHONATE, D.BISPHOSPHONATE_IV}),  # curated brand
        ("Boniva 150 mg tablet", BP),
        ("Forteo pen", {D.ANABOLIC}),
        ("特立帕肽", {D.ANABOLIC}),
        ("阿巴洛肽", {D.ANABOLIC}),
        ("Evenity", {D.ROMOSOZUMAB}),
        ("罗莫佐单抗", {D.ROMOSOZUMAB}),
        ("骨化三醇软胶囊", {D.ACTIVE_VITAMIN_D}),
        ("阿法骨化醇", {D.ACTIVE_VITAMIN_D}),
        ("碳酸钙D3片", {D.CALCIUM_SUPPLEMENT, D.NATIVE_VITAMIN_D}),
        ("维生素D3滴剂", {D.NATIVE_VITAMIN_D}),
        ("胆钙化醇", {D.NATIVE_VITAMIN_D}),
        ("Insulin glargine 100 units/mL", {D.INSULIN}),
        ("门冬胰岛素注射液", {D.INSULIN}),
        ("二甲双胍缓释片", {D.METFORMIN}),
        ("达格列净", {D.SGLT2_INHIBITOR}),
        ("恩格列净", {D.SGLT2_INHIBITOR}),
        ("利拉鲁肽", {D.GLP1_RA}),
        ("司美格鲁肽", {D.GLP1_RA}),
        ("西格列汀", {D.DPP4_INHIBITOR}),
        ("Janumet 50/1000", {D.METFORMIN, D.DPP4_INHIBITOR}),
        ("Amlodipine 5 mg", None),
        ("Lactose-free formula", None),
    ],
)
def test_names_in_english_and_chinese(text: str, expected: set[DrugClass] | None) -> None:
    assert classes(coded(text=text)) == expected
    assert classes(coded("http://formulary.example.cn/drug", "LOCAL-1", display=text)) == expected


DO = {D.DENOSUMAB_ONCOLOGY}
ZO = {D.ZOLEDRONIC_ACID_ONCOLOGY}


@pytest.mark.parametrize(
    ("medication", "expected"),
    [
        (coded(RXNORM, "1046398"), DO),  # 1.7 ML denosumab 70 MG/ML
        (coded(RXNORM, "1046399"), DO),  # Xgeva BN
        (coded(RXNORM, "1046402"), DO),  # [Xgeva]
        (coded(RXNORM, "2715393"), DO),  # [Wyost] biosimilar 120 mg
        (coded(RXNORM, "351114"), ZO),  # zoledronic acid 0.8 MG/ML (Zometa concentrate)
        (coded(RXNORM, "1114085"), ZO),  # 0.04 MG/ML
        (coded(RXNORM, "1865665"), ZO),  # 4 MG Injection
        (coded(text="Xgeva 120 mg SC"), DO),
        (coded(text="安加维"), DO),
        (coded(text="Zometa"), ZO),
        (coded(text="择泰"), ZO),
        (coded(RXNORM, "993449", "denosumab", text="denosumab 120 MG"), DO),  # strength in the text wins
        (coded(ATC, "M05BX04", "denosumab", text="denosumab 120 mg every 4 weeks"), DO),
        (coded(text="地舒单抗 120毫克"), DO),
        (coded(text="zoledronic acid 4 mg/100 mL"), ZO),
        (coded(text="唑来膦酸注射液 4mg"), ZO),
        (coded(RXNORM, "77655", "zoledronic acid", text="zoledronic acid 0.8 mg/mL concentrate"), ZO),
    ],
)
def test_oncology_regimens_are_their_own_class_never_an_osteoporosis_drug(
    medication: dict, expected: set[DrugClass]
) -> None:
    """r3: kept (they guard other offers) in the oncology class alone: never denosumab, zoledronic acid,
    a bisphosphonate or any anti-osteoporosis class (this test asserted they were dropped before r3)."""
    assert classes(medication) == expected


def test_oncology_is_never_read_from_dosage_instructions() -> None:
    med = coded(RXNORM, "993452")  # Prolia strength
    dosage = {
        "dosageInstruction": [
            {"text": "120 mg every 4 weeks", "doseAndRate": [{"doseQuantity": {"value": 120, "unit": "mg"}}]}
        ]
    }
    assert classes(med, **dosage) == {D.DENOSUMAB}


def test_contained_medication() -> None:
    med = {
        "medicationReference": {"reference": "#med1"},
        "contained": [
            {
                "resourceType": "Medication",
                "id": "med1",
                "code": {"coding": [{"system": RXNORM, "code": "993456"}]},
            }
        ],
    }
    assert classes(med) == {D.DENOSUMAB}


def test_medication_reference_to_an_input_medication() -> None:
    medication = {"resourceType": "Medication", "id": "zol", "code": cc(ATC, "M05BA08", "zoledronic acid")}
    request = med_request({"medicationReference": {"reference": "Medication/zol"}})
    (exposure,) = build_record(PID, [request, medication]).medications
    assert exposure.classes == frozenset(ZOL)
    assert exposure.coding is not None and exposure.coding.code == "M05BA08"


def test_medication_reference_by_urn_fullurl_in_a_bundle() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "urn:uuid:aaaa",
                "resource": {"resourceType": "Medication", "code": cc(RXNORM, "2418")},
            },
            {
                "fullUrl": "urn:uuid:bbbb",
                "resource": med_request({"medicationReference": {"reference": "urn:uuid:aaaa"}}),
            },
        ],
    }
    (exposure,) = build_record(PID, [bundle]).medications
    assert exposure.classes == {D.NATIVE_VITAMIN_D}


def test_draft_references_a_medication_sent_with_the_drafts() -> None:
    medication = {"resourceType": "Medication", "id": "stoboclo", "code": cc(RXNORM, "2717862")}
    draft = {
        "resourceType": "MedicationRequest",
        "id": "d1",
        "status": "draft",
        "intent": "order",
        "medicationReference": {"reference": "Medication/stoboclo"},
    }
    record = build_record(PID, [], [draft, medication])
    (exposure,) = record.drafts
    assert exposure.classes == {D.DENOSUMAB} and exposure.source == "MedicationRequest/d1"
    assert record.medications == ()


def test_missing_medication_reference_is_a_note() -> None:
    record = build_record(
        PID, [med_request({"medicationReference": {"reference": "Medication/nowhere"}}, rid="r7")]
    )
    assert record.medications == ()
    assert any("MedicationRequest/r7" in n for n in record.notes)


def test_name_is_text_else_display_and_coding_is_the_first_recognised() -> None:
    med: dict[str, Any] = {
        "medicationCodeableConcept": {
            "coding": [
                {"system": "urn:local", "code": "9"},
                {"system": RXNORM, "code": "904433", "display": "Fosamax 70"},
            ]
        }
    }
    (exposure,) = build_record(PID, [med_request(med)]).medications
    assert exposure.name == "Fosamax 70"
    assert exposure.coding is not None and (exposure.coding.system, exposure.coding.code) == (
        RXNORM,
        "904433",
    )
    med["medicationCodeableConcept"]["text"] = "Alendronate weekly"
    (exposure,) = build_record(PID, [med_request(med)]).medications
    assert exposure.name == "Alendronate weekly"


@pytest.mark.parametrize(
    ("status", "counted", "active"),
    [
        ("active", True, True),
        ("on-hold", True, True),
        ("completed", True, False),
        ("stopped", True, False),
        ("cancelled", True, False),  # r3: reaches the record, the rules decide (denosumab "Stopped")
        ("entered-in-error", False, False),
        ("draft", False, False),
        ("unknown", False, False),
    ],
)
def test_request_status(status: str, counted: bool, active: bool) -> None:
    meds = build_record(PID, [med_request(coded(RXNORM, "993452"), status=status)]).medications
    assert len(meds) == int(counted)
    if counted:
        assert meds[0].active is active and meds[0].status == status
        assert meds[0].at == datetime(2024, 1, 15, tzinfo=UTC)


def _resource(rtype: str, status: str, **fields: object) -> dict:
    return {
        "resourceType": rtype,
        "id": "x",
        "status": status,
        "subject": {"reference": f"Patient/{PID}"},
        **coded(RXNORM, "993452"),
        **fields,
    }


@pytest.mark.parametrize(
    ("resource", "kind", "at", "active"),
    [
        (
            _resource("MedicationAdministration", "completed", effectiveDateTime="2024-02-02"),
            ExposureKind.ADMINISTRATION,
            datetime(2024, 2, 2, tzinfo=UTC),
            False,
        ),
        (
            _resource("MedicationAdministration", "in-progress", effectivePeriod={"start": "2024-02-03"}),
            ExposureKind.ADMINISTRATION,
            datetime(2024, 2, 3, tzinfo=UTC),
            False,
        ),
        (
            _resource("MedicationStatement", "active", effectiveDateTime="2023-01-01"),
            ExposureKind.STATEMENT,
            datetime(2023, 1, 1, tzinfo=UTC),
            True,
        ),
        (
            _resource("MedicationStatement", "completed", dateAsserted="2023-02-01"),
            ExposureKind.STATEMENT,
            datetime(2023, 2, 1, tzinfo=UTC),
            False,
        ),
        (
            _resource("MedicationDispense", "completed", whenHandedOver="2024-03-03T09:00:00Z"),
            ExposureKind.DISPENSE,
            datetime(2024, 3, 3, 9, tzinfo=UTC),
            False,
        ),
    ],
)
def test_other_exposure_kinds(resource: dict, kind: ExposureKind, at: datetime, active: bool) -> None:
    (exposure,) = build_record(PID, [resource]).medications
    assert (exposure.kind, exposure.at, exposure.active, exposure.draft) == (kind, at, active, False)


@pytest.mark.parametrize(
    "resource",
    [
        _resource("MedicationAdministration", "not-done", effectiveDateTime="2024-02-02"),
        _resource("MedicationAdministration", "entered-in-error", effectiveDateTime="2024-02-02"),
        _resource("MedicationStatement", "entered-in-error", effectiveDateTime="2024-02-02"),
        _resource("MedicationStatement", "unknown", effectiveDateTime="2024-02-02"),
        _resource("MedicationDispense", "cancelled", whenHandedOver="2024-02-02"),
        _resource("MedicationDispense", "in-progress"),
    ],
)
def test_statuses_that_are_not_exposures(resource: dict) -> None:
    assert build_record(PID, [resource]).medications == ()


def test_medications_sorted_by_time_with_undated_first() -> None:
    resources = [
        med_request(coded(RXNORM, "2418"), "late", authored="2024-05-01"),
        med_request(coded(RXNORM, "2418"), "none", authored=None),
        med_request(coded(RXNORM, "2418"), "early", authored="2020-05-01"),
    ]
    assert [m.source for m in build_record(PID, resources).medications] == [
        "MedicationRequest/none",
        "MedicationRequest/early",
        "MedicationRequest/late",
    ]


def test_drafts_become_active_draft_exposures() -> None:
    draft = {
        "resourceType": "MedicationRequest",
        "id": "d1",
        "status": "draft",
        "intent": "proposal",
        **coded(RXNORM, "312440"),
        "subject": {"reference": f"Patient/{PID}"},
        "authoredOn": "2024-06-01",
    }
    record = build_record(PID, [], [draft])
    (exposure,) = record.drafts
    assert exposure.draft and exposure.active and exposure.classes == {D.TZD}
    assert exposure.at == datetime(2024, 6, 1, tzinfo=UTC)
    assert record.medications == ()
    assert record.drafts_of(D.TZD) == (exposure,)


def test_incomplete_draft_is_skipped_or_read_without_error() -> None:
    typing = {"resourceType": "MedicationRequest", "id": "d2", "status": "draft"}
    no_intent = {"resourceType": "MedicationRequest", "id": "d3", **coded(text="Actos")}
    record = build_record(PID, [], [typing, no_intent])
    assert [d.source for d in record.drafts] == ["MedicationRequest/d3"]
    assert record.drafts[0].at is None


def test_draft_oncology_regimen_is_its_own_class() -> None:
    """r3: a draft Xgeva order reaches the rules (pregnancy, renal and calcium guards apply to it); before r3
    it was dropped."""
    draft = {
        "resourceType": "MedicationRequest",
        "id": "d4",
        "status": "draft",
        "intent": "order",
        **coded(RXNORM, "1046402"),
    }
    (exposure,) = build_record(PID, [], [draft]).drafts
    assert exposure.classes == {D.DENOSUMAB_ONCOLOGY} and exposure.draft


def test_malformed_relevant_medication_raises() -> None:
    bad = med_request(coded(RXNORM, "993452"), "bad", authored="not-a-date")
    with pytest.raises(MappingError) as err:
        build_record(PID, [bad])
    assert (err.value.resource, err.value.field) == ("MedicationRequest/bad", "MedicationRequest.authoredOn")


def test_malformed_irrelevant_medication_is_ignored() -> None:
    bad = med_request(
        coded(RXNORM, "197361", "amlodipine 5 MG Oral Tablet"), "bad", authored="not-a-date", intent=42
    )
    assert build_record(PID, [bad]).medications == ()


def test_draft_statement_needs_no_request_elements() -> None:
    draft = {"resourceType": "MedicationStatement", "id": "s1", "status": "intended", **coded(RXNORM, "2418")}
    (exposure,) = build_record(PID, [], [draft]).drafts
    assert exposure.kind is ExposureKind.STATEMENT and exposure.draft and exposure.active


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Caltrate 600", {DrugClass.CALCIUM_SUPPLEMENT}),  # calcium only: no vitamin D repletion
        ("Caltrate 600 mg tablet", {DrugClass.CALCIUM_SUPPLEMENT}),
        ("钙尔奇 600mg", {DrugClass.CALCIUM_SUPPLEMENT}),
        ("Caltrate 600+D", {DrugClass.CALCIUM_SUPPLEMENT, DrugClass.NATIVE_VITAMIN_D}),
        ("Caltrate 600+D3", {DrugClass.CALCIUM_SUPPLEMENT, DrugClass.NATIVE_VITAMIN_D}),
        ("钙尔奇D 600", {DrugClass.CALCIUM_SUPPLEMENT, DrugClass.NATIVE_VITAMIN_D}),
    ],
)
def test_a_calcium_brand_carries_vitamin_d_only_when_its_name_says_so(
    text: str, expected: set[DrugClass]
) -> None:
    assert classes({"medicationCodeableConcept": cc(text=text)}) == expected
