"""The documents PostgreSQL builds: shape, list order, number format.

Each is compared with what the API has always read: the document as a dict and,
byte for byte, as orjson writes it (the ETL ships PostgreSQL's text untouched).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import orjson
import pytest_asyncio

from movies_etl.adapters.postgres import Database, PostgresCatalog
from movies_etl.domain import Source
from movies_index import GENRES, MOVIES, PERSONS
from tests import etl_helpers as h

FILM = "3d825f60-9fff-4dfe-b294-1a45fa1e115d"
THX = "7b0b8d0c-5a54-4a53-a3b1-52a8f5a1b0d1"
ALONE = "5c2f1a3e-1111-4c4c-8d8d-000000000001"
LUCAS = "a5a8f573-3cee-4ccc-8a2b-91cb9f55250a"
HAMILL = "26e83050-29ef-4163-a99d-b546cac208f8"
NOBODY = "26e83050-29ef-4163-a99d-b546cac20000"
ACTION = "3d8d9bf5-0d90-4353-88ba-4ccc5d2c07ff"
ADVENTURE = "120a21cf-9097-479e-904a-13dd7198c1dd"
# Ties on the case-insensitive name are broken by the exact name, then by id.
ANNA_A = "00000000-0000-4000-8000-00000000000a"
ANNA_B = "00000000-0000-4000-8000-00000000000b"
BOB = "00000000-0000-4000-8000-00000000000c"
NAMES = "5c2f1a3e-1111-4c4c-8d8d-000000000002"
# Lowercasing and case folding disagree on ß: the Python fallback decides.
STRASSE = "00000000-0000-4000-8000-0000000000a1"
STRASZE = "00000000-0000-4000-8000-0000000000a2"
STRASSE_SHARP = "00000000-0000-4000-8000-0000000000a3"
SHARP = "5c2f1a3e-1111-4c4c-8d8d-000000000003"


@pytest_asyncio.fixture(scope="module", autouse=True)
async def catalogue() -> AsyncIterator[None]:
    await h.recreate_database()
    async with h.db() as conn:
        await conn.execute(
            "insert into content.film_work (id, title, description, rating, type, creation_date)"
            " values (%s, 'Star Wars', null, 8.6, 'movie', '1977-05-25'),"
            " (%s, 'THX 1138', 'Dystopia.', 7, 'movie', null),"
            " (%s, 'Alone', 'Plot.', null, null, null),"
            " (%s, 'Names', null, 0.1, null, null), (%s, 'Sharp', null, null, null, null)",
            (FILM, THX, ALONE, NAMES, SHARP),
        )
        await conn.execute(
            "insert into content.genre (id, name) values (%s, 'Adventure'), (%s, 'Action')",
            (ADVENTURE, ACTION),
        )
        people = [
            (LUCAS, "George Lucas"), (HAMILL, "Mark Hamill"), (NOBODY, "No Films"),
            (ANNA_B, "anna"), (BOB, "Bob"), (ANNA_A, "Anna"),
            (STRASSE, "Strasse"), (STRASZE, "Strasze"), (STRASSE_SHARP, "Straße"),
        ]  # fmt: skip
        async with conn.cursor() as cur:
            await cur.executemany(
                "insert into content.person (id, full_name) values (%s, %s)", people
            )
            await cur.executemany(
                "insert into content.genre_film_work (id, film_work_id, genre_id)"
                " values (gen_random_uuid(), %s, %s)",
                [(FILM, ADVENTURE), (FILM, ACTION)],
            )
            links = [
                (FILM, LUCAS, "writer"), (FILM, LUCAS, "director"), (FILM, HAMILL, "actor"),
                (FILM, LUCAS, "actor"), (THX, LUCAS, "director"),
                (NAMES, ANNA_B, "actor"), (NAMES, BOB, "actor"), (NAMES, ANNA_A, "actor"),
                (SHARP, STRASSE, "actor"), (SHARP, STRASZE, "actor"),
                (SHARP, STRASSE_SHARP, "actor"),
            ]  # fmt: skip
            await cur.executemany(
                "insert into content.person_film_work (id, film_work_id, person_id, role)"
                " values (gen_random_uuid(), %s, %s, %s)",
                links,
            )
    yield


KINDS = {"films": MOVIES, "persons": PERSONS, "genres": GENRES}


async def read(kind: str, *ids: str) -> dict[str, Source]:
    catalog = PostgresCatalog(Database(h.TEST_DSN, 5), h.settings().etl_advisory_lock_key)
    try:
        async with catalog.exclusive() as session:
            sources = await session.documents(KINDS[kind], [UUID(i) for i in ids])
    finally:
        await catalog.close()
    return {source.id: source for source in sources}


def assert_document(source: Source, expected: dict[str, Any]) -> None:
    assert orjson.loads(source.json) == expected
    assert source.json == orjson.dumps(expected).decode()


async def test_film_document_splits_people_by_role_and_sorts_by_name() -> None:
    docs = await read("films", FILM)

    assert_document(
        docs[FILM],
        {
            "id": FILM,
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
        },
    )


async def test_film_without_links_has_empty_lists_not_missing_fields() -> None:
    docs = await read("films", ALONE)

    assert_document(
        docs[ALONE],
        {
            "id": ALONE, "title": "Alone", "description": "Plot.", "imdb_rating": None,
            "type": None, "creation_date": None,
            "genres": [], "actors": [], "writers": [], "directors": [],
        },
    )  # fmt: skip


async def test_a_whole_rating_is_a_float_as_before() -> None:
    docs = await read("films", THX, NAMES)

    assert '"imdb_rating":7.0,' in docs[THX].json
    assert '"imdb_rating":0.1,' in docs[NAMES].json


async def test_name_order_ignores_case_and_breaks_ties_by_id() -> None:
    docs = await read("films", NAMES)

    actors = [(p["id"], p["full_name"]) for p in orjson.loads(docs[NAMES].json)["actors"]]
    assert actors == [(ANNA_A, "Anna"), (ANNA_B, "anna"), (BOB, "Bob")]


async def test_case_folding_decides_where_lowercasing_differs() -> None:
    docs = await read("films", SHARP)

    actors = [p["full_name"] for p in orjson.loads(docs[SHARP].json)["actors"]]
    assert actors == sorted(actors, key=str.casefold) == ["Strasse", "Straße", "Strasze"]


async def test_person_document_has_one_entry_per_film_with_sorted_roles() -> None:
    docs = await read("persons", LUCAS, NOBODY)

    assert_document(
        docs[LUCAS],
        {
            "id": LUCAS,
            "full_name": "George Lucas",
            "films": [
                {"id": FILM, "title": "Star Wars", "roles": ["actor", "director", "writer"]},
                {"id": THX, "title": "THX 1138", "roles": ["director"]},
            ],
        },
    )
    assert_document(docs[NOBODY], {"id": NOBODY, "full_name": "No Films", "films": []})


async def test_genre_document() -> None:
    docs = await read("genres", ACTION)

    assert_document(
        docs[ACTION], {"id": ACTION, "name": "Action", "description": None, "film_count": 1}
    )


async def test_missing_ids_are_simply_absent() -> None:
    assert await read("films", LUCAS) == {}
