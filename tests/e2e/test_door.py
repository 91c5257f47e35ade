"""The public door (issue 13): every request gets a deliberate answer, JSON wherever
the door or the edge answers by itself; cached reads come from the door (Varnish)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import grpc
import httpx
import pytest

from movies.v1 import film_service_pb2
from tests.support import catalog as c
from tests.support.servers import ApiServer, Edge, start_api, start_edge

BAD_UTF8 = ["%FF", "%C0%AF", "%ED%A0%80"]


def assert_json_error(resp: httpx.Response, status: int) -> dict:  # type: ignore[type-arg]
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json"), resp.headers
    body: dict = resp.json()  # type: ignore[type-arg]
    assert set(body) >= {"code", "message"}
    return body


@pytest.mark.parametrize("raw", BAD_UTF8)
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/films/search?query=star{}",
        "/api/v1/persons/search?query={}",
        "/api/v1/films/{}",
    ],
)
async def test_invalid_utf8_is_400_with_a_plain_message(
    http: httpx.AsyncClient, api: ApiServer, path: str, raw: str
) -> None:
    before = api.proc.log_path.read_text(errors="replace")
    body = assert_json_error(await http.get(path.format(raw)), 400)
    assert "UTF-8" in body["message"]
    assert "google.protobuf" not in body["message"]
    logged = api.proc.log_path.read_text(errors="replace")[len(before) :]
    assert "Traceback" not in logged
    assert "DecodeError" not in logged


@pytest.mark.parametrize("extra", ["utm_source=x", "_=1", "utm_source=x&_=1"])
async def test_unknown_query_parameters_are_ignored(http: httpx.AsyncClient, extra: str) -> None:
    plain = await http.get("/api/v1/genres")
    resp = await http.get(f"/api/v1/genres?{extra}")
    assert resp.status_code == 200, resp.text
    assert resp.json() == plain.json()
    found = await http.get(f"/api/v1/films/search?query=hope&{extra}")
    assert found.status_code == 200, found.text
    assert c.F_NEW_HOPE in {f["uuid"] for f in found.json()["films"]}


@pytest.mark.parametrize("size", [9_000, 17_000, 20_000])
async def test_oversized_headers_are_431_json(http: httpx.AsyncClient, size: int) -> None:
    """Above the edge's limit (16 KiB): always 431, never the 429 that says retry."""
    resp = await http.get("/api/v1/films/search?query=star", headers={"Cookie": "s=" + "b" * size})
    if size < 16_000:
        # Below the limit the cookie never reaches the gRPC server: the call succeeds.
        assert resp.status_code == 200, resp.text
    else:
        assert_json_error(resp, 431)


async def test_a_10000_character_query_is_400_query_too_long(http: httpx.AsyncClient) -> None:
    body = assert_json_error(await http.get("/api/v1/films/search?query=" + "a" * 10_000), 400)
    assert "QUERY_TOO_LONG" in str(body["details"])


async def test_a_get_body_never_overrides_the_path(http: httpx.AsyncClient) -> None:
    resp = await http.request(
        "GET", f"/api/v1/films/{c.F_NEW_HOPE}", content=f'{{"film_id":"{c.F_EMPIRE}"}}'
    )
    if resp.status_code == 200:
        assert resp.json()["uuid"] == c.F_NEW_HOPE
    else:
        assert_json_error(resp, 400)


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_grpc_paths_answer_404_json_to_plain_http(
    http: httpx.AsyncClient, method: str
) -> None:
    resp = await http.request(method, "/movies.v1.FilmService/GetFilm")
    assert_json_error(resp, 404)


async def test_a_grpc_request_through_the_door_is_404_json(http: httpx.AsyncClient) -> None:
    """The door does not carry gRPC (HTTP/2 trailers): gRPC has a port of its own."""
    resp = await http.post(
        "/movies.v1.FilmService/GetFilm", headers={"content-type": "application/grpc"}
    )
    assert_json_error(resp, 404)


async def test_plain_http_on_the_grpc_port_is_404_json(edge: Edge) -> None:
    async with httpx.AsyncClient(base_url=f"http://{edge.grpc_target}", timeout=10) as client:
        assert_json_error(await client.get("/api/v1/genres"), 404)


async def test_grpc_through_the_edge_is_real_grpc(edge: Edge) -> None:
    async with grpc.aio.insecure_channel(edge.grpc_target) as channel:
        call = channel.unary_unary(
            "/movies.v1.FilmService/GetFilm",
            request_serializer=film_service_pb2.GetFilmRequest.SerializeToString,
            response_deserializer=film_service_pb2.Film.FromString,
        )
        film = await call(film_service_pb2.GetFilmRequest(film_id=c.F_NEW_HOPE), timeout=5)
    assert film.uuid == c.F_NEW_HOPE


