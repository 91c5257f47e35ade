"""Wires adapters into the service layer in one place (clients built at start-up)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Final

from psycopg import AsyncConnection

from movies_client import MoviesClient
from movies_pg import open_pool
from ugc_service.adapters.catalogue import ContentCatalogue
from ugc_service.adapters.migrate import migrate
from ugc_service.adapters.postgres import PostgresStore
from ugc_service.config import Settings
from ugc_service.service_layer.paging import PageLimits
from ugc_service.service_layer.ugc import UgcService

log = logging.getLogger(__name__)

_CONNECT_TIMEOUT_S: Final = 30


@dataclass
class App:
    """Everything a running server (or a CLI command) holds; closed together."""

    settings: Settings
    store: PostgresStore
    ugc: UgcService


@asynccontextmanager
async def build_app(settings: Settings) -> AsyncIterator[App]:
    """Migrates PostgreSQL (psycopg, like every schema's migrations), then
    opens the store's pool and the content API's client."""
    async with await AsyncConnection.connect(
        settings.ugc_postgres_dsn, autocommit=True, connect_timeout=_CONNECT_TIMEOUT_S
    ) as conn:
        applied = await migrate(conn, settings.ugc_migrations_dir)
    log.info("schema up to date", extra={"applied": applied})
    pool = await open_pool(
        settings.ugc_postgres_dsn,
        settings.ugc_postgres_pool_size,
        settings.request_deadline_seconds,
    )
    client = MoviesClient(
        settings.ugc_catalogue_host,
        settings.ugc_catalogue_port,
        timeout=settings.ugc_catalogue_timeout_seconds,
        attempts=settings.ugc_catalogue_attempts,
    )
    try:
        store = PostgresStore(
            pool,
            settings.ugc_rating_shards,
            settings.ugc_rating_batch_size,
            settings.ugc_rating_batches_in_flight,
        )
        catalogue = ContentCatalogue(
            client,
            settings.ugc_film_cache_seconds,
            settings.ugc_film_miss_cache_seconds,
            settings.ugc_film_cache_size,
        )
        limits = PageLimits(settings.ugc_default_page_size, settings.ugc_max_page_size)
        yield App(settings, store, UgcService(store, catalogue, limits))
    finally:
        client.close()
        await pool.close()
