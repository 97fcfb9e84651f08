"""Glucose-lowering drug rules (T2DM §2.2): who gets which card, on both sides of every threshold."""

from __future__ import annotations

from datetime import date

import pytest

from service.kernel.facts.diabetes_drugs import MetforminBar
from service.kernel.findings import Indicator, Topic
from service.kernel.record import (
    BmdSite,
    ConditionFact,
    DrugClass,
    ExposureKind,
    Lab,
    Measurement,
    PatientRecord,
    Problem,
    Sex,
)
from service.kernel.thresholds import RuleSettings
from service.rules import Moment, evaluate
from service.rules.diabetes_drugs import insulin_ordered, sglt2_ordered, tzd_active, tzd_ordered
from tests.builders import NOW, ago, born_years_ago, condition, draft, lab, medication, patient, record
from tests.service.rules._drug_records import (
    ANABOLIC,
    INSULIN,
    METFORMIN,
    ORAL_BP,
    SETTINGS,
    SGLT2,
    TZD,
    osteoporosis,
    t2dm,
)

# --- tzd-fracture-risk at order time --------------------------------------------------------------


def test_tzd_draft_with_osteoporosis_is_a_warning_that_deletes_the_draft() -> None:
    rec = record(conditions=[osteoporosis()], drafts=[draft(TZD, name="pioglitazone 30 MG Oral Tablet")])
    finding = tzd_ordered(rec, NOW, SETTINGS)
    assert finding is not None
    assert finding.topic is Topic.TZD_FRACTURE_RISK
    assert finding.indicator is Indicator.WARNING
    assert finding.delete_drafts == ("MedicationRequest/d1",)
    assert finding.facts.orders.names == ("pioglitazone 30 MG Oral Tablet",)
    assert finding.facts.fragility is not None
    assert finding.facts.fragility.osteoporosis_since == date(2019, 5, 2)


def test_tzd_draft_in_a_man_with_bone_fragility_is_a_warning() -> None:
    rec = record(who=patient(Sex.MALE), conditions=[osteoporosis()], drafts=[draft(TZD)])
    finding = tzd_ordered(rec, NOW, SETTINGS)
    assert finding is not None and finding.indicator is Indicator.WARNING


def test_tzd_draft_in_a_woman_with_t2dm_and_no_fragility_is_info() -> None:
    rec = record(conditions=[t2dm()], drafts=[draft(TZD)])
    finding = tzd_ordered(rec, NOW, SETTINGS)
    assert finding is not None
    assert finding.indicator is Indicator.INFO
    assert finding.facts.fragility is None  # fires only as a woman with T2DM
    assert finding.delete_drafts == ("MedicationRequest/d1",)


@pytest.mark.parametrize(
    ("sex", "conditions"),
    [
        (Sex.MALE, [Problem.T2DM]),  # a man with T2DM and no bone fragility
        (Sex.UNKNOWN, [Problem.T2DM]),
        (Sex.FEMALE, []),  # a woman without T2DM or bone fragility
    ],
)
def test_tzd_draft_without_fragility_or_female_t2dm_is_quiet(sex: Sex, conditions: list[Problem]) -> None:
    rec = record(who=patient(sex), conditions=[condition(p) for p in conditions], drafts=[draft(TZD)])
    assert tzd_ordered(rec, NOW, SETTINGS) is None


def test_an_inactive_t2dm_condition_does_not_make_the_info_card() -> None:
    rec = record(conditions=[condition(Problem.T2DM, active=False)], drafts=[draft(TZD)])
    assert tzd_ordered(rec, NOW, SETTINGS) is None


def test_only_the_tzd_draft_is_offered_for_deletion() -> None:
    rec = record(
        conditions=[osteoporosis()],
        drafts=[draft(METFORMIN, id="met"), draft(TZD, id="pio")],
    )
    finding = tzd_ordered(rec, NOW, SETTINGS)
    assert finding is not None and finding.delete_drafts == ("MedicationRequest/pio",)


def test_no_tzd_draft_no_order_card_even_when_a_tzd_is_on_the_chart() -> None:
    rec = record(conditions=[osteoporosis()], meds=[medication(TZD, 400)], drafts=[draft(METFORMIN)])
    assert tzd_ordered(rec, NOW, SETTINGS) is None


@pytest.mark.parametrize(("score", "fires"), [(-2.6, True), (-2.5, True), (-2.4, False)])
def test_fragility_by_t_score_at_the_who_cut_off(score: float, fires: bool) -> None:
    rec = record(
        who=patient(Sex.MALE),
        labs=[lab(Lab.T_SCORE, score, 200, site=BmdSite.LUMBAR_SPINE)],
        drafts=[draft(TZD)],
    )
    finding = tzd_ordered(rec, NOW, SETTINGS)
    assert (finding is not None) is fires
    if finding is not None:
        assert finding.facts.fragility is not None and finding.facts.fragility.t_score is not None
        assert finding.facts.fragility.t_score.value == score
        assert finding.facts.fragility.t_score.site == "lumbar-spine"


