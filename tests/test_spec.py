"""The specification copied into docs/spec/ and the code agree on which topics exist."""

from __future__ import annotations

import re

from service.kernel.findings import Topic
from tests.conftest import REPO

SPEC = REPO / "docs" / "spec" / "rules.md"

#: Topics that rules.md revision 3 adds and the code does not implement yet (each one is an open issue).
#: Remove a topic from here when its rule lands; the test then holds the code to it.
NOT_YET_BUILT = frozenset({})


def spec_topics() -> set[str]:
    """Every topic code that heads a row of the rule tables in docs/spec/rules.md."""
    return set(re.findall(r"^\| `([a-z0-9-]+)`", SPEC.read_text(), flags=re.M))


def test_every_specified_topic_is_a_rule_and_every_rule_is_specified() -> None:
    built = {t.value for t in Topic}
    assert spec_topics() - NOT_YET_BUILT == built


def test_the_topics_not_yet_built_are_all_still_in_the_specification() -> None:
    assert spec_topics() >= NOT_YET_BUILT
    assert not ({t.value for t in Topic} & NOT_YET_BUILT)
