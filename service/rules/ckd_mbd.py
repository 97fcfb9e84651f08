"""CKD–mineral and bone disorder in advanced diabetic kidney disease (T2DM review sections 1.3, 1.4; KDIGO).

``ckd-mineral-bone-workup`` (r3): with eGFR below 30 or on dialysis and bone fragility, the tests that
tell CKD–MBD from osteoporosis before and during antiresorptive treatment.
"""

from __future__ import annotations

from datetime import datetime

from service.kernel.facts.calcium import PendingTest
from service.kernel.facts.ckd_mbd import CkdMbdFacts
from service.kernel.findings import Finding, Indicator, Topic
from service.kernel.record import Lab, PatientRecord
from service.kernel.thresholds import RuleSettings
from service.rules._registry import Moment, Rule
from service.rules.definitions import (
    bone_fragility,
    egfr,
    has_result,
    has_t2dm,
    on_dialysis,
    ordered_not_resulted,
)

#: The CKD–MBD tests, each with the results that count as it: a calcium of either kind; alkaline
#: phosphatase total or bone-specific (KDIGO reads either).
_TESTS: tuple[tuple[Lab, frozenset[Lab]], ...] = (
    (Lab.CALCIUM, frozenset({Lab.CALCIUM, Lab.IONISED_CALCIUM})),
    (Lab.PTH, frozenset({Lab.PTH})),
    (Lab.PHOSPHATE, frozenset({Lab.PHOSPHATE})),
    (Lab.VITAMIN_D, frozenset({Lab.VITAMIN_D})),
    (Lab.ALKALINE_PHOSPHATASE, frozenset({Lab.ALKALINE_PHOSPHATASE, Lab.BONE_ALP})),
)


def ckd_mineral_bone_workup(
    record: PatientRecord, now: datetime, settings: RuleSettings
) -> Finding[CkdMbdFacts] | None:
    """rules.md `ckd-mineral-bone-workup` (r3): T2DM, eGFR within 365 days < 30 (eGFR alone) or on
    dialysis, BF, and any of calcium, PTH, phosphate, 25-OH vitamin D, alkaline phosphatase without a result
    within 365 days: info, one ServiceRequest per missing test.

    A test ordered and not yet resulted is not offered (the card says so). A test that
    ``monitoring-overdue`` offers is left to that card by the answer's one-offer-per-test (which mentions
    it here); the card fires only while at least one test is left for it to offer, which
    :mod:`service.rules.precedence` decides once both rules ran.
    """
    s = settings
    if not has_t2dm(record):
        return None
    kidney = egfr(record, now, s.ckd_mbd_egfr_window_days)
    dialysis = on_dialysis(record, now, s)
    if not dialysis and (kidney is None or kidney.value >= s.ckd_mbd_egfr_threshold):
        return None
    fragility = bone_fragility(record, now, s)
    if fragility is None:
        return None
    missing: list[Lab] = []
    pending: list[PendingTest] = []
    for lab, same in _TESTS:
        if has_result(record, same, now, s.ckd_mbd_test_interval_days):
            continue
        order = ordered_not_resulted(record, same, now, s.ckd_mbd_test_interval_days, s)
        if order is not None and order.authored is not None:
            pending.append(PendingTest(lab, order.authored.date()))
        else:
            missing.append(lab)
    if not missing:
        return None
    facts = CkdMbdFacts(
        egfr=kidney,
        egfr_threshold=s.ckd_mbd_egfr_threshold,
        dialysis=dialysis,
        fragility=fragility,
        interval_days=s.ckd_mbd_test_interval_days,
        missing=tuple(missing),
        pending=tuple(pending),
    )
    return Finding(Topic.CKD_MINERAL_BONE_WORKUP, Indicator.INFO, facts, lab_orders=tuple(missing))


RULES: tuple[Rule, ...] = (Rule(Topic.CKD_MINERAL_BONE_WORKUP, Moment.VIEW, ckd_mineral_bone_workup),)
