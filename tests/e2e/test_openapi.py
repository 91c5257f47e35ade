"""The OpenAPI document generated from the protos, served by Envoy, and the API
held to it by schemathesis."""

from __future__ import annotations

import subprocess

import httpx

from tests.support.procs import VENV_BIN
from tests.support.servers import Edge


async def test_openapi_document_covers_every_route(http: httpx.AsyncClient) -> None:
    resp = await http.get("/api/openapi.json")
    assert resp.status_code == 200
    spec = resp.json()
    assert spec["openapi"].startswith("3.")
    assert set(spec["paths"]) == {
        "/api/v1/films",
        "/api/v1/films/search",
        "/api/v1/films/{film_id}",
        "/api/v1/genres",
        "/api/v1/genres/{genre_id}",
        "/api/v1/persons/search",
        "/api/v1/persons/{person_id}",
        "/api/v1/persons/{person_id}/films",
    }
    film = spec["components"]["schemas"]["Film"]["properties"]
    assert "imdb_rating" in film  # proto field names, as the transcoder prints them


async def test_swagger_ui_is_served_without_a_cdn(http: httpx.AsyncClient) -> None:
    page = await http.get("/api/docs")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert "http" not in page.text.split("<body>")[1]  # every asset is local
    for asset in ("/api/docs/swagger-ui-bundle.js", "/api/docs/swagger-ui.css"):
        resp = await http.get(asset)
        assert resp.status_code == 200
        assert len(resp.content) > 10_000


def test_schemathesis_finds_no_server_error_and_no_spec_violation(edge: Edge) -> None:
    checks = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
    result = subprocess.run(
        [
            str(VENV_BIN / "schemathesis"),
            "run",
            f"{edge.url}/api/openapi.json",
            "--url",
            edge.url,
            "--checks",
            checks,
            "--max-examples",
            "40",
            "--generation-deterministic",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert "passed" in result.stdout
