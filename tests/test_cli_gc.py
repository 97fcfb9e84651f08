"""`serve`'s garbage-collection tuning (service/cli.py ``GcTuned``): the heap is frozen once the app
has started and again after the first calls, and the young generation's threshold is the setting's."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import pytest

from service.cli import GcTuned
from service.settings import Settings


@pytest.fixture(autouse=True)
def _restore_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def _start(app: GcTuned) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "lifespan.startup"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app({"type": "lifespan"}, receive, send)
    return sent


async def _call(app: GcTuned) -> None:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_message: dict[str, Any]) -> None:
        return None

    await app({"type": "http", "method": "GET", "path": "/"}, receive, send)


def _settings(**values: Any) -> Settings:
    return Settings(database_url="sqlite://", **values)


def test_the_heap_is_frozen_once_started_and_the_threshold_set() -> None:
    gc.unfreeze()
    app = GcTuned(_app, _settings(gc_threshold=5000, gc_freeze_after_calls=0))
    sent = asyncio.run(_start(app))
    assert sent == [{"type": "lifespan.startup.complete"}]  # the server still hears of it
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold()[0] == 5000


def test_nothing_is_frozen_when_freezing_is_off() -> None:
    gc.unfreeze()
    app = GcTuned(_app, _settings(gc_freeze=False))
    asyncio.run(_start(app))
    for _ in range(3):
        asyncio.run(_call(app))
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold()[0] == 700


def test_the_heap_is_frozen_again_after_the_first_calls() -> None:
    app = GcTuned(_app, _settings(gc_freeze_after_calls=3))
    asyncio.run(_start(app))
    gc.unfreeze()  # what the calls do to the heap is what the second freeze must catch
    asyncio.run(_call(app))
    asyncio.run(_call(app))
    assert gc.get_freeze_count() == 0  # two calls: not yet
    asyncio.run(_call(app))
    assert gc.get_freeze_count() > 0
    gc.unfreeze()
    asyncio.run(_call(app))
    assert gc.get_freeze_count() == 0  # once only
