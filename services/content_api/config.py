"""Settings of the content API, read once from environment variables."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from movies_index import (
    CACHE_CHANNEL,
    CACHE_VERSION_KEY,
    elasticsearch_hosts,
    sentinel_addresses,
)


class Settings(BaseSettings):
    """Every tunable of the gRPC server; names match the environment variables."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    grpc_host: str = "127.0.0.1"
    grpc_port: int = Field(50051, ge=1, le=65535)
    grpc_max_concurrent_rpcs: int = Field(1000, ge=1)

    # One node, or several separated by commas (a cluster): http://es1:9200,http://es2:9200
    elasticsearch_url: str = "http://127.0.0.1:9200"
    es_index_prefix: str = ""
    es_timeout_seconds: float = Field(2.0, gt=0)
    es_max_connections: int = Field(32, ge=1)
    # How often health checks that no index was emptied behind the ETL's back.
    catalogue_check_interval_seconds: float = Field(5.0, gt=0)

    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_timeout_seconds: float = Field(0.25, gt=0)
    redis_max_connections: int = Field(64, ge=1)
    # Sentinels ("host:port,host:port") to ask for the master of REDIS_SENTINEL_MASTER;
    # empty: the one server of REDIS_URL. With Sentinel, REDIS_URL gives db and password.
    redis_sentinels: str = ""
    redis_sentinel_master: str = "mymaster"
    cache_ttl_seconds: int = Field(300, ge=1)
    # Payload bytes the in-process tier in front of Redis may hold; 0 turns it off.
    local_cache_max_bytes: int = Field(4 << 20, ge=0)
    cache_key_prefix: str = "content:v1"
    cache_version_key: str = CACHE_VERSION_KEY
    cache_channel: str = CACHE_CHANNEL
    cache_version_poll_seconds: float = Field(1.0, gt=0)
    cache_retry_after_seconds: float = Field(1.0, gt=0)

    request_deadline_seconds: float = Field(3.0, gt=0)
    # After SIGTERM: health says NOT_SERVING for this long, still serving, so a load
    # balancer (Envoy's health check) stops sending before the server stops.
    shutdown_drain_seconds: float = Field(2.0, ge=0)
    shutdown_grace_seconds: float = Field(5.0, ge=0)

    log_level: str = "INFO"
    log_json: bool = True

    default_page_size: int = Field(50, ge=1)
    max_page_size: int = Field(100, ge=1)
    max_result_window: int = Field(10_000, ge=1)
    max_query_length: int = Field(256, ge=1)

    @field_validator("elasticsearch_url")
    @classmethod
    def _hosts_parse(cls, value: str) -> str:
        elasticsearch_hosts(value)  # a bad list fails at start-up, naming the entry
        return value

    @field_validator("redis_sentinels")
    @classmethod
    def _sentinels_parse(cls, value: str) -> str:
        sentinel_addresses(value)
        return value

    @property
    def elasticsearch_hosts(self) -> list[str]:
        return elasticsearch_hosts(self.elasticsearch_url)
