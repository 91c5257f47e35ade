"""Settings of the content API, read once from environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from movies_index import StoreSettings


class Settings(StoreSettings):
    """Every tunable of the gRPC server (where the stores are: StoreSettings, shared
    with the ETL); names match the environment variables."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    grpc_host: str = "127.0.0.1"
    grpc_port: int = Field(50051, ge=1, le=65535)
    grpc_max_concurrent_rpcs: int = Field(1000, ge=1)

    es_timeout_seconds: float = Field(2.0, gt=0)
    es_max_connections: int = Field(32, ge=1)
    # How often health checks that no index was emptied behind the ETL's back.
    catalogue_check_interval_seconds: float = Field(5.0, gt=0)

    redis_timeout_seconds: float = Field(0.25, gt=0)
    redis_max_connections: int = Field(64, ge=1)
    cache_ttl_seconds: int = Field(300, ge=1)
    # Payload bytes the in-process tier in front of Redis may hold; 0 turns it off.
    local_cache_max_bytes: int = Field(4 << 20, ge=0)
    # Bumped whenever the same data gives other bytes (a new field, another
    # ranking), so a deploy never serves entries cached by the previous code
    # under a catalogue version that has not changed.
    cache_key_prefix: str = "content:v2"
    cache_version_poll_seconds: float = Field(1.0, gt=0)
    cache_retry_after_seconds: float = Field(1.0, gt=0)

    request_deadline_seconds: float = Field(3.0, gt=0)
    # After SIGTERM: health says NOT_SERVING for this long, still serving, so a load
    # balancer (Envoy's health check) stops sending before the server stops.
    shutdown_drain_seconds: float = Field(2.0, ge=0)
    shutdown_grace_seconds: float = Field(5.0, ge=0)

    log_level: str = "INFO"
    log_json: bool = True
    # Page bounds and query length are the contract's, not settings: the protos
    # declare them and the service reads them (content_api/entrypoints/limits.py).
