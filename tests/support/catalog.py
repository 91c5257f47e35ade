"""A small hand-made catalogue the API tests index themselves, through the ETL.

Small enough to know every answer by heart, shaped to hit the edge cases: a
film without rating or description, a Russian title and plot, a person in
several roles, a genre with no films, titles that differ only in case.

The rows go into a throwaway PostgreSQL database (`movies_test_api`, migrated by
the ETL's own migrations) and the ETL's full rebuild renders and indexes them:
the API is tested on exactly the documents the ETL writes, not on a copy.
"""

from __future__ import annotations

from typing import Any, Final, NamedTuple
from uuid import UUID

from psycopg import AsyncConnection, sql

from movies_etl import bootstrap, migrate, schema
from movies_etl.adapters.postgres import connect
from movies_etl.adapters.writer import insert_rows
from movies_etl.config import Settings
from movies_index import Role
from tests.support.stack import stack

DATABASE: Final = "movies_test_api"
ADMIN_DSN: Final = stack().admin_dsn
DSN: Final = stack().pg_dsn(DATABASE)
# Nothing listens there: the rebuild's cache signal fails (logged), the API tests
# bump their own Redis's version themselves.
NO_REDIS: Final = "redis://127.0.0.1:1/0"
FILM_TYPE: Final = "movie"

G_ACTION = "11111111-0000-4000-8000-000000000001"
G_DRAMA = "11111111-0000-4000-8000-000000000002"
G_SCIFI = "11111111-0000-4000-8000-000000000003"
G_COMEDY = "11111111-0000-4000-8000-000000000004"
G_WESTERN = "11111111-0000-4000-8000-000000000005"

P_LUCAS = "22222222-0000-4000-8000-000000000001"
P_HAMILL = "22222222-0000-4000-8000-000000000002"
P_FORD = "22222222-0000-4000-8000-000000000003"
P_TARKOVSKY = "22222222-0000-4000-8000-000000000004"

F_NEW_HOPE = "3d825f60-9fff-4dfe-b294-1a45fa1e115d"
F_EMPIRE = "33333333-0000-4000-8000-000000000002"
F_SOLARIS = "33333333-0000-4000-8000-000000000003"
F_UNRATED = "33333333-0000-4000-8000-000000000004"
F_QUIET = "33333333-0000-4000-8000-000000000005"
F_COMEDY = "33333333-0000-4000-8000-000000000006"
MISSING = "99999999-0000-4000-8000-000000000000"

GENRE_NAMES = {
    G_ACTION: "Action",
    G_DRAMA: "Drama",
    G_SCIFI: "Sci-Fi",
    G_COMEDY: "Comedy",
    G_WESTERN: "Western",
}
# One genre with a description, the others without (the column is nullable).
GENRE_DESCRIPTIONS = {G_ACTION: "Fights, chases and escapes."}
PERSON_NAMES = {
    P_LUCAS: "George Lucas",
    P_HAMILL: "Mark Hamill",
    P_FORD: "Harrison Ford",
    P_TARKOVSKY: "Андрей Тарковский",
}


class Film(NamedTuple):
    """A film's row and its links, as an editor would enter them."""

    id: str
    title: str
    rating: float | None
    description: str | None
    genres: tuple[str, ...]
    actors: tuple[str, ...] = ()
    writers: tuple[str, ...] = ()
    directors: tuple[str, ...] = ()

    def people(self) -> tuple[tuple[Role, tuple[str, ...]], ...]:
        return (
            (Role.ACTOR, self.actors),
            (Role.WRITER, self.writers),
            (Role.DIRECTOR, self.directors),
        )


FILMS: Final = (
    Film(
        F_NEW_HOPE,
        "Star Wars: Episode IV - A New Hope",
        8.6,
        "Luke Skywalker joins forces with a Jedi Knight to rescue a princess.",
        (G_ACTION, G_SCIFI),
        (P_HAMILL, P_FORD),
        (P_LUCAS,),
        (P_LUCAS,),
    ),
    Film(
        F_EMPIRE,
        "Star Wars: Episode V - The Empire Strikes Back",
        8.7,
        "The rebels are brutally overpowered by the Empire on the ice planet Hoth.",
        (G_ACTION, G_SCIFI),
        (P_HAMILL, P_FORD),
        (P_LUCAS,),
    ),
    Film(
        F_SOLARIS,
        "Солярис",
        8.0,
        "Психолог отправляется на космическую станцию над океаном планеты.",
        (G_DRAMA, G_SCIFI),
        directors=(P_TARKOVSKY,),
    ),
    Film(F_UNRATED, "The Unrated Film", None, None, (G_DRAMA,)),
    Film(F_QUIET, "a quiet drama", 5.0, "Nothing happens, beautifully.", (G_DRAMA,)),
    Film(F_COMEDY, "Zany Stars", 6.1, "Stand-up comedians in space.", (G_COMEDY,), (P_FORD,)),
)


def etl_settings(es_url: str, prefix: str) -> Settings:
    """An in-process ETL that reads the test database and writes under `prefix`."""
    return Settings(
        postgres_dsn=DSN,
        elasticsearch_url=es_url,
        es_index_prefix=prefix,
        es_old_index_grace_seconds=0,
        redis_url=NO_REDIS,
        etl_retry_give_up_seconds=30,
    )


async def load(es_url: str, prefix: str) -> None:
    """Recreates the test database with the catalogue and rebuilds the aliases under
    `prefix` from it, as `etl reindex` would."""
    settings = etl_settings(es_url, prefix)
    async with await AsyncConnection.connect(ADMIN_DSN, autocommit=True) as admin:
        await admin.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s",
            (DATABASE,),
        )
        await admin.execute(sql.SQL("drop database if exists {}").format(sql.Identifier(DATABASE)))
        await admin.execute(
            sql.SQL("create database {} owner movies").format(sql.Identifier(DATABASE))
        )
    conn = await connect(DSN, settings.postgres_connect_timeout_seconds)
    async with conn:
        await migrate.migrate(conn, settings.etl_migrations_dir)
        await _insert(conn)
    async with bootstrap.app(settings) as app:
        await app.rebuild.reindex()


async def _insert(conn: AsyncConnection[Any]) -> None:
    films = [
        schema.Film(UUID(f.id), f.title, f.description, None, f.rating, FILM_TYPE) for f in FILMS
    ]
    genres = [
        schema.Genre(UUID(i), name, GENRE_DESCRIPTIONS.get(i)) for i, name in GENRE_NAMES.items()
    ]
    persons = [schema.Person(UUID(i), name) for i, name in PERSON_NAMES.items()]
    genre_links = [schema.genre_link(UUID(f.id), UUID(g)) for f in FILMS for g in f.genres]
    person_links = [
        schema.person_link(UUID(f.id), UUID(p), role.value)
        for f in FILMS
        for role, people in f.people()
        for p in people
    ]
    async with conn.transaction():
        await insert_rows(conn, "film_work", schema.FILM_COLUMNS, films)
        await insert_rows(conn, "genre", schema.GENRE_COLUMNS, genres)
        await insert_rows(conn, "person", schema.PERSON_COLUMNS, persons)
        await insert_rows(conn, "genre_film_work", schema.GENRE_LINK_COLUMNS, genre_links)
        await insert_rows(conn, "person_film_work", schema.PERSON_LINK_COLUMNS, person_links)
