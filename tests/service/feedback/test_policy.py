"""What an override means, as pure functions: periods, the critical cap, the folded card, listening."""

from __future__ import annotations

from datetime import timedelta

import pytest

from service.feedback.policy import (
    Active,
    Issued,
    Kind,
    Periods,
    SeenAtSelect,
    listen,
    suppressions_for,
)
from service.kernel.findings import Finding, Indicator, OverrideReason, Topic
from tests.builders import NOW

PERIODS = Periods(
    remind_later=timedelta(days=30),
    patient_declined=timedelta(days=183),
    not_applicable=timedelta(days=365),
    addressed_elsewhere=timedelta(days=92),
    critical_max=timedelta(days=30),
    draft_override=timedelta(hours=24),
)
VITD = Topic.VITAMIN_D_DEFICIENCY
TZD = Topic.TZD_FRACTURE_RISK


@pytest.mark.parametrize(
    ("reason", "indicator", "days"),
    [
        ("remind-later", Indicator.INFO, 30),
        ("patient-declined", Indicator.WARNING, 183),
        ("not-applicable", Indicator.INFO, 365),
        ("addressed-elsewhere", Indicator.WARNING, 92),
        ("not-applicable", Indicator.CRITICAL, 30),
        ("patient-declined", Indicator.CRITICAL, 30),
        ("remind-later", Indicator.CRITICAL, 30),
    ],
)
def test_each_reason_quiets_for_its_period_and_critical_at_most_30_days(
    reason: str, indicator: Indicator, days: int
) -> None:
    assert PERIODS.quiet(reason, indicator) == timedelta(days=days)


@pytest.mark.parametrize("reason", ["benefit-outweighs-risk", "Remind me later", "", "snooze"])
def test_other_codes_quiet_nothing(reason: str) -> None:
    assert PERIODS.quiet(reason, Indicator.INFO) is None


def test_a_patient_view_override_sets_one_quiet_row() -> None:
    card = Issued("p1", "patient-view", VITD.value, ((VITD.value, Indicator.INFO),))
    (made,) = suppressions_for(card, "remind-later", NOW, PERIODS)
    assert (made.topic, made.kind, made.until) == (VITD.value, Kind.QUIET, NOW + timedelta(days=30))


def test_an_order_time_override_holds_its_drafts_whatever_the_reason() -> None:
    card = Issued(
        "p1", "order-sign", TZD.value, ((TZD.value, Indicator.WARNING),), ("MedicationRequest/a#1",)
    )
    made = suppressions_for(card, OverrideReason.BENEFIT_OUTWEIGHS_RISK.value, NOW, PERIODS)
    assert [(m.kind, m.drafts, m.until) for m in made] == [
        (Kind.DRAFT, ("MedicationRequest/a#1",), NOW + timedelta(hours=24))
    ]
    both = suppressions_for(card, "patient-declined", NOW, PERIODS)
    assert {m.kind for m in both} == {Kind.QUIET, Kind.DRAFT}


def test_the_folded_card_quiets_its_topics_only_for_remind_later() -> None:
    covers = ((VITD.value, Indicator.INFO), (Topic.OBESITY_BONE_ASSESSMENT.value, Indicator.INFO))
    card = Issued("p1", "patient-view", "more-findings", covers)
    made = suppressions_for(card, "remind-later", NOW, PERIODS)
    assert {(m.topic, m.until) for m in made} == {(t, NOW + timedelta(days=30)) for t, _ in covers}
    for reason in ("patient-declined", "not-applicable", "addressed-elsewhere", "benefit-outweighs-risk"):
        assert suppressions_for(card, reason, NOW, PERIODS) == []


def _quiet(topic: Topic, indicator: Indicator, ident: int = 1) -> Active:
    return Active(ident, topic.value, Kind.QUIET, indicator, frozenset(), NOW + timedelta(days=1))


def test_a_quiet_topic_is_left_out_at_patient_view_unless_its_indicator_rose() -> None:
    info = Finding(VITD, Indicator.INFO)
    warning = Finding(VITD, Indicator.WARNING)
    quiet = [_quiet(VITD, Indicator.INFO, 7)]
    assert listen([info], "patient-view", lambda f: frozenset(), quiet).findings == ()
    risen = listen([warning], "patient-view", lambda f: frozenset(), quiet)
    assert (risen.findings, risen.risen) == ((warning,), (7,))
    fell = listen([info], "patient-view", lambda f: frozenset(), [_quiet(VITD, Indicator.WARNING)])
    assert fell.findings == ()


def test_quiet_rows_do_not_silence_order_time_cards() -> None:
    finding = Finding(TZD, Indicator.WARNING)
    quiet = [_quiet(TZD, Indicator.WARNING)]
    assert listen([finding], "order-sign", lambda f: frozenset({"d#1"}), quiet).findings == (finding,)


def test_an_order_time_override_covers_the_same_drafts_only() -> None:
    finding = Finding(TZD, Indicator.CRITICAL)
    held = [Active(1, TZD.value, Kind.DRAFT, Indicator.WARNING, frozenset({"a#1", "b#1"}), NOW)]
    assert listen([finding], "order-select", lambda f: frozenset({"a#1"}), held).findings == ()
    assert listen([finding], "order-sign", lambda f: frozenset({"a#2"}), held).findings == (finding,)
    assert listen([finding], "order-sign", lambda f: frozenset({"a#1", "c#1"}), held).findings == (finding,)
    assert listen([finding], "order-sign", lambda f: frozenset(), held).findings == (finding,)


@pytest.mark.parametrize(
    ("shown", "now", "repeated"),
    [
        (Indicator.WARNING, Indicator.WARNING, False),
        (Indicator.WARNING, Indicator.INFO, False),
        (Indicator.INFO, Indicator.WARNING, True),  # risen: new
        (Indicator.CRITICAL, Indicator.CRITICAL, True),  # critical always stands at order-sign
    ],
)
def test_order_sign_repeats_only_what_is_new_or_critical(
    shown: Indicator, now: Indicator, repeated: bool
) -> None:
    finding = Finding(TZD, now)
    seen = [SeenAtSelect(TZD.value, shown, frozenset({"a#1"}))]
    standing = listen([finding], "order-sign", lambda f: frozenset({"a#1"}), [], seen).findings
    assert (standing == (finding,)) is repeated
    # order-select itself never filters its own repeats
    assert listen([finding], "order-select", lambda f: frozenset({"a#1"}), [], seen).findings == (finding,)
