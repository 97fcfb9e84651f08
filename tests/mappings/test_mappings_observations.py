"""Observations -> Measurement: codes, canonical units both ways, statuses, dates, components, notes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mappings import MappingError, build_record
from service.kernel.record import BmdSite, Lab
from tests.mappings.fhirdata import LOINC, PID, SNOMED, cc, observation


def measure(*resources: dict) -> list:
    return list(build_record(PID, list(resources)).measurements)


def one(resource: dict):
    (m,) = measure(resource)
    return m


@pytest.mark.parametrize(
    ("code", "value", "unit", "lab", "expected"),
    [
        ("17861-6", 10.0, "mg/dL", Lab.CALCIUM, 2.495),
        ("2000-8", 2.495, "mmol/L", Lab.CALCIUM, 2.495),
        ("49765-1", 9.0, "mg/dL", Lab.CALCIUM, 2.2455),
        ("62292-8", 20.0, "ng/mL", Lab.VITAMIN_D, 20.0),
        ("1989-3", 49.92, "nmol/L", Lab.VITAMIN_D, 20.0),
        ("14635-7", 49.92, "nmol/L", Lab.VITAMIN_D, 20.0),
        ("4548-4", 53.0, "mmol/mol", Lab.HBA1C, 7.0004),
        ("4548-4", 7.0, "%", Lab.HBA1C, 7.0),
        ("8280-0", 40.0, "[in_i]", Lab.WAIST, 101.6),
        ("8280-0", 90.0, "cm", Lab.WAIST, 90.0),
        ("29463-7", 176.37, "[lb_av]", Lab.BODY_WEIGHT, 80.0),
        ("39156-5", 31.2, "kg/m2", Lab.BMI, 31.2),
        ("33914-3", 58.0, "mL/min/{1.73_m2}", Lab.EGFR, 58.0),
        ("98979-8", 58.0, "mL/min/1.73m2", Lab.EGFR, 58.0),
        ("62238-1", 0.5, "mL/s/{1.73_m2}", Lab.EGFR, 30.0),
        ("2164-2", 42.0, "mL/min", Lab.CREATININE_CLEARANCE, 42.0),
        ("2160-0", 1.2, "mg/dL", Lab.CREATININE, 1.2),
        ("14682-9", 106.1, "umol/L", Lab.CREATININE, 1.2),
        ("1751-7", 3.5, "g/dL", Lab.ALBUMIN, 35.0),
        ("61151-7", 35.0, "g/L", Lab.ALBUMIN, 35.0),
        ("2777-1", 3.097, "mg/dL", Lab.PHOSPHATE, 1.0),
        ("14879-1", 1.0, "mmol/L", Lab.PHOSPHATE, 1.0),
        ("2731-8", 65.0, "pg/mL", Lab.PTH, 65.0),
        ("14866-8", 5.0, "pmol/L", Lab.PTH, 47.15),
        ("24701-5", 0.72, "g/cm2", Lab.BMD, 0.72),
    ],
)
def test_value_in_canonical_unit(code: str, value: float, unit: str, lab: Lab, expected: float) -> None:
    m = one(observation(code, value, unit))
    assert m.lab is lab
    assert m.value == pytest.approx(expected, rel=1e-3)


def test_same_calcium_in_mg_dl_and_mmol_l_gives_the_same_value() -> None:
    a = one(observation("17861-6", 9.2, "mg/dL", "a"))
    b = one(observation("2000-8", 9.2 / 4.008, "mmol/L", "b"))
    assert a.value == pytest.approx(b.value)
    assert a.unit == b.unit == "mmol/L"


def test_vitamin_d_ng_ml_and_nmol_l_agree() -> None:
    assert one(observation("62292-8", 50.0, "nmol/L")).value == pytest.approx(
        one(observation("62292-8", 20.03, "ng/mL")).value, rel=1e-3
    )


def test_unit_text_is_used_when_there_is_no_ucum_code() -> None:
    m = one(observation("8280-0", 35.0, "in", ucum=False))
    assert m.value == pytest.approx(88.9)


@pytest.mark.parametrize(
    ("code", "site"),
    [
        ("38267-1", BmdSite.LUMBAR_SPINE),
        ("104938-6", BmdSite.LUMBAR_SPINE),
        ("38264-8", BmdSite.HIP),
        ("80945-9", BmdSite.HIP),
        ("80946-7", BmdSite.HIP),
        ("38263-0", BmdSite.FEMORAL_NECK),
        ("38265-5", BmdSite.OTHER),
    ],
)
def test_t_score_site(code: str, site: BmdSite) -> None:
    m = one(observation(code, -2.7, "{T-score}"))
    assert (m.lab, m.site, m.value, m.unit) == (Lab.T_SCORE, site, -2.7, "SD")


def test_z_score_and_unitless_scores() -> None:
    m = one(observation("80933-5", -1.1))
    assert (m.lab, m.value) == (Lab.Z_SCORE, -1.1)


def test_dxa_panel_components_are_read() -> None:
    panel = observation("38268-9", when="2023-06-01")
    panel["component"] = [
        {"code": cc(LOINC, "38267-1"), "valueQuantity": {"value": -2.9, "unit": "SD"}},
        {"code": cc(LOINC, "38264-8"), "valueQuantity": {"value": -1.8}},
        {"code": cc(LOINC, "24966-4"), "valueQuantity": {"value": 0.81, "code": "g/cm2", "unit": "g/cm2"}},
        {"code": cc(LOINC, "8480-6"), "valueQuantity": {"value": 120, "unit": "mm[Hg]"}},
    ]
    got = {(m.lab, m.site, m.value) for m in measure(panel)}
    assert got == {
        (Lab.T_SCORE, BmdSite.LUMBAR_SPINE, -2.9),
        (Lab.T_SCORE, BmdSite.HIP, -1.8),
        (Lab.BMD, None, 0.81),
    }


def test_bmi_is_never_computed_from_weight_and_height() -> None:
    got = measure(observation("29463-7", 90, "kg", "w"), observation("8302-2", 170, "cm", "h"))
    assert [m.lab for m in got] == [Lab.BODY_WEIGHT]


@pytest.mark.parametrize("status", ["final", "amended", "corrected", "preliminary"])
def test_counted_statuses(status: str) -> None:
    assert len(measure(observation("2000-8", 2.3, "mmol/L", status=status))) == 1


@pytest.mark.parametrize("status", ["registered", "cancelled", "entered-in-error", "unknown"])
def test_other_statuses_are_dropped(status: str) -> None:
    assert measure(observation("2000-8", 2.3, "mmol/L", status=status)) == []


@pytest.mark.parametrize(
    ("fields", "at"),
    [
        ({"effectiveDateTime": "2024-03-01T10:00:00+08:00"}, datetime(2024, 3, 1, 2, 0, tzinfo=UTC)),
        ({"effectivePeriod": {"start": "2024-02-01"}}, datetime(2024, 2, 1, tzinfo=UTC)),
        ({"effectiveInstant": "2024-02-03T04:05:06.789Z"}, datetime(2024, 2, 3, 4, 5, 6, 789000, tzinfo=UTC)),
        ({"issued": "2024-02-05T00:00:00Z"}, datetime(2024, 2, 5, tzinfo=UTC)),
        (
            {"effectiveDateTime": "2024-01", "issued": "2024-02-05T00:00:00Z"},
            datetime(2024, 1, 1, tzinfo=UTC),
        ),
    ],
)
def test_date_is_effective_else_issued(fields: dict, at: datetime) -> None:
    assert one(observation("2000-8", 2.3, "mmol/L", when=None, **fields)).at == at


def test_no_date_drops_with_a_note() -> None:
    record = build_record(PID, [observation("2000-8", 2.3, "mmol/L", "nodate", when=None)])
    assert record.measurements == ()
    assert any("Observation/nodate" in n for n in record.notes)


@pytest.mark.parametrize("unit", ["mg", "U/L", "mmol/24h", "furlong"])
def test_incompatible_unit_is_dropped_with_a_note_without_values(unit: str) -> None:
    record = build_record(PID, [observation("2000-8", 2.345, unit, "x9")])
    assert record.measurements == ()
    (note,) = record.notes
    assert "Observation/x9" in note and "calcium" in note and "2.345" not in note


def test_missing_unit_is_dropped_with_a_note() -> None:
    record = build_record(PID, [observation("2000-8", 2.3)])
    assert record.measurements == () and len(record.notes) == 1


def test_value_string_is_dropped_with_a_note() -> None:
    res = observation("62292-8", rid="vs")
    res["valueString"] = "<5"
    record = build_record(PID, [res])
    assert record.measurements == ()
    assert any("valueString" in n and "<5" not in n for n in record.notes)


@pytest.mark.parametrize(
    ("code", "value", "comparator", "unit", "expected"),
    [
        ("62292-8", 8, "<", "ng/mL", 8.0),  # below the assay's range: certainly < 20 ng/mL
        ("14635-7", 20, "<=", "nmol/L", 8.01),
        ("33914-3", 60, ">", "mL/min/{1.73_m2}", 60.0),  # "eGFR >60": certainly not < 35
        ("98979-8", 90, ">=", "mL/min/1.73m2", 90.0),
    ],
)
def test_a_reported_bound_counts_as_its_value_with_a_note(
    code: str, value: float, comparator: str, unit: str, expected: float
) -> None:
    res = observation(code, value, unit, "bound")
    res["valueQuantity"]["comparator"] = comparator
    record = build_record(PID, [res])
    (m,) = record.measurements
    assert m.value == pytest.approx(expected, rel=1e-3)
    assert any("Observation/bound" in n and comparator in n for n in record.notes)


def test_an_unknown_comparator_is_dropped_with_a_note() -> None:
    res = observation("62292-8", 5, "ng/mL", "odd")
    res["valueQuantity"]["comparator"] = "ad"
    record = build_record(PID, [res])
    assert record.measurements == ()
    assert any("Observation/odd" in n for n in record.notes)


@pytest.mark.parametrize(
    "unit",
    [
        "mL/(min·1.73m²)",  # Chinese lab reports
        "ml/min/1,73m²",  # decimal comma
        "mL/min",  # interfaces that drop the /1.73 m2 of an eGFR code
    ],
)
def test_egfr_unit_spellings(unit: str) -> None:
    m = one(observation("62238-1", 28, unit, ucum=False))
    assert m.lab is Lab.EGFR and m.value == pytest.approx(28.0)


def test_a_plain_rate_is_not_read_into_a_per_area_creatinine_clearance() -> None:
    assert measure(observation("2164-2", 40, "mL/min/1.73m2")) == []


@pytest.mark.parametrize("value", ["abc", "1,5", [], {"v": 1}, True])
def test_malformed_value_of_a_relevant_observation_raises(value: object) -> None:
    with pytest.raises(MappingError) as err:
        build_record(PID, [observation("2000-8", value, "mmol/L", "bad")])
    assert err.value.resource == "Observation/bad"
    assert err.value.field == "Observation.valueQuantity.value"


def test_malformed_irrelevant_observation_is_ignored() -> None:
    res = observation("8302-2", "abc", "cm", effectiveDateTime="yesterday")
    assert build_record(PID, [res]).measurements == ()


def test_bad_date_on_a_relevant_observation_raises() -> None:
    with pytest.raises(MappingError) as err:
        build_record(PID, [observation("2000-8", 2.3, "mmol/L", "d", when="2024-13-40")])
    assert err.value.field == "Observation.effectiveDateTime"


def test_resource_without_id_is_named_by_position() -> None:
    res = observation("2000-8", "abc", "mmol/L")
    del res["id"]
    with pytest.raises(MappingError) as err:
        build_record(PID, [observation("2000-8", 2.3, "mmol/L"), res])
    assert err.value.resource == "Observation[1]"


@pytest.mark.parametrize("code", ["73830-2", "59460-6", "52552-7"])
def test_fall_risk_observation_is_presence_only(code: str) -> None:
    res = observation(code)
    res["valueInteger"] = 45
    m = one(res)
    assert (m.lab, m.value) == (Lab.FALL_RISK_ASSESSMENT, None)


def test_fall_risk_procedure_counts() -> None:
    proc = {
        "resourceType": "Procedure",
        "id": "fr",
        "status": "completed",
        "code": cc(SNOMED, "414191008", "Fall risk assessment"),
        "subject": {"reference": f"Patient/{PID}"},
        "performedDateTime": "2024-05-05",
    }
    m = one(proc)
    assert (m.lab, m.source, m.at) == (
        Lab.FALL_RISK_ASSESSMENT,
        "Procedure/fr",
        datetime(2024, 5, 5, tzinfo=UTC),
    )
    proc["status"] = "not-done"
    assert measure(proc) == []


def test_lab_recognised_by_chinese_text_when_local_code() -> None:
    res = observation("HBA1C-01", 7.5, "%", system="http://lis.hospital.example.cn/item")
    res["code"]["coding"][0]["display"] = "糖化血红蛋白"
    assert one(res).lab is Lab.HBA1C


def local(name: str, value: float, unit: str) -> dict:
    """A Chinese hospital result: local LIS code, Chinese name only."""
    res = observation("LIS-1", value, unit, system="http://lis.hospital.example.cn/item", ucum=False)
    res["code"]["coding"][0]["display"] = name
    return res


@pytest.mark.parametrize(
    ("name", "value", "unit", "lab", "expected"),
    [
        ("血清钙", 2.30, "mmol/L", Lab.CALCIUM, 2.30),
        ("血钙(Ca)", 9.2, "mg/dL", Lab.CALCIUM, 2.2954),
        ("血清白蛋白", 38, "g/L", Lab.ALBUMIN, 38.0),
        ("血肌酐(Cr)", 88.42, "μmol/L", Lab.CREATININE, 1.0),
        ("肌酐清除率", 42, "ml/min", Lab.CREATININE_CLEARANCE, 42.0),
        ("血清磷", 1.1, "mmol/L", Lab.PHOSPHATE, 1.1),
        ("全段甲状旁腺激素(iPTH)", 55, "pg/ml", Lab.PTH, 55.0),
        ("β-胶原降解产物(β-CTX)", 0.45, "ng/ml", Lab.CTX, 0.45),
        ("总Ⅰ型胶原氨基端延长肽(TP1NP)", 48, "ng/ml", Lab.P1NP, 48.0),
        ("骨碱性磷酸酶", 14, "U/L", Lab.BONE_ALP, 14.0),
    ],
)
def test_chinese_lab_names_under_local_codes(
    name: str, value: float, unit: str, lab: Lab, expected: float
) -> None:
    m = one(local(name, value, unit))
    assert m.lab is lab and m.value == pytest.approx(expected, rel=1e-3)


@pytest.mark.parametrize(
    "name", ["离子钙", "血清离子钙", "尿钙", "24小时尿钙", "尿肌酐", "尿微量白蛋白", "钙"]
)
def test_ionised_urine_and_bare_names_are_not_serum_tests(name: str) -> None:
    assert measure(local(name, 1.2, "mmol/L")) == []


def test_measurements_are_sorted_by_time() -> None:
    got = measure(
        observation("2000-8", 2.3, "mmol/L", "late", when="2024-05-01"),
        observation("2000-8", 2.2, "mmol/L", "early", when="2023-05-01"),
    )
    assert [m.source for m in got] == ["Observation/early", "Observation/late"]
