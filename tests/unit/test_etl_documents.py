"""The documents the API reads: shape, ordering and absence of placeholder values."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

from movies_etl.documents import (
    FilmRow,
    GenreRow,
    PersonRow,
    film_document,
    genre_document,
    person_document,
)

FILM = UUID("3d825f60-9fff-4dfe-b294-1a45fa1e115d")
LUCAS = "a5a8f573-3cee-4ccc-8a2b-91cb9f55250a"
HAMILL = "26e83050-29ef-4163-a99d-b546cac208f8"
ACTION = "3d8d9bf5-0d90-4353-88ba-4ccc5d2c07ff"
ADVENTURE = "120a21cf-9097-479e-904a-13dd7198c1dd"


def test_film_document_splits_people_by_role_and_sorts_by_name() -> None:
    row = FilmRow(
        FILM,
        "Star Wars",
        None,
        8.6,
        "movie",
        dt.date(1977, 5, 25),
        genres=[(ADVENTURE, "Adventure"), (ACTION, "Action")],
        people=[
            (LUCAS, "George Lucas", "writer"),
            (LUCAS, "George Lucas", "director"),
            (HAMILL, "Mark Hamill", "actor"),
            (LUCAS, "George Lucas", "actor"),
        ],
    )

    doc = film_document(row)

    assert doc == {
        "id": str(FILM),
        "title": "Star Wars",
        "description": None,
        "imdb_rating": 8.6,
        "type": "movie",
        "creation_date": "1977-05-25",
        "genres": [{"id": ACTION, "name": "Action"}, {"id": ADVENTURE, "name": "Adventure"}],
        "actors": [
            {"id": LUCAS, "full_name": "George Lucas"},
            {"id": HAMILL, "full_name": "Mark Hamill"},
        ],
        "writers": [{"id": LUCAS, "full_name": "George Lucas"}],
        "directors": [{"id": LUCAS, "full_name": "George Lucas"}],
    }


def test_film_without_links_has_empty_lists_not_missing_fields() -> None:
    doc = film_document(FilmRow(FILM, "Alone", "Plot.", None, None, None))

    assert doc["genres"] == doc["actors"] == doc["writers"] == doc["directors"] == []
    assert doc["imdb_rating"] is None
    assert doc["creation_date"] is None


def test_name_order_ignores_case_and_breaks_ties_by_id() -> None:
    row = FilmRow(
        FILM,
        "T",
        None,
        None,
        None,
        None,
        people=[("b", "anna", "actor"), ("c", "Bob", "actor"), ("a", "Anna", "actor")],
    )

    names = [(p["id"], p["full_name"]) for p in film_document(row)["actors"]]

    assert names == [("a", "Anna"), ("b", "anna"), ("c", "Bob")]


def test_person_document_has_one_entry_per_film_with_sorted_roles() -> None:
    row = PersonRow(
        UUID(LUCAS),
        "George Lucas",
        films=[
            ("f2", "THX 1138", "director"),
            ("f1", "Star Wars", "writer"),
            ("f1", "Star Wars", "director"),
            ("f1", "Star Wars", "actor"),
        ],
    )

    assert person_document(row) == {
        "id": LUCAS,
        "full_name": "George Lucas",
        "films": [
            {"id": "f1", "title": "Star Wars", "roles": ["actor", "director", "writer"]},
            {"id": "f2", "title": "THX 1138", "roles": ["director"]},
        ],
    }


def test_person_without_films() -> None:
    assert person_document(PersonRow(UUID(HAMILL), "Mark Hamill"))["films"] == []


def test_genre_document() -> None:
    doc = genre_document(GenreRow(UUID(ACTION), "Action", None, 7))

    assert doc == {"id": ACTION, "name": "Action", "description": None, "film_count": 7}
