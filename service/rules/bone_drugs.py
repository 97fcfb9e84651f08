"""Bone drugs: bisphosphonates and renal function, calcium before antiresorptives, anabolic therapy (T2DM §3).

The facts each rule concludes are the types of :mod:`service.kernel.facts.bone_drugs`: the orders the
card is about (drafts at order time, chart orders with their dates at patient-view), and the renal
function, calcium or treatment time that makes the card fire, with their evidence.

Revision 3: dialysis counts as renal function known and below every threshold; zoledronic acid 4 mg and
denosumab 120 mg (oncology regimens) are guarded as the osteoporosis products, zoledronic acid 4 mg with
its own renal limit (30, its label); a test ordered and not yet resulted is not offered again, and the
safety card says so; hypocalcaemia makes the calcium check critical, with a delete suggestion; a draft
denosumab with renal function < 30 or on dialysis always gets the calcium check; the anabolic limit counts
the cumulative time of the courses; high calcium is read from a total or an ionised result. In pregnancy
the order-time cards give way to ``bone-drug-in-pregnancy``, the only card about such a draft.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from service.kernel.clinical import DrugOrders
from service.kernel.facts.bone_drugs import (
    AnabolicCourse,
    AnabolicFacts,
    HypercalcaemiaFacts,
    LabResult,
    PendingTest,
    PreInfusionFacts,
    PreInfusionReason,
    RenalContraindicationFacts,
    RenalUnknownFacts,
)
from service.kernel.findings import Finding, Indicator, Topic
from service.kernel.record import DrugClass, ExposureKind, Lab, MedicationExposure, PatientRecord
from service.kernel.thresholds import RuleSettings
from service.rules._registry import Moment, Rule
from service.rules.definitions import (
    active,
    calcium_status,
    chart_orders,
    draft_orders,
    has_result,
    last_result,
    on_dialysis,
    ordered_not_resulted,
    pregnant,
    renal_function,
    renal_function_below,
    sources,
    vitamin_d_25oh,
)

_RENAL_TESTS = frozenset({Lab.EGFR, Lab.CREATININE_CLEARANCE, Lab.CREATININE})
_CALCIUM_TESTS = frozenset({Lab.CALCIUM, Lab.IONISED_CALCIUM})
_ANTIRESORPTIVES = (
    DrugClass.BISPHOSPHONATE,
    DrugClass.DENOSUMAB,
    DrugClass.ZOLEDRONIC_ACID_ONCOLOGY,
    DrugClass.DENOSUMAB_ONCOLOGY,
)
_ZOLEDRONIC_ACID = frozenset({DrugClass.ZOLEDRONIC_ACID, DrugClass.ZOLEDRONIC_ACID_ONCOLOGY})
_DENOSUMAB = frozenset({DrugClass.DENOSUMAB, DrugClass.DENOSUMAB_ONCOLOGY})
_HYPERCALCAEMIC = frozenset(
    {DrugClass.CALCIUM_SUPPLEMENT, DrugClass.NATIVE_VITAMIN_D, DrugClass.ACTIVE_VITAMIN_D, DrugClass.ANABOLIC}
)


def _bisphosphonate(m: MedicationExposure) -> bool:
    """A bisphosphonate of either use: the osteoporosis products and zoledronic acid 4 mg (oncology)."""
    return DrugClass.BISPHOSPHONATE in m.classes or DrugClass.ZOLEDRONIC_ACID_ONCOLOGY in m.classes


# --- bisphosphonate-renal-contraindication --------------------------------------------------------


def _renal_threshold(m: MedicationExposure, settings: RuleSettings) -> float:
    """35 for the osteoporosis bisphosphonates (T2DM §3); 30 for zoledronic acid 4 mg (its label, r3)."""
    if DrugClass.ZOLEDRONIC_ACID_ONCOLOGY in m.classes:
        return settings.zoledronic_acid_oncology_min_renal_function
    return settings.bisphosphonate_min_renal_function


def _contraindicated(
    exposures: list[MedicationExposure], record: PatientRecord, now: datetime, settings: RuleSettings
) -> tuple[list[MedicationExposure], RenalContraindicationFacts] | None:
    """The orders contraindicated by renal function (365 days) below their threshold, or by dialysis."""
    dialysis = on_dialysis(record, now, settings)
    renal = renal_function(record, now, settings.renal_function_window_days, settings)
    hits = [
        m
        for m in exposures
        if dialysis or (renal is not None and renal.value < _renal_threshold(m, settings))
    ]
    if not hits:
        return None
    oncology = all(DrugClass.ZOLEDRONIC_ACID_ONCOLOGY in m.classes for m in hits)
    threshold = (
        settings.zoledronic_acid_oncology_min_renal_function
        if oncology
        else settings.bisphosphonate_min_renal_function
    )
    facts = RenalContraindicationFacts(
        orders=DrugOrders(()),
        renal=renal,
        dialysis=dialysis,
        renal_threshold=threshold,
        hypocalcaemia_renal_threshold=settings.denosumab_hypocalcemia_renal_threshold,
        oncology=oncology,
        pregnant=pregnant(record, now, settings),
    )
    return hits, facts


def bisphosphonate_renal_ordered(
    record: PatientRecord, now: datetime, settings: RuleSettings
) -> Finding[RenalContraindicationFacts] | None:
    """A draft bisphosphonate and renal function (the lowest of CrCl, eGFR and the computed value, 365
    days) below 35 (zoledronic acid 4 mg: 30), or on dialysis (r3): critical, delete the draft."""
    drafts = [d for d in record.drafts if _bisphosphonate(d)]
    if not drafts or pregnant(record, now, settings):
        return None
    found = _contraindicated(drafts, record, now, settings)
    if found is None:
        return None
    hits, facts = found
    facts = replace(facts, orders=draft_orders(hits))
    return Finding(
        Topic.BISPHOSPHONATE_RENAL_CONTRAINDICATION, Indicator.CRITICAL, facts, delete_drafts=sources(hits)
    )


def bisphosphonate_renal_active(
    record: PatientRecord, now: datetime, settings: RuleSettings
) -> Finding[RenalContraindicationFacts] | None:
    """An active bisphosphonate order (patient-view) and renal function below its threshold, or on
    dialysis: critical, no suggestion."""
    on_drug = [m for m in record.medications if m.active and _bisphosphonate(m)]
    if not on_drug:
        return None
    found = _contraindicated(on_drug, record, now, settings)
    if found is None:
        return None
    hits, facts = found
    facts = replace(facts, orders=chart_orders(hits))
    return Finding(Topic.BISPHOSPHONATE_RENAL_CONTRAINDICATION, Indicator.CRITICAL, facts)


# --- bisphosphonate-renal-function-unknown --------------------------------------------------------


def _intravenous(draft: MedicationExposure) -> bool:
    return bool({DrugClass.BISPHOSPHONATE_IV, DrugClass.ZOLEDRONIC_ACID_ONCOLOGY} & draft.classes)


def _renal_window(draft: MedicationExposure, settings: RuleSettings) -> int:
    """IV zoledronic acid (either strength) and ibandronate need a creatinine before each dose (label)."""
    if _intravenous(draft):
        return settings.iv_bisphosphonate_renal_window_days
    return settings.renal_function_window_days


def bisphosphonate_renal_unknown(
    record: PatientRecord, now: datetime, settings: RuleSettings
) -> Finding[RenalUnknownFacts] | None:
    """A draft bisphosphonate with no renal function in its window (365 days oral, 30 days IV): warning.

    "Renal function" is rules.md's: CrCl, eGFR, or a value computed from a creatinine in the window. On
    dialysis it is known (r3), so this card does not fire. With several drafts, the card names those
    that lack a recent value; the IV window wins if any is IV. A creatinine/eGFR ordered within that
    window (and 92 days) and not yet resulted is not offered again (r3): the card says so.
    """
    drafts = [d for d in record.drafts if _bisphosphonate(d)]
    if not drafts or pregnant(record, now, settings) or on_dialysis(record, now, settings):
        return None
    lacking = [d for d in drafts if renal_function(record, now, _renal_window(d, settings), settings) is None]
    if not lacking:
        return None
    window = min(_renal_window(d, settings) for d in lacking)
    last = last_result(record, _RENAL_TESTS, now)
    order = ordered_not_resulted(record, _RENAL_TESTS, now, window, settings)
    pending = (
        PendingTest(order.lab, order.authored.date())
        if order is not None and order.authored is not None
        else None
    )
    facts = RenalUnknownFacts(
        orders=draft_orders(lacking),
        iv=any(_intravenous(d) for d in lacking),
        window_days=window,
        renal_threshold=settings.bisphosphonate_min_renal_function,
        last_renal_test=(
            LabResult(last.lab, last.value, last.at.date())
            if last is not None and last.value is not None
            else None
        ),
        pending=pending,
    )
    labs = () if pending is not None else (Lab.EGFR,)
    return Finding(Topic.BISPHOSPHONATE_RENAL_FUNCTION_UNKNOWN, Indicator.WARNING, facts, lab_orders=labs)


# --- pre-infusion-calcium-check -------------------------------------------------------------------


def _wanted_tests(
    record: PatientRecord, now: datetime, settings: RuleSettings, calcium_missing: bool, advanced_ckd: bool
) -> list[tuple[Lab, frozenset[Lab], int]]:
    """The tests missing before the dose: (the test offered, the results that count, its window)."""
    s = settings
    wanted: list[tuple[Lab, frozenset[Lab], int]] = []
    if calcium_missing:
        wanted.append((Lab.CALCIUM, _CALCIUM_TESTS, s.pre_infusion_calcium_window_days))
    d_window = s.pre_infusion_ckd_tests_window_days if advanced_ckd else s.vitamin_d_window_days
    ckd = [
        (Lab.PHOSPHATE, s.pre_infusion_ckd_tests_window_days),
        (Lab.PTH, s.pre_infusion_ckd_tests_window_days),
    ]
    for lab, window in [*(ckd if advanced_ckd else []), (Lab.VITAMIN_D, d_window)]:
        if not has_result(record, lab, now, window):
            wanted.append((lab, frozenset({lab}), window))
    return wanted


def pre_infusion_calcium(
    record: PatientRecord, now: datetime, settings: RuleSettings
) -> Finding[PreInfusionFacts] | None:
    """A draft zoledronic acid or denosumab (either strength) and: no calcium within 30 days, or
    hypocalcaemia (r3: critical, delete the draft), or 25-OH vitamin D (365 days) low with no native
    vitamin D active, or (r3) a draft denosumab with renal function < 30 or on dialysis, always.

    A native vitamin D drafted in the same order set counts as active (the prescriber is already
    repleting). The tests missing are offered (calcium; 25-OH vitamin D if none within 365 days, 92 in
    the advanced-CKD case; phosphate and PTH in the advanced-CKD case, 92 days), except those ordered
    and not yet resulted (r3). "First" infusion or antiresorptive means no exposure of that drug
    (zoledronic acid) or of any antiresorptive anywhere in the chart.
    """
    s = settings
    drafts = [d for d in record.drafts if (_ZOLEDRONIC_ACID | _DENOSUMAB) & d.classes]
    if not drafts or pregnant(record, now, s):
        return None
    reasons: list[PreInfusionReason] = []
    status = calcium_status(record, now, s, s.pre_infusion_calcium_window_days)
    last_calcium = None
    if status is None:
        reasons.append(PreInfusionReason.CALCIUM_MISSING)
        ever = calcium_status(record, now, s, (now.date() - date.min).days)
        last_calcium = ever.calcium if ever is not None else None
    elif status.low:
        reasons.append(PreInfusionReason.HYPOCALCAEMIA)
    measured_d = vitamin_d_25oh(record, now, s)
    native_d = bool(
        active(record, DrugClass.NATIVE_VITAMIN_D) or record.drafts_of(DrugClass.NATIVE_VITAMIN_D)
    )
    vitamin_d = None
    if measured_d is not None and measured_d.value is not None:
        vitamin_d = LabResult(Lab.VITAMIN_D, measured_d.value, measured_d.at.date())
        if vitamin_d.value < s.vitamin_d_deficient_ng_per_ml and not native_d:
            reasons.append(PreInfusionReason.VITAMIN_D_LOW)
    denosumab = any(_DENOSUMAB & d.classes for d in drafts)
    advanced_ckd = denosumab and renal_function_below(
        record, now, s, s.denosumab_hypocalcemia_renal_threshold, s.renal_function_window_days
    )
    if advanced_ckd:
        reasons.append(PreInfusionReason.ADVANCED_CKD)
    if not reasons:
        return None
    missing: list[Lab] = []
    pending: list[PendingTest] = []
    for lab, counted, window in _wanted_tests(
        record, now, s, PreInfusionReason.CALCIUM_MISSING in reasons, advanced_ckd
    ):
        order = ordered_not_resulted(record, counted, now, window, s)
        if order is not None and order.authored is not None:
            pending.append(PendingTest(lab, order.authored.date()))
        else:
            missing.append(lab)
    hypocalcaemia = PreInfusionReason.HYPOCALCAEMIA in reasons
    ionised = status is not None and status.ionised
    zoledronic = any(_ZOLEDRONIC_ACID & d.classes for d in drafts)
    facts = PreInfusionFacts(
        orders=draft_orders(drafts),
        reasons=tuple(reasons),
        calcium=status.calcium if status is not None else None,
        last_calcium=last_calcium,
        severe=status is not None and status.severe,
        vitamin_d=vitamin_d,
        native_vitamin_d=native_d,
        zoledronic_acid=zoledronic,
        denosumab=denosumab,
        first_zoledronic_acid=zoledronic
        and not any(record.exposures(cls) for cls in sorted(_ZOLEDRONIC_ACID)),
        first_antiresorptive=not any(record.exposures(cls) for cls in _ANTIRESORPTIVES),
        calcium_window_days=s.pre_infusion_calcium_window_days,
        low_calcium=s.ionised_low_calcium_mmol_per_l if ionised else s.low_calcium_mmol_per_l,
        vitamin_d_threshold=s.vitamin_d_deficient_ng_per_ml,
        vitamin_d_window_days=s.vitamin_d_window_days,
        renal=renal_function(record, now, s.renal_function_window_days, s) if advanced_ckd else None,
        dialysis=advanced_ckd and on_dialysis(record, now, s),
        ckd_renal_threshold=s.denosumab_hypocalcemia_renal_threshold,
        ckd_window_days=s.pre_infusion_ckd_tests_window_days,
        missing=tuple(missing),
        pending=tuple(pending),
    )
    return Finding(
        Topic.PRE_INFUSION_CALCIUM_CHECK,
        Indicator.CRITICAL if hypocalcaemia else Indicator.WARNING,
        facts,
        delete_drafts=sources(drafts) if hypocalcaemia else (),
        lab_orders=tuple(missing),
    )


# --- anabolic-duration-limit ----------------------------------------------------------------------


def _exposure_span(m: MedicationExposure, now: datetime) -> tuple[date, date, bool] | None:
    """The days one anabolic exposure covers: a statement's period throughout (to now while active), an
    active order running to now, any other exposure its own day. None when undated or in the future."""
    today = now.date()
    start_at = m.period_start if m.kind is ExposureKind.STATEMENT and m.period_start is not None else m.at
    if start_at is None or start_at.date() > today:
        return None
    start = start_at.date()
    if m.active:
        return start, today, True
    end_at = m.period_end if m.kind is ExposureKind.STATEMENT and m.period_end is not None else m.at
    end = min(max(end_at.date() if end_at is not None else start, start), today)
    return start, end, False


def anabolic_courses(
    record: PatientRecord, now: datetime, settings: RuleSettings
) -> tuple[AnabolicCourse, ...]:
    """rules.md (r3): "the cumulative anabolic time: the sum over courses, a course being exposures with
    gaps ≤ 92 days, its length last − first + 30 days, an active course running to now; teriparatide and
    abaloparatide add up"; for course lengths "a statement's effectivePeriod counts as exposure
    throughout, from its start to its end (to now while active)". Oldest course first."""
    spans = sorted(
        span
        for m in record.medications
        if DrugClass.ANABOLIC in m.classes and m.is_exposure
        for span in [_exposure_span(m, now)]
        if span is not None
    )
    merged: list[tuple[date, date, bool]] = []
    for start, end, running in spans:
        if merged and (start - merged[-1][1]).days <= settings.anabolic_course_gap_days:
            first, last, was_running = merged[-1]
            merged[-1] = (first, max(last, end), was_running or running)
        else:
            merged.append((start, end, running))
    tail = settings.anabolic_last_exposure_days
    return tuple(
        AnabolicCourse(
            first, last, (now.date() - first).days if running else (last - first).days + tail, running
        )
        for first, last, running in merged
    )


