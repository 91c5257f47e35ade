"""The in-process tier in front of Redis: hot keys without a round trip, and
never an entry older than the catalogue version."""

from __future__ import annotations

from typing import Any

from content_api.adapters.cache import RedisCache


class FakeRedis:
    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.gets = 0

    async def get(self, key: str) -> bytes | None:
        self.gets += 1
        return self.data.get(key)

    async def set(self, key: str, value: bytes, ex: int) -> None:
        self.data[key] = value


def make(local_bytes: int = 1000) -> tuple[RedisCache, FakeRedis]:
    redis = FakeRedis()
    fake: Any = redis
    cache = RedisCache(
        fake,
        ttl_seconds=60,
        version_key="v",
        channel="c",
        poll_seconds=1,
        retry_after_seconds=1,
        local_bytes=local_bytes,
    )
    return cache, redis


async def test_hot_key_is_served_without_redis() -> None:
    cache, redis = make()
    await cache.set("k", b"payload")
    assert await cache.get("k") == b"payload"
    assert redis.gets == 0
    assert cache.stats.hits == 1


async def test_redis_hit_fills_the_local_tier() -> None:
    cache, redis = make()
    redis.data["k"] = b"from redis"
    assert await cache.get("k") == b"from redis"
    assert await cache.get("k") == b"from redis"
    assert redis.gets == 1


async def test_a_version_change_empties_the_local_tier() -> None:
    cache, redis = make()
    cache._set_version("3")
    await cache.set("content:3:film", b"old")
    cache._set_version("4")
    cache._set_version("3")  # a step back (a Redis that lost increments) is ignored
    redis.data.clear()
    assert cache.version() == "4"
    assert await cache.get("content:3:film") is None


async def test_a_version_that_goes_back_is_ignored() -> None:
    cache, _ = make()
    cache._set_version("1764240000000000")
    cache._set_version("0")  # Redis restarted empty
    assert cache.version() == "1764240000000000"
    cache._set_version("1764240000000001")
    assert cache.version() == "1764240000000001"


async def test_local_tier_is_bounded_in_bytes() -> None:
    cache, redis = make(local_bytes=25)
    for i in range(5):
        await cache.set(f"k{i}", b"x" * 10)
    await cache.set("huge", b"x" * 26)  # larger than the tier: Redis only
    redis.data.clear()
    assert sum([await cache.get(f"k{i}") is not None for i in range(5)]) == 2
    assert await cache.get("huge") is None
