"""The catalogue version cannot go backwards (issue 14 §4): a Redis that lost
increments (a promoted replica, a restart) never brings back answers cached under
an old version. Real Redis, the API's cache and service layer, the ETL's signal."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest_asyncio
import redis.asyncio as aioredis

from content_api.adapters.cache import RedisCache
from content_api.domain.models import PageLimits
from content_api.service_layer.catalog import CatalogService
from movies.v1 import film_service_pb2
from movies_etl.adapters.cache import RedisCacheSignal
from tests.support.procs import Proc, eventually
from tests.unit.test_catalog import FILM_ID, FakeSearch, film_doc

PREFIX = "t"
POLL_SECONDS = 0.05


@pytest_asyncio.fixture
async def names() -> tuple[str, str]:
    run = uuid.uuid4().hex[:8]
    return f"test_version:{run}:version", f"test_version:{run}:channel"


def api_cache(test_redis: Proc, names: tuple[str, str]) -> RedisCache:
    """The API's cache as bootstrap builds it, without the in-process tier: every
    answer comes from Redis, where the old entries are."""
    key, channel = names
    return RedisCache(
        aioredis.Redis(port=test_redis.port),  # type: ignore[attr-defined]
        ttl_seconds=60,
        version_key=key,
        channel=channel,
        poll_seconds=POLL_SECONDS,
        retry_after_seconds=0.1,
        local_bytes=0,
    )


@pytest_asyncio.fixture
async def api(test_redis: Proc, names: tuple[str, str]) -> AsyncIterator[RedisCache]:
    cache = api_cache(test_redis, names)
    await cache.start()
    yield cache
    await cache.close()


async def title(service: CatalogService) -> str:
    film = film_service_pb2.Film.FromString(await service.get_film(FILM_ID))
    return film.title


async def test_a_counter_reset_serves_no_old_entry(
    test_redis: Proc,
    redis_client: aioredis.Redis,
    names: tuple[str, str],
    api: RedisCache,
) -> None:
    key, channel = names
    etl = RedisCacheSignal(redis_client, key, channel)
    search = FakeSearch()
    service = CatalogService(search, api, PageLimits(50, 100, 10_000), 256, PREFIX)

    assert await etl.signal()
    v1 = await stored(redis_client, key)
    await eventually(lambda: api.version() == v1, 5, "the API on the first version")
    search.films[FILM_ID] = film_doc("Old title")
    assert await title(service) == "Old title"
    assert await redis_client.get(f"{PREFIX}:{v1}:film:{FILM_ID}") is not None

    search.films[FILM_ID] = film_doc("New title")
    assert await etl.signal()
    v2 = await stored(redis_client, key)
    assert int(v2) > int(v1)
    await eventually(lambda: api.version() == v2, 5, "the API on the second version")
    assert await title(service) == "New title"

    # Failover to a replica that missed the last signal: the counter is back at v1,
    # and the entry cached under v1 is still there.
    await redis_client.set(key, v1)
    behind = api.stats.versions_behind
    await eventually(
        lambda: api.stats.versions_behind > behind, 5, "the API reading the old version"
    )
    assert api.version() == v2
    assert await title(service) == "New title"

    # An API that starts now would read v1: the ETL notices and publishes past it.
    assert await etl.reassert()
    v3 = await stored(redis_client, key)
    assert int(v3) > int(v2)
    fresh = api_cache(test_redis, names)
    await fresh.start()
    try:
        assert fresh.version() == v3
        fresh_service = CatalogService(search, fresh, PageLimits(50, 100, 10_000), 256, PREFIX)
        assert await title(fresh_service) == "New title"
    finally:
        await fresh.close()

    # Redis restarted empty: the next version is still larger than every one before.
    await redis_client.delete(key)
    assert await etl.signal()
    assert int(await stored(redis_client, key)) > int(v3)


async def stored(redis_client: aioredis.Redis, key: str) -> str:
    raw = await redis_client.get(key)
    assert isinstance(raw, bytes), raw
    return raw.decode()
