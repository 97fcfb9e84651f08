"""CDS Hooks 2.0 data model: discovery, cards, suggestions, feedback.

Response models serialise with ``exclude_none`` and drop empty lists and dicts, because the spec
says optional fields are omitted, never sent as null, ``[]`` or ``{}``.
"""

from __future__ import annotations

import uuid as _uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


def new_uuid() -> str:
    return str(_uuid.uuid4())


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def to_json(self) -> dict[str, Any]:
        """The wire form: aliases, no nulls, no empty collections."""
        pruned: dict[str, Any] = _prune(self.model_dump(by_alias=True, exclude_none=True))
        return pruned


def _prune(value: Any) -> Any:
    """``value`` without the nulls, ``{}`` and ``[]`` of its dicts, at every depth.

    Every hook answer prunes its cards (a FHIR resource in a suggestion too): one pass that tests
    each value's type once, about eight times quicker than comparing each with ``{}``, ``[]`` and
    ``None`` (tests/cds_hooks/test_models.py holds it to that definition).
    """
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if item is None:
                continue
            if isinstance(item, dict | list):
                item = _prune(item)
                if not item:
                    continue
            out[key] = item
        return out
    if isinstance(value, list):
        return [_prune(item) if isinstance(item, dict | list) else item for item in value]
    return value


class Coding(_Out):
    system: str | None = None
    code: str
    display: str | None = None


class Source(_Out):
    label: str
    url: str | None = None
    icon: str | None = None
    topic: Coding | None = None


class Action(_Out):
    """One action of a suggestion. A delete names one resource: ``resourceId`` is a single relative
    reference (``"MedicationRequest/d1"``, the logical model's ``resourceId 0..1 url``); removing
    several resources takes one delete action each."""

    type: Literal["create", "update", "delete"]
    description: str
    resource: dict[str, Any] | None = None
    resource_id: str | None = Field(default=None, alias="resourceId", min_length=1)


class Suggestion(_Out):
    label: str
    uuid: str = Field(default_factory=new_uuid)
    is_recommended: bool | None = Field(default=None, alias="isRecommended")
    actions: list[Action] = Field(default_factory=list)


class Link(_Out):
    label: str
    url: str
    type: Literal["absolute", "smart"] = "absolute"
    app_context: str | None = Field(default=None, alias="appContext")


class Card(_Out):
    summary: str = Field(max_length=140)
    indicator: Literal["info", "warning", "critical"]
    source: Source
    uuid: str = Field(default_factory=new_uuid)
    detail: str | None = None
    suggestions: list[Suggestion] = Field(default_factory=list)
    selection_behavior: Literal["at-most-one", "any"] | None = Field(default=None, alias="selectionBehavior")
    override_reasons: list[Coding] = Field(default_factory=list, alias="overrideReasons")
    links: list[Link] = Field(default_factory=list)


class ServiceDefinition(_Out):
    hook: str
    id: str
    title: str
    description: str
    prefetch: dict[str, str] | None = None
    usage_requirements: str | None = Field(default=None, alias="usageRequirements")
    # Prefetch keys the service can answer without: when such a key was not sent and cannot be fetched
    # (no fhirServer, one not allowed, or a failing one), the hook is served without it (the key is absent
    # from HookCall.data) instead of answering 412. Not part of discovery.
    optional_prefetch: frozenset[str] = Field(default=frozenset(), exclude=True)


class FeedbackOverrideReason(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    reason: Coding | None = None
    user_comment: str | None = Field(default=None, alias="userComment")


class FeedbackItem(BaseModel):
    """One item of ``POST /cds-services/{id}/feedback`` (CDS Hooks 2.0 §Feedback)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    card: str
    outcome: Literal["accepted", "overridden"]
    outcome_timestamp: str = Field(alias="outcomeTimestamp")
    accepted_suggestions: list[dict[str, Any]] | None = Field(default=None, alias="acceptedSuggestions")
    override_reason: FeedbackOverrideReason | None = Field(default=None, alias="overrideReason")


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    feedback: list[FeedbackItem] = Field(min_length=1)
