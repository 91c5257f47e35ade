"""A dead account store: the auth service answers UNAVAILABLE (503 through the
edge) within its deadline, spends no refresh token, and serves again once
PostgreSQL is back, through a proxy the test cuts (the stack's PostgreSQL
stays up)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import grpc
import pytest

from auth.v1 import auth_service_pb2 as pb
from tests.support.auth import (
    AuthServer,
    Stubs,
    dsn,
    reason,
    register_and_login,
    rpc_error,
    start_auth,
)
from tests.support.procs import Proc, eventually
from tests.support.tcp_proxy import TcpProxy

DEADLINE_S = 2.0
# Scheduling slack on a loaded machine on top of the deadline.
SLACK_S = 1.5
NAME = "outage"


@pytest.fixture(scope="module")
def server(test_redis: Proc, pg_cut: TcpProxy) -> Iterator[AuthServer]:
    """An auth server whose store is reached through `pg_cut`."""
    through = pg_cut.reroute(dsn(f"auth_test_{NAME}"))
    yield from start_auth(
        NAME,
        test_redis.port,  # type: ignore[attr-defined]
        AUTH_POSTGRES_DSN=through,
        REQUEST_DEADLINE_SECONDS=str(DEADLINE_S),
    )


async def test_store_down_is_unavailable_within_the_deadline_then_recovers(
    server: AuthServer, pg_cut: TcpProxy
) -> None:
    email = f"outage-{uuid.uuid4().hex[:8]}@example.org"
    async with grpc.aio.insecure_channel(server.target) as channel:
        stubs = Stubs.on(channel)
        login = await register_and_login(stubs, email)
        refresh = pb.RefreshRequest(refresh_token=login.refresh_token)
        pg_cut.set_mode("down")
        try:
            for call in (
                stubs.auth.Refresh(refresh),
                stubs.auth.Login(pb.LoginRequest(email=email, password="correct horse battery")),
            ):
                started = time.monotonic()
                exc = await rpc_error(call)
                assert exc.code() == grpc.StatusCode.UNAVAILABLE, exc.details()
                assert reason(exc) in {"BACKEND_UNAVAILABLE", "DEADLINE_EXCEEDED"}
                assert time.monotonic() - started < DEADLINE_S + SLACK_S
        finally:
            pg_cut.set_mode("pass")

        refused: list[grpc.aio.AioRpcError] = []

        async def answered() -> bool:
            try:
                await stubs.auth.Refresh(refresh)
            except grpc.aio.AioRpcError as exc:
                refused.append(exc)
                return exc.code() != grpc.StatusCode.UNAVAILABLE
            refused.clear()
            return True

        await eventually(answered, 30, "a refresh once the store is back")
        # The token was not spent while the store was down: it still refreshes.
        assert not refused, refused[-1].details()
