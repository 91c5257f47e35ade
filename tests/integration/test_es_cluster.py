"""The API on a 3-node Elasticsearch cluster (issue 14 §2): one node killed
under load costs at most a handful of calls, and the cluster is green again
once the node is back.

Indices get a replica wherever there is a node to hold it
(auto_expand_replicas 0-1), and the API's client sends a request to another
node after a connection error or a timeout, so no shard and no request is lost
with the node that holds the primaries.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Final

import grpc
import httpx
import pytest
import pytest_asyncio

from movies.v1 import film_service_pb2 as fpb
from movies.v1 import film_service_pb2_grpc as fgrpc
from movies.v1 import genre_service_pb2 as gpb
from movies.v1 import genre_service_pb2_grpc as ggrpc
from movies.v1 import person_service_pb2 as ppb
from movies.v1 import person_service_pb2_grpc as pgrpc
from tests.support import catalog as c
from tests.support.es_cluster import OwnCluster
from tests.support.load import OK, Load
from tests.support.servers import ApiServer, start_api

pytestmark = [pytest.mark.slow, pytest.mark.disruptive]

NODES: Final = 3
PREFIX: Final = "test_cluster_"
# Nothing listens there, and no in-process tier: every call reaches Elasticsearch.
NO_REDIS: Final = "redis://127.0.0.1:1/0"
CONCURRENCY: Final = 16
CALLS_AFTER: Final = 2000
WITHIN_S: Final = 120.0
GREEN_WITHIN: Final = "90s"
# Calls that found no node in time while the cluster re-routed (before: 4,262 of
# 7,043 failed when the node holding a 0-replica shard was killed).
HANDFUL: Final = 5


@pytest.fixture(scope="module")
def cluster() -> Iterator[OwnCluster]:
    own = OwnCluster(NODES)
    try:
        own.start()
        yield own
    finally:
        own.remove()


@pytest_asyncio.fixture(scope="module")
async def api(cluster: OwnCluster) -> AsyncIterator[ApiServer]:
    await c.load(cluster.url, PREFIX)
    await green(cluster.urls[0])
    server = start_api(
        "test-content-api-cluster",
        {
            "ELASTICSEARCH_URL": cluster.url,
            "ES_INDEX_PREFIX": PREFIX,
            "ES_TIMEOUT_SECONDS": "1.0",
            "REQUEST_DEADLINE_SECONDS": "3.0",
            "REDIS_URL": NO_REDIS,
            "LOCAL_CACHE_MAX_BYTES": "0",
        },
    )
    yield server
    server.proc.stop()


async def green(url: str) -> None:
    """Until every shard has all its copies on `NODES` nodes (or fails)."""
    async with httpx.AsyncClient(base_url=url, timeout=120) as es:
        resp = await es.get(
            "/_cluster/health",
            params={
                "wait_for_status": "green",
                "wait_for_nodes": str(NODES),
                "wait_for_no_initializing_shards": "true",
                "timeout": GREEN_WITHIN,
            },
        )
        health = resp.json()
        assert health["status"] == "green", health
        assert not health["timed_out"], health


async def primaries_holder(cluster: OwnCluster) -> int:
    """The node holding the primary of the films index: the worst one to lose."""
    async with httpx.AsyncClient(base_url=cluster.urls[0]) as es:
        resp = await es.get(f"/_cat/shards/{PREFIX}movies", params={"format": "json"})
    shards = resp.json()
    assert {s["prirep"] for s in shards} == {"p", "r"}, f"no replica: {shards}"
    (primary,) = (s for s in shards if s["prirep"] == "p")
    return int(primary["node"].rsplit("-", 1)[1])


def grpc_call(channel: grpc.aio.Channel) -> Callable[[int], Awaitable[str]]:
    films = fgrpc.FilmServiceStub(channel)
    persons = pgrpc.PersonServiceStub(channel)
    genres = ggrpc.GenreServiceStub(channel)
    calls: tuple[Callable[[], Awaitable[object]], ...] = (
        lambda: films.SearchFilms(fpb.SearchFilmsRequest(query="star", page_size=5)),
        lambda: films.GetFilm(fpb.GetFilmRequest(film_id=c.F_NEW_HOPE)),
        lambda: films.ListFilms(fpb.ListFilmsRequest(sort="-imdb_rating", page_size=3)),
        lambda: persons.SearchPersons(ppb.SearchPersonsRequest(query="lucas")),
        lambda: genres.ListGenres(gpb.ListGenresRequest()),
    )

    async def call(i: int) -> str:
        try:
            await calls[i % len(calls)]()
        except grpc.aio.AioRpcError as exc:
            return exc.code().name
        return OK

    return call


async def test_a_node_killed_under_load_costs_at_most_a_handful(
    cluster: OwnCluster, api: ApiServer
) -> None:
    victim = await primaries_holder(cluster)
    survivor = cluster.urls[(victim + 1) % NODES]
    async with (
        grpc.aio.insecure_channel(api.target) as channel,
        Load(grpc_call(channel), CONCURRENCY) as load,
    ):
        await load.wait_for(CALLS_AFTER // 4, 0, WITHIN_S)
        assert not load.errors(), load.errors()
        killed_at = load.mark()
        await asyncio.to_thread(cluster.kill, victim)
        await load.wait_for(CALLS_AFTER, killed_at, WITHIN_S)
        back_at = load.mark()
        # es.sh start brings back the node that is missing, then green again.
        await asyncio.to_thread(cluster.start)
        await green(survivor)
        green_at = load.mark()
        await load.wait_for(CALLS_AFTER // 4, green_at, WITHIN_S)
    errors = load.errors(killed_at)
    print(
        f"\nSIGKILL of the node holding the primaries (1 of {NODES}) under load: "
        f"{sum(errors.values())} of {load.count(killed_at)} calls failed {dict(errors)} "
        f"({dict(load.errors(killed_at, back_at))} while it was dead)"
    )
    assert sum(errors.values()) <= HANDFUL, errors
    assert not load.errors(green_at), "errors once the cluster was green again"
