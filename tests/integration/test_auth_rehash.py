"""Stronger argon2 parameters reach existing accounts without a reset: the next
successful sign-in rehashes the password with the current parameters."""

from __future__ import annotations

import grpc

from auth.v1 import auth_service_pb2 as pb
from tests.support.auth import FAST_ARGON2, AuthServer, Stubs, start_auth
from tests.support.procs import Proc

EMAIL, PASSWORD = "rehash@example.org", "correct horse battery"
STRONGER = {"ARGON2_TIME_COST": "2", "ARGON2_MEMORY_COST_KIB": "2048"}


async def login(server: AuthServer) -> None:
    async with grpc.aio.insecure_channel(server.target) as channel:
        await Stubs.on(channel).auth.Login(pb.LoginRequest(email=EMAIL, password=PASSWORD))


def stored_hash(server: AuthServer) -> str:
    return str(server.sql("select password_hash from auth.users where email = %s", EMAIL)[0][0])


async def test_login_rehashes_when_the_parameters_change(test_redis: Proc) -> None:
    port = test_redis.port  # type: ignore[attr-defined]
    first = start_auth("rehash", port)
    server = next(first)
    try:
        async with grpc.aio.insecure_channel(server.target) as channel:
            await Stubs.on(channel).auth.Register(
                pb.RegisterRequest(email=EMAIL, password=PASSWORD)
            )
        weak = stored_hash(server)
        assert weak.startswith(f"$argon2id$v=19$m={FAST_ARGON2['ARGON2_MEMORY_COST_KIB']},t=1,")
        server.proc.stop()
        second = start_auth("rehash", port, fresh=False, **STRONGER)
        stronger = next(second)
        try:
            await login(stronger)
            assert stored_hash(stronger).startswith("$argon2id$v=19$m=2048,t=2,")
            await login(stronger)  # the new hash verifies
        finally:
            second.close()
    finally:
        first.close()
