"""Memoising a function of raw FHIR JSON by the exact content of its argument.

A chart repeats the same few dozen CodeableConcepts (codes, displays) and references hundreds of times,
and a new request brings equal JSON in new objects, so a cache keyed by identity would never hit. The key
is the value's ``marshal`` bytes: made in C, and exact for JSON data (it keeps 1, 1.0 and True apart, and
NaN apart from null, where a JSON encoding would not), so equal keys mean equal values. Strings are
their own key.

Cached results are shared between calls: memoise only functions whose results are immutable.
"""

from __future__ import annotations

import marshal
from collections.abc import Callable
from functools import lru_cache, wraps
from typing import Any, TypeVar, cast

_F = TypeVar("_F", bound=Callable[..., Any])
_CLEARS: list[Callable[[], None]] = []  # cache_clear of every memo, for clear_caches()


def by_content(maxsize: int) -> Callable[[_F], _F]:
    """Memoise ``fn(value, *rest)`` (at most ``maxsize`` entries) on the content of ``value`` and ``rest``.

    ``rest`` must be hashable. A value that marshal cannot key (a caller's own Mapping type, or nesting
    too deep) is computed each time, uncached.
    """

    def decorate(fn: _F) -> _F:
        @lru_cache(maxsize=maxsize)
        def cached(key: str | bytes, *rest: Any) -> Any:
            value = key if isinstance(key, str) else marshal.loads(key)
            return fn(value, *rest)

        @wraps(fn)
        def memoised(value: object, *rest: Any) -> Any:
            if type(value) is str:
                return cached(value, *rest)
            try:
                key = marshal.dumps(value)  # type: ignore[arg-type]  # JSON data; anything else is a ValueError
            except ValueError:  # "unmarshallable object" or "too deeply nested"
                return fn(value, *rest)
            return cached(key, *rest)

        memoised.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
        memoised.cache_info = cached.cache_info  # type: ignore[attr-defined]
        _CLEARS.append(cached.cache_clear)
        return cast(_F, memoised)

    return decorate


def clear_caches() -> None:
    """Forget every memoised result: the benchmark's "first sight of a chart", and tests."""
    for clear in _CLEARS:
        clear()
