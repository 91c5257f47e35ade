"""Rows of the `content` schema as the importer and the generator write them."""

from __future__ import annotations

import datetime as dt
from typing import Final, NamedTuple
from uuid import UUID, uuid5

# Fixed forever: ids derived from it are how a repeated import recognises its rows.
NAMESPACE: Final = UUID("6f1c1c3e-2f4b-5c8e-9a57-6d0a4c1e8b21")

FILM_COLUMNS: Final = ("id", "title", "description", "creation_date", "rating", "type")
GENRE_COLUMNS: Final = ("id", "name", "description")
PERSON_COLUMNS: Final = ("id", "full_name")
GENRE_LINK_COLUMNS: Final = ("id", "genre_id", "film_work_id")
PERSON_LINK_COLUMNS: Final = ("id", "person_id", "film_work_id", "role")


class Film(NamedTuple):
    id: UUID
    title: str
    description: str | None
    creation_date: dt.date | None
    rating: float | None
    type: str | None


class Genre(NamedTuple):
    id: UUID
    name: str
    description: str | None


class Person(NamedTuple):
    id: UUID
    full_name: str


class GenreLink(NamedTuple):
    id: UUID
    genre_id: UUID
    film_work_id: UUID


class PersonLink(NamedTuple):
    id: UUID
    person_id: UUID
    film_work_id: UUID
    role: str


def genre_id(name: str) -> UUID:
    """Shared by importer and generator, so both agree on "Drama" in one database."""
    return uuid5(NAMESPACE, f"genre:{name}")


def person_id(full_name: str) -> UUID:
    return uuid5(NAMESPACE, f"person:{full_name}")


def genre_link(film: UUID, genre: UUID) -> GenreLink:
    return GenreLink(uuid5(NAMESPACE, f"genre_film_work:{film}:{genre}"), genre, film)


def person_link(film: UUID, person: UUID, role: str) -> PersonLink:
    return PersonLink(
        uuid5(NAMESPACE, f"person_film_work:{film}:{person}:{role}"), person, film, role
    )
