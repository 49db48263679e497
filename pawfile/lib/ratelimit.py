"""Fixed-window rate limits kept in the cache (Redis in scale-out, so all web nodes share them).

A rule is ``"count/seconds"``. ``ratelimit_hit`` counts one attempt against a bucket and says
whether it is still allowed and, if not, how many seconds until the window resets.

With Redis a hit is one round trip (``RedisCache.windows_hit``, a Lua script: count, open the
window, read the time left), and ``ratelimit_hits`` counts several buckets in that one round
trip: every API call counts twice (its IP and its user), so this is on the hot path. The
in-process cache of the embedded mode does the same under its one lock
(``BoundedMemoryCache.windows_hit``); any other backend takes the generic path below.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from django.core.cache import cache, caches

from pawfile.lib.memcache import BoundedMemoryCache
from pawfile.lib.rediscache import RedisCache


@dataclass(frozen=True)
class Rule:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Rule:
        """Parse ``"10/300"``; raises ``ValueError`` with the offending text."""
        count, _, seconds = text.strip().partition("/")
        try:
            rule = cls(int(count), int(seconds))
        except ValueError:
            raise ValueError(f"rate limit {text!r} must look like 10/300 (count/seconds)") from None
        if rule.count < 1 or rule.seconds < 1:
            raise ValueError(f"rate limit {text!r} must be positive")
        return rule


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # seconds until the window ends


def ratelimit_hit(scope: str, key: str, rule: Rule) -> Decision:
    """Count one hit for ``key`` in ``scope`` and decide. Keys are hashed, never stored raw.

    The window opens at a key's first hit and lasts ``rule.seconds`` (not aligned to the
    clock), so a burst is never split across two windows and let through twice.
    """
    return ratelimit_hits([(scope, key, rule)])[0]


def ratelimit_hits(hits: list[tuple[str, str, Rule]]) -> list[Decision]:
    """``ratelimit_hit`` for each ``(scope, key, rule)``, in order: every bucket is counted
    (a refusal by one does not spare the others), in one round trip with Redis."""
    count_keys = [_count_key(scope, key) for scope, key, _rule in hits]
    backend = caches["default"]
    if isinstance(backend, RedisCache | BoundedMemoryCache):
        counted = backend.windows_hit(
            [(key, rule.seconds) for key, (_s, _k, rule) in zip(count_keys, hits, strict=True)]
        )
        decisions = []
        for (used, left_ms), (_scope, _key, rule) in zip(counted, hits, strict=True):
            left = max(rule.count - used, 0)
            reset = max(math.ceil(left_ms / 1000), 1)
            decisions.append(Decision(used <= rule.count, rule.count, left, reset))
        return decisions
    return [_cache_hit(key, rule) for key, (_s, _k, rule) in zip(count_keys, hits, strict=True)]


def _count_key(scope: str, key: str) -> str:
    return f"rl:{scope}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"


def _cache_hit(count_key: str, rule: Rule) -> Decision:
    """One hit through the cache API (any backend but ``RedisCache``)."""
    now = int(time.time())
    start_key = count_key + ":t"
    try:
        used = cache.incr(count_key)  # the usual case: one operation, plus reading the start
    except ValueError:  # no window yet, or it just expired
        used = 0
    if used == 0 and not cache.add(count_key, 1, timeout=rule.seconds):
        try:  # another request opened the window in between
            used = cache.incr(count_key)
        except ValueError:
            used = 0
    if used <= 1:  # this hit opens the window
        used = 1
        # touch: a counter that expired between the existence check and INCR in Redis
        # would otherwise be recreated without an expiry.
        cache.touch(count_key, timeout=rule.seconds)
        cache.set(start_key, now, timeout=rule.seconds)
        started = now
    else:
        started = int(cache.get(start_key, now))
    reset = started + rule.seconds - now
    return Decision(used <= rule.count, rule.count, max(rule.count - used, 0), max(reset, 1))
