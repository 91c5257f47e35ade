"""The real 999-film catalogue, end to end: SQLite → PostgreSQL (importer) →
ETL → Elasticsearch → gRPC → Envoy → REST, checked as a client sees it."""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import pytest_asyncio
from elasticsearch import AsyncElasticsearch
from psycopg import sql

from tests.conftest import ES_URL
from tests.support.procs import VENV_BIN, Proc
from tests.support.servers import start_api, start_edge
from tests.support.stack import stack

DB = "movies_test_real"
DSN = stack().pg_dsn(DB)
PREFIX = "test_real_"


def etl(*args: str, redis_url: str) -> None:
    env = {
        "POSTGRES_DSN": DSN,
        "ELASTICSEARCH_URL": ES_URL,
        "ES_INDEX_PREFIX": PREFIX,
        "REDIS_URL": redis_url,
        "CACHE_VERSION_KEY": "test_real:catalog_version",
        "CACHE_CHANNEL": "test_real:catalog_changed",
    }
    result = subprocess.run(
        [str(VENV_BIN / "etl"), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"etl {args}: {result.stdout[-2000:]}{result.stderr[-2000:]}"


async def drop_indices(es: AsyncElasticsearch) -> None:
    found = await es.indices.get(index=f"{PREFIX}*", allow_no_indices=True)
    for name in found.body:
        await es.indices.delete(index=name)


def load_catalogue(sqlite: Path, redis_url: str) -> None:
    """A fresh database, the SQLite catalogue imported, one ETL pass."""
    with psycopg.connect(stack().admin_dsn, autocommit=True) as c:
        c.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(DB)))
        c.execute(sql.SQL("create database {} owner movies").format(sql.Identifier(DB)))
    etl("migrate", redis_url=redis_url)
    etl("import-sqlite", str(sqlite), redis_url=redis_url)
    etl("once", redis_url=redis_url)


@pytest_asyncio.fixture(scope="module")
async def real_edge(
    es: AsyncElasticsearch, test_redis: Proc, sample_sqlite: Path
) -> AsyncIterator[str]:
    await drop_indices(es)
    redis_url = f"redis://127.0.0.1:{test_redis.port}/1"  # type: ignore[attr-defined]
    load_catalogue(sample_sqlite, redis_url)
    api = start_api(
        "real-content-api",
        {"ELASTICSEARCH_URL": ES_URL, "ES_INDEX_PREFIX": PREFIX, "REDIS_URL": redis_url},
    )
    edge = start_edge("real-envoy", api)
    yield edge.url
    edge.stop()
    api.proc.stop()
    await drop_indices(es)


@pytest.fixture(scope="module")
def rest(real_edge: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=real_edge, timeout=10) as client:
        yield client


def test_counts(rest: httpx.Client) -> None:
    assert rest.get("/api/v1/films", params={"page_size": 1}).json()["total"] == 999
    genres = rest.get("/api/v1/genres", params={"page_size": 100}).json()
    assert genres["total"] == 26
    assert all(g["film_count"] > 0 for g in genres["genres"])
    assert len({g["name"] for g in genres["genres"]}) == 26


def test_no_placeholder_anywhere(rest: httpx.Client) -> None:
    unrated = 0
    for page in range(1, 11):
        resp = rest.get("/api/v1/films", params={"page_number": page, "page_size": 100})
        assert "N/A" not in resp.text
        for film in resp.json()["films"]:
            unrated += "imdb_rating" not in film
            assert film.get("imdb_rating") != 0
    assert unrated == 1  # the catalogue has exactly one film without a rating
    assert "N/A" not in rest.get("/api/v1/persons/search", params={"query": "N/A"}).text


def test_star_wars_and_george_lucas(rest: httpx.Client) -> None:
    found = rest.get("/api/v1/films/search", params={"query": "star wars new hope"}).json()
    hope = next(f for f in found["films"] if f["title"] == "Star Wars: Episode IV - A New Hope")
    film = rest.get(f"/api/v1/films/{hope['uuid']}").json()
    assert film["imdb_rating"] == pytest.approx(8.6)
    assert "George Lucas" in {p["full_name"] for p in film["directors"]}
    assert "Mark Hamill" in {p["full_name"] for p in film["actors"]}
    assert {"Action", "Adventure", "Fantasy", "Sci-Fi"} <= {g["name"] for g in film["genres"]}
    lucas = rest.get("/api/v1/persons/search", params={"query": "george lucas"}).json()
    person = next(p for p in lucas["persons"] if p["full_name"] == "George Lucas")
    roles = {r for f in person["films"] for r in f["roles"]}
    assert {"director", "writer"} <= roles
    films = rest.get(f"/api/v1/persons/{person['uuid']}/films").json()
    assert hope["uuid"] in {f["uuid"] for f in films["films"]}
    assert films["total"] == len(person["films"])


def test_genre_filter_matches_film_count(rest: httpx.Client) -> None:
    genres = rest.get("/api/v1/genres", params={"page_size": 100}).json()["genres"]
    drama = next(g for g in genres if g["name"] == "Drama")
    films = rest.get("/api/v1/films", params={"genre_id": drama["uuid"], "page_size": 1}).json()
    assert films["total"] == drama["film_count"]


# (query, expected top title, whether the top title must equal it or begin with it).
# The catalogue repeats some titles ("Star", "A Star Is Born"): titles, not ids.
RANKING = [
    ("star", "Star", "equal"),
    ("the star", "The Star", "equal"),
    ("Star Trek", "Star Trek", "equal"),
    ("a star is born", "A Star Is Born", "equal"),
    ("dark star", "Dark Star", "equal"),
    ("lone star", "Lone Star", "equal"),
    ("bright star", "Bright Star", "equal"),
    ("star trek beyond", "Star Trek Beyond", "equal"),
    ("rock star", "Rock Star", "equal"),
    ("tin star", "Tin Star", "equal"),
    ("the tin star", "The Tin Star", "equal"),
    ("third star", "Third Star", "equal"),
    ("star 80", "Star 80", "equal"),
    ("the star chamber", "The Star Chamber", "equal"),
    ("star trek: voyager", "Star Trek: Voyager", "equal"),
    ("star trek: picard", "Star Trek: Picard", "equal"),
    ("wish upon a star", "Wish Upon a Star", "equal"),
    ("star wars rebels", "Star Wars Rebels", "equal"),
    ("gold star", "Gold Star", "equal"),
    ("the evening star", "The Evening Star", "equal"),
    ("star nextdoor", "Star Nextdoor", "equal"),
    ("  STAR   wars  ", "Star Wars", "begins"),
    ("star fox", "Star Fox", "begins"),
    ("star wars episode", "Star Wars Episode", "begins"),
]


@pytest.mark.parametrize(("query", "expected", "how"), RANKING)
def test_title_ranking(rest: httpx.Client, query: str, expected: str, how: str) -> None:
    """A title equal to the query first, then titles beginning with it, then relevance."""
    found = rest.get("/api/v1/films/search", params={"query": query, "page_size": 5}).json()
    top = found["films"][0]["title"]
    if how == "equal":
        assert top.lower() == expected.lower(), [f["title"] for f in found["films"]]
    else:
        assert top.lower().startswith(expected.lower()), [f["title"] for f in found["films"]]
