"""``lib.rediscache``: one Redis client per pool, and a rate-limit window in one round trip.

Runs in the PostgreSQL + Redis pass of the suite (``-m services``), against the real Redis.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
import redis.connection
from django.core.cache import caches

from pawfile.lib.ratelimit import Rule, ratelimit_hit
from pawfile.lib.rediscache import RedisCache

pytestmark = [pytest.mark.services]


@pytest.fixture
def backend() -> RedisCache:
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        pytest.fail("needs REDIS_URL: the scale-out cache is lib.rediscache.RedisCache")
    return cache


@pytest.fixture
def commands(backend: RedisCache, monkeypatch) -> Iterator[list[str]]:
    """The names of the commands sent to Redis from here on, on any connection (the
    client's pooled ones and the thread's own that ``windows_hit`` uses; a script call is
    one ``EVALSHA``, once Redis has the script: a first call loads it)."""
    backend.window_hit(f"rl:warm:{uuid.uuid4().hex}", 1)
    sent: list[str] = []
    original = redis.connection.AbstractConnection.send_command

    def counted(self, *args, **kwargs):
        sent.append(str(args[0]))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_command", counted)
    yield sent


def test_one_client_serves_every_call(backend: RedisCache, monkeypatch) -> None:
    backend.set("probe", 1)
    made = []
    original = redis.Redis.__init__

    def init(self, *args, **kwargs):
        made.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "__init__", init)
    for n in range(5):
        backend.set(f"probe-{n}", n)
        assert backend.get(f"probe-{n}") == n
    backend.add("probe-add", 1)
    backend.delete("probe-add")

    assert made == []  # Django's backend builds a client for every one of these calls


def test_window_hit_counts_in_one_window(backend: RedisCache, commands: list[str]) -> None:
    key = f"rl:test:{uuid.uuid4().hex}"

    hits = [backend.window_hit(key, 60) for _ in range(3)]

    assert [used for used, _left in hits] == [1, 2, 3]
    lefts = [left for _used, left in hits]
    assert all(0 < left <= 60_000 for left in lefts)
    assert lefts == sorted(lefts, reverse=True)  # later hits do not push the end back
    assert commands == ["EVALSHA"] * 3
    assert backend.get(key) == 3  # a plain counter the cache reads as usual


def test_several_windows_are_counted_in_one_round_trip(
    backend: RedisCache, commands: list[str]
) -> None:
    short, long = f"rl:test:{uuid.uuid4().hex}", f"rl:test:{uuid.uuid4().hex}"
    backend.window_hit(short, 60)

    (short_used, short_left), (long_used, long_left) = backend.windows_hit(
        [(short, 60), (long, 3600)]
    )

    assert (short_used, long_used) == (2, 1)
    assert 0 < short_left <= 60_000 < long_left <= 3_600_000
    assert commands == ["EVALSHA"] * 2


@pytest.mark.django_db
def test_a_bearer_call_counts_its_ip_and_user_in_one_round_trip(commands: list[str]) -> None:
    """An API call with a bearer token: the IP's and the user's buckets in one script call
    (the session check and the operation send nothing else to Redis here)."""
    from django.test import Client

    from tests.api.conftest import access_token
    from tests.conftest import make_user

    user = make_user("rl@example.org")
    client = Client(headers={"Authorization": f"Bearer {access_token(user.email)}"})
    client.get("/api/v1/me")  # the first call of a session checks it the long way
    commands.clear()

    response = client.get("/api/v1/me")

    assert response.status_code == 200
    assert commands.count("EVALSHA") == 1
    assert response["RateLimit-Remaining"].isdigit()


def test_a_new_window_opens_when_the_last_one_ends(backend: RedisCache) -> None:
    key = f"rl:test:{uuid.uuid4().hex}"
    assert backend.window_hit(key, 1)[0] == 1
    assert backend.window_hit(key, 1)[0] == 2

    time.sleep(1.2)

    used, left = backend.window_hit(key, 1)
    assert used == 1
    assert 0 < left <= 1000


def test_a_counter_without_expiry_gets_one(backend: RedisCache) -> None:
    key = f"rl:test:{uuid.uuid4().hex}"
    backend.set(key, 5, timeout=None)  # written by something else, with no end

    used, left = backend.window_hit(key, 30)

    assert used == 6
    assert 0 < left <= 30_000
    client = backend._cache.get_client(write=True)
    assert 0 < client.pttl(backend.make_and_validate_key(key)) <= 30_000


def test_hits_racing_from_threads_are_all_counted(backend: RedisCache) -> None:
    key = f"rl:test:{uuid.uuid4().hex}"
    start = threading.Barrier(8)

    def hit() -> None:
        mine = caches["default"]  # each thread has its own backend and connections
        start.wait()
        for _ in range(25):
            mine.window_hit(key, 60)  # type: ignore[attr-defined]

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert backend.get(key) == 200


def test_ratelimit_hit_is_one_round_trip_and_says_the_same(
    backend: RedisCache, commands: list[str]
) -> None:
    rule = Rule(2, 60)
    key = uuid.uuid4().hex

    decisions = [ratelimit_hit("test", key, rule) for _ in range(3)]

    assert [d.allowed for d in decisions] == [True, True, False]
    assert [d.remaining for d in decisions] == [1, 0, 0]
    assert all(d.limit == 2 and 1 <= d.reset <= 60 for d in decisions)
    assert commands == ["EVALSHA"] * 3


def test_windows_hit_loads_the_script_when_redis_has_none(
    backend: RedisCache, commands: list[str]
) -> None:
    """After ``SCRIPT FLUSH`` (a restarted Redis), the next hit sends the script itself."""
    key = f"rl:test:{uuid.uuid4().hex}"
    backend.window_hit(key, 60)
    backend._cache.get_client(write=True).script_flush()
    commands.clear()

    assert backend.window_hit(key, 60)[0] == 2
    assert backend.window_hit(key, 60)[0] == 3

    assert commands == ["EVALSHA", "EVAL", "EVALSHA"]


def test_windows_hit_survives_a_connection_redis_closed(backend: RedisCache) -> None:
    """The thread's own connection, ended by Redis while idle (``CLIENT KILL``), is made
    again on the next hit; the hit is counted once."""
    key = f"rl:test:{uuid.uuid4().hex}"
    backend.window_hit(key, 60)
    client = backend._cache.get_client(write=True)
    own = backend._cache._local.connection
    own.send_command("CLIENT", "ID")
    client.client_kill_filter(_id=own.read_response())

    assert backend.window_hit(key, 60)[0] == 2
    assert backend._cache._local.connection is not own
