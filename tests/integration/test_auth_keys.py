"""Key rotation with `auth keys rotate`: new tokens carry the new kid within the
reload interval, tokens signed by the old key stay valid until they expire, and
the old key leaves the JWKS once the last of them has. Short token lifetime
here (8 s, no leeway) so the test sees the whole life of a key."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import grpc
import jwt
import pytest
import pytest_asyncio

from auth.v1 import auth_service_pb2 as pb
from auth.v1 import user_service_pb2 as upb
from tests.support.auth import (
    AuthServer,
    Stubs,
    bearer,
    reason,
    register_and_login,
    rpc_error,
    start_auth,
)
from tests.support.procs import Proc

TTL_S = 8
EMAIL, PASSWORD = "rotating@example.org", "correct horse battery"


@pytest.fixture(scope="module")
def server(test_redis: Proc) -> Iterator[AuthServer]:
    yield from start_auth(
        "keys",
        test_redis.port,  # type: ignore[attr-defined]
        ACCESS_TOKEN_TTL_SECONDS=str(TTL_S),
        AUTH_LEEWAY_SECONDS="0",
    )


@pytest_asyncio.fixture(scope="module")
async def stubs(server: AuthServer) -> AsyncIterator[Stubs]:
    async with grpc.aio.insecure_channel(server.target) as channel:
        yield Stubs.on(channel)


def kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


async def jwks_kids(stubs: Stubs) -> list[str]:
    return [k.kid for k in (await stubs.auth.GetJwks(pb.GetJwksRequest())).keys]


async def test_rotation_keeps_old_tokens_valid_until_they_expire(
    stubs: Stubs, server: AuthServer
) -> None:
    old = await register_and_login(stubs, EMAIL, PASSWORD)
    old_kid = kid(old.access_token)
    assert await jwks_kids(stubs) == [old_kid]

    rotated = server.cli("keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    new_kid = rotated.stdout.split()[-1]
    assert new_kid != old_kid

    # Every replica picks the new key up within AUTH_KEY_RELOAD_SECONDS (0.5 s here).
    deadline = time.monotonic() + 5
    while True:
        fresh = await stubs.auth.Login(pb.LoginRequest(email=EMAIL, password=PASSWORD))
        if kid(fresh.access_token) == new_kid:
            break
        assert time.monotonic() < deadline, "still signing with the old key"
        await asyncio.sleep(0.1)
    assert await jwks_kids(stubs) == [new_kid, old_kid]
    await stubs.users.GetMe(upb.GetMeRequest(), metadata=bearer(fresh.access_token))
    await stubs.users.GetMe(upb.GetMeRequest(), metadata=bearer(old.access_token))

    # The old key goes once no token it signed can still be valid.
    deadline = time.monotonic() + TTL_S + 5
    while await jwks_kids(stubs) != [new_kid]:
        assert time.monotonic() < deadline, "the retired key stayed in the JWKS"
        await asyncio.sleep(0.2)
    exc = await rpc_error(stubs.users.GetMe(upb.GetMeRequest(), metadata=bearer(old.access_token)))
    assert exc.code() == grpc.StatusCode.UNAUTHENTICATED
    assert reason(exc) in {"TOKEN_EXPIRED", "INVALID_TOKEN"}

    # The next rotation deletes keys retired longer than a token lifetime ago.
    assert server.cli("keys", "rotate").returncode == 0
    kids = {row[0] for row in server.sql("select kid from auth.signing_keys")}
    assert old_kid not in kids
    assert new_kid in kids
    assert len(kids) == 2
