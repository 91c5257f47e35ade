"""The index contract agrees with itself: mappings, document shapes and field paths."""

from __future__ import annotations

from typing import Any

import pytest

import movies_index
from movies_index import SPECS, FilmDocument, GenreDocument, PersonDocument, fields

SHAPES: dict[str, Any] = {
    movies_index.MOVIES: FilmDocument,
    movies_index.GENRES: GenreDocument,
    movies_index.PERSONS: PersonDocument,
}


@pytest.mark.parametrize("name", movies_index.INDEX_NAMES)
def test_each_mapping_maps_exactly_the_documents_keys(name: str) -> None:
    assert set(SPECS[name].mapping["properties"]) == set(SHAPES[name].__annotations__)


@pytest.mark.parametrize("name", movies_index.INDEX_NAMES)
def test_ordered_lists_are_fields_of_the_document(name: str) -> None:
    assert set(SPECS[name].ordered_lists) <= set(SHAPES[name].__annotations__)


def _mapped(name: str, path: str) -> bool:
    """Whether `path` (with multi-fields) exists in the mapping of `name`."""
    node: dict[str, Any] = {"properties": SPECS[name].mapping["properties"]}
    for part in path.split("."):
        children = {**node.get("properties", {}), **node.get("fields", {})}
        if part not in children:
            return False
        node = children[part]
    return True


@pytest.mark.parametrize(
    ("name", "path"),
    [
        *((movies_index.MOVIES, p) for p in (fields.TITLE_RU, fields.TITLE_SORT, fields.RATING)),
        *((movies_index.MOVIES, p) for p in (fields.DESCRIPTION_RU, fields.GENRE_ID)),
        *((movies_index.MOVIES, fields.person_id(role)) for role in movies_index.Role),
        *((movies_index.MOVIES, p) for p in fields.FILM_SUMMARY),
        (movies_index.GENRES, fields.NAME_SORT),
        (movies_index.PERSONS, fields.FULL_NAME_SORT),
    ],
)
def test_queried_paths_are_mapped(name: str, path: str) -> None:
    assert _mapped(name, path)


def test_aliases_carry_the_prefix_and_refuse_unknown_names() -> None:
    assert movies_index.alias_name(movies_index.MOVIES, "t_") == "t_movies"
    assert movies_index.version_pattern(movies_index.GENRES, "") == "genres_v*"
    with pytest.raises(ValueError, match="unknown index"):
        movies_index.alias_name("films", "")
