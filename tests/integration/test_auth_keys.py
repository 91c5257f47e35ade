"""Key rotation with `auth keys rotate`: new tokens carry the new kid within the
reload interval, tokens signed by the old key stay valid until they expire, and
the old key leaves the JWKS once the last of them has. Short token lifetime
here (8 s, no leeway) so the test sees the whole life of a key."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import AsyncIterator, Iterator

import grpc
import jwt
import pytest
import pytest_asyncio

from auth.v1 import auth_service_pb2 as pb
from auth.v1 import user_service_pb2 as upb
from auth_service.adapters import crypto
from tests.support.auth import (
    AuthServer,
    Stubs,
    bearer,
    reason,
    register_and_login,
    rpc_error,
    start_auth,
)
from tests.support.procs import VENV_BIN, Proc

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


def test_a_wrong_encryption_key_is_refused_with_a_clear_message(server: AuthServer) -> None:
    other = crypto.new_kek()
    result = subprocess.run(
        [str(VENV_BIN / "auth"), "keys", "rotate"],
        env={**os.environ, **server.env, "AUTH_KEY_ENCRYPTION_KEY": other},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "does not open the stored signing keys" in result.stderr


def test_the_encryption_key_is_required() -> None:
    env = {k: v for k, v in os.environ.items() if k != "AUTH_KEY_ENCRYPTION_KEY"}
    result = subprocess.run(
        [str(VENV_BIN / "auth"), "migrate"],
        env={**env, "AUTH_POSTGRES_DSN": "postgresql://nobody@127.0.0.1:1/none"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "auth_key_encryption_key" in result.stderr.lower()
