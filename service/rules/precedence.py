"""Where one topic gives way to another in the same evaluation (rules.md), applied after every rule ran.

The rules stay independent of each other: each reads the record alone, and the relations the
specification draws between topics live here, where they read like the specification.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from service.kernel.findings import AnyFinding, Topic

#: rules.md `osteoporosis-untreated`: silent "while denosumab-dose-due or denosumab-sequencing-missing
#: fires" (the denosumab card owns that patient's treatment).
DENOSUMAB_TOPICS: frozenset[Topic] = frozenset({Topic.DENOSUMAB_SEQUENCING_MISSING, Topic.DENOSUMAB_DOSE_DUE})


def gives_way(finding: AnyFinding, found: Mapping[Topic, AnyFinding]) -> bool:
    """Whether ``finding`` is silenced by another topic's finding of the same evaluation (``found``:
    every finding the evaluation made, shown or not, by topic)."""
    if finding.topic is Topic.OSTEOPOROSIS_UNTREATED:
        return any(_fires(found.get(topic)) for topic in DENOSUMAB_TOPICS)
    if finding.topic is Topic.CKD_MINERAL_BONE_WORKUP:
        # "A test that monitoring-overdue offers in the same answer is not offered here (the card mentions
        # it); the card fires only while at least one test is left for it to offer."
        monitoring = found.get(Topic.MONITORING_OVERDUE)
        offered = set(monitoring.lab_orders) if monitoring is not None and monitoring.fires else set()
        return not set(finding.lab_orders) - offered
    return False


def standing(cards: Sequence[AnyFinding], found: Mapping[Topic, AnyFinding]) -> list[AnyFinding]:
    """The cards that do not give way."""
    return [f for f in cards if not gives_way(f, found)]


def _fires(finding: AnyFinding | None) -> bool:
    return finding is not None and finding.fires
