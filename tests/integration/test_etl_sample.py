"""The sample catalogue end to end: import `movies.sqlite`, one pass, indices == database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest_asyncio
from elasticsearch import AsyncElasticsearch

from movies_etl import bootstrap, indices
from movies_etl.adapters.postgres import connect
from movies_etl.importer import import_sqlite
from tests import etl_helpers as h


@pytest_asyncio.fixture(scope="module")
async def imported(es: AsyncElasticsearch) -> AsyncIterator[None]:
    async with h.sample_catalogue(es):
        async with bootstrap.app(h.settings()) as app:
            await app.sync.run_once()
        yield


async def test_one_pass_indexes_the_whole_sample(imported: None, es: AsyncElasticsearch) -> None:
    expected = await h.assert_indices_equal_database(es)

    assert len(expected.films) == 999
    assert len(expected.genres) == 26
    assert len(expected.persons) == 4166
    assert await h.pending_changes() == 0


async def test_no_placeholder_reaches_a_document(imported: None, es: AsyncElasticsearch) -> None:
    for name in indices.INDEX_NAMES:
        for doc in (await h.documents(es, name)).values():
            assert b"N/A" not in orjson.dumps(doc), doc


async def test_film_documents_match_the_contract(imported: None, es: AsyncElasticsearch) -> None:
    docs = await h.documents(es, indices.MOVIES)
    star_wars = next(d for d in docs.values() if d["title"] == "Star Wars: Episode IV - A New Hope")

    assert set(star_wars) == {
        "id", "title", "description", "imdb_rating", "type", "creation_date",
        "genres", "actors", "writers", "directors",
    }  # fmt: skip
    assert star_wars["imdb_rating"] == 8.6
    assert {g["name"] for g in star_wars["genres"]} == {"Action", "Adventure", "Fantasy", "Sci-Fi"}
    assert [d["full_name"] for d in star_wars["directors"]] == ["George Lucas"]
    assert "George Lucas" in {w["full_name"] for w in star_wars["writers"]}
    for field in ("genres", "actors", "writers", "directors"):
        key = "name" if field == "genres" else "full_name"
        names = [item[key] for item in star_wars[field]]
        assert names == sorted(names, key=str.casefold)


async def test_person_in_several_roles_has_them_all(imported: None, es: AsyncElasticsearch) -> None:
    lucas = next(
        d for d in (await h.documents(es, indices.PERSONS)).values()
        if d["full_name"] == "George Lucas"
    )  # fmt: skip
    new_hope = next(f for f in lucas["films"] if f["title"] == "Star Wars: Episode IV - A New Hope")

    assert new_hope["roles"] == ["director", "writer"]
    titles = [f["title"] for f in lucas["films"]]
    assert titles == sorted(titles, key=str.casefold)


async def test_importing_twice_changes_nothing(imported: None) -> None:
    before = await h.expected_from_database()
    conn = await connect(h.TEST_DSN, 5)
    async with conn:
        await import_sqlite(conn, Path(h.SAMPLE_SQLITE))

    assert await h.pending_changes() == 0
    assert await h.expected_from_database() == before


async def test_status_reports_counts_and_lag(imported: None) -> None:
    async with bootstrap.app(h.settings()) as app:
        report = await app.sync.status()

    assert report["pending_changes"] == 0
    assert report["indices"][f"{h.PREFIX}movies"] == {"documents": 999, "database": 999}
    assert report["last_rebuild"]["documents"]["movies"] == 999
