"""Key rotation with `auth keys rotate`: the new key is in the JWKS at once, but
tokens keep the old kid until its activation (AUTH_KEY_ACTIVATION_DELAY_SECONDS,
short here), then carry the new one; tokens signed by the old key stay valid
until they expire, and the old key leaves the JWKS once the last of them has.
`--now` skips the delay. Short token lifetime here (8 s, no leeway) so the test
sees the whole life of a key."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime

import grpc
import jwt
import pytest

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
ACTIVATION_DELAY_S = 3
# Clock difference tolerated between the auth server and PostgreSQL (same host).
SKEW_S = 0.2
EMAIL, PASSWORD = "rotating@example.org", "correct horse battery"


@pytest.fixture(scope="module")
def server(test_redis: Proc) -> Iterator[AuthServer]:
    yield from start_auth(
        "keys",
        test_redis.port,  # type: ignore[attr-defined]
        ACCESS_TOKEN_TTL_SECONDS=str(TTL_S),
        AUTH_LEEWAY_SECONDS="0",
        AUTH_KEY_ACTIVATION_DELAY_SECONDS=str(ACTIVATION_DELAY_S),
    )


def kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


async def jwks_kids(stubs: Stubs) -> list[str]:
    return [k.kid for k in (await stubs.auth.GetJwks(pb.GetJwksRequest())).keys]


def rotate(server: AuthServer, *flags: str) -> tuple[str, float]:
    """Runs `auth keys rotate`; the new kid and when it signs (epoch seconds)."""
    rotated = server.cli("keys", "rotate", *flags)
    assert rotated.returncode == 0, rotated.stderr
    words = rotated.stdout.split()
    return words[2], datetime.fromisoformat(words[-1]).timestamp()


async def login_kid(stubs: Stubs) -> tuple[float, str, float]:
    """(started, kid of the token, finished), epoch seconds."""
    started = time.time()
    reply = await stubs.auth.Login(pb.LoginRequest(email=EMAIL, password=PASSWORD))
    return started, kid(reply.access_token), time.time()


async def test_rotation_publishes_first_signs_later_and_keeps_old_tokens_valid(
    stubs: Stubs, server: AuthServer
) -> None:
    old = await register_and_login(stubs, EMAIL, PASSWORD)
    old_kid = kid(old.access_token)
    assert await jwks_kids(stubs) == [old_kid]

    new_kid, active_from = rotate(server)
    assert new_kid != old_kid
    assert active_from - time.time() > ACTIVATION_DELAY_S - 1

    # The server publishes the new key within AUTH_KEY_RELOAD_SECONDS (0.5 s here),
    # well before it signs with it.
    deadline = time.monotonic() + 5
    while await jwks_kids(stubs) != [new_kid, old_kid]:
        assert time.monotonic() < deadline, "the new key is not in the JWKS"
        await asyncio.sleep(0.05)
    assert time.time() < active_from - 1

    # Until activation, tokens carry the old kid; from then on, the new one at once.
    seen: list[tuple[float, str, float]] = []
    while not seen or seen[-1][0] < active_from + SKEW_S:
        seen.append(await login_kid(stubs))
        await asyncio.sleep(0.1)
    for started, signed_by, finished in seen:
        if finished < active_from - SKEW_S:
            assert signed_by == old_kid, "signed with the new key before its activation"
        if started > active_from + SKEW_S:
            assert signed_by == new_kid, "still signing with the old key after activation"
    assert seen[0][1] == old_kid
    fresh = await stubs.auth.Login(pb.LoginRequest(email=EMAIL, password=PASSWORD))
    assert kid(fresh.access_token) == new_kid
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
    pending_kid, _ = rotate(server)
    kids = {row[0] for row in server.sql("select kid from auth.signing_keys")}
    assert kids == {new_kid, pending_kid}

    # --now (a compromised key): it signs within the reload interval, and the key
    # still pending never signs.
    urgent_kid, urgent_from = rotate(server, "--now")
    assert urgent_from <= time.time()
    deadline = time.monotonic() + 5
    while (await login_kid(stubs))[1] != urgent_kid:
        assert time.monotonic() < deadline, "--now did not sign at once"
        await asyncio.sleep(0.05)
    assert set(await jwks_kids(stubs)) == {urgent_kid, pending_kid, new_kid}
    while time.time() < urgent_from + ACTIVATION_DELAY_S + SKEW_S:
        assert (await login_kid(stubs))[1] == urgent_kid
        await asyncio.sleep(0.2)


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
