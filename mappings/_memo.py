"""Memoising a function of raw FHIR JSON by the exact content of its argument.

A chart repeats the same few dozen CodeableConcepts (codes, displays) and references hundreds of times,
and a new request brings equal JSON in new objects, so a cache keyed by identity would never hit. The key
is the value's ``marshal`` bytes: made in C, and exact for JSON data (it keeps 1, 1.0 and True apart,
and NaN apart from null, where a JSON encoding would not), so equal keys mean equal values.

Where the values are patient data (resources and their elements, which carry ids, dates and results),
the memo is ``private``: keyed by the SHA-256 digest of those bytes, so that it keeps nothing of past
requests but its answers. Terminology (a CodeableConcept on its own) is keyed by the bytes themselves.

Cached results are shared between calls: memoise only functions whose results are immutable.
"""

from __future__ import annotations

import marshal
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from functools import wraps
from hashlib import sha256
from typing import Any, NamedTuple, TypeVar, cast

_F = TypeVar("_F", bound=Callable[..., Any])
_MISSING = object()


class CacheInfo(NamedTuple):
    """As functools.lru_cache's: for tests and the benchmarks."""

    hits: int
    misses: int
    maxsize: int
    currsize: int


@dataclass
class _Memo:
    """One memo's entries, least recently used first, and its counters."""

    maxsize: int
    entries: OrderedDict[Hashable, Any] = field(default_factory=OrderedDict, repr=False)
    hits: int = 0
    misses: int = 0

    def clear(self) -> None:
        self.entries.clear()
        self.hits = self.misses = 0

    def info(self) -> CacheInfo:
        return CacheInfo(self.hits, self.misses, self.maxsize, len(self.entries))


_ALL: list[_Memo] = []  # every memo, for clear_caches()


def by_content(maxsize: int, *, private: bool = False) -> Callable[[_F], _F]:
    """Memoise ``fn(value, *rest)`` on the content of ``value`` and ``rest`` (hashable), least recently
    used first out beyond ``maxsize`` entries; ``private`` keys by a digest (see the module docstring).

    A value marshal cannot key (a caller's own Mapping type, or nesting too deep) is computed each time,
    uncached. Safe across threads without a lock: each OrderedDict operation is atomic under the GIL, and
    a race costs at most a recomputation or an entry forgotten early.
    """

    def decorate(fn: _F) -> _F:
        memo = _Memo(maxsize)
        _ALL.append(memo)
        entries = memo.entries

        @wraps(fn)
        def memoised(value: object, *rest: Any) -> Any:
            try:
                content = marshal.dumps(value)  # type: ignore[arg-type]  # JSON data; else a ValueError
            except ValueError:  # "unmarshallable object" or "too deeply nested"
                return fn(value, *rest)
            digest = sha256(content).digest() if private else content
            key = (digest, *rest) if rest else digest
            found = entries.get(key, _MISSING)
            if found is not _MISSING:
                memo.hits += 1
                try:  # noqa: SIM105 - contextlib.suppress costs more than the lookup on this hot path
                    entries.move_to_end(key)
                except KeyError:  # another thread just forgot it
                    pass
                return found
            memo.misses += 1
            found = entries[key] = fn(value, *rest)
            if len(entries) > maxsize:
                try:  # noqa: SIM105 - as above
                    entries.popitem(last=False)
                except KeyError:  # another thread emptied it
                    pass
            return found

        memoised.cache_clear = memo.clear  # type: ignore[attr-defined]
        memoised.cache_info = memo.info  # type: ignore[attr-defined]
        return cast(_F, memoised)

    return decorate


def clear_caches() -> None:
    """Forget every memoised result: the benchmark's "first sight of a chart", and tests."""
    for memo in _ALL:
        memo.clear()
