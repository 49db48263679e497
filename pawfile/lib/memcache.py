"""An in-process cache bounded in bytes: Django's local-memory cache, counted by size.

Embedded mode keeps its cache in the process (no Redis). Django's ``LocMemCache`` bounds only
the number of entries, which says nothing of memory: 20,000 cached PDF reports of 300 KB
would be 6 GB. ``BoundedMemoryCache`` also keeps the total of its stored (pickled) values,
keys and a per-entry overhead under ``OPTIONS["MAX_BYTES"]``: a write that would pass it
evicts the least recently used entries first, and a single value larger than a quarter of
the bound is not stored at all (a cache miss is the right answer for it). Everything else
(expiry, LRU order, thread safety through the one lock) is ``LocMemCache``'s own. The total
is kept as entries come and go (summing the sizes on every write cost some 20 µs per
thousand entries, and every API call writes its rate-limit counters).
"""

from __future__ import annotations

import pickle
import time
from collections import OrderedDict
from threading import Lock
from typing import Any

from django.core.cache.backends.locmem import LocMemCache

ENTRY_OVERHEAD = 160  # bytes per entry beyond key and value: dict slots, expiry float, str header

_sizes: dict[str, dict[str, int]] = {}
# The sum of each cache's sizes, a one-item list shared like them by every instance of a name.
_totals: dict[str, list[int]] = {}


class BoundedMemoryCache(LocMemCache):
    # LocMemCache's own state (not in its type stubs).
    _cache: OrderedDict[str, bytes]
    _expire_info: dict[str, float | None]
    _lock: Lock

    def __init__(self, name: str, params: dict[str, Any]) -> None:
        super().__init__(name, params)
        options = params.get("OPTIONS", {})
        self._max_bytes = int(options.get("MAX_BYTES", 64 * 1024 * 1024))
        self._sizes = _sizes.setdefault(name, {})
        self._total = _totals.setdefault(name, [0])

    @property
    def bytes_used(self) -> int:
        """What the stored entries take, as counted against ``MAX_BYTES``."""
        with self._lock:
            return self._total[0]

    def _entry_size(self, key: str, pickled: bytes) -> int:
        return len(key) + len(pickled) + ENTRY_OVERHEAD

    def _size_set(self, key: str, size: int) -> None:
        self._total[0] += size - self._sizes.get(key, 0)
        self._sizes[key] = size

    def _size_drop(self, key: str) -> None:
        self._total[0] -= self._sizes.pop(key, 0)

    def _set(self, key: str, value: bytes, timeout: Any = None) -> None:
        size = self._entry_size(key, value)
        self._delete(key)
        if size > self._max_bytes // 4:
            return  # too large to be worth a quarter of the cache: never stored
        while self._cache and self._total[0] + size > self._max_bytes:
            old_key, _ = self._cache.popitem()  # the least recently used (LRU at the end)
            self._expire_info.pop(old_key, None)
            self._size_drop(old_key)
        LocMemCache._set(self, key, value, timeout)  # type: ignore[attr-defined]
        self._size_set(key, size)

    def _delete(self, key: str) -> bool:
        self._size_drop(key)
        return bool(LocMemCache._delete(self, key))  # type: ignore[attr-defined]

    def _cull(self) -> None:
        before = set(self._cache)
        LocMemCache._cull(self)  # type: ignore[attr-defined]
        for key in before - set(self._cache):
            self._size_drop(key)

    def incr(self, key: str, delta: int = 1, version: int | None = None) -> int:
        value = super().incr(key, delta, version)
        made = self.make_and_validate_key(key, version=version)
        with self._lock:
            if made in self._cache:
                self._size_set(
                    made, self._entry_size(made, pickle.dumps(value, self.pickle_protocol))
                )
        return int(value)

    def windows_hit(self, windows: list[tuple[str, int]]) -> list[tuple[int, int]]:
        """Count one hit on each counter of ``windows`` (``(key, seconds)``), as
        ``lib.rediscache.RedisCache.windows_hit`` does in Redis: a counter that does not
        exist (or expired) opens a window of its ``seconds``; one without an end gets one.

        Returns, per counter in order, ``(hits in the window, this one included;
        milliseconds until it ends)``. One lock for all of them, each counted atomically;
        the counter is a plain integer entry, so ``get`` reads it as usual. The rate limits
        of every API call take this path (``lib.ratelimit.ratelimit_hits``): one call
        instead of two ``incr`` and two ``get``."""
        keys = [(self.make_and_validate_key(key), seconds) for key, seconds in windows]
        out = []
        with self._lock:
            now = time.time()
            for key, seconds in keys:
                ends = self._expire_info.get(key, -1)
                used = 0
                if key in self._cache and (ends is None or ends > now):
                    stored = pickle.loads(self._cache[key])  # noqa: S301 - our own entry
                    if isinstance(stored, int) and not isinstance(stored, bool):
                        used = stored
                if used == 0 or ends is None:
                    ends = now + seconds  # a new window, or one that had no end
                used += 1
                self._set(key, pickle.dumps(used, self.pickle_protocol))
                self._expire_info[key] = ends
                out.append((used, max(int((ends - now) * 1000), 1)))
        return out

    def clear(self) -> None:
        with self._lock:  # LocMemCache's clear, with the sizes under the same lock
            self._cache.clear()
            self._expire_info.clear()
            self._sizes.clear()
            self._total[0] = 0
