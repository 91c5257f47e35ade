"""The read model's contract: what the ETL writes into Elasticsearch and the content API reads.

Both sides import the names from here (indices and aliases, the field paths queries
sort and filter on, role names, document shapes, the expected-count `_meta` key, the
cache signal and its version order), so neither can rename something the other still
relies on; and both reach Elasticsearch (`elasticsearch_hosts`) and Redis
(`redis_client`, one server or Sentinel) the same way, configured by the same
variables (`StoreSettings`). Nothing here talks to a server:
the Redis client connects when first used.
"""

from movies_index.cache import (
    CACHE_CHANNEL,
    CACHE_VERSION_KEY,
    redis_client,
    sentinel_addresses,
    version_order,
)
from movies_index.documents import (
    ROLE_LISTS,
    FilmDocument,
    FilmSummary,
    GenreDocument,
    GenreRef,
    PersonDocument,
    PersonFilm,
    PersonRef,
    Role,
    RoleList,
)
from movies_index.hosts import elasticsearch_hosts
from movies_index.indices import (
    EXPECTED_DOCUMENTS,
    GENRES,
    INDEX_NAMES,
    INDEX_SETTINGS,
    INDICES,
    MOVIES,
    PERSONS,
    SPECS,
    IndexSpec,
    alias_name,
    version_pattern,
    versioned_name,
)
from movies_index.settings import StoreSettings

__all__ = [
    "CACHE_CHANNEL",
    "CACHE_VERSION_KEY",
    "EXPECTED_DOCUMENTS",
    "GENRES",
    "INDEX_NAMES",
    "INDEX_SETTINGS",
    "INDICES",
    "MOVIES",
    "PERSONS",
    "ROLE_LISTS",
    "SPECS",
    "FilmDocument",
    "FilmSummary",
    "GenreDocument",
    "GenreRef",
    "IndexSpec",
    "PersonDocument",
    "PersonFilm",
    "PersonRef",
    "Role",
    "RoleList",
    "StoreSettings",
    "alias_name",
    "elasticsearch_hosts",
    "redis_client",
    "sentinel_addresses",
    "version_order",
    "version_pattern",
    "versioned_name",
]
