"""orjson in and out: the hook hot path parses large prefetch payloads."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class JsonResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def loads(raw: bytes) -> Any:
    """Parse JSON; raises ``orjson.JSONDecodeError`` (a ``ValueError``) when it is not JSON."""
    return orjson.loads(raw)