def _anabolic_time(
    orders: DrugOrders, record: PatientRecord, now: datetime, settings: RuleSettings
) -> AnabolicFacts | None:
    """The cumulative anabolic time on record, when it reaches the limit."""
    courses = anabolic_courses(record, now, settings)
    days = sum(c.days for c in courses)
    if not courses or days < settings.anabolic_max_days:
        return None
    return AnabolicFacts(
        orders,
        courses,
        days,
        settings.anabolic_max_days,
        gap_days=settings.anabolic_course_gap_days,
        pregnant=pregnant(record, now, settings),
    )


def anabolic_ordered(
    record: PatientRecord, now: datetime, settings: RuleSettings
) -> Finding[AnabolicFacts] | None:
    """A draft teriparatide/abaloparatide when the cumulative anabolic time reached the limit: warning,
    delete the draft."""
    drafts = record.drafts_of(DrugClass.ANABOLIC)
    if not drafts or pregnant(record, now, settings):
        return None
    facts = _anabolic_time(draft_orders(drafts), record, now, settings)
    if facts is None:
        return None
    return Finding(Topic.ANABOLIC_DURATION_LIMIT, Indicator.WARNING, facts, delete_drafts=sources(drafts))


def anabolic_active(
    record: PatientRecord, now: datetime, settings: RuleSettings
) -> Finding[AnabolicFacts] | None:
    """An active teriparatide/abaloparatide order (patient-view) past the limit: warning, no suggestion."""
    on_drug = active(record, DrugClass.ANABOLIC)
    if not on_drug:
        return None
    facts = _anabolic_time(chart_orders(on_drug), record, now, settings)
    if facts is None:
        return None
    return Finding(Topic.ANABOLIC_DURATION_LIMIT, Indicator.WARNING, facts)


