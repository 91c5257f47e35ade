"""The README's UGC flow against the dev stack (`make up`) through its edge on
ENVOY_PORT: a token from the stack's auth service, a film from its catalogue,
then each UGC route as a client calls it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio

from tests.support.stack import stack

PASSWORD = "correct horse battery"


@pytest_asyncio.fixture
async def edge() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{stack().envoy_port}", timeout=10
    ) as client:
        yield client


def ok(reply: httpx.Response) -> Any:
    assert reply.status_code == 200, reply.text
    return reply.json()


async def test_the_readme_flow_on_the_stack(edge: httpx.AsyncClient) -> None:
    creds = {"email": f"ugc-e2e-{uuid.uuid4().hex[:12]}@example.org", "password": PASSWORD}
    ok(await edge.post("/api/v1/auth/register", json=creds))
    access = ok(await edge.post("/api/v1/auth/login", json=creds))["access_token"]
    me = {"authorization": f"Bearer {access}"}
    film = ok(await edge.get("/api/v1/films", params={"page_size": 1}))["films"][0]

    rated = ok(
        await edge.put(f"/api/v1/films/{film['uuid']}/rating", json={"score": 9}, headers=me)
    )
    assert rated["my_score"] == 9
    assert rated["count"] >= 1
    summary = ok(await edge.get(f"/api/v1/films/{film['uuid']}/rating"))
    assert len(summary["distribution"]) == 11
    assert "my_score" not in summary

    review = ok(
        await edge.post(
            f"/api/v1/films/{film['uuid']}/reviews",
            json={"text": "Worth it.", "score": 9},
            headers=me,
        )
    )
    page = ok(
        await edge.get(
            f"/api/v1/films/{film['uuid']}/reviews", params={"sort": "helpful", "page_size": 100}
        )
    )
    assert (
        review["review_id"] in {r["review_id"] for r in page["reviews"]} or page["next_page_token"]
    )
    own = await edge.put(
        f"/api/v1/reviews/{review['review_id']}/vote", json={"value": "up"}, headers=me
    )
    assert own.status_code == 403

    ok(await edge.put(f"/api/v1/users/me/bookmarks/{film['uuid']}", headers=me))
    (item,) = ok(await edge.get("/api/v1/users/me/bookmarks", headers=me))["bookmarks"]
    assert (item["film_id"], item["title"]) == (film["uuid"], film["title"])

    ok(await edge.delete(f"/api/v1/users/me/bookmarks/{film['uuid']}", headers=me))
    ok(await edge.delete(f"/api/v1/reviews/{review['review_id']}", headers=me))
    ok(await edge.delete(f"/api/v1/films/{film['uuid']}/rating", headers=me))
    assert (await edge.get("/api/v1/users/me/bookmarks")).status_code == 401
