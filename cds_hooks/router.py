"""The CDS Hooks endpoints on a FastAPI application, built from a list of services.

``mount`` adds discovery (``GET /cds-services``), one hook endpoint and one feedback endpoint per
service, the exception handlers that turn every error into an OperationOutcome, CORS, the
body-size limit and one log line per hook call. A hook call runs: authenticate → find the service →
check the content type → validate the request → resolve prefetch → the service's handler → check and
serialise the cards.
It returns an :class:`Authenticator`, so the application can put its own routes behind the same JWT.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from cds_hooks import _openapi, prefetch
from cds_hooks._call_log import CallInfo, call_info
from cds_hooks._clients import Clients
from cds_hooks._fhir_client import FhirClient, FhirSource, NoFhirServer
from cds_hooks._json import JsonResponse
from cds_hooks._jwks import JwksCache
from cds_hooks._middleware import ProtocolMiddleware
from cds_hooks._replay import FallbackReplayCache, MemoryReplayCache, RedisReplayCache, ReplayCache
from cds_hooks._request import (
    HookRequest,
    check_content_type,
    parse_feedback,
    parse_hook_request,
    preferred_language,
)
from cds_hooks.auth import JwtVerifier
from cds_hooks.config import ProtocolConfig, fhir_server_allowed
from cds_hooks.errors import CardContractError, CdsError, IssueCode, operation_outcome, unavailable
from cds_hooks.events import NoObserver, Observer
from cds_hooks.handler import CdsService, FeedbackStore, HookCall
from cds_hooks.models import Card

logger = logging.getLogger("cds_hooks")

PREFIX = "/cds-services"


def mount(
    app: FastAPI,
    services: Sequence[CdsService],
    config: ProtocolConfig,
    feedback_store: FeedbackStore,
    *,
    observer: Observer | None = None,
    languages: Sequence[str] = ("en",),
) -> Authenticator:
    """Serve ``services`` over CDS Hooks 2.0 on ``app`` (call before the app starts).

    ``languages`` are the language codes the services word their cards in, the first the default:
    each call's ``HookCall.language`` is the one of them the client's ``Accept-Language`` prefers.

    Feedback idempotency (the same card, outcome and timestamp sent twice) is the store's job: the
    protocol passes every item it receives to ``feedback_store.save``. ``observer`` hears of every
    hook call and of a degraded replay cache (for metrics). The returned :class:`Authenticator` is
    a FastAPI dependency that applies the hooks' JWT check to other routes.
    """
    by_id = _index(services)
    if not languages:
        raise ValueError("mount needs at least one language (the first is the default)")
    observer = observer or NoObserver()
    clients = Clients(config.fhir_timeout_seconds, config.replay_cache_redis_url)
    verifier = _verifier(config, clients, observer)
    endpoints = _Endpoints(by_id, config, clients, verifier, feedback_store, tuple(languages))

    router = APIRouter(lifespan=_lifespan(clients), tags=["CDS Hooks"])
    router.add_api_route(
        PREFIX,
        endpoints.discovery,
        methods=["GET"],
        summary="CDS Hooks discovery",
        responses=_openapi.responses(401),
    )
    cards = _openapi.cards_schema()
    for service_id, service in by_id.items():
        router.add_api_route(
            f"{PREFIX}/{service_id}",
            endpoints.hook_of(service_id),
            methods=["POST"],
            summary=service.definition.title,
            description=service.definition.description,
            operation_id=f"call-{service_id}",
            openapi_extra=_openapi.hook_operation(service.definition.hook),
            responses=_openapi.responses(400, 401, 412, 413, 415, ok=cards),
        )
    router.add_api_route(PREFIX + "/{service_id}", endpoints.hook, methods=["POST"], include_in_schema=False)
    router.add_api_route(
        PREFIX + "/{service_id}/feedback",
        endpoints.feedback,
        methods=["POST"],
        summary="Card feedback",
        openapi_extra=_openapi.FEEDBACK_OPERATION,
        responses=_openapi.responses(400, 401, 404, 413, 415),
    )
    app.include_router(router)

    app.add_exception_handler(CdsError, _cds_error)
    app.add_exception_handler(
        StarletteHTTPException,
        _http_error(frozenset(by_id)),
    )
    # CORS outermost, so every answer (413 and 500 included) carries it; then the call log, the body
    # limit and the last-resort 500: one middleware (cds_hooks/_middleware.py)
    app.add_middleware(
        ProtocolMiddleware,
        prefix=PREFIX,
        service_ids=list(by_id),
        observer=observer,
        max_bytes=config.max_body_bytes,
        cors_origins=list(config.cors_origins),
        cors_methods=list(config.cors_methods),
        cors_headers=["authorization", "content-type", "accept", "accept-language"],
    )
    return Authenticator(endpoints)


class Authenticator:
    """A FastAPI dependency (``Depends(authenticator)``): the hooks' JWT check for another route.

    Answers 401 like a hook would; returns the verified issuer, or ``None`` with auth off.
    """

    def __init__(self, endpoints: _Endpoints) -> None:
        self._endpoints = endpoints

    async def __call__(self, request: Request) -> str | None:
        return await self._endpoints.authenticate(request)


class _Endpoints:
    def __init__(
        self,
        services: Mapping[str, CdsService],
        config: ProtocolConfig,
        clients: Clients,
        verifier: JwtVerifier | None,
        feedback_store: FeedbackStore,
        languages: tuple[str, ...],
    ) -> None:
        self._services = services
        self._config = config
        self._clients = clients
        self._verifier = verifier
        self._store = feedback_store
        self._languages = languages

    async def discovery(self, request: Request) -> Response:
        await self.authenticate(request)
        return JsonResponse({"services": [s.definition.to_json() for s in self._services.values()]})

    def hook_of(self, service_id: str) -> Callable[[Request], Awaitable[Response]]:
        """The endpoint of one service (a route of its own, so OpenAPI documents its body)."""

        async def call_service(request: Request) -> Response:
            return await self.hook(service_id, request)

        return call_service

    async def hook(self, service_id: str, request: Request) -> Response:
        info = call_info(request.scope)
        try:
            return await self._hook(service_id, request, info)
        except CdsError as exc:
            info.issue = exc.code
            raise

    async def _hook(self, service_id: str, request: Request, info: CallInfo) -> Response:
        issuer = info.issuer = await self.authenticate(request)
        service = self._service(service_id)
        check_content_type(request.headers.get("content-type"))
        call = parse_hook_request(await request.body(), service.definition.hook)
        info.keep.append(call)  # freed after the answer is sent (cds_hooks/_middleware.py)
        info.hook_instance = call.hook_instance
        fhir, fhir_server = self._fhir_source(call, issuer)
        deadline_ms = self._config.hook_deadline_ms
        budget = asyncio.timeout(deadline_ms / 1000)
        try:
            async with budget:
                definition = service.definition
                data = await prefetch.resolve(
                    definition.prefetch or {}, call, fhir, definition.optional_prefetch
                )
                cards = await service.handler(
                    HookCall(
                        service_id=service_id,
                        hook=call.hook,
                        hook_instance=call.hook_instance,
                        patient_id=call.patient_id,
                        context=call.context,
                        data=data,
                        language=preferred_language(request.headers.get("accept-language"), self._languages),
                        issuer=issuer,
                        fhir_server=fhir_server,
                        base_url=self._base_url(request),
                    )
                )
        except TimeoutError:
            if not budget.expired():
                raise  # a handler's own timeout is its bug, not this hook's deadline
            logger.warning(
                "hook %s (%s) passed its %d ms deadline", service_id, call.hook_instance, deadline_ms
            )
            raise unavailable(f"the hook did not complete within {deadline_ms} ms", code="timeout") from None
        answer = cards_json(cards)
        info.topics = tuple(card.source.topic.code for card in cards if card.source.topic is not None)
        return JsonResponse({"cards": answer})

    async def feedback(self, service_id: str, request: Request) -> Response:
        await self.authenticate(request)
        self._service(service_id)
        check_content_type(request.headers.get("content-type"))
        body = parse_feedback(await request.body())
        await self._store.save(service_id, body.feedback)
        return JsonResponse({})

    async def authenticate(self, request: Request) -> str | None:
        if self._verifier is None:
            return None
        return await self._verifier.verify(request.headers.get("authorization"), self._called_url(request))

    def _called_url(self, request: Request) -> str:
        """The URL the EHR called, which its JWT must name in ``aud``."""
        if self._config.public_base_url:
            return self._config.public_base_url.rstrip("/") + _app_path(request)
        return str(request.url.replace(query="", fragment=""))

    def _base_url(self, request: Request) -> str:
        """Where this service is reached, for links to its own pages: the public base URL, else the request's."""
        if self._config.public_base_url:
            return self._config.public_base_url.rstrip("/")
        return str(request.base_url).rstrip("/")

    def _service(self, service_id: str) -> CdsService:
        service = self._services.get(service_id)
        if service is None:
            raise CdsError(404, "not-found", f"no CDS service '{service_id}'")
        return service

    def _fhir_source(self, call: HookRequest, issuer: str | None) -> tuple[FhirSource, str | None]:
        """Who may be asked for data that was not prefetched, and the fhirServer the handler may use."""
        if call.fhir_server is None:
            return NoFhirServer("the request has no fhirServer"), None
        if self._config.auth_enabled and not self._server_allowed(issuer, call.fhir_server):
            logger.warning("fhirServer of hook %s is not allowed for issuer %s", call.hook_instance, issuer)
            return NoFhirServer("its fhirServer is not allowed for this issuer"), None
        allowlist = self._config.fhir_servers  # applies with auth off; with auth on, the issuer's does
        if (
            not self._config.auth_enabled
            and allowlist is not None
            and not fhir_server_allowed(call.fhir_server, allowlist)
        ):
            logger.warning("fhirServer of hook %s is not on the allowed list", call.hook_instance)
            return NoFhirServer("its fhirServer is not on this service's allowed list"), None
        client = FhirClient(
            self._clients,
            call.fhir_server,
            call.access_token,
            self._config.fhir_max_pages,
            self._config.fhir_max_response_bytes,
        )
        return client, call.fhir_server

    def _server_allowed(self, issuer: str | None, fhir_server: str) -> bool:
        policy = self._config.issuers.get(issuer) if issuer else None
        if policy is None:
            return False
        if policy.fhir_servers is None:
            return True
        return fhir_server_allowed(fhir_server, policy.fhir_servers)


