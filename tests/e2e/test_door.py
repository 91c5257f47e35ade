"""The public door (issue 13): every request gets a deliberate JSON answer from the edge."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import grpc
import httpx
import pytest

from movies.v1 import film_service_pb2
from tests.support import catalog as c
from tests.support.servers import ApiServer, Edge, start_edge

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


async def test_grpc_through_the_edge_is_real_grpc(edge: Edge) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{edge.port}") as channel:
        call = channel.unary_unary(
            "/movies.v1.FilmService/GetFilm",
            request_serializer=film_service_pb2.GetFilmRequest.SerializeToString,
            response_deserializer=film_service_pb2.Film.FromString,
        )
        film = await call(film_service_pb2.GetFilmRequest(film_id=c.F_NEW_HOPE), timeout=5)
    assert film.uuid == c.F_NEW_HOPE


def raw_request(edge: Edge, request: bytes) -> tuple[str, dict[str, str], bytes]:
    """Status line, headers and body of a hand-written request (httpx cannot send
    HTTP/1.0 or a bad Transfer-Encoding)."""
    with socket.create_connection(("127.0.0.1", edge.port), timeout=5) as sock:
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


def test_a_bad_transfer_encoding_gets_json(edge: Edge) -> None:
    status, headers, _ = raw_request(
        edge,
        b"GET /api/v1/genres HTTP/1.1\r\nHost: x\r\nTE: gzip, chunked\r\n"
        b"Transfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n0\r\n\r\n",
    )
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
    edge.proc.stop()


def client_at(edge: Edge, address: str) -> httpx.Client:
    """A client whose connections come from `address` (any 127.0.0.0/8 address)."""
    return httpx.Client(
        base_url=edge.url, transport=httpx.HTTPTransport(local_address=address), timeout=10
    )


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


def test_slow_headers_are_cut_off_with_a_json_408(limited_edge: Edge) -> None:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", limited_edge.port), timeout=10) as sock:
        sock.sendall(b"GET /api/v1/genres HTTP/1.1\r\nHost: x\r\n")  # never finished
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert time.monotonic() - started < HEADERS_TIMEOUT_S + 5
    assert data.startswith(b"HTTP/1.1 408"), data
    assert b"application/json" in data


def test_connections_beyond_the_limit_are_closed(limited_edge: Edge) -> None:
    socks = [
        socket.create_connection(("127.0.0.1", limited_edge.port), timeout=5) for _ in range(25)
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
