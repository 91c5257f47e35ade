"""Where both sides of the read model find Elasticsearch and Redis: one settings
base, so the ETL and the API read and check the same variables the same way."""

from __future__ import annotations

from pydantic import field_validator
from pydantic_settings import BaseSettings

from movies_index.cache import CACHE_CHANNEL, CACHE_VERSION_KEY, sentinel_addresses
from movies_index.hosts import elasticsearch_hosts


class StoreSettings(BaseSettings):
    """The shared variables; a bad host list fails at start-up, naming the entry."""

    # One node, or several separated by commas (a cluster): http://es1:9200,http://es2:9200
    elasticsearch_url: str = "http://127.0.0.1:9200"
    es_index_prefix: str = ""

    redis_url: str = "redis://127.0.0.1:6379/0"
    # Sentinels ("host:port,host:port") to ask for the master of REDIS_SENTINEL_MASTER;
    # empty: the one server of REDIS_URL. With Sentinel, REDIS_URL gives db and password.
    redis_sentinels: str = ""
    redis_sentinel_master: str = "mymaster"
    cache_version_key: str = CACHE_VERSION_KEY
    cache_channel: str = CACHE_CHANNEL

    @field_validator("elasticsearch_url")
    @classmethod
    def _hosts_parse(cls, value: str) -> str:
        elasticsearch_hosts(value)
        return value

    @field_validator("redis_sentinels")
    @classmethod
    def _sentinels_parse(cls, value: str) -> str:
        sentinel_addresses(value)
        return value

    @property
    def elasticsearch_hosts(self) -> list[str]:
        return elasticsearch_hosts(self.elasticsearch_url)