def cards_json(cards: Sequence[Card]) -> list[dict[str, Any]]:
    """The wire form of a handler's cards; raises :class:`CardContractError` for a buggy service
    (missing uuid, suggestions without selectionBehavior) so CI catches it."""
    out = []
    for i, card in enumerate(cards):
        if not isinstance(card, Card):
            raise CardContractError(f"card {i} is a {type(card).__name__}, not a Card")
        if not card.uuid or any(not suggestion.uuid for suggestion in card.suggestions):
            raise CardContractError(f"card {i} ({card.source.label}) or one of its suggestions has no uuid")
        if card.suggestions and card.selection_behavior is None:
            raise CardContractError(
                f"card {i} ({card.source.label}) has suggestions but no selectionBehavior"
            )
        out.append(card.to_json())
    return out


def _index(services: Sequence[CdsService]) -> dict[str, CdsService]:
    by_id: dict[str, CdsService] = {}
    for service in services:
        definition = service.definition
        if definition.id in by_id:
            raise ValueError(f"two CDS services have the id {definition.id!r}")
        for template in (definition.prefetch or {}).values():
            prefetch.check_template(template)
        unknown = definition.optional_prefetch - set(definition.prefetch or {})
        if unknown:
            raise ValueError(
                f"CDS service {definition.id!r}: optional prefetch keys {sorted(unknown)} have no template"
            )
        by_id[definition.id] = service
    return by_id


