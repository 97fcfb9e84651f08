"""Memoising a function of raw FHIR JSON by the exact content of its argument.

A chart repeats the same few dozen CodeableConcepts (codes, displays) and references hundreds of times,
and a new request brings equal JSON in new objects, so a cache keyed by identity would never hit. The key
is the SHA-256 digest of the value's ``marshal`` bytes. marshal is made in C and exact for JSON data: it
keeps 1, 1.0 and True apart, and NaN apart from null, where a JSON encoding would not. So equal keys mean
equal values (but for a SHA-256 collision, which nobody can produce). Keeping digests rather than the
values means the memos keep nothing of past requests but the answers (concept ids, drug classes,
validation messages), and stay small.

Cached results are shared between calls: memoise only functions whose results are immutable.
"""

from __future__ import annotations

import marshal
from collections import OrderedDict
from collections.abc import Callable, Hashable
from contextlib import suppress
from functools import wraps
from hashlib import sha256
from typing import Any, NamedTuple, TypeVar, cast

_F = TypeVar("_F", bound=Callable[..., Any])
_MISSING = object()


class MemoInfo(NamedTuple):
    hits: int
    misses: int
    maxsize: int
    currsize: int


class _Lru:
    """A bounded map that forgets the least recently used entry first.

    Safe across threads without a lock: each OrderedDict operation is atomic under the GIL, and a race
    costs at most a recomputation or an entry forgotten early. The counters are for tests and benches.
    """

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Any:
        found = self._entries.get(key, _MISSING)
        if found is _MISSING:
            self.misses += 1
            return found
        self.hits += 1
        with suppress(KeyError):  # another thread just forgot it
            self._entries.move_to_end(key)
        return found

    def put(self, key: Hashable, value: Any) -> None:
        self._entries[key] = value
        if len(self._entries) > self.maxsize:
            with suppress(KeyError):
                self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()
        self.hits = self.misses = 0

    def info(self) -> MemoInfo:
        return MemoInfo(self.hits, self.misses, self.maxsize, len(self._entries))


_ALL: list[_Lru] = []  # every memo, for clear_caches()


def by_content(maxsize: int) -> Callable[[_F], _F]:
    """Memoise ``fn(value, *rest)`` (at most ``maxsize`` entries) on the content of ``value`` and ``rest``.

    ``rest`` must be hashable. A value that marshal cannot key (a caller's own Mapping type, or nesting
    too deep) is computed each time, uncached. The memoised function gains ``cache_info()`` and
    ``cache_clear()``, as with functools.lru_cache.
    """

    def decorate(fn: _F) -> _F:
        memo = _Lru(maxsize)
        _ALL.append(memo)

        @wraps(fn)
        def memoised(value: object, *rest: Any) -> Any:
            try:
                blob = marshal.dumps(value)  # type: ignore[arg-type]  # JSON data; anything else: ValueError
            except ValueError:  # "unmarshallable object" or "too deeply nested"
                return fn(value, *rest)
            digest = sha256(blob).digest()
            key = (digest, *rest) if rest else digest
            found = memo.get(key)
            if found is _MISSING:
                found = fn(value, *rest)
                memo.put(key, found)
            return found

        memoised.cache_clear = memo.clear  # type: ignore[attr-defined]
        memoised.cache_info = memo.info  # type: ignore[attr-defined]
        return cast(_F, memoised)

    return decorate


def clear_caches() -> None:
    """Forget every memoised result: the benchmark's "first sight of a chart", and tests."""
    for memo in _ALL:
        memo.clear()
