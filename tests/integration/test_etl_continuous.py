"""The continuous ETL: lag from a commit to a searchable document, and full rebuilds
that readers (Elasticsearch clients and the API itself) never notice."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterator

import grpc
import pytest
import pytest_asyncio
from elasticsearch import AsyncElasticsearch

import movies_index as indices
from movies.v1 import film_service_pb2 as fpb
from movies.v1 import film_service_pb2_grpc as fgrpc
from movies_etl import bootstrap
from tests import etl_helpers as h
from tests.support.procs import Proc, eventually
from tests.support.servers import start_api

logger = logging.getLogger(__name__)
FILMS = h.FILMS
PAGE_SIZE = 50


@pytest_asyncio.fixture(scope="module")
async def sample(es: AsyncElasticsearch) -> AsyncIterator[None]:
    async with h.sample_catalogue(es):
        yield


@pytest_asyncio.fixture
async def running_etl(sample: None) -> AsyncIterator[bootstrap.App]:
    """`etl run` in this process, for as long as the test lasts."""
    async with bootstrap.app(h.settings()) as app:
        stop = asyncio.Event()
        task = asyncio.create_task(app.sync.run_forever(stop))
        try:
            yield app
        finally:
            stop.set()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_lag_from_commit_to_search(
    running_etl: bootstrap.App, es: AsyncElasticsearch
) -> None:
    alias = indices.alias_name(indices.MOVIES, h.PREFIX)
    await eventually(
        lambda: _count(es, alias, FILMS), 60, "initial load through `etl run`", interval=0.2
    )
    (film_id,) = (await h.fetch("select id::text from content.film_work order by id limit 1"))[0]
    lags = []
    for attempt in range(5):
        title = f"Lag probe {attempt}"
        await h.execute("update content.film_work set title = %s where id = %s", title, film_id)
        started = time.monotonic()

        async def visible(expected: str = title) -> bool:
            doc = await es.get(index=alias, id=film_id, source_includes=["title"])
            return bool(doc["_source"]["title"] == expected)

        await eventually(visible, 10, "a committed change in Elasticsearch", interval=0.01)
        lags.append(time.monotonic() - started)
    lags.sort()
    logger.warning("commit -> searchable lag: median %.3fs, max %.3fs", lags[2], lags[-1])
    assert lags[2] < 2.0


async def _count(es: AsyncElasticsearch, alias: str, expected: int) -> bool:
    try:
        return int((await es.count(index=alias))["count"]) == expected
    except Exception:
        return False


def _start_api(name: str, redis_url: str) -> tuple[Proc, str]:
    env = {
        "ELASTICSEARCH_URL": h.ES_URL,
        "ES_INDEX_PREFIX": h.PREFIX,
        "REDIS_URL": redis_url,
        "CACHE_VERSION_KEY": h.VERSION_KEY,
        "CACHE_CHANNEL": h.CHANNEL,
        "LOG_LEVEL": "WARNING",
    }
    server = start_api(name, env)
    return server.proc, server.target


@pytest.fixture
def api_on_test_indices(sample: None) -> Iterator[str]:
    """The content API reading the ETL's test indices, without a cache (every call
    reaches Elasticsearch)."""
    proc, target = _start_api("test-etl-content-api", "redis://127.0.0.1:1/0")
    yield target
    proc.stop()


@pytest.fixture
def cached_api(sample: None, test_redis: Proc) -> Iterator[tuple[str, str]]:
    """The content API with its Redis cache, and that Redis's URL for the ETL to signal."""
    redis_url = f"redis://127.0.0.1:{test_redis.port}/0"  # type: ignore[attr-defined]
    proc, target = _start_api("test-etl-content-api-cached", redis_url)
    yield target, redis_url
    proc.stop()