def _verifier(config: ProtocolConfig, clients: Clients, observer: Observer) -> JwtVerifier | None:
    if not config.auth_enabled:
        logger.warning("CDS Hooks authentication is OFF: any caller is trusted (local demos only)")
        return None
    if not config.issuers:
        logger.warning("CDS Hooks authentication is on but no issuer is trusted: every call gets 401")
    replay: ReplayCache = MemoryReplayCache()
    if config.replay_cache_redis_url:
        replay = FallbackReplayCache(
            RedisReplayCache(clients), MemoryReplayCache(), observer.replay_cache_fallback
        )
    return JwtVerifier(config.issuers, JwksCache(clients), replay, config.clock_skew_seconds)


def _lifespan(clients: Clients) -> Callable[[Any], Any]:
    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        await clients.start()
        try:
            yield
        finally:
            await clients.stop()

    return lifespan


def _app_path(request: Request) -> str:
    path: str = request.scope["path"]
    return path.removeprefix(request.scope.get("root_path", ""))


async def _cds_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CdsError)
    return JsonResponse(exc.outcome(), status_code=exc.status, headers=exc.headers)


def _http_error(service_ids: frozenset[str]) -> Callable[[Request, Exception], Any]:
    """Routing errors (an unknown path, a method a path does not take) as OperationOutcomes.

    A path under /cds-services naming no service is a 404 whatever the method: the hook route
    ``/cds-services/{service_id}`` would otherwise make ``GET /cds-services/no-such-service`` a 405.
    """

    async def handle(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        status, headers, path = exc.status_code, exc.headers, _app_path(request)
        diagnostics = str(exc.detail)
        unknown = _unknown_service(path, service_ids)
        routing = diagnostics in ("Not Found", "Method Not Allowed")  # the router's own, not a route's
        if status == 405 and routing and unknown is not None:
            status, headers = 404, None
            diagnostics = f"no CDS service '{unknown}'"
        elif status == 404 and routing:
            diagnostics = f"nothing is served at {path}"
        elif status == 405 and routing:
            diagnostics = f"{request.method} is not allowed on {path}"
        codes: dict[int, IssueCode] = {
            404: "not-found",
            405: "not-supported",
            401: "security",
            403: "security",
        }
        outcome = operation_outcome(codes.get(status, "processing"), diagnostics)
        return JsonResponse(outcome, status_code=status, headers=headers)

    return handle


def _unknown_service(path: str, service_ids: frozenset[str]) -> str | None:
    """The service id of ``/cds-services/<id>`` or ``/cds-services/<id>/feedback`` when no service
    has it; otherwise ``None``."""
    if not path.startswith(PREFIX + "/"):
        return None
    parts = path.removeprefix(PREFIX + "/").split("/")
    shaped = len(parts) == 1 or (len(parts) == 2 and parts[1] == "feedback")
    return parts[0] if shaped and parts[0] and parts[0] not in service_ids else None
