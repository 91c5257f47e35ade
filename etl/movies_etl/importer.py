"""Imports the legacy SQLite catalogue (`movies.sqlite`) into the `content` schema.

The legacy layout has no shared person ids, comma-joined genres and directors,
writers split over two columns, and "N/A" for missing values; see the data README.
Ids are uuid5 of the source keys, so a second import finds every row present and
changes nothing.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from uuid import UUID, uuid5

from psycopg import AsyncConnection

from movies_etl import schema
from movies_etl.adapters.postgres import ANALYZE
from movies_etl.adapters.writer import insert_rows
from movies_etl.schema import Film, Genre, GenreLink, Person, PersonLink

logger = logging.getLogger(__name__)

MISSING: Final = "N/A"
FILM_TYPE: Final = "movie"


@dataclass
class ImportedCatalog:
    films: list[Film] = field(default_factory=list)
    genres: dict[str, Genre] = field(default_factory=dict)
    persons: dict[str, Person] = field(default_factory=dict)
    genre_links: dict[UUID, GenreLink] = field(default_factory=dict)
    person_links: dict[UUID, PersonLink] = field(default_factory=dict)


def clean(value: str | None) -> str | None:
    """Trimmed text, or None for the legacy spellings of "no value"."""
    if value is None:
        return None
    value = value.strip()
    return None if value in ("", MISSING) else value


def split_names(value: str | None) -> list[str]:
    """`"Action, Adventure"` -> `["Action", "Adventure"]`, without blanks or "N/A"."""
    return [name for part in (value or "").split(",") if (name := clean(part))]


def parse_rating(value: str | None) -> float | None:
    text = clean(value)
    try:
        return None if text is None else float(text)
    except ValueError:
        logger.warning("unreadable rating %r treated as missing", value)
        return None


def writer_ids(writer: str | None, writers: str | None) -> list[str]:
    """The union of the single `writer` column and the JSON `writers` list, in order."""
    ids = [w] if (w := clean(writer)) else []
    if text := clean(writers):
        ids.extend(entry["id"] for entry in json.loads(text) if entry.get("id"))
    return list(dict.fromkeys(ids))


def read_sqlite(path: Path) -> ImportedCatalog:
    """Reads and normalizes the whole legacy file (a few thousand rows at most)."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        actors = {str(i): clean(n) for i, n in db.execute("select id, name from actors")}
        writer_names = {i: clean(n) for i, n in db.execute("select id, name from writers")}
        cast: dict[str, list[str]] = {}
        for movie_id, actor_id in db.execute("select movie_id, actor_id from movie_actors"):
            if name := actors.get(str(actor_id).strip()):
                cast.setdefault(movie_id, []).append(name)
        movies = db.execute(
            "select id, title, plot, imdb_rating, genre, director, writer, writers from movies"
            " order by id"
        ).fetchall()
    result = ImportedCatalog()
    for source_id, title, plot, rating, genres, directors, writer, writers in movies:
        film_id = uuid5(schema.NAMESPACE, f"film:{source_id}")
        result.films.append(
            Film(
                film_id,
                clean(title) or source_id,
                clean(plot),
                None,
                parse_rating(rating),
                FILM_TYPE,
            )
        )
        for name in split_names(genres):
            genre = result.genres.setdefault(name, Genre(schema.genre_id(name), name, None))
            link = schema.genre_link(film_id, genre.id)
            result.genre_links[link.id] = link
        people = [
            *((name, "director") for name in split_names(directors)),
            *(
                (name, "writer")
                for w in writer_ids(writer, writers)
                if (name := writer_names.get(w))
            ),
            *((name, "actor") for name in cast.get(source_id, [])),
        ]
        for name, role in people:
            person = result.persons.setdefault(name, Person(schema.person_id(name), name))
            plink = schema.person_link(film_id, person.id, role)
            result.person_links[plink.id] = plink
    return result


def _chunks(rows: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


async def import_sqlite(
    conn: AsyncConnection[Any], path: Path, batch_size: int = 5000
) -> ImportedCatalog:
    """Writes the normalized catalogue, parents before links, one transaction per chunk."""
    data = read_sqlite(path)
    tables: list[tuple[str, Sequence[str], Sequence[Any]]] = [
        ("genre", schema.GENRE_COLUMNS, list(data.genres.values())),
        ("person", schema.PERSON_COLUMNS, list(data.persons.values())),
        ("film_work", schema.FILM_COLUMNS, data.films),
        ("genre_film_work", schema.GENRE_LINK_COLUMNS, list(data.genre_links.values())),
        ("person_film_work", schema.PERSON_LINK_COLUMNS, list(data.person_links.values())),
    ]
    for table, columns, rows in tables:
        done = 0
        for chunk in _chunks(rows, batch_size):
            async with conn.transaction():
                await insert_rows(conn, table, columns, chunk)
            done += len(chunk)
            logger.info("import %s: %d/%d rows", table, done, len(rows))
    await conn.execute(ANALYZE)
    logger.info(
        "imported %s: %d films, %d genres, %d persons",
        path,
        len(data.films),
        len(data.genres),
        len(data.persons),
    )
    return data