def test_a_low_forearm_t_score_is_not_fragility_beside_a_central_one() -> None:
    # r3: a forearm T-score counts only when no spine, hip or femur T-score exists that day
    rec = record(
        who=patient(Sex.MALE),
        labs=[lab(Lab.T_SCORE, -3.1, 200, site=BmdSite.OTHER), lab(Lab.T_SCORE, -2.0, 200, site=BmdSite.HIP)],
        drafts=[draft(TZD)],
    )
    assert tzd_ordered(rec, NOW, SETTINGS) is None


def test_a_healed_fracture_and_past_anti_osteoporosis_drug_count_as_fragility() -> None:
    healed = condition(Problem.FRAGILITY_FRACTURE, active=False, onset=date(2021, 4, 9))
    rec = record(who=patient(Sex.MALE), conditions=[healed], drafts=[draft(TZD)])
    finding = tzd_ordered(rec, NOW, SETTINGS)
    assert finding is not None and finding.facts.fragility is not None
    assert finding.facts.fragility.fracture_on == date(2021, 4, 9)

    on_drug = record(
        who=patient(Sex.MALE),
        meds=[
            medication(ORAL_BP, 900, name="alendronate", status="completed"),
            medication(ANABOLIC, 300, name="teriparatide"),
        ],
        drafts=[draft(TZD)],
    )
    finding = tzd_ordered(on_drug, NOW, SETTINGS)
    assert finding is not None
    assert finding.facts.fragility is not None
    assert finding.facts.fragility.drug == "teriparatide"  # the most recent one


def test_an_inactive_osteoporosis_condition_is_not_fragility() -> None:
    rec = record(
        who=patient(Sex.MALE), conditions=[condition(Problem.OSTEOPOROSIS, active=False)], drafts=[draft(TZD)]
    )
    assert tzd_ordered(rec, NOW, SETTINGS) is None


# --- tzd-fracture-risk at patient-view ------------------------------------------------------------


def test_active_tzd_with_fragility_is_a_warning_with_the_order_date_and_no_suggestion() -> None:
    rec = record(conditions=[osteoporosis()], meds=[medication(TZD, 1000, name="Actos 30 mg")])
    finding = tzd_active(rec, NOW, SETTINGS)
    assert finding is not None
    assert finding.indicator is Indicator.WARNING
    assert finding.facts.orders.ordered == (ago(1000).date(),)
    assert finding.delete_drafts == ()


@pytest.mark.parametrize("status", ["stopped", "completed"])
def test_a_past_tzd_order_is_not_active(status: str) -> None:
    rec = record(conditions=[osteoporosis()], meds=[medication(TZD, 300, status=status)])
    assert tzd_active(rec, NOW, SETTINGS) is None


def test_an_active_tzd_statement_counts() -> None:
    rec = record(conditions=[osteoporosis()], meds=[medication(TZD, 30, kind=ExposureKind.STATEMENT)])
    assert tzd_active(rec, NOW, SETTINGS) is not None


def test_active_tzd_in_a_woman_with_t2dm_but_no_fragility_gets_no_view_card() -> None:
    rec = record(conditions=[t2dm()], meds=[medication(TZD, 30)])
    assert tzd_active(rec, NOW, SETTINGS) is None


def test_the_tzd_topic_runs_at_both_moments() -> None:
    chart = record(conditions=[osteoporosis()], meds=[medication(TZD, 30)])
    assert [f.topic for f in evaluate(chart, NOW, SETTINGS, Moment.VIEW).cards].count(
        Topic.TZD_FRACTURE_RISK
    ) == 1
    assert Topic.TZD_FRACTURE_RISK not in [
        f.topic for f in evaluate(chart, NOW, SETTINGS, Moment.ORDER).cards
    ]
    ordering = record(conditions=[osteoporosis()], drafts=[draft(TZD)])
    cards = evaluate(ordering, NOW, SETTINGS, Moment.ORDER).cards
    assert [f.topic for f in cards].count(Topic.TZD_FRACTURE_RISK) == 1


# --- sglt2-fracture-caution -----------------------------------------------------------------------


def _sglt2_record(egfr_value: float | None, days: int = 20, *, fragile: bool = True) -> PatientRecord:
    return record(
        conditions=[osteoporosis()] if fragile else [t2dm()],
        labs=[lab(Lab.EGFR, egfr_value, days)] if egfr_value is not None else [],
        drafts=[draft(SGLT2, name="empagliflozin 10 MG Oral Tablet")],
    )


