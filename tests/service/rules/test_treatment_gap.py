"""osteoporosis-untreated (r3): population, evidence, exposure windows, active drugs, drug holiday,
exclusions and the offers under the drug guard, each on both sides."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from service.kernel.clinical import WithholdReason
from service.kernel.facts.treatment_gap import UntreatedFacts
from service.kernel.findings import Finding, Indicator, Proposal, Topic
from service.kernel.record import (
    BmdSite,
    ConditionFact,
    DrugClass,
    ExposureKind,
    Lab,
    Measurement,
    MedicationExposure,
    Problem,
    Sex,
)
from service.kernel.thresholds import RuleSettings
from service.rules import Moment, evaluate
from service.rules.treatment_gap import drug_holiday, osteoporosis_untreated
from tests.builders import NOW, born_years_ago, condition, days_ago, lab, medication, patient, record
from tests.service.rules._drug_records import DENOSUMAB, ORAL_BP, SETTINGS, ZOLEDRONIC

ZA = Proposal.ZOLEDRONIC_ACID_5MG_IV
ALN = Proposal.ALENDRONATE_70MG_WEEKLY
READY = [lab(Lab.EGFR, 70, 10), lab(Lab.CALCIUM, 2.40, 10), lab(Lab.VITAMIN_D, 30, 10)]
T2DM = condition(Problem.T2DM, onset=date(2012, 3, 1))
OSTEOPOROSIS = condition(Problem.OSTEOPOROSIS, onset=date(2024, 5, 2))


def untreated(
    *facts: ConditionFact | MedicationExposure,
    labs: list[Measurement] | None = None,
    who: object = None,
    settings: RuleSettings = SETTINGS,
    now: datetime = NOW,
) -> Finding[UntreatedFacts] | None:
    rec = record(*facts, labs=READY if labs is None else labs, who=who)  # type: ignore[arg-type]
    return osteoporosis_untreated(rec, now, settings)


def statement(
    classes: set[DrugClass], start: int, end: int | None, *, name: str = "alendronate"
) -> MedicationExposure:
    """A MedicationStatement over a period ``start`` to ``end`` days ago (None: open, active)."""
    base = medication(
        classes,
        end if end is not None else start,
        name=name,
        kind=ExposureKind.STATEMENT,
        status="completed" if end is not None else "active",
    )
    at = NOW - timedelta(days=start)
    return MedicationExposure(
        base.classes,
        base.name,
        base.kind,
        base.status,
        base.at,
        base.active,
        base.source,
        period_start=at,
        period_end=NOW - timedelta(days=end) if end is not None else None,
    )


def infusion(days: int) -> MedicationExposure:
    return medication(ZOLEDRONIC, days, name="Aclasta", kind=ExposureKind.ADMINISTRATION, status="completed")


def test_t2dm_with_osteoporosis_and_no_treatment_is_a_warning_offering_both_drugs() -> None:
    finding = untreated(T2DM, OSTEOPOROSIS)
    assert finding is not None
    assert finding.topic is Topic.OSTEOPOROSIS_UNTREATED and finding.indicator is Indicator.WARNING
    assert finding.proposals == (ZA, ALN)
    assert finding.recommended is None and finding.preparation == () and finding.lab_orders == ()


@pytest.mark.parametrize(("bmi", "fires"), [(27.9, False), (28.0, True)])
def test_obesity_stands_for_t2dm(bmi: float, fires: bool) -> None:
    finding = untreated(OSTEOPOROSIS, labs=[*READY, lab(Lab.BMI, bmi, 100)])
    assert (finding is not None) is fires
    if finding is not None:
        assert not finding.facts.t2dm and finding.facts.obesity is not None


def test_neither_t2dm_nor_obesity_is_quiet() -> None:
    assert untreated(OSTEOPOROSIS) is None


@pytest.mark.parametrize(
    ("days", "indicator"), [(364, Indicator.CRITICAL), (365, Indicator.CRITICAL), (366, Indicator.WARNING)]
)
def test_a_fracture_within_365_days_is_critical(days: int, indicator: Indicator) -> None:
    finding = untreated(T2DM, condition(Problem.FRAGILITY_FRACTURE, onset=days_ago(days), active=False))
    assert finding is not None and finding.indicator is indicator


def test_the_history_code_is_never_a_recent_fracture() -> None:
    finding = untreated(T2DM, condition(Problem.HEALED_FRAGILITY_FRACTURE, onset=days_ago(10)))
    assert finding is not None and finding.indicator is Indicator.WARNING


@pytest.mark.parametrize(("age_at_fracture", "fires"), [(49, False), (50, True)])
def test_a_hip_fracture_counts_from_50(age_at_fracture: int, fires: bool) -> None:
    birth = born_years_ago(72)
    who = patient(Sex.MALE, birth)
    onset = birth.replace(year=birth.year + age_at_fracture) + timedelta(days=10)
    finding = untreated(T2DM, condition(Problem.HIP_OR_VERTEBRAL_FRACTURE, onset=onset), who=who)
    assert (finding is not None) is fires
    if finding is not None:
        assert finding.facts.fragility.confirm_low_trauma


@pytest.mark.parametrize(
    ("t_score", "age", "fires"), [(-2.5, 50, True), (-2.4, 66, False), (-2.8, 49, False)]
)
def test_a_t_score_counts_at_or_below_minus_2_5_from_50(t_score: float, age: int, fires: bool) -> None:
    who = patient(Sex.MALE, born_years_ago(age))
    labs = [*READY, lab(Lab.T_SCORE, t_score, 200, BmdSite.LUMBAR_SPINE)]
    assert (untreated(T2DM, labs=labs, who=who) is not None) is fires


def test_an_old_drug_alone_is_not_osteoporosis() -> None:
    old = medication(ORAL_BP, 3000, status="completed", name="alendronate")
    assert untreated(T2DM, old) is None


@pytest.mark.parametrize(
    ("exposure", "fires"),
    [
        (medication(ORAL_BP, 365, status="completed"), False),
        (medication(ORAL_BP, 366, status="completed"), True),
        (infusion(730), False),
        (infusion(731), True),
        (medication({DrugClass.ANABOLIC}, 366, status="completed"), True),
        (medication({DrugClass.ANABOLIC}, 365, status="completed"), False),
    ],
)
def test_no_exposure_within_its_window(exposure: MedicationExposure, fires: bool) -> None:
    assert (untreated(T2DM, OSTEOPOROSIS, exposure) is not None) is fires


def test_an_active_drug_however_old_is_treatment() -> None:
    assert untreated(T2DM, OSTEOPOROSIS, medication(ORAL_BP, 2000, status="active")) is None
    assert untreated(T2DM, OSTEOPOROSIS, statement(ORAL_BP, 2000, None)) is None


# The denosumab window is shortened in these tests so that no denosumab card (which owns a patient whose
# last dose is within 730 days) is due: they show the window and the open order alone.
SHORT_DENOSUMAB = SETTINGS.model_copy(update={"untreated_denosumab_window_days": 100})


def prolia_dose(days: int) -> MedicationExposure:
    return medication(DENOSUMAB, days, kind=ExposureKind.ADMINISTRATION, status="completed", name="Prolia")


@pytest.mark.parametrize(("days", "fires"), [(100, False), (101, True)])
def test_the_last_denosumab_dose_counts_within_its_window(days: int, fires: bool) -> None:
    order = medication(DENOSUMAB, days, status="completed", name="Prolia")  # continuing: no card is due yet
    finding = untreated(T2DM, OSTEOPOROSIS, order, prolia_dose(days), settings=SHORT_DENOSUMAB)
    assert (finding is not None) is fires


def test_denosumab_order_dates_alone_are_no_dose() -> None:
    renewed = medication(DENOSUMAB, 20, status="completed", name="Prolia")  # after the last administration
    finding = untreated(T2DM, OSTEOPOROSIS, prolia_dose(150), renewed, settings=SHORT_DENOSUMAB)
    assert finding is not None


def test_an_open_denosumab_order_with_an_old_last_dose_is_not_active() -> None:
    order = medication(DENOSUMAB, 1200, status="active", name="Prolia")
    assert untreated(T2DM, OSTEOPOROSIS, order, prolia_dose(150), settings=SHORT_DENOSUMAB) is not None
    assert untreated(T2DM, OSTEOPOROSIS, order, prolia_dose(50), settings=SHORT_DENOSUMAB) is None


def test_not_while_a_denosumab_card_fires() -> None:
    # the untreated window is shortened so that only the denosumab card keeps the untreated card quiet
    short = SETTINGS.model_copy(update={"untreated_denosumab_window_days": 100})
    order = medication(DENOSUMAB, 200, status="active", name="Prolia")
    dose = medication(DENOSUMAB, 200, kind=ExposureKind.ADMINISTRATION, status="completed", name="Prolia")

    def shown(*facts: ConditionFact | MedicationExposure) -> set[Topic]:
        cards = evaluate(record(*facts, labs=READY), NOW, short, Moment.VIEW).cards
        return {f.topic for f in cards}

    due = shown(T2DM, OSTEOPOROSIS, order, dose)
    assert Topic.DENOSUMAB_DOSE_DUE in due and Topic.OSTEOPOROSIS_UNTREATED not in due
    assert untreated(T2DM, OSTEOPOROSIS, order, dose, settings=short) is not None  # the rule alone fires
    earlier = medication(DENOSUMAB, 150, kind=ExposureKind.ADMINISTRATION, status="completed", name="Prolia")
    assert Topic.OSTEOPOROSIS_UNTREATED in shown(T2DM, OSTEOPOROSIS, order, earlier)  # not yet due


@pytest.mark.parametrize(("days", "fires"), [(30, False), (281, True)])
def test_not_in_pregnancy(days: int, fires: bool) -> None:
    who = patient(Sex.FEMALE, born_years_ago(38))
    assert (
        untreated(T2DM, OSTEOPOROSIS, condition(Problem.PREGNANCY, onset=days_ago(days)), who=who) is not None
    ) is (fires)


@pytest.mark.parametrize(("days", "fires"), [(365, False), (366, True)])
def test_not_with_an_oncology_regimen_within_365_days(days: int, fires: bool) -> None:
    xgeva = medication(
        {DrugClass.DENOSUMAB_ONCOLOGY},
        days,
        kind=ExposureKind.ADMINISTRATION,
        status="completed",
        name="Xgeva",
    )
    assert (untreated(T2DM, OSTEOPOROSIS, xgeva) is not None) is fires


# --- drug holiday -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "holiday"),
    [
        (640 + 1796, 640, True),  # 1796 + 30 = 1826 days: five years
        (640 + 1795, 640, False),
        (1826 + 1800, 1826, True),  # ended five years ago: still on holiday
        (1827 + 1800, 1827, False),
    ],
)
def test_five_years_of_an_oral_bisphosphonate_start_a_five_year_holiday(
    start: int, end: int, holiday: bool
) -> None:
    course = statement(ORAL_BP, start, end)
    rec = record(T2DM, OSTEOPOROSIS, course, labs=READY)
    found = drug_holiday(rec, NOW, SETTINGS)
    assert (found is not None) is holiday
    assert (osteoporosis_untreated(rec, NOW, SETTINGS) is None) is holiday


def test_an_oral_course_is_exposures_with_gaps_of_at_most_92_days() -> None:
    joined = [statement(ORAL_BP, 2500, 1500), statement(ORAL_BP, 1408, 640)]  # a 92-day gap
    assert drug_holiday(record(*joined), NOW, SETTINGS) is not None
    broken = [statement(ORAL_BP, 2500, 1500), statement(ORAL_BP, 1407, 640)]  # 93 days: two courses
    assert drug_holiday(record(*broken), NOW, SETTINGS) is None


@pytest.mark.parametrize(
    ("days", "holiday"),
    [
        ((1600, 1200, 800), True),
        ((1200, 800), False),  # two infusions: two years
        ((1657, 1200, 800), False),  # 457 days apart: the course is broken
        ((1656, 1200, 800), True),
        ((800, 800, 400), False),  # counted by distinct date: two
    ],
)
def test_three_yearly_infusions_start_a_holiday(days: tuple[int, ...], holiday: bool) -> None:
    rec = record(*(infusion(d) for d in days))
    found = drug_holiday(rec, NOW, SETTINGS)
    assert (found is not None) is holiday
    if found is not None:
        assert found.infusions == len(set(days)) and found.ended == days_ago(min(days))


def test_a_fracture_after_the_holiday_began_fires_and_says_so() -> None:
    course = statement(ORAL_BP, 640 + 1900, 640)
    before = condition(Problem.FRAGILITY_FRACTURE, onset=days_ago(641))
    assert untreated(T2DM, OSTEOPOROSIS, course, before) is None
    after = condition(Problem.FRAGILITY_FRACTURE, onset=days_ago(100))
    finding = untreated(T2DM, OSTEOPOROSIS, course, after)
    assert finding is not None and finding.indicator is Indicator.CRITICAL
    assert finding.facts.holiday is not None and finding.facts.holiday.ended == days_ago(640)


# --- offers under the drug guard ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("sex", "age", "offered"),
    [(Sex.FEMALE, 49, False), (Sex.FEMALE, 50, True), (Sex.MALE, 45, True)],
)
def test_a_woman_under_50_is_offered_no_drug(sex: Sex, age: int, offered: bool) -> None:
    finding = untreated(T2DM, OSTEOPOROSIS, who=patient(sex, born_years_ago(age)))
    assert finding is not None
    assert bool(finding.proposals) is offered
    assert finding.facts.specialist is not offered


def test_diabetic_neuropathy_makes_zoledronic_acid_the_recommended_one() -> None:
    neuropathy = condition(Problem.DIABETIC_NEUROPATHY, onset=date(2024, 4, 6))
    finding = untreated(T2DM, OSTEOPOROSIS, neuropathy)
    assert finding is not None and finding.recommended is ZA
    low_d = [lab(Lab.EGFR, 70, 10), lab(Lab.CALCIUM, 2.40, 10), lab(Lab.VITAMIN_D, 14, 10)]
    withheld = untreated(T2DM, OSTEOPOROSIS, neuropathy, labs=low_d)
    assert withheld is not None and withheld.proposals == (ALN,) and withheld.recommended is None
    assert withheld.facts.low_vitamin_d


def test_bed_bound_offers_only_zoledronic_acid_with_its_preparation() -> None:
    bed = condition(Problem.BED_BOUND, onset=days_ago(50))
    finding = untreated(T2DM, OSTEOPOROSIS, bed, labs=[lab(Lab.EGFR, 70, 40)])
    assert finding is not None and finding.proposals == (ZA,)
    assert finding.preparation == ((ZA, (Lab.CREATININE, Lab.CALCIUM, Lab.VITAMIN_D)),)
    assert [w.drug for w in finding.facts.withheld] == [ALN]


def test_renal_function_unknown_offers_the_renal_test_instead() -> None:
    finding = untreated(T2DM, OSTEOPOROSIS, labs=READY[1:])
    assert finding is not None and finding.proposals == () and finding.lab_orders == (Lab.EGFR,)
    assert {r for w in finding.facts.withheld for r in w.reasons} == {WithholdReason.RENAL_UNKNOWN}


def test_hypocalcaemia_withholds_both_and_offers_the_missing_vitamin_d_test() -> None:
    finding = untreated(T2DM, OSTEOPOROSIS, labs=[lab(Lab.EGFR, 70, 10), lab(Lab.CALCIUM, 2.0, 5)])
    assert finding is not None and finding.proposals == () and finding.lab_orders == (Lab.VITAMIN_D,)


def test_dialysis_withholds_both_and_offers_nothing() -> None:
    finding = untreated(T2DM, OSTEOPOROSIS, condition(Problem.DIALYSIS, onset=days_ago(300)))
    assert finding is not None and finding.proposals == () and finding.lab_orders == ()
    assert finding.facts.dialysis
