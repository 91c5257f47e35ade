"""The panel refreshes an editor's expired access token once per session, even
when several requests find it expired at the same moment: the auth service ends
a whole session when a refresh token is presented twice (reuse detection)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from auth.v1 import auth_service_pb2 as pb
from auth.v1 import role_service_pb2 as rpb
from tests.support.admin_panel import (
    PASSWORD,
    Browser,
    Panel,
    content_database,
    drop_database,
    start_panel,
)
from tests.support.auth import AuthServer, Stubs, bearer, start_auth
from tests.support.procs import Proc

DATABASE = "admin_test_refresh"
TTL_S = 2
CONCURRENT = 6


@pytest.fixture(scope="module")
def server(test_redis: Proc) -> Iterator[AuthServer]:
    yield from start_auth(
        "admin_refresh",
        test_redis.port,  # type: ignore[attr-defined]
        ACCESS_TOKEN_TTL_SECONDS=str(TTL_S),
        AUTH_LEEWAY_SECONDS="0",
    )


@pytest.fixture(scope="module")
def panel(server: AuthServer) -> Iterator[Panel]:
    dsn = content_database(DATABASE)
    try:
        yield from start_panel("refresh", dsn, server.port, ADMIN_WORKERS="2")
    finally:
        drop_database(DATABASE)


async def test_concurrent_requests_refresh_an_expired_token_once(
    panel: Panel, server: AuthServer, stubs: Stubs
) -> None:
    chief, email = "chief@example.org", "busy@example.org"
    assert server.cli("createsuperuser", "--email", chief, "--password", PASSWORD).returncode == 0
    admin = await stubs.auth.Login(pb.LoginRequest(email=chief, password=PASSWORD))
    user = await stubs.auth.Register(pb.RegisterRequest(email=email, password=PASSWORD))
    await stubs.roles.GrantRole(
        rpb.GrantRoleRequest(user_id=user.user_id, role="editor"),
        metadata=bearer(admin.access_token),
    )
    b = Browser(panel.url)
    assert b.sign_in(email).status_code == 302
    # Token expiry is a matter of the clock: let the access token expire.
    await asyncio.sleep(TTL_S + 1)
    with ThreadPoolExecutor(CONCURRENT) as pool:
        codes = list(
            pool.map(lambda _: b.get("/admin/catalog/filmwork/").status_code, range(CONCURRENT))
        )
    assert codes == [200] * CONCURRENT
    # The session survived: no refresh token was presented twice.
    assert b.get("/admin/").status_code == 200
    spent = server.sql(
        "select count(*) from auth.refresh_tokens t join auth.sessions s on s.id = t.session_id"
        " join auth.users u on u.id = s.user_id where u.email = %s and t.used_at is not null",
        email,
    )
    assert spent == [(1,)]
    b.close()
