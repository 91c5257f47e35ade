"""Key rotation seen from the edge: Envoy keeps the JWKS for
ENVOY_JWKS_CACHE_DURATION and does not refetch it on an unknown kid, so a
rotated key must be published that long before it signs. With the activation
delay above the edge's cache (as the settings require), the first token the new
key signs is accepted at the edge at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import jwt
import pytest
import pytest_asyncio

from tests.integration.test_auth_edge import auth_edge
from tests.support.auth import AuthServer, start_auth
from tests.support.procs import Proc
from tests.support.servers import Edge

JWKS_CACHE_S = 2
# >= the edge's cache + the server's reload (0.5 s) + the edge's fetch retries.
ACTIVATION_DELAY_S = 5
EMAIL, PASSWORD = "edge-rotation@example.org", "correct horse battery"


@pytest.fixture(scope="module")
def server(test_redis: Proc) -> Iterator[AuthServer]:
    yield from start_auth(
        "keys_edge",
        test_redis.port,  # type: ignore[attr-defined]
        AUTH_KEY_ACTIVATION_DELAY_SECONDS=str(ACTIVATION_DELAY_S),
    )


@pytest.fixture(scope="module")
def edge(server: AuthServer) -> Iterator[Edge]:
    yield from auth_edge(
        "test-auth-keys-edge", server.target, ENVOY_JWKS_CACHE_DURATION=f"{JWKS_CACHE_S}s"
    )


@pytest_asyncio.fixture
async def http(edge: Edge) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=edge.url, timeout=10) as client:
        yield client


async def login(http: httpx.AsyncClient) -> str:
    reply = await http.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
    assert reply.status_code == 200, reply.text
    token: str = reply.json()["access_token"]
    return token


def kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


async def test_the_first_token_of_a_rotated_key_passes_the_edge(
    http: httpx.AsyncClient, server: AuthServer
) -> None:
    creds = {"email": EMAIL, "password": PASSWORD}
    assert (await http.post("/api/v1/auth/register", json=creds)).status_code == 200
    old_kid = kid(await login(http))

    rotated = server.cli("keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    new_kid = rotated.stdout.split()[2]
    assert new_kid != old_kid

    deadline = time.monotonic() + ACTIVATION_DELAY_S + 5
    while kid(token := await login(http)) != new_kid:
        assert time.monotonic() < deadline, "the new key never signed"
        await asyncio.sleep(0.05)
    # No waiting: the edge had the key before it signed anything.
    me = await http.get("/api/v1/users/me", headers={"authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
