"""One log line and one observer record per hook call, whatever the outcome (200 to 500)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cds_hooks import (
    CallRecord,
    Card,
    CdsService,
    Coding,
    HookCall,
    ProtocolConfig,
    ServiceDefinition,
    Source,
    mount,
)
from tests.cds_hooks.support import PREFETCH, MemoryFeedbackStore, hook_body

PV = "/cds-services/test-patient-view"


class Recorder:
    def __init__(self) -> None:
        self.calls: list[CallRecord] = []

    def hook_call(self, record: CallRecord) -> None:
        self.calls.append(record)

    def replay_cache_fallback(self) -> None:
        raise AssertionError("no replay cache in these tests")


@pytest.fixture
def harness() -> Any:
    async def handler(call: HookCall) -> Sequence[Card]:
        if call.context.get("encounterId") == "boom":
            raise RuntimeError("a bug in the service")
        topic = Coding(system="urn:test", code="t1")
        return [Card(summary="s", indicator="info", source=Source(label="Test", topic=topic))]

    app, recorder = FastAPI(), Recorder()
    definition = ServiceDefinition(
        hook="patient-view", id="test-patient-view", title="t", description="d", prefetch=PREFETCH
    )
    config = ProtocolConfig(auth_enabled=False, max_body_bytes=10_000)
    mount(app, [CdsService(definition, handler)], config, MemoryFeedbackStore(), observer=recorder)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, recorder


def _post(client: TestClient, path: str = PV, **kwargs: Any) -> int:
    status: int = client.post(path, **kwargs).status_code
    return status


def test_every_outcome_is_one_line_and_one_record(harness: Any, caplog: pytest.LogCaptureFixture) -> None:
    client, recorder = harness
    missing = hook_body()
    del missing["prefetch"]["conditions"]
    broken = hook_body()
    broken["context"]["encounterId"] = "boom"
    ok = hook_body()

    with caplog.at_level("INFO", logger="cds_hooks"):
        statuses = [
            _post(client, json=ok),
            _post(client, content=b"{nope"),
            _post(client, "/cds-services/nope", json=ok),
            _post(client, json=missing),
            _post(client, content=b"{" + b" " * 20_000 + b"}"),
            _post(client, json=broken),
        ]
        client.get("/cds-services")  # discovery and feedback are not hook calls
        client.post(PV + "/feedback", json={"feedback": []})

    assert statuses == [200, 400, 404, 412, 413, 500]
    assert [r.outcome for r in recorder.calls] == [
        "ok",
        "invalid",
        "not-found",
        "unavailable",
        "too-large",
        "error",
    ]
    first = recorder.calls[0]
    assert (first.service_id, first.hook_instance, first.topics) == (
        "test-patient-view",
        ok["hookInstance"],
        ("t1",),
    )
    assert recorder.calls[2].service_id is None  # an unknown id is not echoed as a service
    assert recorder.calls[1].hook_instance is None  # never parsed
    lines = [r for r in caplog.records if r.getMessage() == "hook call"]
    assert [getattr(r, "outcome") for r in lines] == [r.outcome for r in recorder.calls]  # noqa: B009
    assert lines[-1].levelname == "ERROR"
    assert getattr(lines[3], "issue") == "processing"  # noqa: B009


def test_a_failing_observer_does_not_fail_the_call(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(Recorder):
        def hook_call(self, record: CallRecord) -> None:
            raise ValueError("metrics bug")

    app = FastAPI()
    definition = ServiceDefinition(hook="patient-view", id="test-patient-view", title="t", description="d")

    async def handler(call: HookCall) -> Sequence[Card]:
        return []

    mount(
        app,
        [CdsService(definition, handler)],
        ProtocolConfig(auth_enabled=False),
        MemoryFeedbackStore(),
        observer=Broken(),
    )
    with TestClient(app) as client, caplog.at_level("ERROR"):
        response = client.post(PV, json=hook_body())

    assert response.status_code == 200
    assert any("observer failed" in r.getMessage() for r in caplog.records)


def test_the_line_carries_the_stages_a_handler_times(caplog: pytest.LogCaptureFixture) -> None:
    from cds_hooks._call_log import add_stage, handler_started, lap

    async def handler(call: HookCall) -> Sequence[Card]:
        handler_started()
        time.sleep(0.02)
        lap("work")
        add_stage("elsewhere", 0.5)  # timed on a thread, say: overlaps, so not a lap
        time.sleep(0.01)
        lap("work")  # a stage lapped twice adds up
        return []

    app = FastAPI()
    definition = ServiceDefinition(
        hook="patient-view", id="test-patient-view", title="t", description="d", prefetch=PREFETCH
    )
    mount(app, [CdsService(definition, handler)], ProtocolConfig(auth_enabled=False), MemoryFeedbackStore())
    with TestClient(app) as client, caplog.at_level("INFO", logger="cds_hooks"):
        assert client.post(PV, json=hook_body()).status_code == 200
        assert client.post(PV, content=b"{nope").status_code == 400

    ok, invalid = [r for r in caplog.records if r.getMessage() == "hook call"]
    stages = getattr(ok, "stages_ms")  # noqa: B009
    assert set(stages) == {"protocol", "work", "elsewhere", "respond"}
    assert stages["work"] >= 30 and stages["elsewhere"] == 500
    laps = stages["protocol"] + stages["work"] + stages["respond"]
    assert laps <= getattr(ok, "latency_ms") + 0.05  # noqa: B009  (rounding)
    assert getattr(invalid, "stages_ms") == {}  # noqa: B009  (refused before any handler ran)


def test_the_parsed_request_is_freed_only_after_the_answer_is_sent(harness: Any) -> None:
    """Freeing a large chart takes milliseconds: the answer goes out first."""
    from cds_hooks._call_log import CALL_INFO, CallInfo
    from cds_hooks._request import HookRequest

    client, _recorder = harness
    inner = client.app
    seen: dict[str, Any] = {}

    async def watching(scope: Any, receive: Any, send: Any) -> None:
        async def watched_send(message: Any) -> None:
            if message["type"] == "http.response.body":
                info = scope.get(CALL_INFO)
                seen["kept while sending"] = list(info.keep) if isinstance(info, CallInfo) else None
            await send(message)

        await inner(scope, receive, watched_send)
        if scope["type"] == "http":
            seen["kept after"] = list(scope[CALL_INFO].keep)

    body = hook_body()
    with TestClient(watching) as watched:
        assert watched.post(PV, json=body).status_code == 200
    kept = seen["kept while sending"]
    assert [type(k) for k in kept] == [HookRequest]
    assert kept[0].hook_instance == body["hookInstance"]
    assert seen["kept after"] == []
