"""The UGC service behind a test edge rendered from the stack's template, over
the tests' own auth server and content API: every route over REST, what the
edge refuses without a token (and lets through without one on the public
reads), errors as JSON with their HTTP status, and which answers may be cached."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Generator, Iterator
from typing import Any

import grpc
import httpx
import pytest
import pytest_asyncio

from tests.support import catalog
from tests.support.auth import AUDIENCE, ISSUER, AuthServer, start_auth
from tests.support.procs import Proc, wait_until
from tests.support.servers import ApiServer, Edge, start_edge
from tests.support.ugc import UgcServer, start_ugc
from ugc.v1 import rating_service_pb2 as rtpb
from ugc.v1 import rating_service_pb2_grpc as rating_grpc

PASSWORD = "correct horse battery"
FILM = catalog.F_EMPIRE


@pytest.fixture(scope="module")
def server(test_redis: Proc) -> Iterator[AuthServer]:
    yield from start_auth("ugc_edge", test_redis.port)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def ugc(server: AuthServer, test_redis: Proc, api: ApiServer) -> Iterator[UgcServer]:
    yield from start_ugc("edge", server, test_redis.port, api.port)  # type: ignore[attr-defined]


def jwks_fetched(edge: Edge) -> bool:
    stats = httpx.get(f"http://127.0.0.1:{edge.admin_port}/stats?filter=jwks_fetch_success").text
    return any(int(line.rsplit(":", 1)[1]) > 0 for line in stats.splitlines() if line)


def ugc_edge(api: ApiServer, auth: AuthServer, ugc: UgcServer) -> Generator[Edge, None, None]:
    edge = start_edge(
        "test-ugc-edge",
        api,
        env={
            "AUTH_UPSTREAMS": auth.target,
            "AUTH_ISSUER": ISSUER,
            "AUTH_AUDIENCE": AUDIENCE,
            "ENVOY_AUTH_RATE_LIMIT": "1000",
            "UGC_UPSTREAMS": ugc.target,
        },
    )
    try:
        wait_until(lambda: jwks_fetched(edge), 30, "test-ugc-edge JWKS")
        yield edge
    finally:
        edge.stop()  # the door too, and its working directory


@pytest.fixture(scope="module")
def edge(api: ApiServer, server: AuthServer, ugc: UgcServer) -> Iterator[Edge]:
    yield from ugc_edge(api, server, ugc)


@pytest_asyncio.fixture
async def http(edge: Edge) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=edge.url, timeout=10) as client:
        yield client


async def sign_in(http: httpx.AsyncClient) -> dict[str, str]:
    """A new user's bearer header."""
    creds = {"email": f"ugc-edge-{uuid.uuid4().hex[:12]}@example.org", "password": PASSWORD}
    assert (await http.post("/api/v1/auth/register", json=creds)).status_code == 200
    login = await http.post("/api/v1/auth/login", json=creds)
    assert login.status_code == 200, login.text
    return {"authorization": f"Bearer {login.json()['access_token']}"}


def ok(reply: httpx.Response) -> Any:
    assert reply.status_code == 200, reply.text
    return reply.json()


async def test_ratings_over_rest(http: httpx.AsyncClient) -> None:
    ann, bob = await sign_in(http), await sign_in(http)
    path = f"/api/v1/films/{FILM}/rating"
    first = ok(await http.put(path, json={"score": 8}, headers=ann))
    assert ok(await http.put(path, json={"score": 8}, headers=ann)) == first
    assert (first["count"], first["average"], first["my_score"]) == (1, 8.0, 8)
    ok(await http.put(path, json={"score": 5}, headers=bob))
    public = await http.get(path)
    body = ok(public)
    assert (body["count"], body["average"], body["distribution"][5]) == (2, 6.5, 1)
    assert "my_score" not in body
    assert public.headers["cache-control"] == "public, max-age=1"
    mine = await http.get(path, headers=bob)
    assert ok(mine)["my_score"] == 5
    assert "public" not in mine.headers["cache-control"]
    assert ok(await http.delete(path, headers=bob)) == {}
    assert ok(await http.delete(path, headers=bob)) == {}
    bad = await http.put(path, json={"score": 11}, headers=ann)
    assert bad.status_code == 400
    assert "score" in bad.json()["message"]
    missing = await http.put(
        f"/api/v1/films/{catalog.MISSING}/rating", json={"score": 1}, headers=ann
    )
    assert missing.status_code == 404
    assert (await http.get(f"/api/v1/films/{catalog.MISSING}/rating")).status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", f"/api/v1/films/{FILM}/rating"),
        ("DELETE", f"/api/v1/films/{FILM}/rating"),
        ("POST", f"/api/v1/films/{FILM}/reviews"),
        ("PATCH", f"/api/v1/reviews/{uuid.UUID(int=1)}"),
        ("DELETE", f"/api/v1/reviews/{uuid.UUID(int=1)}"),
        ("PUT", f"/api/v1/reviews/{uuid.UUID(int=1)}/vote"),
        ("DELETE", f"/api/v1/reviews/{uuid.UUID(int=1)}/vote"),
        ("PUT", f"/api/v1/users/me/bookmarks/{FILM}"),
        ("DELETE", f"/api/v1/users/me/bookmarks/{FILM}"),
        ("GET", "/api/v1/users/me/bookmarks"),
    ],
)
async def test_user_routes_need_a_token_at_the_edge(
    http: httpx.AsyncClient, method: str, path: str
) -> None:
    reply = await http.request(method, path, json=None if method in {"GET", "DELETE"} else {})
    assert reply.status_code == 401, reply.text
    assert "Jwt is missing" in reply.json()["message"]


