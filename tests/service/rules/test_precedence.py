"""The relations between topics of one evaluation (rules.md), on findings alone."""

from __future__ import annotations

from service.kernel.findings import Finding, Indicator, Topic
from service.kernel.record import Lab
from service.rules.precedence import gives_way, standing

UNTREATED = Finding(Topic.OSTEOPOROSIS_UNTREATED, Indicator.WARNING)
CKD = Finding(Topic.CKD_MINERAL_BONE_WORKUP, Indicator.INFO, lab_orders=(Lab.PTH, Lab.ALKALINE_PHOSPHATASE))


def test_osteoporosis_untreated_gives_way_while_a_denosumab_card_fires() -> None:
    for topic in (Topic.DENOSUMAB_DOSE_DUE, Topic.DENOSUMAB_SEQUENCING_MISSING):
        assert gives_way(UNTREATED, {topic: Finding(topic, Indicator.WARNING)})
        not_yet = Finding(topic, Indicator.WARNING, fires=False)  # kept for its reminder only
        assert not gives_way(UNTREATED, {topic: not_yet})
    assert not gives_way(
        UNTREATED, {Topic.MONITORING_OVERDUE: Finding(Topic.MONITORING_OVERDUE, Indicator.WARNING)}
    )


def test_ckd_workup_fires_only_while_a_test_is_left_that_monitoring_does_not_offer() -> None:
    monitoring = Finding(Topic.MONITORING_OVERDUE, Indicator.WARNING, lab_orders=(Lab.PTH,))
    assert not gives_way(CKD, {Topic.MONITORING_OVERDUE: monitoring})
    every = Finding(
        Topic.MONITORING_OVERDUE, Indicator.WARNING, lab_orders=(Lab.PTH, Lab.ALKALINE_PHOSPHATASE)
    )
    assert gives_way(CKD, {Topic.MONITORING_OVERDUE: every})
    assert not gives_way(CKD, {})
    assert standing([CKD, every], {Topic.MONITORING_OVERDUE: every}) == [every]
