"""The auth service behind a test Envoy rendered from the same template as the
stack: the REST lifecycle, `jwt_authn` refusing REST and gRPC paths without a
token (before the service sees them), the per-IP rate limit, and claim headers
that only the edge may set."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator, Generator, Iterator
from typing import Any

import grpc
import httpx
import pytest
import pytest_asyncio
from grpc_health.v1 import health as grpc_health
from grpc_health.v1 import health_pb2_grpc

from auth.v1 import auth_service_pb2 as pb
from auth.v1 import auth_service_pb2_grpc as pb_grpc
from auth.v1 import user_service_pb2 as upb
from auth.v1 import user_service_pb2_grpc as user_grpc
from tests.support.auth import AUDIENCE, ISSUER, AuthServer, Stubs, bearer, start_auth
from tests.support.procs import Proc, free_port, wait_until
from tests.support.servers import Edge, start_edge

PASSWORD = "correct horse battery"
RATE_LIMIT = 3
CLAIM_HEADERS = ("x-auth-user-id", "x-auth-session-id", "x-auth-roles")


def email() -> str:
    return f"edge-{uuid.uuid4().hex[:12]}@example.org"


def jwks_fetched(edge: Edge) -> bool:
    """The edge has the JWKS (fetched at start-up, asynchronously)."""
    stats = httpx.get(f"http://127.0.0.1:{edge.admin_port}/stats?filter=jwks_fetch_success").text
    return any(int(line.rsplit(":", 1)[1]) > 0 for line in stats.splitlines() if line)


def auth_edge(name: str, upstream: str, **env: str) -> Generator[Edge, None, None]:
    edge = start_edge(
        name,
        env={
            "AUTH_UPSTREAMS": upstream,
            "AUTH_ISSUER": ISSUER,
            "AUTH_AUDIENCE": AUDIENCE,
            "ENVOY_AUTH_RATE_LIMIT": "1000",
            **env,
        },
    )
    try:
        wait_until(lambda: jwks_fetched(edge), 30, f"{name} JWKS")
        yield edge
    finally:
        edge.stop()


@pytest.fixture(scope="module")
def server(test_redis: Proc) -> Iterator[AuthServer]:
    yield from start_auth("edge", test_redis.port)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def edge(server: AuthServer) -> Iterator[Edge]:
    yield from auth_edge("test-auth-edge", server.target)


@pytest_asyncio.fixture
async def http(edge: Edge) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=edge.url, timeout=10) as client:
        yield client


async def sign_in(http: httpx.AsyncClient) -> dict[str, Any]:
    address = email()
    creds = {"email": address, "password": PASSWORD}
    assert (await http.post("/api/v1/auth/register", json=creds)).status_code == 200
    login = await http.post("/api/v1/auth/login", json=creds)
    assert login.status_code == 200, login.text
    tokens: dict[str, Any] = login.json()
    return tokens


def auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_the_rest_lifecycle_through_the_edge(http: httpx.AsyncClient) -> None:
    tokens = await sign_in(http)
    assert tokens["token_type"] == "Bearer"
    me = await http.get("/api/v1/users/me", headers=auth(tokens["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json()["roles"] == ["subscriber"]

    refreshed = await http.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    access = refreshed.json()["access_token"]
    assert (await http.get("/api/v1/users/me", headers=auth(access))).status_code == 200

    logout = await http.post("/api/v1/auth/logout", json={}, headers=auth(access))
    assert logout.status_code == 200, logout.text
    # The signature is still good, so the edge passes it; the service's deny-list refuses.
    after = await http.get("/api/v1/users/me", headers=auth(access))
    assert after.status_code == 401
    assert after.json()["code"] == grpc.StatusCode.UNAUTHENTICATED.value[0]


async def test_a_client_cannot_choose_its_recorded_address(http: httpx.AsyncClient) -> None:
    forged = {"x-forwarded-for": "203.0.113.7"}
    address = email()
    creds = {"email": address, "password": PASSWORD}
    assert (await http.post("/api/v1/auth/register", json=creds)).status_code == 200
    login = await http.post("/api/v1/auth/login", json=creds, headers=forged)
    assert login.status_code == 200, login.text
    sessions = await http.get("/api/v1/auth/sessions", headers=auth(login.json()["access_token"]))
    (session,) = sessions.json()["sessions"]
    assert session["ip"]
    assert session["ip"] != "203.0.113.7"


async def test_the_jwks_is_served_at_the_well_known_path(http: httpx.AsyncClient) -> None:
    reply = await http.get("/.well-known/jwks.json")
    assert reply.status_code == 200
    keys = reply.json()["keys"]
    assert keys
    assert keys[0]["kty"] == "OKP"
    assert keys[0]["kid"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/users/me"),
        ("GET", "/api/v1/users/me/login-history"),
        ("POST", "/api/v1/auth/logout"),
        ("POST", "/api/v1/auth/logout-all"),
        ("GET", "/api/v1/auth/sessions"),
        ("POST", "/api/v1/auth/password"),
        ("GET", "/api/v1/roles"),
    ],
)
async def test_the_edge_refuses_a_protected_route_without_a_token(
    http: httpx.AsyncClient, method: str, path: str
) -> None:
    reply = await http.request(method, path, json={} if method == "POST" else None)
    assert reply.status_code == 401
    assert reply.headers["www-authenticate"].startswith("Bearer")
    assert reply.headers["content-type"] == "application/json"
    assert reply.json()["code"] == grpc.StatusCode.UNAUTHENTICATED.value[0]
    # Envoy's own reply: the request never reached the service.
    assert "Jwt is missing" in reply.json()["message"]


async def test_the_edge_refuses_a_forged_or_foreign_token(http: httpx.AsyncClient) -> None:
    tokens = await sign_in(http)
    header, payload, signature = tokens["access_token"].split(".")
    tampered = f"{header}.{payload[:-2]}AA.{signature}"
    reply = await http.get("/api/v1/users/me", headers=auth(tampered))
    assert reply.status_code == 401
    assert "Jwt" in reply.json()["message"]


async def test_the_edge_refuses_the_grpc_path_without_a_token(edge: Edge) -> None:
    async with grpc.aio.insecure_channel(edge.grpc_target) as channel:
        users = user_grpc.UserServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await users.GetMe(upb.GetMeRequest(), timeout=5)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        # Envoy's plain message, not the JSON body REST clients get.
        assert refused.value.details() == "Jwt is missing"


async def test_the_grpc_path_with_a_token_passes_the_edge(edge: Edge) -> None:
    async with grpc.aio.insecure_channel(edge.grpc_target) as channel:
        stubs = Stubs.on(channel)
        address = email()
        await stubs.auth.Register(pb.RegisterRequest(email=address, password=PASSWORD))
        login = await stubs.auth.Login(pb.LoginRequest(email=address, password=PASSWORD))
        user = await stubs.users.GetMe(upb.GetMeRequest(), metadata=bearer(login.access_token))
        assert user.email == address


# --- rate limit ---------------------------------------------------------------


@pytest.fixture(scope="module")
def limited_edge(server: AuthServer) -> Iterator[Edge]:
    yield from auth_edge(
        "test-auth-edge-limited", server.target, ENVOY_AUTH_RATE_LIMIT=str(RATE_LIMIT)
    )


async def test_the_edge_rate_limits_sign_in_per_client_ip(limited_edge: Edge) -> None:
    creds = {"email": email(), "password": "wrong password here"}
    async with httpx.AsyncClient(base_url=limited_edge.url, timeout=10) as http:
        statuses = [
            (await http.post("/api/v1/auth/login", json=creds)).status_code
            for _ in range(RATE_LIMIT)
        ]
        assert 429 not in statuses
        limited = await http.post("/api/v1/auth/login", json=creds)
        assert limited.status_code == 429
        assert limited.headers["content-type"] == "application/json"
        assert limited.json()["code"] == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
        assert int(limited.headers["retry-after"]) > 0
        # Register and refresh share the bucket; other routes do not.
        assert (await http.post("/api/v1/auth/refresh", json={})).status_code == 429
        assert (await http.get("/.well-known/jwks.json")).status_code == 200
    # The bucket is the client's own: another address still signs in.
    other = httpx.AsyncHTTPTransport(local_address="127.0.0.3")
    async with httpx.AsyncClient(base_url=limited_edge.url, transport=other, timeout=10) as http:
        assert (await http.post("/api/v1/auth/login", json=creds)).status_code == 401
    # gRPC has its own port (the door does not carry it), under the same limit.
    # Another account, so the service's own per-account throttle stays out of it.
    # The bucket refills all at once every interval: should a refill fall inside
    # this loop, the limit shows one bucket later (never more than two buckets).
    grpc_creds = {**creds, "email": email()}
    async with grpc.aio.insecure_channel(limited_edge.grpc_target) as channel:
        codes: list[grpc.StatusCode] = []
        while len(codes) <= 2 * RATE_LIMIT and grpc.StatusCode.RESOURCE_EXHAUSTED not in codes:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await Stubs.on(channel).auth.Login(pb.LoginRequest(**grpc_creds), timeout=5)
            codes.append(refused.value.code())
        assert codes[:RATE_LIMIT] == [grpc.StatusCode.UNAUTHENTICATED] * RATE_LIMIT
        assert codes[-1] == grpc.StatusCode.RESOURCE_EXHAUSTED, codes


# --- claim headers ------------------------------------------------------------


def echo_handlers(real: pb_grpc.AuthServiceAsyncStub) -> tuple[grpc.GenericRpcHandler, ...]:
    """Stands in for a service behind the edge: GetMe answers with the claim
    headers it received (user id, session id as the email, roles), GetJwks with
    the real server's keys, so the edge verifies the real server's tokens."""

    async def get_me(
        request: upb.GetMeRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.User:
        md = {key: str(value) for key, value in context.invocation_metadata() or ()}
        return pb.User(
            user_id=md.get("x-auth-user-id", ""),
            email=md.get("x-auth-session-id", ""),
            roles=[md["x-auth-roles"]] if "x-auth-roles" in md else [],
        )

    async def get_jwks(
        request: pb.GetJwksRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.JsonWebKeySet:
        return await real.GetJwks(request)

    return (
        grpc.method_handlers_generic_handler(
            "auth.v1.UserService",
            {
                "GetMe": grpc.unary_unary_rpc_method_handler(
                    get_me,
                    request_deserializer=upb.GetMeRequest.FromString,
                    response_serializer=pb.User.SerializeToString,
                )
            },
        ),
        grpc.method_handlers_generic_handler(
            "auth.v1.AuthService",
            {
                "GetJwks": grpc.unary_unary_rpc_method_handler(
                    get_jwks,
                    request_deserializer=pb.GetJwksRequest.FromString,
                    response_serializer=pb.JsonWebKeySet.SerializeToString,
                )
            },
        ),
    )


@pytest_asyncio.fixture
async def echo_edge(server: AuthServer) -> AsyncIterator[tuple[Edge, Stubs]]:
    async with grpc.aio.insecure_channel(server.target) as channel:
        real = Stubs.on(channel)
        echo = grpc.aio.server()
        echo.add_generic_rpc_handlers(echo_handlers(real.auth))
        health = grpc_health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(health, echo)
        port = echo.add_insecure_port(f"127.0.0.1:{free_port()}")
        await echo.start()
        edges = auth_edge("test-auth-edge-echo", f"127.0.0.1:{port}")
        try:
            edge = await asyncio.to_thread(next, edges)
            yield edge, real
        finally:
            await asyncio.to_thread(edges.close)
            await echo.stop(None)


async def test_claim_headers_come_only_from_the_edge(echo_edge: tuple[Edge, Stubs]) -> None:
    edge, real = echo_edge
    address = email()
    await real.auth.Register(pb.RegisterRequest(email=address, password=PASSWORD))
    login = await real.auth.Login(pb.LoginRequest(email=address, password=PASSWORD))
    user = await real.users.GetMe(upb.GetMeRequest(), metadata=bearer(login.access_token))
    forged = {"x-auth-user-id": "forged", "x-auth-session-id": "forged", "x-auth-roles": "admin"}
    async with httpx.AsyncClient(base_url=edge.url, timeout=10) as http:
        reply = await http.get("/api/v1/users/me", headers={**forged, **auth(login.access_token)})
        assert reply.status_code == 200, reply.text
        seen = reply.json()
        assert seen["user_id"] == user.user_id
        assert seen["email"] not in ("", "forged")  # the token's session id
        # Envoy passes a list claim as base64 of its JSON.
        assert [json.loads(base64.b64decode(role)) for role in seen["roles"]] == [["subscriber"]]
    async with grpc.aio.insecure_channel(edge.grpc_target) as channel:
        over_grpc = await user_grpc.UserServiceStub(channel).GetMe(
            upb.GetMeRequest(),
            metadata=(*forged.items(), *bearer(login.access_token)),
        )
        assert over_grpc.user_id == user.user_id
        assert json.loads(base64.b64decode(over_grpc.roles[0])) == ["subscriber"]
