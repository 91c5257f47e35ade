"""A query value the transcoder cannot read into the request message is a 400 in
plain words through the public port, never proto internals (issue 13, §8)."""

from __future__ import annotations

import httpx
import pytest

from tests.support import catalog as c

ROUTES = [
    "/api/v1/films?",
    "/api/v1/genres?",
    "/api/v1/films/search?query=hope&",
    f"/api/v1/persons/{c.P_LUCAS}/films?",
]
INTERNALS = ("TYPE_", "oneof", "_page_size", "_page_number", "invalid value")


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("page_size=abc", 'page_size must be a whole number; got "abc"'),
        ("page_size=", 'page_size must be a whole number; got ""'),
        ("page_number=1.5", 'page_number must be a whole number; got "1.5"'),
        ("page_size=1e3", 'page_size must be a whole number; got "1e3"'),
        ("page_number=99999999999", 'page_number is out of range; got "99999999999"'),
        ("page_size=1&page_size=2", "page_size is given more than once; send it once"),
        ("page_number=1&page_number=1", "page_number is given more than once; send it once"),
        # The service's own check, already plain: unchanged.
        ("page_number=-1", "page_number must be 1 or more; got -1"),
    ],
)
async def test_unreadable_values_are_plain_400s(
    http: httpx.AsyncClient, route: str, query: str, message: str
) -> None:
    resp = await http.get(route + query)
    assert resp.status_code == 400, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert body["code"] == 3
    assert body["message"] == message
    assert not any(word in body["message"] for word in INTERNALS), body


async def test_a_value_with_quotes_stays_valid_json(http: httpx.AsyncClient) -> None:
    resp = await http.get('/api/v1/films?page_size=%22%5C"x')
    assert resp.status_code == 400, resp.text
    assert resp.json()["message"].startswith("page_size must be a whole number; got ")
