"""Every evaluation of the same record, on any day and at any moment, gives the same due date.

rules.md "Reminders": the service keeps one reminder per (patient, topic, due date), so a due date
that drifted with the clock would schedule a new reminder every day. Each time-bound topic is
evaluated here on many days around its due date; the card shows exactly from the due date on
(sequencing of a stopped course: at once, its reminder due on D + 183).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.kernel.findings import TIME_BOUND_TOPICS, Topic
from service.kernel.record import ExposureKind, Lab, PatientRecord
from service.kernel.thresholds import RuleSettings
from service.rules import Moment, evaluate
from tests.builders import NOW, lab, record
from tests.service.rules._bone_therapy_records import alendronate, denosumab

S = RuleSettings()
TODAY = NOW.date()


def day(offset: int) -> date:
    return TODAY + timedelta(days=offset)


def due_dates(rec: PatientRecord, topic: Topic, now: datetime, moment: Moment) -> tuple[set[date], bool]:
    """The due dates the evaluation reports for ``topic``, and whether its card shows."""
    result = evaluate(rec, now, S, moment)
    dues = {f.due for f in result.reminders if f.topic is topic and f.due is not None}
    shown = any(f.topic is topic for f in result.cards)
    return dues, shown


# (topic, record, expected due, first and last evaluation day relative to NOW, card shows from)
STOPPED_150 = record(denosumab(155, kind=ExposureKind.REQUEST, status="stopped"), denosumab(150))

CASES = [
    pytest.param(
        Topic.DENOSUMAB_DOSE_DUE,
        record(denosumab(150)),
        day(33),  # D + 183
        (0, 580),  # until D + 730: then the patient belongs to osteoporosis-untreated
        day(33),
        id="dose-due",
    ),
    pytest.param(
        Topic.DENOSUMAB_SEQUENCING_MISSING,
        STOPPED_150,
        day(33),  # D + 183 (r3); the card shows at once, the course being stopped
        (0, 580),
        day(0),
        id="sequencing-stopped",
    ),
    pytest.param(
        Topic.DENOSUMAB_HYPOCALCEMIA_MONITORING,
        record(denosumab(20), labs=(lab(Lab.EGFR, 25, 10), lab(Lab.CALCIUM, 2.3, 17))),
        day(-9),  # calcium on D + 3: weekly from D + 11, then monthly without a gap
        (-10, 300),
        day(-9),
        id="hypocalcemia-weekly-then-monthly",
    ),
    pytest.param(
        Topic.DENOSUMAB_HYPOCALCEMIA_MONITORING,
        record(denosumab(40), labs=(lab(Lab.EGFR, 25, 12), lab(Lab.CALCIUM, 2.3, 12))),
        day(19),  # calcium on day 28 after the dose + 31 days
        (-12, 300),
        day(19),
        id="hypocalcemia-monthly",
    ),
    pytest.param(
        Topic.MONITORING_OVERDUE,
        record(
            alendronate(800),
            labs=(lab(Lab.CALCIUM, 2.3, 100), lab(Lab.EGFR, 70, 300), lab(Lab.CTX, 0.3, 200)),
        ),
        day(66),  # eGFR 300 days ago + 366
        (0, 500),
        day(66),
        id="monitoring-oldest-test",
    ),
    pytest.param(
        Topic.MONITORING_OVERDUE,
        record(alendronate(800), labs=(lab(Lab.CALCIUM, 2.3, 10), lab(Lab.EGFR, 70, 10))),
        day(-800),  # the turnover marker was never done: due since the therapy's first date
        (-10, 300),
        day(-800),
        id="monitoring-never-done",
    ),
]


@pytest.mark.parametrize(("topic", "rec", "due", "span", "shows_from"), CASES)
@pytest.mark.parametrize("moment", [Moment.VIEW, Moment.ORDER])
def test_the_due_date_does_not_move_with_the_clock(
    topic: Topic,
    rec: PatientRecord,
    due: date,
    span: tuple[int, int],
    shows_from: date,
    moment: Moment,
) -> None:
    assert topic in TIME_BOUND_TOPICS
    first, last = span
    around = {(edge - TODAY).days + k for edge in (due, shows_from) for k in (-1, 0, 1)}
    offsets = sorted({*range(first, last + 1, 7), last, *around} & set(range(first, last + 1)))
    for offset in offsets:
        now = NOW + timedelta(days=offset)
        dues, shown = due_dates(rec, topic, now, moment)
        assert dues == {due}, f"{topic} evaluated on {now.date()}"
        # cards show only at patient-view; at order hooks the finding only keeps its reminder
        assert shown is (moment is Moment.VIEW and now.date() >= shows_from), f"{topic} on {now.date()}"


def test_a_new_dose_moves_the_due_dates_with_it() -> None:
    before = evaluate(record(denosumab(150)), NOW, S, Moment.VIEW)
    after = evaluate(record(denosumab(150), denosumab(1)), NOW, S, Moment.VIEW)
    due = {f.topic: f.due for f in before.reminders}
    moved = {f.topic: f.due for f in after.reminders}
    assert due[Topic.DENOSUMAB_DOSE_DUE] == day(33) and moved[Topic.DENOSUMAB_DOSE_DUE] == day(182)
    stopped_after = evaluate(record(*STOPPED_150.medications, denosumab(1)), NOW, S, Moment.VIEW)
    assert {f.topic: f.due for f in stopped_after.reminders}[Topic.DENOSUMAB_SEQUENCING_MISSING] == day(182)


def test_a_gap_between_the_weekly_and_monthly_checks_moves_the_reminder_to_the_monthly_one() -> None:
    # calcium on D + 10: weekly checks due from D + 18 to D + 34; on D + 35 the calcium is 25 days old,
    # within the monthly interval, which runs out on D + 41
    rec = record(denosumab(20), labs=(lab(Lab.EGFR, 25, 10), lab(Lab.CALCIUM, 2.3, 10)))
    assert due_dates(rec, Topic.DENOSUMAB_HYPOCALCEMIA_MONITORING, NOW, Moment.VIEW) == ({day(-2)}, True)
    later = NOW + timedelta(days=15)  # D + 35
    assert due_dates(rec, Topic.DENOSUMAB_HYPOCALCEMIA_MONITORING, later, Moment.VIEW) == ({day(21)}, False)


def test_sequencing_ends_every_denosumab_reminder_but_monitoring() -> None:
    rec = record(denosumab(150), alendronate(10))
    topics = {f.topic for f in evaluate(rec, NOW, S, Moment.VIEW).reminders}
    assert Topic.DENOSUMAB_DOSE_DUE not in topics
    assert Topic.DENOSUMAB_SEQUENCING_MISSING not in topics
    assert Topic.MONITORING_OVERDUE in topics


@settings(max_examples=60, deadline=None)
@given(last_dose=st.integers(min_value=0, max_value=800), later=st.integers(min_value=0, max_value=400))
def test_denosumab_due_dates_hold_for_any_dose_day_and_any_evaluation_day(last_dose: int, later: int) -> None:
    going = record(denosumab(last_dose))
    stopped = record(
        denosumab(last_dose + 5, kind=ExposureKind.REQUEST, status="stopped"), denosumab(last_dose)
    )
    d = day(-last_dose)
    for now in (NOW, NOW + timedelta(days=later)):
        found = {f.topic: f.due for f in evaluate(going, now, S, Moment.VIEW).reminders}
        assert Topic.DENOSUMAB_SEQUENCING_MISSING not in found  # a continuing course
        ended = {f.topic: f.due for f in evaluate(stopped, now, S, Moment.VIEW).reminders}
        assert Topic.DENOSUMAB_DOSE_DUE not in ended  # a stopped one
        if (now.date() - d).days <= 730:
            assert found[Topic.DENOSUMAB_DOSE_DUE] == d + timedelta(days=183)
            assert ended[Topic.DENOSUMAB_SEQUENCING_MISSING] == d + timedelta(days=183)
        else:
            assert Topic.DENOSUMAB_DOSE_DUE not in found
            assert Topic.DENOSUMAB_SEQUENCING_MISSING not in ended