async def test_lag_from_commit_to_the_api(
    cached_api: tuple[str, str], es: AsyncElasticsearch
) -> None:
    """Commit -> ETL batch -> Elasticsearch -> cache signal -> the API's next answer."""
    target, redis_url = cached_api
    alias = indices.alias_name(indices.MOVIES, h.PREFIX)
    async with bootstrap.app(h.settings(redis_url=redis_url)) as app:
        stop = asyncio.Event()
        task = asyncio.create_task(app.sync.run_forever(stop))
        try:
            await eventually(lambda: _count(es, alias, FILMS), 60, "initial load")
            (film_id,) = (
                await h.fetch("select id::text from content.film_work order by id desc limit 1")
            )[0]
            lags = []
            async with grpc.aio.insecure_channel(target) as channel:
                stub = fgrpc.FilmServiceStub(channel)
                for attempt in range(5):
                    title = f"API lag probe {attempt}"
                    # Cached before the change: only the ETL's signal can end it.
                    await stub.GetFilm(fpb.GetFilmRequest(film_id=film_id))
                    await h.execute(
                        "update content.film_work set title = %s where id = %s", title, film_id
                    )
                    started = time.monotonic()

                    async def shown(expected: str = title) -> bool:
                        film = await stub.GetFilm(fpb.GetFilmRequest(film_id=film_id))
                        return bool(film.title == expected)

                    await eventually(shown, 10, "a committed change in the API", interval=0.01)
                    lags.append(time.monotonic() - started)
        finally:
            stop.set()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    lags.sort()
    logger.warning("commit -> API lag: median %.3fs, max %.3fs", lags[2], lags[-1])
    assert lags[2] < 2.0


async def test_reindex_while_queried(
    running_etl: bootstrap.App, es: AsyncElasticsearch, api_on_test_indices: str
) -> None:
    """Readers see the whole catalogue before, during and after every rebuild."""
    alias = indices.alias_name(indices.MOVIES, h.PREFIX)
    await eventually(lambda: _count(es, alias, FILMS), 60, "initial load")
    # The commonest title word, and how many films have it: every page asked exists.
    word, with_word = (
        await h.fetch(
            "select word, count(*) from content.film_work,"
            " regexp_split_to_table(lower(title), '\\s+') word"
            " where length(word) > 3 group by word order by 2 desc, 1 limit 1"
        )
    )[0]
    pages = FILMS // PAGE_SIZE
    stop = asyncio.Event()
    seen: list[int] = []
    failures: list[str] = []

    async def query_elasticsearch() -> None:
        page = 0
        while not stop.is_set():
            try:
                result = await es.search(
                    index=alias, query={"match": {"title": word}}, size=5, from_=page % with_word,
                    track_total_hits=True, sort=[{"title.raw": "asc"}, {"id": "asc"}],
                )  # fmt: skip
                count = await es.count(index=alias)
                seen.append(int(count["count"]))
                if not result["hits"]["hits"]:
                    failures.append("a search found nothing")
            except Exception as exc:
                failures.append(f"elasticsearch: {exc!r}")
            page += 1

    async def query_api() -> None:
        async with grpc.aio.insecure_channel(api_on_test_indices) as channel:
            stub = fgrpc.FilmServiceStub(channel)
            page = 1
            while not stop.is_set():
                try:
                    number = page % pages + 1
                    response = await stub.ListFilms(
                        fpb.ListFilmsRequest(sort="title", page_number=number, page_size=PAGE_SIZE)
                    )
                    seen.append(response.total)
                    if not response.films:
                        failures.append(f"api page {number} empty")
                except grpc.aio.AioRpcError as exc:
                    failures.append(f"api: {exc.code()} {exc.details()}")
                page += 1

    readers = [asyncio.create_task(query_elasticsearch()), asyncio.create_task(query_api())]
    try:
        for _ in range(3):
            async with bootstrap.app(h.settings()) as app:
                await app.rebuild.reindex()
            await asyncio.sleep(0.3)
    finally:
        stop.set()
        await asyncio.gather(*readers)

    assert not failures, failures[:5]
    assert len(seen) > 50
    assert set(seen) == {FILMS}
    await h.assert_indices_equal_database(es)
