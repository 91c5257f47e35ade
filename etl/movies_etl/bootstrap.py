"""Wires the adapters into the service layer, in one place.

Clients are created when a command starts and closed when it ends; nothing
connects at import time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from elasticsearch import AsyncElasticsearch
from tenacity import AsyncRetrying

from movies_etl.adapters import cache, search
from movies_etl.adapters.postgres import Database, PostgresCatalog
from movies_etl.config import Settings
from movies_etl.ports import AuditCatalog, AuditIndex, CacheSignal, Catalog, Index, RetryPolicy
from movies_etl.resilience import retrying
from movies_etl.service import (
    CacheNotifier,
    FullRebuild,
    IncrementalSync,
    StatusReport,
    SyncOptions,
    Verifier,
)


@dataclass(frozen=True, slots=True)
class Services:
    """The things the ETL does, sharing one cache notifier."""

    sync: IncrementalSync
    rebuild: FullRebuild
    status: StatusReport
    verifier: Verifier | None = None


@dataclass(frozen=True, slots=True)
class App:
    settings: Settings
    catalog: PostgresCatalog
    es: AsyncElasticsearch
    index: search.SearchIndex
    sync: IncrementalSync
    rebuild: FullRebuild
    status: StatusReport
    verifier: Verifier


def sync_options(settings: Settings) -> SyncOptions:
    return SyncOptions(
        batch_size=settings.etl_batch_size,
        bulk_size=settings.etl_bulk_size,
        bulk_concurrency=settings.etl_bulk_concurrency,
        fetch_size=settings.etl_fetch_size,
        reindex_backlog=settings.etl_reindex_backlog,
        poll_interval_seconds=settings.etl_poll_interval_seconds,
        signal_retry_seconds=settings.etl_cache_signal_retry_seconds,
        retry_initial_seconds=settings.etl_retry_initial_seconds,
        retry_max_seconds=settings.etl_retry_max_seconds,
        retry_give_up_seconds=settings.etl_retry_give_up_seconds,
        old_index_grace_seconds=settings.es_old_index_grace_seconds,
        progress_every=settings.etl_progress_every,
        verify_interval_seconds=settings.etl_verify_interval_seconds,
        verify_sample_size=settings.etl_verify_sample_size,
        verify_rebuild_fraction=settings.etl_verify_rebuild_fraction,
    )


def retry_policy(options: SyncOptions) -> RetryPolicy:
    """Forever (any failure, logged) for `etl run`; transient failures for a while otherwise."""

    def attempts(forever: bool) -> AsyncRetrying:
        return retrying(
            options.retry_initial_seconds,
            options.retry_max_seconds,
            None if forever else options.retry_give_up_seconds,
            only_transient=not forever,
        )

    return attempts


def services(
    catalog: Catalog,
    index: Index,
    signal: CacheSignal,
    options: SyncOptions,
    audit: tuple[AuditCatalog, AuditIndex] | None = None,
) -> Services:
    """The service layer over any stores: the real ones here, fakes in unit tests.

    `audit` gives the same stores seen through the verifier's wider ports; without
    it `etl run` does not check itself.
    """
    notifier = CacheNotifier(signal)
    retry = retry_policy(options)
    rebuild = FullRebuild(catalog, index, notifier, options, retry)
    verifier = Verifier(*audit, rebuild, notifier, options) if audit else None
    return Services(
        IncrementalSync(catalog, index, notifier, options, retry, rebuild, verifier),
        rebuild,
        StatusReport(catalog, index),
        verifier,
    )


@asynccontextmanager
async def app(settings: Settings) -> AsyncIterator[App]:
    """Everything `etl run|once|reindex|verify|status` needs, closed on the way out."""
    db = Database(settings.postgres_dsn, settings.postgres_connect_timeout_seconds)
    catalog = PostgresCatalog(db, settings.etl_advisory_lock_key)
    es = search.make_client(settings.elasticsearch_hosts, settings.es_timeout_seconds)
    redis = cache.make_client(
        settings.redis_url,
        settings.redis_timeout_seconds,
        settings.redis_sentinels,
        settings.redis_sentinel_master,
    )
    index = search.SearchIndex(es, settings.es_index_prefix)
    signal = cache.RedisCacheSignal(redis, settings.cache_version_key, settings.cache_channel)
    wired = services(catalog, index, signal, sync_options(settings), (catalog, index))
    assert wired.verifier is not None
    try:
        yield App(
            settings, catalog, es, index, wired.sync, wired.rebuild, wired.status, wired.verifier
        )
    finally:
        await catalog.close()
        await es.close()
        await signal.close()
