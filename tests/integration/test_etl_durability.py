"""A rebuilt generation is on disk before the aliases point at it (issue 14 §1).

Filled with an asynchronous translog and no refreshes, a generation that is not
flushed lives in memory only: a SIGKILL of Elasticsearch right after the swap
brought back empty indices under live aliases. Killing the shared node is not
this test's to do, so it checks what makes the documents survive one: every
segment is in a Lucene commit, and writes are durable again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from elasticsearch import AsyncElasticsearch

import movies_index as indices
from movies_etl import bootstrap
from movies_etl.adapters.search import indices_behind_alias
from tests import etl_helpers as h


@pytest_asyncio.fixture(scope="module", autouse=True)
async def rebuilt(es: AsyncElasticsearch) -> AsyncIterator[None]:
    async with h.sample_catalogue(es):
        async with bootstrap.app(h.settings()) as app:
            await app.rebuild.reindex()
        yield


async def generation(es: AsyncElasticsearch) -> list[str]:
    return [
        index
        for name in indices.INDEX_NAMES
        for index in await indices_behind_alias(es, indices.alias_name(name, h.PREFIX))
    ]


async def test_every_segment_of_the_new_generation_is_committed(es: AsyncElasticsearch) -> None:
    targets = await generation(es)
    response = await es.indices.segments(index=",".join(targets))
    segments = [
        (index, name, segment["committed"])
        for index, body in response["indices"].items()
        for copies in body["shards"].values()
        for copy in copies
        for name, segment in copy["segments"].items()
    ]
    assert {index for index, _, _ in segments} == set(targets)
    assert [s for s in segments if not s[2]] == []


async def test_the_bulk_load_settings_are_gone(es: AsyncElasticsearch) -> None:
    targets = await generation(es)
    response = await es.indices.get_settings(index=",".join(targets), include_defaults=True)
    for index in targets:
        body = response[index]
        effective = {**body["defaults"]["index"], **body["settings"]["index"]}
        assert effective["translog"]["durability"].lower() == "request", index
        assert effective["refresh_interval"] != "-1", index
        assert effective["auto_expand_replicas"] == "0-1", index
