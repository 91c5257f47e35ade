"""The tests' own catalogue end to end (generated films plus the legacy edge
cases, imported from a hand-made `movies.sqlite`): one pass, indices == database.

The same checks on the real 999-film catalogue live in tests/real_catalogue/.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest_asyncio
from elasticsearch import AsyncElasticsearch

import movies_index as indices
from movies_etl import bootstrap
from movies_etl.adapters.postgres import connect
from movies_etl.generator import GENRES, CatalogGenerator
from movies_etl.importer import import_sqlite
from tests import etl_helpers as h
from tests.support import legacy


@pytest_asyncio.fixture(scope="module")
async def imported(es: AsyncElasticsearch) -> AsyncIterator[None]:
    async with h.sample_catalogue(es):
        async with bootstrap.app(h.settings()) as app:
            await app.sync.run_once()
        yield


async def test_one_pass_indexes_the_whole_sample(imported: None, es: AsyncElasticsearch) -> None:
    expected = await h.assert_indices_equal_database(es)

    generated = CatalogGenerator(h.GENERATED_FILMS, h.GENERATED_SEED)
    assert len(expected.films) == h.FILMS
    # The legacy genres are among the generator's: one row per name.
    assert len(expected.genres) == len(GENRES)
    assert len(expected.persons) == len(generated.persons) + legacy.PERSONS
    assert await h.pending_changes() == 0


async def test_no_placeholder_reaches_a_document(imported: None, es: AsyncElasticsearch) -> None:
    for name in indices.INDEX_NAMES:
        for doc in (await h.documents(es, name)).values():
            assert b"N/A" not in orjson.dumps(doc), doc


async def test_film_documents_match_the_contract(imported: None, es: AsyncElasticsearch) -> None:
    docs = await h.documents(es, indices.MOVIES)
    new_hope = docs[legacy.NEW_HOPE]

    assert set(new_hope) == {
        "id", "title", "description", "imdb_rating", "type", "creation_date",
        "genres", "actors", "writers", "directors",
    }  # fmt: skip
    assert new_hope["title"] == legacy.NEW_HOPE_TITLE
    assert new_hope["imdb_rating"] == 8.6
    assert {g["name"] for g in new_hope["genres"]} == {"Action", "Adventure", "Fantasy", "Sci-Fi"}
    assert [d["full_name"] for d in new_hope["directors"]] == ["George Lucas"]
    assert [w["full_name"] for w in new_hope["writers"]] == ["George Lucas"]
    for field in ("genres", "actors", "writers", "directors"):
        key = "name" if field == "genres" else "full_name"
        names = [item[key] for item in new_hope[field]]
        assert names == sorted(names, key=str.casefold)


async def test_missing_values_and_missing_people(imported: None, es: AsyncElasticsearch) -> None:
    docs = await h.documents(es, indices.MOVIES)
    empire, lonely = docs[legacy.EMPIRE], docs[legacy.LONELY]

    assert empire["description"] is None
    assert [w["full_name"] for w in empire["writers"]] == ["George Lucas", "Lawrence Kasdan"]
    assert (lonely["title"], lonely["imdb_rating"], lonely["description"]) == (
        legacy.LONELY_TITLE, None, None,
    )  # fmt: skip
    assert (lonely["actors"], lonely["writers"], lonely["directors"]) == ([], [], [])
    assert [g["name"] for g in lonely["genres"]] == ["Short"]


async def test_person_in_several_roles_has_them_all(imported: None, es: AsyncElasticsearch) -> None:
    lucas = (await h.documents(es, indices.PERSONS))[legacy.LUCAS]
    new_hope = next(f for f in lucas["films"] if f["id"] == legacy.NEW_HOPE)

    assert new_hope["roles"] == ["director", "writer"]
    titles = [f["title"] for f in lucas["films"]]
    assert len(titles) == 2
    assert titles == sorted(titles, key=str.casefold)


async def test_importing_twice_changes_nothing(imported: None, tmp_path: Path) -> None:
    before = await h.expected_from_database()
    conn = await connect(h.TEST_DSN, 5)
    async with conn:
        await import_sqlite(conn, legacy.write(tmp_path / "legacy.sqlite"))

    assert await h.pending_changes() == 0
    assert await h.expected_from_database() == before


async def test_status_reports_counts_and_lag(imported: None) -> None:
    async with bootstrap.app(h.settings()) as app:
        report = await app.status.report()

    assert report["pending_changes"] == 0
    assert report["indices"][f"{h.PREFIX}movies"] == {"documents": h.FILMS, "database": h.FILMS}
    assert report["last_rebuild"]["documents"]["movies"] == h.FILMS