async def test_reviews_votes_and_bookmarks_over_rest(http: httpx.AsyncClient) -> None:
    author, voter = await sign_in(http), await sign_in(http)
    reviews = f"/api/v1/films/{FILM}/reviews"
    review = ok(
        await http.post(reviews, json={"text": "Darker, better.", "score": 9}, headers=author)
    )
    assert review["votes_up"] == 0
    assert (await http.post(reviews, json={"text": "again"}, headers=author)).status_code == 409
    empty = await http.post(reviews, json={"text": ""}, headers=voter)
    assert empty.status_code == 400
    assert "text" in empty.json()["message"]
    one = f"/api/v1/reviews/{review['review_id']}"
    assert (await http.patch(one, json={"spoiler": True}, headers=voter)).status_code == 403
    edited = ok(await http.patch(one, json={"spoiler": True}, headers=author))
    assert edited["spoiler"] is True
    assert edited["edit_time"]
    assert (await http.put(f"{one}/vote", json={"value": "up"}, headers=author)).status_code == 403
    voted = ok(await http.put(f"{one}/vote", json={"value": "up"}, headers=voter))
    assert ok(await http.put(f"{one}/vote", json={"value": "up"}, headers=voter)) == voted
    assert voted["votes_up"] == 1
    listed = await http.get(reviews, params={"sort": "helpful", "page_size": 1})
    page = ok(listed)
    assert [r["review_id"] for r in page["reviews"]] == [review["review_id"]]
    assert listed.headers["cache-control"] == "public, max-age=1"
    assert (await http.get(reviews, params={"sort": "best"})).status_code == 400
    assert ok(await http.delete(f"{one}/vote", headers=voter))["votes_up"] == 0
    assert ok(await http.delete(one, headers=author)) == {}
    assert (await http.delete(one, headers=author)).status_code == 404

    mark = f"/api/v1/users/me/bookmarks/{FILM}"
    saved = ok(await http.put(mark, headers=voter))
    assert saved["film_id"] == FILM
    assert saved["title"] == "Star Wars: Episode V - The Empire Strikes Back"
    assert ok(await http.put(mark, headers=voter))["create_time"] == saved["create_time"]
    listing = await http.get("/api/v1/users/me/bookmarks", headers=voter)
    (item,) = ok(listing)["bookmarks"]
    assert item["title"] == "Star Wars: Episode V - The Empire Strikes Back"
    assert item["imdb_rating"] == 8.7
    assert "public" not in listing.headers.get("cache-control", "")
    assert ok(await http.delete(mark, headers=voter)) == {}
    assert ok(await http.get("/api/v1/users/me/bookmarks", headers=voter))["bookmarks"] == []
    gone = await http.put(f"/api/v1/users/me/bookmarks/{catalog.MISSING}", headers=voter)
    assert gone.status_code == 404


async def test_grpc_through_the_edge(edge: Edge, http: httpx.AsyncClient) -> None:
    """gRPC clients use the same edge: the summary with no token, a rating with one."""
    headers = await sign_in(http)
    token = headers["authorization"].split(" ", 1)[1]
    async with grpc.aio.insecure_channel(edge.grpc_target) as channel:
        ratings = rating_grpc.RatingServiceStub(channel)
        put = await ratings.PutRating(
            rtpb.PutRatingRequest(film_id=catalog.F_SOLARIS, score=10),
            metadata=(("authorization", f"Bearer {token}"),),
            timeout=5,
        )
        assert put.my_score == 10
        summary = await ratings.GetFilmRating(
            rtpb.GetFilmRatingRequest(film_id=catalog.F_SOLARIS), timeout=5
        )
        assert summary.count >= 1
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await ratings.PutRating(
                rtpb.PutRatingRequest(film_id=catalog.F_SOLARIS, score=1), timeout=5
            )
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