@pytest.mark.parametrize(("value", "fires"), [(59.9, True), (60.0, False), (60.1, False)])
def test_sglt2_fires_below_an_egfr_of_60(value: float, fires: bool) -> None:
    finding = sglt2_ordered(_sglt2_record(value), NOW, SETTINGS)
    assert (finding is not None) is fires
    if finding is not None:
        assert finding.indicator is Indicator.INFO
        assert finding.delete_drafts == () and finding.lab_orders == ()  # detail only
        assert finding.facts.egfr.value == value


@pytest.mark.parametrize(("days", "fires"), [(364, True), (365, True), (366, False)])
def test_sglt2_reads_an_egfr_within_365_days(days: int, fires: bool) -> None:
    assert (sglt2_ordered(_sglt2_record(40, days), NOW, SETTINGS) is not None) is fires


def test_sglt2_needs_bone_fragility() -> None:
    assert sglt2_ordered(_sglt2_record(40, fragile=False), NOW, SETTINGS) is None


def test_sglt2_uses_egfr_alone_and_the_latest_one() -> None:
    only_crcl = record(
        conditions=[osteoporosis()], labs=[lab(Lab.CREATININE_CLEARANCE, 30, 10)], drafts=[draft(SGLT2)]
    )
    assert sglt2_ordered(only_crcl, NOW, SETTINGS) is None
    recovered = record(
        conditions=[osteoporosis()],
        labs=[lab(Lab.EGFR, 45, 200), lab(Lab.EGFR, 72, 10)],
        drafts=[draft(SGLT2)],
    )
    assert sglt2_ordered(recovered, NOW, SETTINGS) is None


def test_sglt2_threshold_is_a_setting() -> None:
    stricter = RuleSettings(sglt2_egfr_threshold=45)
    assert sglt2_ordered(_sglt2_record(50), NOW, stricter) is None
    assert sglt2_ordered(_sglt2_record(44.9), NOW, stricter) is not None


# --- insulin-hypoglycemia-fall-risk ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "fires"),
    [
        (born_years_ago(65), True),  # 65th birthday today
        (born_years_ago(65, days_after=1), False),  # turns 65 tomorrow: 64
        (born_years_ago(66), True),
    ],
)
def test_insulin_with_fragility_fires_from_age_65(birth: date, fires: bool) -> None:
    rec = record(who=patient(birth=birth), conditions=[osteoporosis()], drafts=[draft(INSULIN)])
    finding = insulin_ordered(rec, NOW, SETTINGS)
    assert (finding is not None) is fires
    if finding is not None:
        assert finding.indicator is Indicator.WARNING
        assert finding.facts.older_with_fragility is True
        assert finding.facts.hypoglycaemia is False


def test_insulin_in_an_older_patient_without_fragility_or_hypoglycaemia_is_quiet() -> None:
    rec = record(who=patient(birth=born_years_ago(80)), conditions=[t2dm()], drafts=[draft(INSULIN)])
    assert insulin_ordered(rec, NOW, SETTINGS) is None


def test_any_history_of_hypoglycaemia_fires_at_any_age() -> None:
    past = condition(Problem.HYPOGLYCAEMIA, active=False, onset=date(2025, 3, 2))
    rec = record(who=patient(birth=born_years_ago(50)), conditions=[t2dm(), past], drafts=[draft(INSULIN)])
    finding = insulin_ordered(rec, NOW, SETTINGS)
    assert finding is not None
    assert finding.facts.hypoglycaemia is True
    assert finding.facts.hypoglycaemia_onset == date(2025, 3, 2)
    assert finding.facts.older_with_fragility is False


def test_unknown_age_only_hypoglycaemia_counts() -> None:
    fragile = record(who=patient(birth=None), conditions=[osteoporosis()], drafts=[draft(INSULIN)])
    assert insulin_ordered(fragile, NOW, SETTINGS) is None
    hypo = record(
        who=patient(birth=None), conditions=[condition(Problem.HYPOGLYCAEMIA)], drafts=[draft(INSULIN)]
    )
    assert insulin_ordered(hypo, NOW, SETTINGS) is not None


def test_no_insulin_draft_no_card() -> None:
    rec = record(
        conditions=[condition(Problem.HYPOGLYCAEMIA)],
        meds=[medication(INSULIN, 30)],
        drafts=[draft(METFORMIN)],
    )
    assert insulin_ordered(rec, NOW, SETTINGS) is None


# --- r3: the insulin secretagogues (sulfonylurea, glinide) ----------------------------------------

SULFONYLUREA = {DrugClass.SULFONYLUREA}
GLINIDE = {DrugClass.GLINIDE}


