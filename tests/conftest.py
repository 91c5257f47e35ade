"""Shared fixtures: the tests' own API server and Envoy over the real backends.

The dev stack (`make up`) provides PostgreSQL, Redis and Elasticsearch. Tests
of the API start their own gRPC server and Envoy on free ports, reading their
own indices (prefix `test_api_`) through a TCP proxy (to cut or slow
Elasticsearch) and caching in their own Redis (to stop it), so they can break
things without disturbing the dev stack. Tests that stop a real Elasticsearch or
PostgreSQL (`disruptive`) stop their own (`own_es`, `own_pg`), never the stack's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import grpc
import httpx
import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from elasticsearch import AsyncElasticsearch

from tests.support import catalog
from tests.support.instances import OwnElasticsearch, OwnPostgres
from tests.support.procs import Proc, free_port, port_open, wait_until
from tests.support.servers import ApiServer, Edge, start_api, start_edge
from tests.support.stack import stack
from tests.support.tcp_proxy import TcpProxy

ES_URL = stack().es_url
ES_PORT = stack().es_node_port
TEST_PREFIX = "test_api_"
VERSION_KEY = "test:catalog_version"
CHANNEL = "test:catalog_changed"
DEADLINE_S = 1.5


@pytest_asyncio.fixture(scope="session")
async def es() -> AsyncIterator[AsyncElasticsearch]:
    client = AsyncElasticsearch(ES_URL, request_timeout=30)
    yield client
    await client.close()


@pytest.fixture(scope="session")
def test_redis() -> Iterator[Proc]:
    port = free_port()
    proc = Proc(
        "test-redis",
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
    )
    proc.port = port  # type: ignore[attr-defined]
    proc.start()
    wait_until(lambda: port_open(port), 10, "test redis")
    yield proc
    proc.stop()


@pytest_asyncio.fixture(scope="session")
async def redis_client(test_redis: Proc) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis(port=test_redis.port)  # type: ignore[attr-defined]
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def es_proxy() -> Iterator[TcpProxy]:
    proxy = TcpProxy(free_port(), ES_PORT).start()
    yield proxy
    proxy.close()


@pytest_asyncio.fixture(scope="session")
async def loaded_catalog() -> None:
    await catalog.load(ES_URL, TEST_PREFIX)


@pytest.fixture(scope="session")
def api(loaded_catalog: None, test_redis: Proc, es_proxy: TcpProxy) -> Iterator[ApiServer]:
    server = start_api(
        "test-content-api",
        {
            "ELASTICSEARCH_URL": f"http://127.0.0.1:{es_proxy.listen_port}",
            "ES_INDEX_PREFIX": TEST_PREFIX,
            "ES_TIMEOUT_SECONDS": "1.0",
            "REQUEST_DEADLINE_SECONDS": str(DEADLINE_S),
            "REDIS_URL": f"redis://127.0.0.1:{test_redis.port}/0",  # type: ignore[attr-defined]
            "CACHE_VERSION_KEY": VERSION_KEY,
            "CACHE_CHANNEL": CHANNEL,
            "CACHE_VERSION_POLL_SECONDS": "0.5",
            "CACHE_RETRY_AFTER_SECONDS": "0.5",
        },
    )
    yield server
    server.proc.stop()


@pytest_asyncio.fixture(scope="session")
async def channel(api: ApiServer) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(api.target) as ch:
        yield ch


@pytest.fixture(scope="session")
def edge(api: ApiServer) -> Iterator[Edge]:
    server = start_edge("test-envoy", api)
    yield server
    server.stop()


@pytest_asyncio.fixture(scope="session")
async def http(edge: Edge) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=edge.url, timeout=10) as client:
        yield client


@pytest.fixture(scope="session")
def own_es() -> Iterator[OwnElasticsearch]:
    """An Elasticsearch of the tests' own, for tests that stop and start one."""
    server = OwnElasticsearch()
    try:
        server.start()
        yield server
    finally:
        server.remove()


@pytest.fixture(scope="session")
def own_pg() -> Iterator[OwnPostgres]:
    """A PostgreSQL of the tests' own, for tests that stop and start one."""
    server = OwnPostgres()
    try:
        server.create()
        yield server
    finally:
        server.remove()
