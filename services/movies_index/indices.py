"""Index and alias names, settings and strict mappings of the three indices.

Each logical index (`movies`, `genres`, `persons`) is an alias over one concrete,
versioned index `<prefix><alias>_v<version>`. Readers only ever use the alias, so a
full rebuild can fill a fresh index and swap the alias atomically: nobody sees an
empty or half-built index. Mappings are strict: a document with a field the API
does not know about is a bug and fails loudly at load time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from movies_index import fields
from movies_index.documents import ROLE_LISTS

MOVIES: Final = "movies"
GENRES: Final = "genres"
PERSONS: Final = "persons"

LOWERCASE_NORMALIZER: Final = "lowercase_normalizer"

# Key in each concrete index's mapping `_meta`: how many documents the ETL expects it
# to hold, set when a generation is published and again after each verification.
# The API compares it with what the index holds, so an index emptied behind the
# ETL's back (a node lost it) reads as broken, not as an empty catalogue. It lives
# in the cluster state, which survives the loss of the documents themselves.
EXPECTED_DOCUMENTS: Final = "expected_documents"

INDEX_SETTINGS: Final[Mapping[str, Any]] = {
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
_KEYWORD: Final[dict[str, Any]] = {"type": "keyword"}
_BILINGUAL_TEXT: Final[dict[str, Any]] = {
    "type": "text",
    "analyzer": "english",
    "fields": {fields.RUSSIAN: {"type": "text", "analyzer": "russian"}},
}
_NAME_TEXT: Final[dict[str, Any]] = {
    "type": "text",
    "analyzer": "standard",
    "fields": {fields.RAW: _SORT_KEYWORD},
}
_PERSON_REF: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {fields.ID: _KEYWORD, fields.FULL_NAME: _NAME_TEXT},
}

MOVIES_MAPPING: Final[dict[str, Any]] = {
    "dynamic": "strict",
    "properties": {
        fields.ID: _KEYWORD,
        fields.TITLE: {
            "type": "text",
            "analyzer": "english",
            "fields": {
                fields.RUSSIAN: {"type": "text", "analyzer": "russian"},
                fields.RAW: _SORT_KEYWORD,
            },
        },
        fields.DESCRIPTION: _BILINGUAL_TEXT,
        fields.RATING: {"type": "float"},
        "type": _KEYWORD,
        "creation_date": {"type": "date"},
        "genres": {"type": "object", "properties": {fields.ID: _KEYWORD, "name": _KEYWORD}},
        **{people: _PERSON_REF for people in ROLE_LISTS.values()},
    },
}

GENRES_MAPPING: Final[dict[str, Any]] = {
    "dynamic": "strict",
    "properties": {
        fields.ID: _KEYWORD,
        "name": {
            "type": "keyword",
            "fields": {fields.RAW: _SORT_KEYWORD, "text": {"type": "text", "analyzer": "standard"}},
        },
        "description": _BILINGUAL_TEXT,
        "film_count": {"type": "integer"},
    },
}

PERSONS_MAPPING: Final[dict[str, Any]] = {
    "dynamic": "strict",
    "properties": {
        fields.ID: _KEYWORD,
        fields.FULL_NAME: _NAME_TEXT,
        "films": {
            "type": "object",
            "properties": {
                fields.ID: _KEYWORD,
                "title": {"type": "keyword", "index": False},
                "roles": _KEYWORD,
            },
        },
    },
}


@dataclass(frozen=True, slots=True)
class IndexSpec:
    """One logical index: its name, its mapping, and the lists its documents keep ordered.

    `ordered_lists` maps each list field to the field its items are ordered by
    (case-insensitively, then exactly, then by id).
    """

    name: str
    mapping: Mapping[str, Any]
    ordered_lists: Mapping[str, str]


INDICES: Final = (
    IndexSpec(
        MOVIES,
        MOVIES_MAPPING,
        {"genres": "name", **{people: fields.FULL_NAME for people in ROLE_LISTS.values()}},
    ),
    IndexSpec(GENRES, GENRES_MAPPING, {}),
    IndexSpec(PERSONS, PERSONS_MAPPING, {"films": fields.TITLE}),
)
INDEX_NAMES: Final = tuple(spec.name for spec in INDICES)
SPECS: Final[Mapping[str, IndexSpec]] = {spec.name: spec for spec in INDICES}


def alias_name(name: str, prefix: str) -> str:
    """The alias readers query for the logical index `name` (`movies`, ...).

    `prefix` (setting `ES_INDEX_PREFIX`) lets tests keep their indices next to dev data.
    """
    if name not in SPECS:
        raise ValueError(f"unknown index {name!r}; expected one of {INDEX_NAMES}")
    return f"{prefix}{name}"


def versioned_name(name: str, prefix: str, version: str) -> str:
    """The concrete index of one generation of `name`."""
    return f"{alias_name(name, prefix)}_v{version}"


def version_pattern(name: str, prefix: str) -> str:
    """A wildcard matching every concrete version of the logical index `name`."""
    return versioned_name(name, prefix, "*")
