"""Settings of the ETL, read once from environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from movies_index import StoreSettings

_MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


class Settings(StoreSettings):
    """Every tunable of the ETL (where the stores are: StoreSettings, shared with the
    API); names match the environment variables."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    postgres_dsn: str = "postgresql://movies:movies@127.0.0.1:5432/movies"
    postgres_connect_timeout_seconds: float = Field(5.0, gt=0)

    es_timeout_seconds: float = Field(60.0, gt=0)
    # Old index generations live this long after an alias swap, so searches that
    # resolved the alias just before the swap can still finish on them.
    es_old_index_grace_seconds: float = Field(2.0, ge=0)

    redis_timeout_seconds: float = Field(1.0, gt=0)

    # Change-queue rows taken per incremental batch.
    etl_batch_size: int = Field(2000, ge=1)
    # Documents per Elasticsearch bulk request, and concurrent bulk requests.
    etl_bulk_size: int = Field(1000, ge=1)
    etl_bulk_concurrency: int = Field(3, ge=1)
    # Rows fetched per round trip when a full load streams a table.
    etl_fetch_size: int = Field(2000, ge=1)
    # Past this many pending changes a full rebuild is cheaper than replaying them.
    etl_reindex_backlog: int = Field(200_000, ge=1)
    # An idle `etl run` wakes on NOTIFY; this is the fallback poll period.
    etl_poll_interval_seconds: float = Field(5.0, gt=0)
    # How soon an idle `etl run` retries a cache signal Redis refused.
    etl_cache_signal_retry_seconds: float = Field(0.5, gt=0)
    etl_retry_initial_seconds: float = Field(0.5, gt=0)
    etl_retry_max_seconds: float = Field(30.0, gt=0)
    # How long `etl once`/`reindex` keep retrying an unavailable backend before giving up.
    etl_retry_give_up_seconds: float = Field(600.0, gt=0)
    etl_advisory_lock_key: int = 724_339_101
    etl_migrations_dir: Path = _MIGRATIONS
    etl_progress_every: int = Field(50_000, ge=1)
    # The self-check of `etl run` (start-up, then this often): counts and a sample of
    # documents against PostgreSQL; see movies_etl.service.verify.
    etl_verify_interval_seconds: float = Field(60.0, gt=0)
    etl_verify_sample_size: int = Field(500, ge=0)
    # Past this share of an index missing (or extra), a full rebuild repairs it.
    etl_verify_rebuild_fraction: float = Field(0.2, ge=0)

    catalog_sqlite: Path | None = None
    etl_seed_films: int = Field(1000, ge=0)
    etl_seed: int = 42

    log_level: str = "INFO"
    log_json: bool = False
