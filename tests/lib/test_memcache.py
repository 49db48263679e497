"""``lib/memcache.BoundedMemoryCache``: the embedded cache's memory has a bound in bytes."""

from __future__ import annotations

import time
import uuid

from pawfile.lib.memcache import BoundedMemoryCache

MB = 1024 * 1024


def cache(max_bytes: int = 4 * MB, max_entries: int = 1000) -> BoundedMemoryCache:
    return BoundedMemoryCache(
        "test-" + uuid.uuid4().hex,
        {"OPTIONS": {"MAX_BYTES": max_bytes, "MAX_ENTRIES": max_entries}},
    )


def test_twenty_one_megabyte_reports_keep_within_four_megabytes() -> None:
    store = cache()
    for n in range(20):
        store.set(f"report-{n}", b"%" * (MB - 4096))
    assert store.bytes_used <= 4 * MB
    kept = [n for n in range(20) if store.get(f"report-{n}") is not None]
    assert kept == [16, 17, 18, 19]  # the most recent; the oldest were evicted first


def test_a_value_read_recently_is_kept_over_an_older_one() -> None:
    store = cache()
    for n in range(4):
        store.set(f"r{n}", b"x" * (MB - 4096))
    assert store.get("r0") is not None  # r0 is now the most recently used
    store.set("r4", b"x" * (MB - 4096))
    assert store.get("r0") is not None
    assert store.get("r1") is None


def test_a_value_over_a_quarter_of_the_bound_is_not_stored() -> None:
    store = cache()
    store.set("small", "kept")
    store.set("huge", b"x" * (2 * MB))
    assert store.get("huge") is None
    assert store.get("small") == "kept"


def test_replacing_deleting_and_clearing_keep_the_count_true() -> None:
    store = cache()
    store.set("a", b"x" * 1000)
    first = store.bytes_used
    store.set("a", b"x" * 100_000)
    assert store.bytes_used - first > 98_000
    store.delete("a")
    assert store.bytes_used == 0
    store.set("n", 1)
    assert store.incr("n", 41) == 42
    assert store.get("n") == 42
    assert store.bytes_used > 0
    store.clear()
    assert store.bytes_used == 0 and store.get("n") is None


def test_the_kept_total_is_the_sum_of_the_sizes_through_every_change() -> None:
    """The total is kept as entries come and go (not summed on each write): it stays the
    sum through sets, replacements, evictions, culls, expiries, counters and deletes, and
    it is shared, like the entries, by every instance of the cache's name."""
    params = {"OPTIONS": {"MAX_BYTES": 64 * 1024, "MAX_ENTRIES": 20}}
    name = "test-" + uuid.uuid4().hex
    store, twin = BoundedMemoryCache(name, params), BoundedMemoryCache(name, params)
    for n in range(60):
        (store if n % 2 else twin).set(f"k{n % 25}", b"x" * (n * 97 % 5000))
        assert store.bytes_used == twin.bytes_used == sum(store._sizes.values())
    store.set("short", 1, timeout=0.01)
    store.windows_hit([("rl:a", 60), ("rl:b", 60)])
    twin.incr("rl:a")
    store.delete("k3")
    time.sleep(0.02)
    assert store.get("short") is None  # expired: dropped on read
    assert store.bytes_used == sum(store._sizes.values()) > 0
    assert set(store._sizes) == set(store._cache)
    twin.clear()
    assert store.bytes_used == 0


def test_the_entry_bound_still_holds() -> None:
    store = cache(max_entries=10)
    for n in range(30):
        store.set(f"k{n}", n)
    assert len(store._cache) <= 10
    assert store.bytes_used == sum(store._sizes.values())
    assert set(store._sizes) == set(store._cache)


def test_window_hits_count_in_one_window_as_in_redis() -> None:
    """``windows_hit``: the embedded twin of ``RedisCache.windows_hit`` (same answers)."""
    store = cache()
    hits = [store.windows_hit([("rl:a", 60)])[0] for _ in range(3)]
    assert [used for used, _left in hits] == [1, 2, 3]
    lefts = [left for _used, left in hits]
    assert all(0 < left <= 60_000 for left in lefts)
    assert lefts == sorted(lefts, reverse=True)  # later hits do not push the end back
    assert store.get("rl:a") == 3  # a plain counter the cache reads as usual
    (a, _), (b, b_left) = store.windows_hit([("rl:a", 60), ("rl:b", 3600)])
    assert (a, b) == (4, 1) and 60_000 < b_left <= 3_600_000


def test_a_window_ends_and_a_counter_without_end_gets_one(monkeypatch) -> None:
    import time

    store = cache()
    now = [1000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    assert store.windows_hit([("rl:a", 10)]) == [(1, 10_000)]
    now[0] += 9.5
    assert store.windows_hit([("rl:a", 10)]) == [(2, 500)]
    now[0] += 1
    assert store.windows_hit([("rl:a", 10)]) == [(1, 10_000)]  # a new window
    store.set("rl:b", 5, timeout=None)  # written by something else, with no end
    assert store.windows_hit([("rl:b", 30)]) == [(6, 30_000)]
    now[0] += 31
    assert store.get("rl:b") is None
    store.set("rl:c", "text")  # not a counter: counted from one
    assert store.windows_hit([("rl:c", 30)]) == [(1, 30_000)]


def test_window_hits_racing_from_threads_are_all_counted() -> None:
    import threading

    store = cache()
    start = threading.Barrier(8)

    def hit() -> None:
        start.wait()
        for _ in range(50):
            store.windows_hit([("rl:race", 60), ("rl:other", 60)])

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (store.get("rl:race"), store.get("rl:other")) == (400, 400)
    assert store.bytes_used > 0
