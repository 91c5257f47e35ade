"""Wires the adapters into the service layer, in one place.

Clients are created when a command starts and closed when it ends; nothing
connects at import time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from elasticsearch import AsyncElasticsearch

from movies_etl.adapters import cache, search
from movies_etl.adapters.postgres import Database, PostgresCatalog
from movies_etl.config import Settings
from movies_etl.service import Synchronizer, SyncOptions


@dataclass(frozen=True, slots=True)
class App:
    settings: Settings
    db: Database
    catalog: PostgresCatalog
    es: AsyncElasticsearch
    index: search.SearchIndex
    sync: Synchronizer


def sync_options(settings: Settings) -> SyncOptions:
    return SyncOptions(
        batch_size=settings.etl_batch_size,
        bulk_size=settings.etl_bulk_size,
        bulk_concurrency=settings.etl_bulk_concurrency,
        fetch_size=settings.etl_fetch_size,
        reindex_backlog=settings.etl_reindex_backlog,
        poll_interval_seconds=settings.etl_poll_interval_seconds,
        retry_initial_seconds=settings.etl_retry_initial_seconds,
        retry_max_seconds=settings.etl_retry_max_seconds,
        retry_give_up_seconds=settings.etl_retry_give_up_seconds,
        old_index_grace_seconds=settings.es_old_index_grace_seconds,
        progress_every=settings.etl_progress_every,
    )


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[Database]:
    db = Database(settings.postgres_dsn, settings.postgres_connect_timeout_seconds)
    try:
        yield db
    finally:
        await db.close()


@asynccontextmanager
async def app(settings: Settings) -> AsyncIterator[App]:
    """Everything `etl run|once|reindex|status` needs, closed on the way out."""
    db = Database(settings.postgres_dsn, settings.postgres_connect_timeout_seconds)
    catalog = PostgresCatalog(db, settings.etl_advisory_lock_key)
    es = search.make_client(settings.elasticsearch_url, settings.es_timeout_seconds)
    redis = cache.make_client(settings.redis_url, settings.redis_timeout_seconds)
    index = search.SearchIndex(es, settings.es_index_prefix)
    signal = cache.RedisCacheSignal(redis, settings.cache_version_key, settings.cache_channel)
    sync = Synchronizer(catalog, index, signal, sync_options(settings))
    try:
        yield App(settings, db, catalog, es, index, sync)
    finally:
        await catalog.close()
        await es.close()
        await signal.close()
