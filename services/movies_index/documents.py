"""The documents of each index, as the ETL renders them and the API reads them."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final, Literal, TypedDict


class Role(StrEnum):
    """What a person did in a film (`content.person_film_work.role`)."""

    ACTOR = "actor"
    WRITER = "writer"
    DIRECTOR = "director"


RoleList = Literal["actors", "writers", "directors"]

# The film document's list of the people in each role.
ROLE_LISTS: Final[Mapping[Role, RoleList]] = {
    Role.ACTOR: "actors",
    Role.WRITER: "writers",
    Role.DIRECTOR: "directors",
}


class GenreRef(TypedDict):
    id: str
    name: str


class PersonRef(TypedDict):
    id: str
    full_name: str


class FilmSummary(TypedDict):
    """The part of a film document that lists and searches return."""

    id: str
    title: str
    imdb_rating: float | None


class FilmDocument(FilmSummary):
    """`movies`: a film with its genres and people, each list in name order."""

    description: str | None
    type: str | None
    # ISO date (YYYY-MM-DD).
    creation_date: str | None
    genres: list[GenreRef]
    actors: list[PersonRef]
    writers: list[PersonRef]
    directors: list[PersonRef]


class GenreDocument(TypedDict):
    """`genres`: a genre and how many films it has."""

    id: str
    name: str
    description: str | None
    film_count: int


class PersonFilm(TypedDict):
    """One film of a person, with every role (a `Role` value) they had in it."""

    id: str
    title: str
    roles: list[str]


class PersonDocument(TypedDict):
    """`persons`: a person and their films in title order."""

    id: str
    full_name: str
    films: list[PersonFilm]
