"""Prefetch: render a service's templates and resolve each key to a list of FHIR resources.

For every key of the service's prefetch templates (CDS Hooks 2.0 §Prefetch):

- sent with a value: a Bundle gives its entries (remaining ``next`` pages are fetched from
  ``fhirServer``), a single resource gives ``[resource]``;
- sent as ``null``: the EHR says there is no such data, so ``[]`` and nothing is fetched;
- sent as an OperationOutcome (the EHR failed to prefetch it), or not sent at all: the template is
  rendered and fetched from ``fhirServer``.

A key the service declares optional (``ServiceDefinition.optional_prefetch``) that cannot be had that way
(no ``fhirServer``, one not allowed, a failing one, a token the request cannot fill, or more pages that
cannot be read) is left out of the result instead of being a 412: the service answers without it.

A key whose template reads one resource (``Patient/{{context.patientId}}``) must be sent as that
resource (or a Bundle of nothing but it): another resource type or another id is a 400 naming
``prefetch.<key>`` (a chart prefetched for the wrong patient must not be evaluated as this one's).

Tokens are ``{{context.<field>}}`` (a root-level primitive field of the hook context) and
``{{userPractitionerId}}``, ``{{userPractitionerRoleId}}``, ``{{userPatientId}}``,
``{{userRelatedPersonId}}`` (the id part of ``context.userId`` when it has that type). A template
whose token the request cannot fill cannot be fetched, so that key is a 412 unless it was sent.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any
from urllib.parse import quote

from cds_hooks._fhir_client import JSON, FhirSource, entries, next_link
from cds_hooks._request import HookRequest
from cds_hooks.errors import CdsError, invalid, unavailable

logger = logging.getLogger("cds_hooks.prefetch")

_TOKEN = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_CONTEXT_TOKEN = re.compile(r"context\.([A-Za-z_][A-Za-z0-9_]*)")
_ISSUE_CODE = re.compile(r"[a-z][a-z-]{0,31}")
USER_TOKENS = {
    "userPractitionerId": "Practitioner",
    "userPractitionerRoleId": "PractitionerRole",
    "userPatientId": "Patient",
    "userRelatedPersonId": "RelatedPerson",
}


def check_template(template: str) -> None:
    """Raise ``ValueError`` for a template this package cannot render safely (checked at mount)."""
    for token in _TOKEN.findall(template):
        if token not in USER_TOKENS and not _CONTEXT_TOKEN.fullmatch(token):
            raise ValueError(f"prefetch template {template!r}: unknown token {{{{{token}}}}}")
    if "{{" in _TOKEN.sub("x", template) or "}}" in _TOKEN.sub("x", template):
        raise ValueError(f"prefetch template {template!r}: unbalanced braces")
    _check_relative(_TOKEN.sub("x", template), template)


def render(template: str, request: HookRequest) -> str:
    """The template with its tokens filled from the request (values URL-encoded)."""

    def fill(match: re.Match[str]) -> str:
        value = _token_value(match.group(1), request)
        if value is None:
            raise unavailable(f"prefetch template needs {{{{{match.group(1)}}}}}, which the request lacks")
        return quote(value, safe="/")

    rendered = _TOKEN.sub(fill, template)
    try:
        _check_relative(rendered, template)
    except ValueError as exc:
        raise unavailable("a prefetch token value is not usable in a FHIR URL") from exc
    return rendered


async def resolve(
    templates: Mapping[str, str],
    request: HookRequest,
    fhir: FhirSource,
    optional: Collection[str] = frozenset(),
) -> dict[str, list[JSON]]:
    """Prefetch key → resources, for every key of ``templates``; raises a 412 when data cannot be had.

    A key of ``optional`` whose data cannot be had is absent from the result instead.
    """
    sent = request.prefetch or {}
    data: dict[str, list[JSON]] = {}
    jobs: dict[str, Callable[[], Awaitable[list[JSON]]]] = {}
    for key, template in templates.items():
        value = sent.get(key)
        if key in sent and value is None:
            data[key] = []
        elif value is None or value["resourceType"] == "OperationOutcome":
            if value is not None:
                logger.info(
                    "prefetch %r came as an OperationOutcome %s; fetching it", key, _issue_codes(value)
                )
            try:
                url = render(template, request)
            except CdsError as exc:
                if key not in optional:
                    raise
                _without(key, exc)
                continue
            jobs[key] = _search(fhir, key, url)
        elif (read := _read_target(template, request)) is not None and not _is_resource(value, *read):
            resource_type, resource_id = read
            raise invalid(
                f"prefetch.{key}",
                f"must be the {resource_type} with id '{resource_id}' that its template "
                f"{template!r} reads; got {_described(value)}",
            )
        elif value["resourceType"] == "Bundle":
            data[key] = entries(value)
            following = next_link(value)
            if following:
                jobs[key] = _rest_of(fhir, key, following, data[key])
        else:
            data[key] = [value]
    for key in set(jobs).intersection(optional):
        jobs[key] = _optional(key, jobs[key])
    fetched = await _run_all(jobs)
    resolved = {**data, **fetched}  # a fetch (or the rest of a paged Bundle) replaces what was sent
    return {key: resolved[key] for key in templates if key in resolved and resolved[key] is not _MISSING}


# What an optional key whose fetch failed resolves to: it is then left out of the result.
_MISSING: list[JSON] = []


def _optional(key: str, job: Callable[[], Awaitable[list[JSON]]]) -> Callable[[], Awaitable[list[JSON]]]:
    async def run() -> list[JSON]:
        try:
            return await job()
        except CdsError as exc:
            _without(key, exc)
            return _MISSING

    return run


def _without(key: str, exc: CdsError) -> None:
    logger.info("optional prefetch %r cannot be had (%s); answering without it", key, exc.code)


def _read_target(template: str, request: HookRequest) -> tuple[str, str] | None:
    """(type, id) when ``template`` reads one resource (``Patient/{{context.patientId}}``) and the
    request fills it; ``None`` for a search or a template the request cannot fill."""
    if "?" in template or template.count("/") != 1:
        return None
    try:
        rendered = render(template, request)
    except CdsError:
        return None
    resource_type, _, resource_id = rendered.partition("/")
    return resource_type, resource_id


def _is_resource(value: Mapping[str, Any], resource_type: str, resource_id: str) -> bool:
    """``value`` is that resource (ids compared bare: a "Patient/123" id is "123"), or a Bundle
    holding nothing else (some EHRs answer a read with a searchset, duplicates and all)."""
    resources = entries(value) if value.get("resourceType") == "Bundle" else [value]
    for resource in resources:
        sent_id = resource.get("id")
        if isinstance(sent_id, str):
            sent_id = sent_id.removeprefix(resource_type + "/")
        if resource.get("resourceType") != resource_type or sent_id != resource_id:
            return False
    return True


def _described(value: Mapping[str, Any]) -> str:
    if value.get("resourceType") == "Bundle":
        return "a Bundle holding " + ", ".join(sorted({_one(r) for r in entries(value)}))
    return _one(value)


def _one(resource: Mapping[str, Any]) -> str:
    resource_type, sent_id = resource.get("resourceType"), resource.get("id")
    return f"{resource_type}/{sent_id}" if isinstance(sent_id, str) else f"{resource_type} without an id"


def _issue_codes(outcome: Mapping[str, Any]) -> list[str]:
    """The issue codes of an OperationOutcome for the log; anything not shaped like a code is '?'."""
    issues = outcome.get("issue")
    codes = [i.get("code") for i in issues if isinstance(i, dict)] if isinstance(issues, list) else []
    return [c if isinstance(c, str) and _ISSUE_CODE.fullmatch(c) else "?" for c in codes[:10]]


def _search(fhir: FhirSource, key: str, url: str) -> Callable[[], Awaitable[list[JSON]]]:
    return lambda: fhir.search(key, url)


def _rest_of(
    fhir: FhirSource, key: str, next_url: str, first_page: list[JSON]
) -> Callable[[], Awaitable[list[JSON]]]:
    async def job() -> list[JSON]:
        return first_page + await fhir.rest_of(key, next_url, pages_read=1)

    return job


async def _run_all(jobs: Mapping[str, Callable[[], Awaitable[list[JSON]]]]) -> dict[str, list[JSON]]:
    """Run the fetches concurrently; the first failure cancels the rest and is raised as is."""
    if not jobs:
        return {}
    try:
        async with asyncio.TaskGroup() as group:
            tasks = {key: group.create_task(_awaited(job)) for key, job in jobs.items()}
    except* CdsError as failures:
        raise failures.exceptions[0] from None
    return {key: task.result() for key, task in tasks.items()}


async def _awaited(job: Callable[[], Awaitable[list[JSON]]]) -> list[JSON]:
    return await job()


def _token_value(token: str, request: HookRequest) -> str | None:
    if token in USER_TOKENS:
        user = request.context.get("userId")
        resource_type, _, user_id = user.partition("/") if isinstance(user, str) else ("", "", "")
        return user_id if resource_type == USER_TOKENS[token] and user_id else None
    field = token.removeprefix("context.")
    if field == "patientId" and request.patient_id:
        return request.patient_id
    value: Any = request.context.get(field)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


def _check_relative(url: str, template: str) -> None:
    """A prefetch URL must stay under ``fhirServer``: relative, no absolute path, no dot segments."""
    path = url.split("?", 1)[0]
    if not path or path.startswith("/") or re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", path):
        raise ValueError(f"prefetch template {template!r} must be a URL relative to fhirServer")
    if any(segment in (".", "..") for segment in path.split("/")):
        raise ValueError(f"prefetch template {template!r} must not contain '.' or '..' segments")