# --- hypercalcemia-on-therapy ---------------------------------------------------------------------


def hypercalcemia_on_therapy(
    record: PatientRecord, now: datetime, settings: RuleSettings
) -> Finding[HypercalcaemiaFacts] | None:
    """Active calcium, vitamin D (native or active) or anabolic, and the latest calcium (92 days) high.

    r3: the calcium result that decides is the latest of either kind (:func:`calcium_status`): a total
    calcium albumin-corrected, above 2.60 (critical above 3.00) mmol/L, or an ionised calcium above 1.32
    (critical above 1.60) mmol/L.
    """
    s = settings
    therapies = [m for m in record.medications if m.active and _HYPERCALCAEMIC & m.classes]
    if not therapies:
        return None
    status = calcium_status(record, now, s, s.hypercalcemia_window_days)
    if status is None or not status.high:
        return None
    if status.ionised:
        threshold, severe_threshold = s.ionised_high_calcium_mmol_per_l, s.ionised_critical_calcium_mmol_per_l
    else:
        threshold, severe_threshold = s.hypercalcemia_mmol_per_l, s.severe_hypercalcemia_mmol_per_l
    facts = HypercalcaemiaFacts(
        orders=chart_orders(therapies),
        calcium=status.calcium,
        threshold=threshold,
        severe_threshold=severe_threshold,
        severe=status.critical,
        anabolic=any(DrugClass.ANABOLIC in m.classes for m in therapies),
    )
    indicator = Indicator.CRITICAL if status.critical else Indicator.WARNING
    return Finding(Topic.HYPERCALCEMIA_ON_THERAPY, indicator, facts)


RULES: tuple[Rule, ...] = (
    Rule(Topic.BISPHOSPHONATE_RENAL_CONTRAINDICATION, Moment.ORDER, bisphosphonate_renal_ordered),
    Rule(Topic.BISPHOSPHONATE_RENAL_CONTRAINDICATION, Moment.VIEW, bisphosphonate_renal_active),
    Rule(Topic.BISPHOSPHONATE_RENAL_FUNCTION_UNKNOWN, Moment.ORDER, bisphosphonate_renal_unknown),
    Rule(Topic.PRE_INFUSION_CALCIUM_CHECK, Moment.ORDER, pre_infusion_calcium),
    Rule(Topic.ANABOLIC_DURATION_LIMIT, Moment.ORDER, anabolic_ordered),
    Rule(Topic.ANABOLIC_DURATION_LIMIT, Moment.VIEW, anabolic_active),
    Rule(Topic.HYPERCALCEMIA_ON_THERAPY, Moment.VIEW, hypercalcemia_on_therapy),
)
