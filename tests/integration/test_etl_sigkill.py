"""Nothing is lost when Elasticsearch is killed right after a full rebuild (issue 14 §1).

A generation filled with an asynchronous translog and no refreshes lives in memory
until a flush commits it: a `kill -9` of Elasticsearch just after the alias swap
brought back empty indices under live aliases, and the API served an empty
catalogue. This test does exactly that, on the tests' own node (`own_es`), never
the dev stack's: rebuild, SIGKILL the JVM at once, start it again on the same data
dir, and find every row of PostgreSQL behind the aliases.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from elasticsearch import AsyncElasticsearch
from elasticsearch.helpers import async_scan

import movies_index as indices
from movies_etl import bootstrap
from tests import etl_helpers as h
from tests.support.instances import OwnElasticsearch

pytestmark = pytest.mark.disruptive

# The table each index's documents come from, read here without the ETL's queries.
TABLES = {
    indices.MOVIES: "content.film_work",
    indices.PERSONS: "content.person",
    indices.GENRES: "content.genre",
}
# A restarted node recovers its shards from disk: generous on 2 busy cores.
RECOVERY_TIMEOUT_S = 120
SCAN_PAGE = 5000


@pytest_asyncio.fixture
async def own_client(own_es: OwnElasticsearch) -> AsyncIterator[AsyncElasticsearch]:
    client = AsyncElasticsearch(own_es.url, request_timeout=30)
    yield client
    await client.close()


async def database_ids() -> dict[str, set[str]]:
    return {
        name: {str(row[0]) for row in await h.fetch(f"select id::text from {table}")}
        for name, table in TABLES.items()
    }


async def alias_ids(es: AsyncElasticsearch, alias: str) -> set[str]:
    return {
        hit["_id"]
        async for hit in async_scan(
            es, index=alias, query={"query": {"match_all": {}}, "_source": False}, size=SCAN_PAGE
        )
    }


async def recovered(es: AsyncElasticsearch, aliases: list[str]) -> None:
    """Waits until every shard behind the aliases is started again after the restart.

    The node answering is not enough: shards recover from disk after it does.
    """
    health = await es.options(request_timeout=RECOVERY_TIMEOUT_S + 10).cluster.health(
        index=",".join(aliases),
        wait_for_status="yellow",
        wait_for_no_initializing_shards=True,
        timeout=f"{RECOVERY_TIMEOUT_S}s",
    )
    assert not health["timed_out"], f"shards not recovered after the restart: {health}"


async def test_every_document_survives_a_sigkill_right_after_a_rebuild(
    own_es: OwnElasticsearch, own_client: AsyncElasticsearch
) -> None:
    aliases = {name: indices.alias_name(name, h.PREFIX) for name in TABLES}
    async with h.sample_catalogue(own_client):
        expected = await database_ids()
        try:
            async with bootstrap.app(h.settings(elasticsearch_url=own_es.url)) as app:
                written = await app.rebuild.reindex()
                # At once: no request of any kind between the rebuild and the kill.
                await asyncio.to_thread(own_es.kill)
        finally:
            # On the same data dir; a no-op if the rebuild failed before the kill.
            await asyncio.to_thread(own_es.start)
        assert written == {name: len(ids) for name, ids in expected.items()}
        await recovered(own_client, list(aliases.values()))

        await own_client.indices.refresh(index=",".join(aliases.values()))
        counts = {
            name: (await own_client.count(index=alias))["count"] for name, alias in aliases.items()
        }
        assert counts == written, f"documents after SIGKILL and restart {counts}, written {written}"
        for name, alias in aliases.items():
            found = await alias_ids(own_client, alias)
            assert found == expected[name], (
                f"{name}: {len(expected[name] - found)} missing, {len(found - expected[name])} extra"
            )
