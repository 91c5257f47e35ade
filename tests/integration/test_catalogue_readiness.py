"""The API never answers an emptied catalogue as if it were true (issue 14 §1): when an
alias points at an index that lost its documents while the ETL expects some, health
says NOT_SERVING until the ETL's self-check has refilled it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from elasticsearch import AsyncElasticsearch
from elasticsearch.helpers import async_bulk, async_scan

import movies_index as indices
from movies_etl import bootstrap
from tests.conftest import ES_URL
from tests.support import catalog
from tests.support.procs import Proc, eventually
from tests.support.servers import ApiServer, healthy, start_api

PREFIX = "test_ready_"
MOVIES = indices.alias_name(indices.MOVIES, PREFIX)
CHECK_INTERVAL_SECONDS = 0.2


async def _drop(es: AsyncElasticsearch) -> None:
    found = await es.indices.get(index=f"{PREFIX}*", allow_no_indices=True)
    if found.body:
        await es.indices.delete(index=",".join(found.body), ignore_unavailable=True)


@pytest_asyncio.fixture(scope="module")
async def ready_catalog(loaded_catalog: None, es: AsyncElasticsearch) -> AsyncIterator[None]:
    """The API tests' catalogue, rebuilt by the ETL under this module's own prefix."""
    await _drop(es)
    async with bootstrap.app(catalog.etl_settings(ES_URL, PREFIX)) as app:
        await app.rebuild.reindex()
    yield
    await _drop(es)


@pytest.fixture(scope="module")
def ready_api(ready_catalog: None, test_redis: Proc) -> Iterator[ApiServer]:
    server = start_api(
        "test-content-api-readiness",
        {
            "ELASTICSEARCH_URL": ES_URL,
            "ES_INDEX_PREFIX": PREFIX,
            "REDIS_URL": f"redis://127.0.0.1:{test_redis.port}/0",  # type: ignore[attr-defined]
            "CATALOGUE_CHECK_INTERVAL_SECONDS": str(CHECK_INTERVAL_SECONDS),
        },
    )
    yield server
    server.proc.stop()


async def test_an_emptied_index_is_not_served_until_the_etl_refills_it(
    ready_api: ApiServer, es: AsyncElasticsearch
) -> None:
    assert healthy(ready_api.port)
    # What a node that died before a flush leaves: the index and alias, no documents.
    ids = [hit["_id"] async for hit in async_scan(es, index=MOVIES, _source=False)]
    assert ids
    await async_bulk(
        es, ({"_op_type": "delete", "_index": MOVIES, "_id": i} for i in ids), refresh=True
    )

    async def not_serving() -> bool:
        return not healthy(ready_api.port)

    await eventually(not_serving, 10, "NOT_SERVING over an emptied movies index", interval=0.1)

    async with bootstrap.app(catalog.etl_settings(ES_URL, PREFIX)) as app:
        result = await app.verifier.verify()
    assert result.outcome == "rebuilt", result

    async def serving() -> bool:
        return healthy(ready_api.port)

    await eventually(serving, 10, "SERVING once the ETL rebuilt the index", interval=0.1)
    assert int((await es.count(index=MOVIES))["count"]) == len(catalog.FILMS)
