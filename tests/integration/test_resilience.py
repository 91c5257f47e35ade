"""Cache behaviour and failing backends, against the real Redis and Elasticsearch."""

from __future__ import annotations

import asyncio
import random
import signal
import time
import uuid
from collections.abc import AsyncIterator

import grpc
import httpx
import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from elasticsearch import AsyncElasticsearch

from content_api.config import Settings
from movies.v1 import film_service_pb2 as fpb
from movies.v1 import film_service_pb2_grpc as fgrpc
from movies_etl.adapters.cache import RedisCacheSignal
from tests.conftest import CHANNEL, DEADLINE_S, TEST_PREFIX, VERSION_KEY
from tests.support import catalog as c
from tests.support.instances import OwnElasticsearch
from tests.support.procs import Proc, eventually, port_open, wait_until
from tests.support.servers import ApiServer, start_api
from tests.support.tcp_proxy import TcpProxy

# A Redis nobody listens on: every call goes to Elasticsearch.
NO_REDIS = "redis://127.0.0.1:1/0"
CACHE_PREFIX = Settings.model_fields["cache_key_prefix"].default


@pytest.fixture
def films(channel: grpc.aio.Channel) -> fgrpc.FilmServiceAsyncStub:
    return fgrpc.FilmServiceStub(channel)


async def title_of(films: fgrpc.FilmServiceAsyncStub, fid: str) -> str:
    return (await films.GetFilm(fpb.GetFilmRequest(film_id=fid))).title


async def bump_version(redis_client: aioredis.Redis) -> None:
    """What the ETL does after each batch (versions only grow, even past a Redis restart)."""
    assert await RedisCacheSignal(redis_client, VERSION_KEY, CHANNEL).signal()


async def test_cache_hit_then_invalidation_by_version(
    films: fgrpc.FilmServiceAsyncStub, es: AsyncElasticsearch, redis_client: aioredis.Redis
) -> None:
    index = f"{TEST_PREFIX}movies"
    original = await title_of(films, c.F_QUIET)
    assert await redis_client.keys(f"{CACHE_PREFIX}:*:film:{c.F_QUIET}")
    try:
        await es.update(index=index, id=c.F_QUIET, doc={"title": "a louder drama"}, refresh=True)
        # Cached: the change in Elasticsearch alone is not seen...
        assert await title_of(films, c.F_QUIET) == original
        # ...until the ETL's signal, which ends it within milliseconds.
        await bump_version(redis_client)
        started = time.monotonic()
        while await title_of(films, c.F_QUIET) != "a louder drama":
            assert time.monotonic() - started < 1.0, "stale beyond the bound"
            await asyncio.sleep(0.01)
    finally:
        await es.update(index=index, id=c.F_QUIET, doc={"title": original}, refresh=True)
        await bump_version(redis_client)


async def test_redis_down_answers_keep_coming(
    films: fgrpc.FilmServiceAsyncStub,
    test_redis: Proc,
    redis_client: aioredis.Redis,
    api: ApiServer,
) -> None:
    test_redis.stop()
    try:
        for _ in range(20):
            assert await title_of(films, c.F_NEW_HOPE) == "Star Wars: Episode IV - A New Hope"
        resp = await films.ListFilms(fpb.ListFilmsRequest(sort="title"))
        assert resp.total == len(c.FILMS)
        assert "redis unavailable, serving from elasticsearch" in api.proc.log_text()
    finally:
        test_redis.start()
        wait_until(lambda: port_open(test_redis.port), 10, "test redis")  # type: ignore[attr-defined]
    # Healed without restarting the API: entries are written again.
    deadline = time.monotonic() + 5
    while not await redis_client.keys(f"{CACHE_PREFIX}:*:film:{c.F_EMPIRE}"):
        assert time.monotonic() < deadline, "cache did not come back after Redis restarted"
        await title_of(films, c.F_EMPIRE)
        await asyncio.sleep(0.2)


async def _unavailable_within_deadline(films: fgrpc.FilmServiceAsyncStub) -> None:
    started = time.monotonic()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        # A query never asked before, so no cache can answer it.
        await films.SearchFilms(fpb.SearchFilmsRequest(query=f"q{uuid.uuid4().hex[:8]}"))
    elapsed = time.monotonic() - started
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "password" not in (err.value.details() or "")
    assert elapsed < DEADLINE_S + 0.5, elapsed


async def test_elasticsearch_down_is_unavailable_then_recovers(
    films: fgrpc.FilmServiceAsyncStub, es_proxy: TcpProxy
) -> None:
    es_proxy.set_mode("down")
    try:
        await _unavailable_within_deadline(films)
    finally:
        es_proxy.set_mode("pass")
    # A page size no other test asks for: only Elasticsearch can answer, not a cache.
    size = random.randint(11, 49)
    resp = await films.SearchFilms(fpb.SearchFilmsRequest(query="star wars", page_size=size))
    assert resp.page_size == size
    assert {f.uuid for f in resp.films} >= {c.F_NEW_HOPE, c.F_EMPIRE}
    assert (await films.ListFilms(fpb.ListFilmsRequest(page_size=1))).total == len(c.FILMS)