def raw_request(
    edge: Edge, request: bytes, port: int | None = None
) -> tuple[str, dict[str, str], bytes]:
    """Status line, headers and body of a hand-written request (httpx cannot send
    HTTP/1.0 or a bad Transfer-Encoding)."""
    with socket.create_connection(("127.0.0.1", port or edge.port), timeout=5) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.decode().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines)}
    return status, headers, body


def test_http_1_0_gets_json(edge: Edge) -> None:
    status, headers, _ = raw_request(edge, b"GET /api/v1/genres HTTP/1.0\r\n\r\n")
    assert headers["content-type"].startswith("application/json"), (status, headers)


BAD_TRANSFER_ENCODING = (
    b"GET /api/v1/genres HTTP/1.1\r\nHost: x\r\nTE: gzip, chunked\r\n"
    b"Transfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n0\r\n\r\n"
)


def test_a_bad_transfer_encoding_is_refused_by_the_doors_parser(edge: Edge) -> None:
    """Framing the door cannot parse never reaches a rule (VCL) or the edge:
    Varnish answers a bare 400 and closes (README, "What the door answers")."""
    status, headers, body = raw_request(edge, BAD_TRANSFER_ENCODING)
    assert status.startswith("HTTP/1.1 400"), (status, headers)
    assert body == b""


def test_a_bad_transfer_encoding_on_the_grpc_port_gets_json(edge: Edge) -> None:
    status, headers, _ = raw_request(edge, BAD_TRANSFER_ENCODING, port=edge.grpc_port)
    assert headers["content-type"].startswith("application/json"), (status, headers)


@pytest.mark.parametrize("path", ["/api/v1/genres", f"/api/v1/films/{c.F_NEW_HOPE}"])
async def test_head_answers_like_get_without_a_body(http: httpx.AsyncClient, path: str) -> None:
    got = await http.get(path)
    head = await http.head(path)
    assert head.status_code == got.status_code == 200
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.content == b""


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("path", ["/api/v1/genres", f"/api/v1/films/{c.F_NEW_HOPE}"])
async def test_other_methods_on_a_known_route_are_405_with_allow(
    http: httpx.AsyncClient, method: str, path: str
) -> None:
    resp = await http.request(method, path)
    assert_json_error(resp, 405)
    assert resp.headers["allow"] == "GET, HEAD"


async def test_an_unknown_path_is_still_404(http: httpx.AsyncClient) -> None:
    assert_json_error(await http.post("/api/v1/nothing-here"), 404)


SEARCH_LIMIT = 5
HEADERS_TIMEOUT_S = 1


@pytest.fixture(scope="module")
def limited_edge(api: ApiServer) -> Iterator[Edge]:
    """An edge with small limits, so the tests reach them quickly."""
    edge = start_edge(
        "test-door-limits-envoy",
        api,
        env={
            "ENVOY_SEARCH_RATE_LIMIT": str(SEARCH_LIMIT),
            "ENVOY_SEARCH_RATE_INTERVAL_SECONDS": "60",
            "ENVOY_REQUEST_HEADERS_TIMEOUT": f"{HEADERS_TIMEOUT_S}s",
            "ENVOY_MAX_CONNECTIONS": "20",
        },
    )
    yield edge
    edge.stop()


def client_at(edge: Edge, address: str) -> httpx.Client:
    """A client whose connections come from `address` (any 127.0.0.0/8 address)."""
    return httpx.Client(
        base_url=edge.url, transport=httpx.HTTPTransport(local_address=address), timeout=10
    )


def test_a_client_cannot_spend_another_clients_searches(limited_edge: Edge) -> None:
    """The edge reads the client address the door appended to X-Forwarded-For (one
    trusted hop), never one the client wrote there itself."""
    pretend = {"x-forwarded-for": "127.0.0.9"}
    with (
        client_at(limited_edge, "127.0.0.4") as flood,
        client_at(limited_edge, "127.0.0.9") as other,
    ):
        for _ in range(SEARCH_LIMIT):
            assert flood.get("/api/v1/films/search?query=hope", headers=pretend).status_code == 200
        # Still limited as itself, whatever it claims to be...
        limited = flood.get("/api/v1/films/search?query=hope", headers=pretend)
        assert_json_error(limited, 429)
        # ...and the address it named kept its whole budget.
        statuses = [
            other.get("/api/v1/films/search?query=hope").status_code for _ in range(SEARCH_LIMIT)
        ]
        assert statuses == [200] * SEARCH_LIMIT