@pytest.mark.parametrize("classes", [SULFONYLUREA, GLINIDE, {DrugClass.SULFONYLUREA, DrugClass.METFORMIN}])
@pytest.mark.parametrize(
    ("birth", "fires"),
    [
        (born_years_ago(65), True),
        (born_years_ago(65, days_after=1), False),
        (born_years_ago(66), True),
    ],
)
def test_a_secretagogue_draft_is_read_as_insulin(classes: set[DrugClass], birth: date, fires: bool) -> None:
    rec = record(
        who=patient(birth=birth), conditions=[osteoporosis()], drafts=[draft(classes, name="glimepiride")]
    )
    finding = insulin_ordered(rec, NOW, SETTINGS)
    assert (finding is not None) is fires
    if finding is not None:
        assert finding.indicator is Indicator.WARNING
        assert finding.facts.secretagogue is True and finding.facts.insulin is False
        assert finding.facts.orders.names == ("glimepiride",)


def test_a_secretagogue_with_a_history_of_hypoglycaemia_fires_at_any_age() -> None:
    rec = record(
        who=patient(birth=born_years_ago(40)),
        conditions=[condition(Problem.HYPOGLYCAEMIA, active=False, onset=date(2014, 1, 2))],
        drafts=[draft(GLINIDE, name="repaglinide")],
    )
    finding = insulin_ordered(rec, NOW, SETTINGS)
    assert finding is not None and finding.facts.hypoglycaemia is True


def test_insulin_and_a_secretagogue_drafted_together_make_one_finding_naming_both() -> None:
    rec = record(
        conditions=[condition(Problem.HYPOGLYCAEMIA)],
        drafts=[
            draft(INSULIN, name="insulin glargine", id="a"),
            draft(SULFONYLUREA, name="gliclazide", id="b"),
        ],
    )
    finding = insulin_ordered(rec, NOW, SETTINGS)
    assert finding is not None
    assert finding.facts.insulin is True and finding.facts.secretagogue is True
    assert finding.facts.orders.names == ("insulin glargine", "gliclazide")


def test_an_active_secretagogue_without_a_draft_is_no_order_time_card() -> None:
    rec = record(conditions=[condition(Problem.HYPOGLYCAEMIA)], meds=[medication(SULFONYLUREA, 30)])
    assert insulin_ordered(rec, NOW, SETTINGS) is None


# --- r3: metformin named only with renal function >= 30 and not on dialysis ----------------------


@pytest.mark.parametrize(
    ("labs", "conditions", "bar"),
    [
        ([lab(Lab.EGFR, 30, 10)], [], None),  # at the threshold: metformin named
        ([lab(Lab.EGFR, 29.9, 10)], [], MetforminBar.RENAL_LOW),
        (
            [lab(Lab.EGFR, 29.9, 366), lab(Lab.EGFR, 55, 400)],
            [],
            MetforminBar.RENAL_UNKNOWN,
        ),  # none in 365 days
        ([lab(Lab.EGFR, 29.9, 365)], [], MetforminBar.RENAL_LOW),  # day 365 is in the window
        (
            [lab(Lab.EGFR, 70, 10)],
            [condition(Problem.DIALYSIS, onset=date(2024, 1, 5))],
            MetforminBar.DIALYSIS,
        ),
        ([lab(Lab.EGFR, 70, 10), lab(Lab.CREATININE_CLEARANCE, 25, 9)], [], MetforminBar.RENAL_LOW),  # lowest
    ],
)
def test_tzd_card_names_metformin_only_with_renal_function_of_30_or_more(
    labs: list[Measurement], conditions: list[ConditionFact], bar: MetforminBar | None
) -> None:
    drafted = record(conditions=[osteoporosis(), *conditions], labs=labs, drafts=[draft(TZD)])
    on_tzd = record(conditions=[osteoporosis(), *conditions], labs=labs, meds=[medication(TZD, 400)])
    for finding in (tzd_ordered(drafted, NOW, SETTINGS), tzd_active(on_tzd, NOW, SETTINGS)):
        assert finding is not None
        assert finding.facts.metformin_bar is bar
        assert (finding.facts.renal is None) is (bar is MetforminBar.RENAL_UNKNOWN)


def test_the_metformin_threshold_is_a_setting() -> None:
    rec = record(conditions=[osteoporosis()], labs=[lab(Lab.EGFR, 40, 10)], drafts=[draft(TZD)])
    assert tzd_ordered(rec, NOW, SETTINGS).facts.metformin_bar is None  # type: ignore[union-attr]
    stricter = RuleSettings(metformin_min_renal_function=45)
    assert tzd_ordered(rec, NOW, stricter).facts.metformin_bar is MetforminBar.RENAL_LOW  # type: ignore[union-attr]
