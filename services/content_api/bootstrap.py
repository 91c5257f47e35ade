"""Wires adapters into the service layer in one place (clients built at start-up)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from elasticsearch import AsyncElasticsearch

from content_api.adapters.cache import RedisCache
from content_api.adapters.search import ElasticsearchSearch
from content_api.config import Settings
from content_api.entrypoints.limits import contract_limits
from content_api.service_layer.catalog import CatalogService
from movies_index import redis_client as redis_client_for


@dataclass
class App:
    """Everything a running server holds; closed together on shutdown."""

    settings: Settings
    catalog: CatalogService
    cache: RedisCache
    es: AsyncElasticsearch
    search: ElasticsearchSearch


def make_es_client(settings: Settings) -> AsyncElasticsearch:
    """A client over every node of `ELASTICSEARCH_URL` that retries elsewhere.

    After a connection error or a timeout the request goes to another node (a
    node that died, or one back but not yet rejoined, is then skipped for a
    while). The request's deadline bounds the whole chain: the RPC is cancelled
    when it passes, so retries are useful only while they can still fit in it,
    each other node once and at least one retry.
    """
    hosts = settings.elasticsearch_hosts
    return AsyncElasticsearch(
        hosts,
        request_timeout=settings.es_timeout_seconds,
        max_retries=max(1, len(hosts) - 1),
        retry_on_timeout=True,
        connections_per_node=settings.es_max_connections,
    )


@asynccontextmanager
async def build_app(settings: Settings) -> AsyncIterator[App]:
    es = make_es_client(settings)
    redis_client = redis_client_for(
        settings.redis_url,
        settings.redis_sentinels,
        settings.redis_sentinel_master,
        socket_timeout=settings.redis_timeout_seconds,
        socket_connect_timeout=settings.redis_timeout_seconds,
        max_connections=settings.redis_max_connections,
        health_check_interval=30,
    )
    cache = RedisCache(
        redis_client,
        ttl_seconds=settings.cache_ttl_seconds,
        version_key=settings.cache_version_key,
        channel=settings.cache_channel,
        poll_seconds=settings.cache_version_poll_seconds,
        retry_after_seconds=settings.cache_retry_after_seconds,
        local_bytes=settings.local_cache_max_bytes,
    )
    limits = contract_limits()
    search = ElasticsearchSearch(es, settings.es_index_prefix, limits.page.max_window)
    catalog = CatalogService(
        search, cache, limits.page, limits.max_query_length, settings.cache_key_prefix
    )
    await cache.start()
    try:
        yield App(settings, catalog, cache, es, search)
    finally:
        await cache.close()
        await es.close()