def test_searches_are_limited_per_client_address(limited_edge: Edge) -> None:
    with (
        client_at(limited_edge, "127.0.0.2") as flood,
        client_at(limited_edge, "127.0.0.3") as other,
    ):
        statuses = [
            flood.get("/api/v1/films/search?query=star").status_code
            for _ in range(SEARCH_LIMIT + 3)
        ]
        assert statuses[:SEARCH_LIMIT] == [200] * SEARCH_LIMIT
        limited = flood.get("/api/v1/films/search?query=star")
        assert_json_error(limited, 429)
        assert int(limited.headers["retry-after"]) >= 1
        # Another client's searches and the flooding client's other reads are untouched.
        assert other.get("/api/v1/films/search?query=star").status_code == 200
        assert flood.get("/api/v1/genres").status_code == 200


def unfinished_request(port: int) -> tuple[float, bytes]:
    """Sends headers that never end; how long until the server closed, and what it said."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /api/v1/genres HTTP/1.1\r\nHost: x\r\n")  # never finished
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return time.monotonic() - started, data


def test_slow_headers_are_cut_off_at_the_door(limited_edge: Edge) -> None:
    """Varnish closes a connection whose headers are not complete in time
    (timeout_idle = ENVOY_REQUEST_HEADERS_TIMEOUT), without an answer."""
    took, data = unfinished_request(limited_edge.port)
    assert took < HEADERS_TIMEOUT_S + 5
    assert data == b""


def test_slow_headers_on_the_grpc_port_get_a_json_408(limited_edge: Edge) -> None:
    took, data = unfinished_request(limited_edge.grpc_port)
    assert took < HEADERS_TIMEOUT_S + 5
    assert data.startswith(b"HTTP/1.1 408"), data
    assert b"application/json" in data


def test_connections_beyond_the_limit_are_closed_on_the_grpc_port(limited_edge: Edge) -> None:
    socks = [
        socket.create_connection(("127.0.0.1", limited_edge.grpc_port), timeout=5)
        for _ in range(25)
    ]
    try:
        closed = 0
        for sock in socks[20:]:
            try:
                closed += sock.recv(1) == b""
            except ConnectionResetError:
                closed += 1
        assert closed == 5
    finally:
        for sock in socks:
            sock.close()


async def test_a_plus_in_the_query_string_is_a_space(http: httpx.AsyncClient) -> None:
    """As HTML forms send it: `?query=new+hope` searches for "new hope"."""
    plus = (await http.get("/api/v1/films/search?query=new+hope")).json()
    space = (await http.get("/api/v1/films/search?query=new%20hope")).json()
    assert plus == space
    assert plus["films"][0]["uuid"] == c.F_NEW_HOPE


# --- the door's cache ---------------------------------------------------------


def fetched_by_the_door(reply: httpx.Response) -> bool:
    """X-Varnish names this request, and the request that stored the copy when it
    came from the store: one id means the door asked the edge for this one."""
    return len(reply.headers["x-varnish"].split()) == 1


async def edge_requests(edge: Edge) -> int:
    """The door's requests to the edge so far (`MAIN.backend_req`). Worker threads
    add their counts to the total a moment after their request: read it once it
    holds still."""
    last = edge.door_counter("MAIN.backend_req")
    for _ in range(50):
        await asyncio.sleep(0.2)
        now = edge.door_counter("MAIN.backend_req")
        if now == last:
            return now
        last = now
    return last


def fresh_path(name: str) -> str:
    """A film detail no test asked for yet: its own cache key (an unknown query
    parameter is ignored by the edge, never by the door's key)."""
    return f"/api/v1/films/{c.F_NEW_HOPE}?door={name}-{time.monotonic_ns()}"


async def test_a_warm_public_read_is_answered_by_the_door(
    http: httpx.AsyncClient, edge: Edge
) -> None:
    path = fresh_path("warm")
    first = await http.get(path)
    assert first.status_code == 200, first.text
    assert fetched_by_the_door(first)
    fetches = await edge_requests(edge)
    again = await http.get(path)
    assert again.json() == first.json()
    assert not fetched_by_the_door(again)
    assert "age" in again.headers
    assert await edge_requests(edge) == fetches


async def test_concurrent_misses_of_one_key_reach_the_edge_once(
    http: httpx.AsyncClient, edge: Edge
) -> None:
    # The client's 32 connections opened first (on another key), so the burst is
    # 32 requests at once, not 32 connects spread over a slow machine's second.
    await asyncio.gather(*(http.get(fresh_path("burst-connect")) for _ in range(32)))
    path = fresh_path("burst")
    fetches = await edge_requests(edge)
    started = time.monotonic()
    replies = await asyncio.gather(*(http.get(path) for _ in range(32)))
    spread = time.monotonic() - started
    assert {r.status_code for r in replies} == {200}
    # One fetch per key per expiry: a burst that outlasts max-age (a very slow
    # machine) may meet one expiry more for every max-age it lasts.
    allowed = 1 + int(spread // MAX_AGE_S)
    assert 1 <= sum(map(fetched_by_the_door, replies)) <= allowed, spread
    assert fetches + 1 <= await edge_requests(edge) <= fetches + allowed, spread


async def test_an_expired_key_is_fetched_once_per_expiry(
    http: httpx.AsyncClient, edge: Edge
) -> None:
    """Past max-age plus grace the copy is gone; the burst that finds it gone
    still makes one fetch."""
    path = fresh_path("expiry")
    assert (await http.get(path)).status_code == 200
    await asyncio.sleep(MAX_AGE_S + GRACE_S + 0.5)
    fetches = await edge_requests(edge)
    replies = await asyncio.gather(*(http.get(path) for _ in range(32)))
    assert {r.status_code for r in replies} == {200}
    # One fetch, which the others waited for (or, had the door's probe just found
    # the catalogue slow, a refresh behind the stale copy: one fetch all the same).
    assert sum(map(fetched_by_the_door, replies)) <= 1
    assert await edge_requests(edge) == fetches + 1


@pytest.mark.parametrize(
    "credentials", [{"authorization": "Bearer not-a-token"}, {"cookie": "session=1"}]
)
async def test_requests_with_credentials_are_never_cached(
    http: httpx.AsyncClient, edge: Edge, credentials: dict[str, str]
) -> None:
    path = fresh_path("credentials")
    assert (await http.get(path)).status_code == 200  # a stored copy exists
    fetches = await edge_requests(edge)
    for _ in range(3):
        reply = await http.get(path, headers=credentials)
        assert reply.status_code == 200, reply.text
        assert fetched_by_the_door(reply)
    assert await edge_requests(edge) == fetches + 3


async def test_searches_are_never_stored(http: httpx.AsyncClient, edge: Edge) -> None:
    fetches = await edge_requests(edge)
    for _ in range(3):
        reply = await http.get("/api/v1/films/search?query=hope")
        assert reply.status_code == 200
        assert fetched_by_the_door(reply)
    assert await edge_requests(edge) == fetches + 3


async def test_the_doors_own_answers_are_json(http: httpx.AsyncClient) -> None:
    resp = await http.get("/.door/catalogue-health")
    body = assert_json_error(resp, 404)
    assert resp.headers["server"] == "Varnish"
    assert body["code"] == grpc.StatusCode.NOT_FOUND.value[0]


MAX_AGE_S = 1
GRACE_S = 1
STALE_IF_ERROR_S = 8


@pytest.fixture
def own_api_edge(api: ApiServer) -> Iterator[tuple[ApiServer, Edge]]:
    """A content API and an edge of the test's own, to kill."""
    env = {k: v for k, v in api.env.items() if k != "GRPC_PORT"}
    own = start_api("test-door-own-api", env)
    edge = start_edge(
        "test-door-stale-envoy",
        own,
        env={"DOOR_STALE_IF_ERROR_SECONDS": str(STALE_IF_ERROR_S), "ENVOY_HEALTH_INTERVAL": "0.2s"},
    )
    yield own, edge
    edge.stop()
    own.proc.stop()


async def test_while_the_api_is_down_the_last_good_copy_is_served_for_a_bound(
    own_api_edge: tuple[ApiServer, Edge],
) -> None:
    own, edge = own_api_edge
    path = f"/api/v1/films/{c.F_NEW_HOPE}"
    async with httpx.AsyncClient(base_url=edge.url, timeout=10) as http:
        good = await http.get(path)
        assert good.status_code == 200
        fetched = time.monotonic()
        own.proc.stop()
        # Past max-age and grace: only the fallback to the last good copy answers.
        await asyncio.sleep(max(0.0, fetched + MAX_AGE_S + GRACE_S + 0.5 - time.monotonic()))
        assert time.monotonic() - fetched < MAX_AGE_S + STALE_IF_ERROR_S
        stale = await http.get(path)
        assert stale.status_code == 200, stale.text
        assert stale.json() == good.json()
        assert int(stale.headers["age"]) > MAX_AGE_S
        # Past the bound the door says so, in JSON.
        await asyncio.sleep(max(0.0, fetched + MAX_AGE_S + STALE_IF_ERROR_S + 1 - time.monotonic()))
        assert_json_error(await http.get(path), 503)


async def test_the_door_answers_json_when_the_edge_is_gone(
    own_api_edge: tuple[ApiServer, Edge],
) -> None:
    _, edge = own_api_edge
    edge.proc.stop()
    async with httpx.AsyncClient(base_url=edge.url, timeout=10) as http:
        resp = await http.get(f"/api/v1/films/{c.F_EMPIRE}?gone={time.monotonic_ns()}")
    body = assert_json_error(resp, 503)
    assert body["code"] == grpc.StatusCode.UNAVAILABLE.value[0]
