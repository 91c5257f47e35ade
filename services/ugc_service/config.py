"""Settings of the UGC service, read once from environment variables. The
token check reads its own (movies_auth.TokenCheckSettings: AUTH_GRPC_TARGET or
AUTH_JWKS_URL, AUTH_ISSUER, AUTH_AUDIENCE, AUTH_REDIS_URL)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class Settings(BaseSettings):
    """Every tunable of the UGC service; names match the environment variables."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    ugc_grpc_host: str = "127.0.0.1"
    ugc_grpc_port: int = Field(50053, ge=1, le=65535)
    ugc_grpc_max_concurrent_rpcs: int = Field(1000, ge=1)

    ugc_postgres_dsn: str = "postgresql://ugc:ugc@127.0.0.1:5432/ugc"
    ugc_postgres_pool_size: int = Field(10, ge=1)
    ugc_migrations_dir: Path = _MIGRATIONS
    # Rows each film's rating summary is spread over (by user): more lets more
    # raters of one popular film commit at once, each read adds that many rows.
    # Raising it later is safe; lowering it leaves old rows that are still summed.
    ugc_rating_shards: int = Field(1, ge=1, le=256)
    # Rating writes that queue while others are in flight are committed together
    # (adapters/batching.py): at most this many per statement, and this many
    # statements at once. An idle service sends every write alone; under load one
    # in flight makes the biggest batches (docs/benchmarks.md: at c=64, 1 in flight
    # cost PostgreSQL 0.19 ms a write against 0.30 ms with 2). A batch stuck on a
    # lock holds the next one back for at most the statement deadline.
    ugc_rating_batch_size: int = Field(64, ge=1, le=1000)
    ugc_rating_batches_in_flight: int = Field(1, ge=1)

    # The content API, asked whether a film exists (and for bookmarks' titles).
    ugc_catalogue_host: str = "127.0.0.1"
    ugc_catalogue_port: int = Field(50051, ge=1, le=65535)
    ugc_catalogue_timeout_seconds: float = Field(1.0, gt=0)
    ugc_catalogue_attempts: int = Field(2, ge=1)
    # How long a film found (or not found) is believed without asking again.
    ugc_film_cache_seconds: float = Field(60.0, ge=0)
    ugc_film_miss_cache_seconds: float = Field(5.0, ge=0)
    ugc_film_cache_size: int = Field(100_000, ge=1)

    ugc_default_page_size: int = Field(20, ge=1)
    ugc_max_page_size: int = Field(100, ge=1)

    request_deadline_seconds: float = Field(5.0, gt=0)
    shutdown_grace_seconds: float = Field(5.0, ge=0)
    log_level: str = "INFO"
    log_json: bool = True
