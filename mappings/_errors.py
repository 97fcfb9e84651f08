"""The one error the mapping raises: a resource the rules read is malformed (the app answers 400)."""

from __future__ import annotations


class MappingError(ValueError):
    """A relevant FHIR resource cannot be read; names the resource and the FHIR path at fault."""

    def __init__(self, resource: str, field: str, detail: str = "") -> None:
        self.resource = resource  # "Observation/abc", or "Observation[3]" when it has no id
        self.field = field  # FHIR path, e.g. "Observation.valueQuantity.value"
        self.detail = detail
        super().__init__(f"{field} of {resource}: {detail or 'invalid'}")
