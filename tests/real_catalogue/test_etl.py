"""The real catalogue through the ETL: import `movies.sqlite`, one pass, indices == database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest_asyncio
from elasticsearch import AsyncElasticsearch

import movies_index as indices
from movies_etl import bootstrap
from movies_etl.adapters.postgres import connect
from movies_etl.importer import import_sqlite
from tests import etl_helpers as h
from tests.real_catalogue.test_importer import FILMS, GENRES, PERSONS

NEW_HOPE = "Star Wars: Episode IV - A New Hope"


@pytest_asyncio.fixture(scope="module")
async def imported(es: AsyncElasticsearch, sample_sqlite: Path) -> AsyncIterator[None]:
    async with h.sample_catalogue(es, sqlite=sample_sqlite):
        async with bootstrap.app(h.settings()) as app:
            await app.sync.run_once()
        yield


async def test_one_pass_indexes_the_whole_catalogue(imported: None, es: AsyncElasticsearch) -> None:
    expected = await h.assert_indices_equal_database(es)

    assert (len(expected.films), len(expected.genres), len(expected.persons)) == (
        FILMS, GENRES, PERSONS,
    )  # fmt: skip
    assert await h.pending_changes() == 0


async def test_no_placeholder_reaches_a_document(imported: None, es: AsyncElasticsearch) -> None:
    for name in indices.INDEX_NAMES:
        for doc in (await h.documents(es, name)).values():
            assert b"N/A" not in orjson.dumps(doc), doc


async def test_star_wars_document(imported: None, es: AsyncElasticsearch) -> None:
    docs = await h.documents(es, indices.MOVIES)
    star_wars = next(d for d in docs.values() if d["title"] == NEW_HOPE)

    assert star_wars["imdb_rating"] == 8.6
    assert {g["name"] for g in star_wars["genres"]} == {"Action", "Adventure", "Fantasy", "Sci-Fi"}
    assert [d["full_name"] for d in star_wars["directors"]] == ["George Lucas"]
    assert "George Lucas" in {w["full_name"] for w in star_wars["writers"]}


async def test_george_lucas_directed_and_wrote(imported: None, es: AsyncElasticsearch) -> None:
    lucas = next(
        d for d in (await h.documents(es, indices.PERSONS)).values()
        if d["full_name"] == "George Lucas"
    )  # fmt: skip
    new_hope = next(f for f in lucas["films"] if f["title"] == NEW_HOPE)

    assert new_hope["roles"] == ["director", "writer"]


async def test_importing_twice_changes_nothing(imported: None, sample_sqlite: Path) -> None:
    before = await h.expected_from_database()
    conn = await connect(h.TEST_DSN, 5)
    async with conn:
        await import_sqlite(conn, sample_sqlite)

    assert await h.pending_changes() == 0
    assert await h.expected_from_database() == before


async def test_status_reports_counts(imported: None) -> None:
    async with bootstrap.app(h.settings()) as app:
        report = await app.status.report()

    assert report["indices"][f"{h.PREFIX}movies"] == {"documents": FILMS, "database": FILMS}
