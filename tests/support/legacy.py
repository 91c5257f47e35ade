"""A hand-made file in the legacy `movies.sqlite` layout, with every quirk the
importer normalizes and the edge cases the ETL must carry through.

Three films: one whose director also wrote it (a person in two roles), one
with "N/A" as its plot (no description) and writers only in the JSON column
(with a duplicate), and one with "N/A" as its rating and no people at all
(its only actor is named "N/A"). The real catalogue lives in
tests/real_catalogue/; these tests need nothing outside the repository.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Final
from uuid import uuid5

from movies_etl import schema

# The legacy file's own schema, as in the real catalogue.
SCHEMA: Final = """
create table actors (id integer primary key autoincrement, name text);
create table writers (id text(27) primary key, name text);
create table movies (
    id text primary key, genre text, director text, writer text, title text, plot text,
    ratings text, imdb_rating text, writers text
);
create table movie_actors (movie_id text, actor_id text);
"""
NEW_HOPE_SOURCE = "tt0076759"
EMPIRE_SOURCE = "tt0080684"
LONELY_SOURCE = "tt0000001"
NEW_HOPE_TITLE = "Star Wars: Episode IV - A New Hope"
LONELY_TITLE = "A Film Nobody Made"
# (id, genre, director, writer, title, plot, ratings, imdb_rating, writers)
MOVIES: Final = (
    (NEW_HOPE_SOURCE, "Action, Adventure, Fantasy, Sci-Fi", "George Lucas", "w-lucas",
     NEW_HOPE_TITLE, "Luke Skywalker joins forces with a Jedi Knight.", "[]", "8.6", ""),
    (EMPIRE_SOURCE, "Action,Adventure", "Irvin Kershner", "", "Star Wars: Episode V",
     "N/A", "[]", "8.7", '[{"id": "w-lucas"}, {"id": "w-kasdan"}, {"id": "w-lucas"}]'),
    (LONELY_SOURCE, "Short", "N/A", "N/A", LONELY_TITLE, "  ", "[]", "N/A", ""),
)  # fmt: skip
WRITERS: Final = (("w-lucas", "George Lucas"), ("w-kasdan", "Lawrence Kasdan"), ("w-na", "N/A"))
ACTORS: Final = ((1, "Mark Hamill"), (2, "Harrison Ford"), (3, "N/A"))
CAST: Final = (
    (NEW_HOPE_SOURCE, "1"), (NEW_HOPE_SOURCE, "2"), (EMPIRE_SOURCE, "1"), (EMPIRE_SOURCE, "2"),
    (LONELY_SOURCE, "3"),
)  # fmt: skip

# What the importer makes of it.
FILMS = 3
GENRES = 5  # Action, Adventure, Fantasy, Sci-Fi, Short
PERSONS = 5  # Lucas, Kershner, Kasdan, Hamill, Ford: never "N/A"
PERSON_LINKS = 9
NEW_HOPE = str(uuid5(schema.NAMESPACE, f"film:{NEW_HOPE_SOURCE}"))
EMPIRE = str(uuid5(schema.NAMESPACE, f"film:{EMPIRE_SOURCE}"))
LONELY = str(uuid5(schema.NAMESPACE, f"film:{LONELY_SOURCE}"))
LUCAS = str(schema.person_id("George Lucas"))


def write(path: Path) -> Path:
    """Writes the file (replacing any earlier one) and returns its path."""
    path.unlink(missing_ok=True)
    with closing(sqlite3.connect(path)) as db, db:
        db.executescript(SCHEMA)
        db.executemany("insert into movies values (?, ?, ?, ?, ?, ?, ?, ?, ?)", MOVIES)
        db.executemany("insert into writers values (?, ?)", WRITERS)
        db.executemany("insert into actors values (?, ?)", ACTORS)
        db.executemany("insert into movie_actors values (?, ?)", CAST)
    return path
