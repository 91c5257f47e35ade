"""Transform: rows read from PostgreSQL become the documents the API reads.

Pure functions over plain data, so the shape of every document is unit-tested
without a database. Lists are sorted here rather than in SQL so the order does not
depend on the database collation.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal
from uuid import UUID

Role = Literal["actor", "writer", "director"]
ROLE_FIELDS: dict[str, str] = {"actor": "actors", "writer": "writers", "director": "directors"}

Document = dict[str, Any]


@dataclass(frozen=True, slots=True)
class FilmRow:
    """A film with its links, as one query returns it."""

    id: UUID
    title: str
    description: str | None
    rating: float | None
    type: str | None
    creation_date: dt.date | None
    # (genre id, genre name)
    genres: list[tuple[str, str]] = field(default_factory=list)
    # (person id, full name, role)
    people: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PersonRow:
    """A person with every (film, role) they have."""

    id: UUID
    full_name: str
    # (film id, film title, role)
    films: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class GenreRow:
    """A genre with the number of films that have it."""

    id: UUID
    name: str
    description: str | None
    film_count: int


def film_document(row: FilmRow) -> Document:
    """The `movies` document: people split by role, every list sorted by name then id."""
    by_role: dict[str, dict[str, str]] = {role: {} for role in ROLE_FIELDS}
    for person_id, full_name, role in row.people:
        by_role[role][str(person_id)] = full_name
    doc: Document = {
        "id": str(row.id),
        "title": row.title,
        "description": row.description,
        "imdb_rating": row.rating,
        "type": row.type,
        "creation_date": row.creation_date.isoformat() if row.creation_date else None,
        "genres": [
            {"id": gid, "name": name}
            for gid, name in sorted({str(g): n for g, n in row.genres}.items(), key=_by_name)
        ],
    }
    for role, field_name in ROLE_FIELDS.items():
        people = sorted(by_role[role].items(), key=_by_name)
        doc[field_name] = [{"id": pid, "full_name": name} for pid, name in people]
    return doc


def person_document(row: PersonRow) -> Document:
    """The `persons` document: one entry per film, with every role the person has in it."""
    titles: dict[str, str] = {}
    roles: defaultdict[str, set[str]] = defaultdict(set)
    for film_id, title, role in row.films:
        titles[str(film_id)] = title
        roles[str(film_id)].add(role)
    return {
        "id": str(row.id),
        "full_name": row.full_name,
        "films": [
            {"id": fid, "title": title, "roles": sorted(roles[fid])}
            for fid, title in sorted(titles.items(), key=_by_name)
        ],
    }


def genre_document(row: GenreRow) -> Document:
    """The `genres` document."""
    return {
        "id": str(row.id),
        "name": row.name,
        "description": row.description,
        "film_count": row.film_count,
    }


def _by_name(item: tuple[str, str]) -> tuple[str, str, str]:
    # Case-insensitive first, then exact, then id: a total order, so documents are stable.
    return (item[1].casefold(), item[1], item[0])


def ids(rows: Iterable[FilmRow | PersonRow | GenreRow]) -> set[UUID]:
    """The ids of `rows`: what was found, so the rest can be deleted from the index."""
    return {row.id for row in rows}
