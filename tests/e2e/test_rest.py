"""The public REST/JSON API through Envoy's transcoder, as a client sees it."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
import redis.asyncio as aioredis
from elasticsearch import AsyncElasticsearch

from movies_etl.adapters.cache import RedisCacheSignal
from tests.conftest import CHANNEL, TEST_PREFIX, VERSION_KEY
from tests.support import catalog as c
from tests.support.servers import ApiServer


async def get(http: httpx.AsyncClient, path: str, status: int = 200) -> dict:  # type: ignore[type-arg]
    resp = await http.get(path)
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body: dict = resp.json()  # type: ignore[type-arg]
    return body


async def test_film_detail(http: httpx.AsyncClient) -> None:
    film = await get(http, f"/api/v1/films/{c.F_NEW_HOPE}")
    assert film["uuid"] == c.F_NEW_HOPE
    assert film["imdb_rating"] == pytest.approx(8.6)
    assert film["genres"] == [
        {"uuid": c.G_ACTION, "name": "Action"},
        {"uuid": c.G_SCIFI, "name": "Sci-Fi"},
    ]
    assert film["directors"] == [{"uuid": c.P_LUCAS, "full_name": "George Lucas"}]
    assert set(film) == {
        "uuid",
        "title",
        "imdb_rating",
        "description",
        "genres",
        "actors",
        "writers",
        "directors",
    }


async def test_unrated_film_has_no_rating_and_no_na(http: httpx.AsyncClient) -> None:
    resp = await http.get(f"/api/v1/films/{c.F_UNRATED}")
    film = resp.json()
    assert "imdb_rating" not in film or film["imdb_rating"] is None
    assert "N/A" not in resp.text
    assert film["actors"] == []


async def test_film_list_shape(http: httpx.AsyncClient) -> None:
    body = await get(http, f"/api/v1/films?sort=-imdb_rating&genre_id={c.G_SCIFI}&page_size=2")
    assert body["total"] == 3
    assert (body["page_number"], body["page_size"]) == (1, 2)
    assert body["films"] == [
        {
            "uuid": c.F_EMPIRE,
            "title": "Star Wars: Episode V - The Empire Strikes Back",
            "imdb_rating": pytest.approx(8.7),
        },
        {
            "uuid": c.F_NEW_HOPE,
            "title": "Star Wars: Episode IV - A New Hope",
            "imdb_rating": pytest.approx(8.6),
        },
    ]


async def test_search_routes(http: httpx.AsyncClient) -> None:
    films = await get(http, "/api/v1/films/search?query=hoth%20planet")
    assert [f["uuid"] for f in films["films"]] == [c.F_EMPIRE]
    persons = await get(http, "/api/v1/persons/search?query=hamill")
    assert persons["persons"][0]["full_name"] == "Mark Hamill"
    assert persons["persons"][0]["films"][0]["roles"] == ["actor"]
    assert persons["total"] == 1


async def test_genre_routes(http: httpx.AsyncClient) -> None:
    genres = await get(http, "/api/v1/genres")
    assert genres["genres"][0] == {
        "uuid": c.G_ACTION,
        "name": "Action",
        "film_count": 2,
        "description": c.GENRE_DESCRIPTIONS[c.G_ACTION],
    }
    assert genres["total"] == 5
    action = await get(http, f"/api/v1/genres/{c.G_ACTION}")
    assert action["description"] == c.GENRE_DESCRIPTIONS[c.G_ACTION]
    western = await get(http, f"/api/v1/genres/{c.G_WESTERN}")
    assert western == {"uuid": c.G_WESTERN, "name": "Western", "film_count": 0}


async def test_person_routes(http: httpx.AsyncClient) -> None:
    person = await get(http, f"/api/v1/persons/{c.P_LUCAS}")
    assert person["full_name"] == "George Lucas"
    films = await get(http, f"/api/v1/persons/{c.P_HAMILL}/films")
    assert [f["uuid"] for f in films["films"]] == [c.F_EMPIRE, c.F_NEW_HOPE]
    assert all(f["roles"] == ["actor"] for f in films["films"])
    lucas = await get(http, f"/api/v1/persons/{c.P_LUCAS}/films")
    roles = {f["uuid"]: set(f["roles"]) for f in lucas["films"]}
    assert roles[c.F_NEW_HOPE] == {
        r for f in person["films"] if f["uuid"] == c.F_NEW_HOPE for r in f["roles"]
    }
    assert {"writer", "director"} <= roles[c.F_NEW_HOPE]
    assert films["total"] == 2


@pytest.mark.parametrize(
    ("path", "status", "fragment"),
    [
        (f"/api/v1/films/{c.MISSING}", 404, "not found"),
        (f"/api/v1/genres/{c.MISSING}", 404, "not found"),
        (f"/api/v1/persons/{c.MISSING}", 404, "not found"),
        (f"/api/v1/persons/{c.MISSING}/films", 404, "not found"),
        ("/api/v1/films/not-a-uuid", 400, "film_id must be a UUID"),
        ("/api/v1/films?sort=rating", 400, "sort must be one of"),
        ("/api/v1/films?page_number=0", 400, "page_number"),
        ("/api/v1/films?page_size=101", 400, "page_size"),
        ("/api/v1/films?page_size=abc", 400, "page_size"),
        ("/api/v1/films?page_number=10001&page_size=1", 400, "must not exceed"),
        ("/api/v1/films/search?query=", 400, "empty"),
        ("/api/v1/films/search", 400, "empty"),
        ("/api/v1/films/search?query=" + "x" * 300, 400, "at most 256"),
        ("/api/v1/persons/search?query=", 400, "empty"),
        ("/api/v1/genres?page_size=0", 400, "page_size"),
        ("/api/v1/nothing-here", 404, "no such route"),
    ],
)
async def test_errors_are_json_with_a_message(
    http: httpx.AsyncClient, path: str, status: int, fragment: str
) -> None:
    body = await get(http, path, status)
    assert fragment in body["message"]
    assert isinstance(body["code"], int)


async def test_query_syntax_cannot_fail_or_widen(http: httpx.AsyncClient) -> None:
    for q in ["title:* OR _exists_:x", '"', "[", "(a", "\\", "*:*"]:
        resp = await http.get("/api/v1/films/search", params={"query": q})
        assert resp.status_code == 200, (q, resp.text)
        body = resp.json()
        assert body["total"] < len(c.FILMS), q


async def test_request_id_reaches_the_service_log(http: httpx.AsyncClient, api: ApiServer) -> None:
    rid = "e2e-request-id-0042"
    resp = await http.get("/api/v1/films?sort=bogus", headers={"x-request-id": rid})
    assert resp.status_code == 400
    assert resp.headers["x-request-id"] == rid
    lines = [line for line in api.proc.log_text().splitlines() if rid in line]
    assert lines, "the request id was not logged"
    assert '"rpc":"ListFilms"' in lines[-1]


async def test_edge_cache_serves_reads_and_ends_staleness_within_the_bound(
    http: httpx.AsyncClient, es: AsyncElasticsearch, redis_client: aioredis.Redis
) -> None:
    path = f"/api/v1/films/{c.F_COMEDY}"
    first = await http.get(path)
    assert first.headers["cache-control"] == "public, max-age=1"
    # Answered by Envoy's cache, not the service. The file-system store writes
    # the entry from a worker thread, so the very next request may still miss.
    started = time.monotonic()
    while "age" not in (await http.get(path)).headers:
        assert time.monotonic() - started < 0.8, "the edge cache never answered"
        await asyncio.sleep(0.02)
    search = await http.get("/api/v1/films/search", params={"query": "comedians"})
    assert "cache-control" not in search.headers  # unbounded keys are never edge-cached
    index = f"{TEST_PREFIX}movies"
    try:
        await es.update(index=index, id=c.F_COMEDY, doc={"title": "Zany Planets"}, refresh=True)
        assert await RedisCacheSignal(redis_client, VERSION_KEY, CHANNEL).signal()
        started = time.monotonic()
        while (await http.get(path)).json()["title"] != "Zany Planets":
            # max-age of the edge plus version propagation.
            assert time.monotonic() - started < 2.5, "stale beyond the bound"
            await asyncio.sleep(0.05)
    finally:
        await es.update(index=index, id=c.F_COMEDY, doc={"title": "Zany Stars"}, refresh=True)
        assert await RedisCacheSignal(redis_client, VERSION_KEY, CHANNEL).signal()


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/api/v1/films?page_size=0", "INVALID_PAGE_SIZE"),
        ("/api/v1/films?sort=x", "INVALID_SORT"),
        ("/api/v1/films/search?query=", "EMPTY_QUERY"),
        (f"/api/v1/persons/{c.MISSING}", "PERSON_NOT_FOUND"),
        ("/api/v1/genres/x", "INVALID_UUID"),
    ],
)
async def test_errors_carry_an_error_info_reason(
    http: httpx.AsyncClient, path: str, reason: str
) -> None:
    body = (await http.get(path)).json()
    assert body["details"][0]["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"
    assert (body["details"][0]["reason"], body["details"][0]["domain"]) == (reason, "movies.v1")
