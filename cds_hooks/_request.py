"""Validation of hook and feedback requests against CDS Hooks 2.0.

Everything a client can get wrong is found here and becomes a 400 naming the field, before any
data is fetched or any service code runs. Incomplete draft orders are not errors: EHRs call
order-select while the clinician is still typing, so a MedicationRequest with no medication or no
intent yet is passed on for the rules to skip.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cds_hooks import _json
from cds_hooks.errors import CdsError, invalid
from cds_hooks.models import FeedbackRequest

_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
MAX_HOOK_INSTANCE = 128
_M = TypeVar("_M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class HookRequest:
    """A hook request that passed validation."""

    hook: str
    hook_instance: str
    fhir_server: str | None
    access_token: str | None  # from fhirAuthorization; never logged
    context: Mapping[str, Any]  # as sent
    patient_id: str  # bare id ("Patient/123" becomes "123"); "" for a hook without a patient
    prefetch: Mapping[str, Any] | None  # None when the client sent no prefetch at all


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow", populate_by_name=True)


class _FhirAuthorization(_Strict):
    # The spec marks token_type, expires_in, scope and subject required too; only the token is
    # needed to call the FHIR server, so the rest is type-checked when present, not demanded.
    # The token goes into an HTTP header: printable ASCII only (RFC 6750's b64token is a subset).
    access_token: str = Field(pattern=r"^[\x21-\x7e]{1,8192}$")
    token_type: str | None = None
    expires_in: int | None = None
    scope: str | None = None
    subject: str | None = None
    patient: str | None = None


class _Envelope(_Strict):
    hook: str
    # A UUID by the spec; bounded so a hostile value cannot bloat the log line or the audit row.
    hook_instance: str = Field(alias="hookInstance", min_length=1, max_length=MAX_HOOK_INSTANCE)
    fhir_server: str | None = Field(default=None, alias="fhirServer")
    fhir_authorization: _FhirAuthorization | None = Field(default=None, alias="fhirAuthorization")
    context: dict[str, Any]
    prefetch: dict[str, dict[str, Any] | None] | None = None


class _AnyHookContext(_Strict):
    """Hooks this package has no table for: type-check the usual fields, demand none."""

    user_id: str | None = Field(default=None, alias="userId")
    patient_id: str | None = Field(default=None, alias="patientId")
    encounter_id: str | None = Field(default=None, alias="encounterId")


class _PatientViewContext(_Strict):
    user_id: str = Field(alias="userId")
    patient_id: str = Field(alias="patientId")
    encounter_id: str | None = Field(default=None, alias="encounterId")


class _OrderSignContext(_PatientViewContext):
    draft_orders: dict[str, Any] = Field(alias="draftOrders")


class _OrderSelectContext(_OrderSignContext):
    selections: list[str]


HOOK_CONTEXTS: dict[str, type[_Strict]] = {
    "patient-view": _PatientViewContext,
    "order-select": _OrderSelectContext,
    "order-sign": _OrderSignContext,
}


def check_content_type(content_type: str | None) -> None:
    """415 when the request declares a media type that is not JSON (``application/json``,
    ``application/fhir+json`` or any ``+json`` type, parameters such as ``charset`` allowed). A
    request with no Content-Type is read as JSON."""
    if content_type is None or not content_type.strip():
        return
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        return
    raise CdsError(
        415,
        "not-supported",
        f"Content-Type {media_type or content_type.strip()!r} is not JSON; send application/json or application/fhir+json",
    )


def parse_hook_request(raw: bytes, hook: str) -> HookRequest:
    """Validate a hook call for a service that answers ``hook``; raises a 400 :class:`CdsError`."""
    try:
        return _parse_hook_request(raw, hook)
    except RecursionError:  # Bundles nested hundreds deep (JSON itself stops at 1024 levels)
        raise CdsError(400, "structure", "request is nested too deeply") from None


def _parse_hook_request(raw: bytes, hook: str) -> HookRequest:
    body = _json_object(raw)
    envelope = _validate(_Envelope, body, prefix="")
    if envelope.hook != hook:
        raise invalid("hook", f"this service answers '{hook}', not '{envelope.hook}'")
    if envelope.fhir_authorization is not None and envelope.fhir_server is None:
        raise invalid("fhirServer", "required when fhirAuthorization is given", code="required")
    if envelope.fhir_server is not None:
        _check_base_url(envelope.fhir_server)

    context = envelope.context
    _validate(HOOK_CONTEXTS.get(hook, _AnyHookContext), context, prefix="context")
    patient_id = _bare_patient_id(context.get("patientId"))
    if "draftOrders" in context:
        _check_bundle(context["draftOrders"], "context.draftOrders")
    if isinstance(context.get("selections"), list):
        _check_selections(context["selections"], context.get("draftOrders"))
    if envelope.prefetch is not None:
        for key, value in envelope.prefetch.items():
            if value is not None:
                check_resource(value, f"prefetch.{key}")

    return HookRequest(
        hook=envelope.hook,
        hook_instance=envelope.hook_instance,
        fhir_server=envelope.fhir_server,
        access_token=envelope.fhir_authorization.access_token if envelope.fhir_authorization else None,
        context=context,
        patient_id=patient_id,
        prefetch=envelope.prefetch,
    )


def parse_feedback(raw: bytes) -> FeedbackRequest:
    """Validate ``{"feedback": [...]}``; raises a 400 :class:`CdsError`."""
    return _validate(FeedbackRequest, _json_object(raw), prefix="")


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = _json.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise CdsError(400, "structure", f"request body is not valid JSON: {exc.msg}") from exc
    if not isinstance(body, dict):
        raise CdsError(400, "structure", "request body must be a JSON object")
    return body


def _validate(model: type[_M], value: Any, prefix: str) -> _M:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = _path(prefix, first["loc"])
        if first["type"] == "missing":
            raise invalid(field, "required field is missing", code="required") from exc
        raise invalid(field, plain_problem(first["type"], first["msg"], first.get("input"))) from exc


# Pydantic's type errors name Python types ("a valid dictionary or instance of _FhirAuthorization"):
# a client reads JSON, so these say which JSON type was expected and which one came.
_EXPECTED = {
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "list_type": "an array",
    "string_type": "a string",
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "a boolean",
}


def plain_problem(error_type: str, message: str, value: Any) -> str:
    """A validation problem in JSON terms: ``expected an object, got an array``."""
    expected = _EXPECTED.get(error_type)
    return f"expected {expected}, got {json_kind(value)}" if expected else message


def json_kind(value: Any) -> str:
    """The JSON type of a parsed value, as a phrase: "an array", "a string", "null"..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "a value of another kind"


