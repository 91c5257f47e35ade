"""The OpenAPI document generated from the protos and served by the edge: it covers
every route and declares the limits and errors the service really has."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from content_api.entrypoints.limits import contract_limits
from tests.support import catalog as c

PATHS = {
    "/api/v1/films",
    "/api/v1/films/search",
    "/api/v1/films/{film_id}",
    "/api/v1/genres",
    "/api/v1/genres/{genre_id}",
    "/api/v1/persons/search",
    "/api/v1/persons/{person_id}",
    "/api/v1/persons/{person_id}/films",
}
PAGED = [
    "/api/v1/films",
    "/api/v1/films/search",
    "/api/v1/genres",
    "/api/v1/persons/search",
    "/api/v1/persons/{person_id}/films",
]
SEARCHES = ["/api/v1/films/search", "/api/v1/persons/search"]
BY_ID = [
    "/api/v1/films/{film_id}",
    "/api/v1/genres/{genre_id}",
    "/api/v1/persons/{person_id}",
    "/api/v1/persons/{person_id}/films",
]


@pytest.fixture
async def spec(http: httpx.AsyncClient) -> dict[str, Any]:
    resp = await http.get("/api/openapi.json")
    assert resp.status_code == 200
    document: dict[str, Any] = resp.json()
    return document


def parameter(spec: dict[str, Any], path: str, name: str) -> dict[str, Any]:
    (found,) = (p for p in spec["paths"][path]["get"]["parameters"] if p["name"] == name)
    return found  # type: ignore[no-any-return]


def test_openapi_document_covers_every_route(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.")
    assert set(spec["paths"]) == PATHS
    film = spec["components"]["schemas"]["Film"]["properties"]
    assert "imdb_rating" in film  # proto field names, as the transcoder prints them


async def test_fields_every_answer_carries_are_required(
    http: httpx.AsyncClient, spec: dict[str, Any]
) -> None:
    """The transcoder prints every field without presence, so the schemas require
    them; `optional` ones (a film's rating, a plot) may be absent."""
    film = spec["components"]["schemas"]["Film"]
    assert set(film["required"]) == {"uuid", "title", "genres", "actors", "writers", "directors"}
    unrated = (await http.get(f"/api/v1/films/{c.F_UNRATED}")).json()
    assert set(film["required"]) <= set(unrated)
    assert "imdb_rating" not in unrated


@pytest.mark.parametrize("path", PAGED)
def test_paging_bounds_are_the_ones_the_service_enforces(spec: dict[str, Any], path: str) -> None:
    limits = contract_limits().page
    size = parameter(spec, path, "page_size")["schema"]
    number = parameter(spec, path, "page_number")["schema"]
    assert (size["minimum"], size["maximum"], size["default"]) == (
        1,
        limits.max_size,
        limits.default_size,
    )
    assert (number["minimum"], number["maximum"]) == (1, limits.max_window)


@pytest.mark.parametrize("path", SEARCHES)
def test_query_bounds_are_the_ones_the_service_enforces(spec: dict[str, Any], path: str) -> None:
    query = parameter(spec, path, "query")
    assert query["required"] is True
    assert query["schema"]["minLength"] == 1
    assert query["schema"]["maxLength"] == contract_limits().max_query_length


async def test_the_declared_limits_are_where_the_service_answers_400(
    http: httpx.AsyncClient, spec: dict[str, Any]
) -> None:
    """The document's numbers, sent through the edge: inside is 200, one past is 400."""
    size = parameter(spec, "/api/v1/films", "page_size")["schema"]["maximum"]
    longest = parameter(spec, "/api/v1/films/search", "query")["schema"]["maxLength"]
    assert (await http.get(f"/api/v1/films?page_size={size}")).status_code == 200
    too_big = await http.get(f"/api/v1/films?page_size={size + 1}")
    assert too_big.status_code == 400
    assert "INVALID_PAGE_SIZE" in str(too_big.json()["details"])
    assert (await http.get("/api/v1/films/search?query=" + "a" * longest)).status_code == 200
    too_long = await http.get("/api/v1/films/search?query=" + "a" * (longest + 1))
    assert too_long.status_code == 400
    assert "QUERY_TOO_LONG" in str(too_long.json()["details"])


@pytest.mark.parametrize("path", BY_ID)
def test_ids_are_uuids_and_unknown_ones_are_404(spec: dict[str, Any], path: str) -> None:
    name = path.split("{")[1].split("}")[0]
    assert parameter(spec, path, name)["schema"]["format"] == "uuid"
    assert "404" in spec["paths"][path]["get"]["responses"]
    for schema in ("Film", "FilmSummary", "Genre", "Person", "PersonFilmSummary"):
        assert spec["components"]["schemas"][schema]["properties"]["uuid"]["format"] == "uuid"


@pytest.mark.parametrize("path", sorted(PATHS))
def test_errors_are_declared_with_the_error_body(spec: dict[str, Any], path: str) -> None:
    responses = spec["paths"][path]["get"]["responses"]
    assert "default" not in responses  # every status the API answers is named
    assert {"200", "400", "503"} <= set(responses)
    assert ("429" in responses) == (path in SEARCHES)  # the edge limits searches per client
    for code, ref in responses.items():
        if code != "200":
            name = ref["$ref"].rsplit("/", 1)[1]
            body = spec["components"]["responses"][name]["content"]["application/json"]
            assert body["schema"]["$ref"] == "#/components/schemas/Error"


async def test_an_error_body_matches_the_error_schema(
    http: httpx.AsyncClient, spec: dict[str, Any]
) -> None:
    error = spec["components"]["schemas"]["Error"]
    for path in (f"/api/v1/films/{c.MISSING}", "/api/v1/films?page_size=abc"):
        body = (await http.get(path)).json()
        assert set(error["required"]) <= set(body)
        assert set(body) <= set(error["properties"])


async def test_swagger_ui_is_served_without_a_cdn(http: httpx.AsyncClient) -> None:
    page = await http.get("/api/docs")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert "http" not in page.text.split("<body>")[1]  # every asset is local
    for asset in ("/api/docs/swagger-ui-bundle.js", "/api/docs/swagger-ui.css"):
        resp = await http.get(asset)
        assert resp.status_code == 200
        assert len(resp.content) > 10_000
