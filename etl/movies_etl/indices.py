"""The Elasticsearch contract shared by the ETL (writer) and the content API (reader).

Each logical index (`movies`, `genres`, `persons`) is an alias over one concrete,
versioned index `<prefix><alias>_v<version>`. Readers only ever use the alias, so a
full rebuild can fill a fresh index and swap the alias atomically: nobody sees an
empty or half-built index. Mappings are strict: a document with a field the API
does not know about is a bug and fails loudly at load time.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from collections.abc import Mapping
from typing import Any, Final

from elasticsearch import AsyncElasticsearch, NotFoundError

logger = logging.getLogger(__name__)

MOVIES: Final = "movies"
GENRES: Final = "genres"
PERSONS: Final = "persons"
INDEX_NAMES: Final = (MOVIES, GENRES, PERSONS)

PREFIX_ENV: Final = "ES_INDEX_PREFIX"
LOWERCASE_NORMALIZER: Final = "lowercase_normalizer"
ROLES: Final = ("actor", "writer", "director")

INDEX_SETTINGS: Final[dict[str, Any]] = {
    "number_of_shards": 1,
    # A replica wherever a second node can hold it: one dev node stays green, and a
    # cluster keeps every document when a node dies.
    "auto_expand_replicas": "0-1",
    "analysis": {
        "normalizer": {
            LOWERCASE_NORMALIZER: {"type": "custom", "char_filter": [], "filter": ["lowercase"]}
        }
    },
}

# A keyword copy that sorts case-insensitively ("the Matrix" next to "The Matrix").
_SORT_KEYWORD: Final[dict[str, Any]] = {"type": "keyword", "normalizer": LOWERCASE_NORMALIZER}

_PERSON_REF: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "id": {"type": "keyword"},
        "full_name": {"type": "text", "analyzer": "standard", "fields": {"raw": _SORT_KEYWORD}},
    },
}

MOVIES_MAPPING: Final[dict[str, Any]] = {
    "dynamic": "strict",
    "properties": {
        "id": {"type": "keyword"},
        "title": {
            "type": "text",
            "analyzer": "english",
            "fields": {"ru": {"type": "text", "analyzer": "russian"}, "raw": _SORT_KEYWORD},
        },
        "description": {
            "type": "text",
            "analyzer": "english",
            "fields": {"ru": {"type": "text", "analyzer": "russian"}},
        },
        "imdb_rating": {"type": "float"},
        "type": {"type": "keyword"},
        "creation_date": {"type": "date"},
        "genres": {
            "type": "object",
            "properties": {"id": {"type": "keyword"}, "name": {"type": "keyword"}},
        },
        "actors": _PERSON_REF,
        "writers": _PERSON_REF,
        "directors": _PERSON_REF,
    },
}

GENRES_MAPPING: Final[dict[str, Any]] = {
    "dynamic": "strict",
    "properties": {
        "id": {"type": "keyword"},
        "name": {
            "type": "keyword",
            "fields": {"raw": _SORT_KEYWORD, "text": {"type": "text", "analyzer": "standard"}},
        },
        "description": {
            "type": "text",
            "analyzer": "english",
            "fields": {"ru": {"type": "text", "analyzer": "russian"}},
        },
        "film_count": {"type": "integer"},
    },
}

PERSONS_MAPPING: Final[dict[str, Any]] = {
    "dynamic": "strict",
    "properties": {
        "id": {"type": "keyword"},
        "full_name": {"type": "text", "analyzer": "standard", "fields": {"raw": _SORT_KEYWORD}},
        "films": {
            "type": "object",
            "properties": {
                "id": {"type": "keyword"},
                "title": {"type": "keyword", "index": False},
                "roles": {"type": "keyword"},
            },
        },
    },
}

MAPPINGS: Final[Mapping[str, dict[str, Any]]] = {
    MOVIES: MOVIES_MAPPING,
    GENRES: GENRES_MAPPING,
    PERSONS: PERSONS_MAPPING,
}

# Two versions created within the same microsecond still get distinct names.
_counter = itertools.count()


def index_prefix(prefix: str | None = None) -> str:
    """The prefix given, else `ES_INDEX_PREFIX`, so tests can live next to dev data."""
    return os.environ.get(PREFIX_ENV, "") if prefix is None else prefix


def alias_name(name: str, prefix: str | None = None) -> str:
    """The alias readers query for the logical index `name` (`movies`, ...)."""
    if name not in MAPPINGS:
        raise ValueError(f"unknown index {name!r}; expected one of {INDEX_NAMES}")
    return f"{index_prefix(prefix)}{name}"


def version_pattern(name: str, prefix: str | None = None) -> str:
    """A wildcard matching every concrete version of the logical index `name`."""
    return f"{alias_name(name, prefix)}_v*"


def _new_version() -> str:
    return f"{time.time_ns() // 1000}{next(_counter) % 1000:03d}"


async def create_versioned_index(
    es: AsyncElasticsearch,
    name: str,
    prefix: str | None = None,
    extra_settings: Mapping[str, Any] | None = None,
) -> str:
    """Creates a new, empty concrete index for `name` and returns its name.

    The alias is not touched: the caller fills the index and then swaps the alias.
    `extra_settings` lets a bulk loader switch off refreshes while it fills the index.
    """
    index = f"{alias_name(name, prefix)}_v{_new_version()}"
    settings = {**INDEX_SETTINGS, **(extra_settings or {})}
    await es.indices.create(index=index, settings=settings, mappings=MAPPINGS[name])
    logger.info("created index %s", index)
    return index


async def indices_behind_alias(es: AsyncElasticsearch, alias: str) -> list[str]:
    """The concrete indices an alias points to (empty when the alias does not exist)."""
    try:
        response = await es.indices.get_alias(name=alias)
    except NotFoundError:
        return []
    return sorted(response.body)


async def ensure_indices(es: AsyncElasticsearch, prefix: str | None = None) -> dict[str, str]:
    """Makes sure every alias exists; returns alias -> concrete index.

    A missing alias gets a fresh empty versioned index. Existing aliases are left
    alone, so calling this at every start-up is safe.
    """
    result: dict[str, str] = {}
    for name in INDEX_NAMES:
        alias = alias_name(name, prefix)
        current = await indices_behind_alias(es, alias)
        if not current:
            index = await create_versioned_index(es, name, prefix)
            await es.indices.update_aliases(actions=[{"add": {"index": index, "alias": alias}}])
            logger.info("alias %s -> %s", alias, index)
            current = [index]
        result[alias] = current[0]
    return result


async def swap_aliases(es: AsyncElasticsearch, targets: Mapping[str, str]) -> dict[str, list[str]]:
    """Points each alias at its new index in one atomic request; returns the old indices.

    One `_aliases` call for all aliases means readers switch from the old
    generation to the new one at the same instant, for every index at once.
    """
    actions: list[dict[str, Any]] = []
    previous: dict[str, list[str]] = {}
    for alias, index in targets.items():
        previous[alias] = [old for old in await indices_behind_alias(es, alias) if old != index]
        actions.extend({"remove": {"index": old, "alias": alias}} for old in previous[alias])
        actions.append({"add": {"index": index, "alias": alias}})
    await es.indices.update_aliases(actions=actions)
    logger.info("aliases swapped: %s", dict(targets))
    return previous