def _path(prefix: str, loc: Sequence[int | str]) -> str:
    """Pydantic's location tuple as a FHIRPath-like string: ``context.selections[0]``."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else part
    return path


def _check_base_url(url: str) -> None:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise invalid("fhirServer", "is not a URL") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise invalid("fhirServer", "must be an absolute http(s) URL")
    if parsed.userinfo:
        raise invalid("fhirServer", "must not carry credentials (they belong in fhirAuthorization)")


def _bare_patient_id(value: Any) -> str:
    if value is None:
        return ""
    bare = value.removeprefix("Patient/")
    if not _FHIR_ID.fullmatch(bare):
        raise invalid("context.patientId", "must be a FHIR id or 'Patient/<id>'")
    return bare


def check_resource(value: dict[str, Any], path: str) -> None:
    resource_type = value.get("resourceType")
    if not isinstance(resource_type, str):
        raise invalid(f"{path}.resourceType", "a FHIR resource needs a string resourceType")
    if resource_type == "Bundle":
        _check_bundle(value, path)


def _check_bundle(value: Any, path: str) -> None:
    """A Bundle whose structure the protocol reads (entries, resources, links) is well-typed."""
    if not isinstance(value, dict) or value.get("resourceType") != "Bundle":
        raise invalid(path, "must be a FHIR Bundle")
    entries = value.get("entry", [])
    if not isinstance(entries, list):
        raise invalid(f"{path}.entry", "must be an array")
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise invalid(f"{path}.entry[{i}]", "must be an object")
        resource = entry.get("resource")
        if resource is not None:
            if not isinstance(resource, dict):
                raise invalid(f"{path}.entry[{i}].resource", "must be an object")
            check_resource(resource, f"{path}.entry[{i}].resource")
    links = value.get("link", [])
    if not isinstance(links, list):
        raise invalid(f"{path}.link", "must be an array")
    for i, link in enumerate(links):
        if not isinstance(link, dict) or not isinstance(link.get("url"), str):
            raise invalid(f"{path}.link[{i}]", "must be an object with a string url")


def _check_selections(selections: Sequence[Any], draft_orders: Mapping[str, Any] | None) -> None:
    drafts = {
        f"{resource.get('resourceType')}/{resource.get('id')}"
        for entry in (draft_orders or {}).get("entry", [])
        if isinstance(resource := entry.get("resource"), dict)
    }
    for i, selection in enumerate(selections):
        if not isinstance(selection, str):
            raise invalid(f"context.selections[{i}]", "must be a string")
        if selection not in drafts:
            raise invalid(f"context.selections[{i}]", "names no entry of context.draftOrders")


def preferred_language(accept_language: str | None, languages: Sequence[str] = ("en",)) -> str:
    """The one of ``languages`` (language codes, the first the default) that the client prefers.

    The tag with the highest q-value decides (the first of equals); its primary subtag is matched
    against ``languages``, so ``zh``, ``zh-CN``, ``zh-TW``, ``zh-Hant`` and ``zh-HK`` all get ``zh``.
    A most preferred tag that is not offered (``de`` in ``de, zh;q=0.1``), ``*``, a q of 0 or no
    header at all get the default.
    """
    best_tag, best_q = "", 0.0
    for part in (accept_language or "").split(","):
        tag, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and quality > best_q:
            best_tag, best_q = tag, quality
    primary = re.split(r"[-_]", best_tag, maxsplit=1)[0].lower()
    offered = {language.lower(): language for language in languages}
    return offered.get(primary, languages[0])