async def test_elasticsearch_slow_is_unavailable_within_deadline(
    films: fgrpc.FilmServiceAsyncStub, es_proxy: TcpProxy
) -> None:
    es_proxy.set_mode("slow", delay=DEADLINE_S * 3)
    try:
        await _unavailable_within_deadline(films)
    finally:
        es_proxy.set_mode("pass")


async def test_rest_503_when_elasticsearch_is_down(
    http: httpx.AsyncClient, es_proxy: TcpProxy
) -> None:
    es_proxy.set_mode("down")
    try:
        started = time.monotonic()
        resp = await http.get("/api/v1/films/search", params={"query": uuid.uuid4().hex})
        assert resp.status_code == 503
        assert resp.json()["code"] == 14
        assert time.monotonic() - started < DEADLINE_S + 0.5
    finally:
        es_proxy.set_mode("pass")


async def test_service_restart_heals_behind_envoy(http: httpx.AsyncClient, api: ApiServer) -> None:
    assert (await http.get(f"/api/v1/films/{c.F_NEW_HOPE}")).status_code == 200
    api.restart()
    deadline = time.monotonic() + 10
    while (resp := await http.get(f"/api/v1/films/{c.F_SOLARIS}")).status_code != 200:
        assert time.monotonic() < deadline, resp.text
        await asyncio.sleep(0.2)
    assert resp.json()["title"] == "Солярис"


async def test_sigterm_lets_in_flight_calls_finish(api: ApiServer, es_proxy: TcpProxy) -> None:
    async with grpc.aio.insecure_channel(api.target) as ch:
        stub = fgrpc.FilmServiceStub(ch)
        es_proxy.set_mode("slow", delay=0.4)
        try:
            # A query that matches (one Elasticsearch round trip, no typo
            # fallback) on a page no other test asks for, so no cache answers.
            page = random.randint(2, 199)
            sent = es_proxy.chunks_in
            call = asyncio.ensure_future(
                stub.SearchFilms(fpb.SearchFilmsRequest(query="star", page_number=page))
            )
            # In flight: the search has reached the (slowed) proxy on its way to
            # Elasticsearch, and its answer is still to come.
            await eventually(lambda: es_proxy.chunks_in > sent, 5, "the search in flight", 0.01)
            assert not call.done()
            assert api.proc.popen is not None
            api.proc.popen.send_signal(signal.SIGTERM)
            resp = await call
            assert (resp.page_number, resp.page_size) == (page, 50)
            assert api.proc.popen.wait(10) == 0
        finally:
            es_proxy.set_mode("pass")
            # The next tests share this server, whatever happened here.
            api.restart()


@pytest_asyncio.fixture(scope="module")
async def films_on_own_es(own_es: OwnElasticsearch) -> AsyncIterator[fgrpc.FilmServiceAsyncStub]:
    """The test catalogue on the tests' own Elasticsearch, served without a cache."""
    await c.load(own_es.url, TEST_PREFIX)
    server = start_api(
        "test-content-api-own-es",
        {
            "ELASTICSEARCH_URL": own_es.url,
            "ES_INDEX_PREFIX": TEST_PREFIX,
            "ES_TIMEOUT_SECONDS": "1.0",
            "REQUEST_DEADLINE_SECONDS": str(DEADLINE_S),
            "REDIS_URL": NO_REDIS,
        },
    )
    try:
        async with grpc.aio.insecure_channel(server.target) as ch:
            yield fgrpc.FilmServiceStub(ch)
    finally:
        server.proc.stop()


@pytest.mark.disruptive
async def test_real_elasticsearch_stop_and_start(
    films_on_own_es: fgrpc.FilmServiceAsyncStub, own_es: OwnElasticsearch
) -> None:
    """The real engine, stopped and started: 503 meanwhile, healed without a restart."""
    films = films_on_own_es
    assert (await films.ListFilms(fpb.ListFilmsRequest(page_size=1))).total == len(c.FILMS)
    await asyncio.to_thread(own_es.stop)
    try:
        await _unavailable_within_deadline(films)
    finally:
        await asyncio.to_thread(own_es.start)
    deadline = time.monotonic() + 30
    codes = []
    while time.monotonic() < deadline:
        try:
            resp = await films.ListFilms(fpb.ListFilmsRequest(page_size=1, sort="-title"))
        except grpc.aio.AioRpcError as exc:
            codes.append(exc.code())
            await asyncio.sleep(0.5)
            continue
        assert resp.total == len(c.FILMS)
        break
    else:
        pytest.fail(f"did not heal after Elasticsearch came back: {codes}")
    assert set(codes) <= {grpc.StatusCode.UNAVAILABLE}
