"""Accounts and sessions over gRPC against the real PostgreSQL and a Redis of
the test's own: registration rules, the whole token lifecycle with refresh-token
reuse detection, logout, logout-all, password change, sessions, throttling and
the login history."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import grpc
import jwt
import pytest
import redis.asyncio as aioredis

from auth.v1 import auth_service_pb2 as pb
from auth.v1 import user_service_pb2 as upb
from movies_auth.denylist import key as denylist_key
from tests.support.auth import (
    AuthServer,
    Stubs,
    bearer,
    reason,
    register_and_login,
    rpc_error,
    start_auth,
)
from tests.support.procs import Proc, wait_until

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def server(test_redis: Proc) -> Iterator[AuthServer]:
    yield from start_auth("lifecycle", test_redis.port)  # type: ignore[attr-defined]


def email() -> str:
    return f"user-{uuid.uuid4().hex[:12]}@example.org"


async def me(stubs: Stubs, access: str) -> pb.User:
    return await stubs.users.GetMe(upb.GetMeRequest(), metadata=bearer(access))


async def refused(stubs: Stubs, access: str) -> str:
    exc = await rpc_error(me(stubs, access))
    assert exc.code() == grpc.StatusCode.UNAUTHENTICATED, exc.details()
    return reason(exc)


# --- registration -------------------------------------------------------------


async def test_register_normalises_the_email_and_gives_the_subscriber_role(stubs: Stubs) -> None:
    address = email()
    user = await stubs.auth.Register(
        pb.RegisterRequest(email=f"  {address.upper()} ", password=PASSWORD)
    )
    assert user.email == address
    assert list(user.roles) == ["subscriber"]
    uuid.UUID(user.user_id)
    dup = await rpc_error(stubs.auth.Register(pb.RegisterRequest(email=address, password=PASSWORD)))
    assert dup.code() == grpc.StatusCode.ALREADY_EXISTS
    assert reason(dup) == "EMAIL_TAKEN"


@pytest.mark.parametrize(
    ("address", "password", "why"),
    [
        ("not-an-email", PASSWORD, "EMAIL_INVALID"),
        (None, "short", "PASSWORD_TOO_SHORT"),
        (None, "x" * 1025, "PASSWORD_TOO_LONG"),
        ("same@example.org", "Same@Example.org", "PASSWORD_IS_EMAIL"),
    ],
)
async def test_register_refuses_bad_input(
    stubs: Stubs, address: str | None, password: str, why: str
) -> None:
    exc = await rpc_error(
        stubs.auth.Register(pb.RegisterRequest(email=address or email(), password=password))
    )
    assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason(exc) == why


# --- the lifecycle ------------------------------------------------------------


async def test_lifecycle_refresh_rotation_and_reuse_ends_the_session(stubs: Stubs) -> None:
    login = await register_and_login(stubs, email())
    assert login.token_type == "Bearer"
    assert login.expires_in == 300
    assert (await me(stubs, login.access_token)).roles == ["subscriber"]

    second = await stubs.auth.Refresh(pb.RefreshRequest(refresh_token=login.refresh_token))
    assert second.refresh_token != login.refresh_token
    await me(stubs, second.access_token)
    await me(stubs, login.access_token)  # access tokens live their lifetime

    # The rotated token comes back: someone else holds it. The session ends.
    reused_at = time.monotonic()
    exc = await rpc_error(stubs.auth.Refresh(pb.RefreshRequest(refresh_token=login.refresh_token)))
    assert exc.code() == grpc.StatusCode.UNAUTHENTICATED
    assert reason(exc) == "REFRESH_TOKEN_REUSED"
    assert await refused(stubs, second.access_token) == "SESSION_REVOKED"
    assert time.monotonic() - reused_at < 1.0
    assert await refused(stubs, login.access_token) == "SESSION_REVOKED"
    # The thief's latest refresh token died with the session.
    exc = await rpc_error(stubs.auth.Refresh(pb.RefreshRequest(refresh_token=second.refresh_token)))
    assert reason(exc) == "SESSION_REVOKED"


async def test_two_concurrent_exchanges_of_one_refresh_token_end_the_session(
    stubs: Stubs,
) -> None:
    """A thief and the owner racing with the same token: one exchange wins, the
    other is a reuse, and the session (with the winner's new tokens) ends."""
    login = await register_and_login(stubs, email())
    request = pb.RefreshRequest(refresh_token=login.refresh_token)
    results = await asyncio.gather(
        stubs.auth.Refresh(request), stubs.auth.Refresh(request), return_exceptions=True
    )
    wins = [r for r in results if isinstance(r, pb.RefreshResponse)]
    losses = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(wins) == 1
    assert len(losses) == 1
    assert reason(losses[0]) == "REFRESH_TOKEN_REUSED"
    assert await refused(stubs, wins[0].access_token) == "SESSION_REVOKED"


async def test_unknown_refresh_token_is_refused(stubs: Stubs) -> None:
    exc = await rpc_error(stubs.auth.Refresh(pb.RefreshRequest(refresh_token="made-up")))
    assert exc.code() == grpc.StatusCode.UNAUTHENTICATED
    assert reason(exc) == "REFRESH_TOKEN_INVALID"


async def test_protected_calls_without_a_token_are_unauthenticated(stubs: Stubs) -> None:
    exc = await rpc_error(stubs.users.GetMe(upb.GetMeRequest()))
    assert exc.code() == grpc.StatusCode.UNAUTHENTICATED
    assert reason(exc) == "TOKEN_MISSING"
    challenge = dict(exc.trailing_metadata() or ()).get("www-authenticate", "")
    assert str(challenge).startswith("Bearer ")
    exc = await rpc_error(
        stubs.users.GetMe(upb.GetMeRequest(), metadata=(("authorization", "Basic eDp5"),))
    )
    assert exc.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_logout_ends_only_the_current_session(stubs: Stubs, test_redis: Proc) -> None:
    address = email()
    phone = await register_and_login(stubs, address)
    laptop = await stubs.auth.Login(pb.LoginRequest(email=address, password=PASSWORD))
    await stubs.auth.Logout(pb.LogoutRequest(), metadata=bearer(phone.access_token))
    # Listed for as long as the session's last access token can be presented:
    # its remaining lifetime (300 s) plus the leeway (5 s), and no longer.
    sid = jwt.decode(phone.access_token, options={"verify_signature": False})["sid"]
    redis = aioredis.Redis(port=test_redis.port, db=1)  # type: ignore[attr-defined]
    try:
        ttl = await redis.ttl(denylist_key(sid))
    finally:
        await redis.aclose()
    assert 295 <= ttl <= 305
    assert await refused(stubs, phone.access_token) == "SESSION_REVOKED"
    exc = await rpc_error(stubs.auth.Refresh(pb.RefreshRequest(refresh_token=phone.refresh_token)))
    assert reason(exc) == "SESSION_REVOKED"
    await me(stubs, laptop.access_token)


async def test_logout_all_ends_every_session(stubs: Stubs) -> None:
    address = email()
    first = await register_and_login(stubs, address)
    second = await stubs.auth.Login(pb.LoginRequest(email=address, password=PASSWORD))
    await stubs.auth.LogoutAll(pb.LogoutAllRequest(), metadata=bearer(second.access_token))
    for tokens in (first, second):
        assert await refused(stubs, tokens.access_token) == "SESSION_REVOKED"
        exc = await rpc_error(
            stubs.auth.Refresh(pb.RefreshRequest(refresh_token=tokens.refresh_token))
        )
        assert exc.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_password_change_ends_every_other_session(stubs: Stubs) -> None:
    address = email()
    here = await register_and_login(stubs, address)
    elsewhere = await stubs.auth.Login(pb.LoginRequest(email=address, password=PASSWORD))
    wrong = await rpc_error(
        stubs.auth.ChangePassword(
            pb.ChangePasswordRequest(old_password="not it at all", new_password="new password 1"),
            metadata=bearer(here.access_token),
        )
    )
    assert reason(wrong) == "OLD_PASSWORD_WRONG"
    weak = await rpc_error(
        stubs.auth.ChangePassword(
            pb.ChangePasswordRequest(old_password=PASSWORD, new_password="short"),
            metadata=bearer(here.access_token),
        )
    )
    assert reason(weak) == "PASSWORD_TOO_SHORT"

    await stubs.auth.ChangePassword(
        pb.ChangePasswordRequest(old_password=PASSWORD, new_password="new password 1"),
        metadata=bearer(here.access_token),
    )
    await me(stubs, here.access_token)
    assert await refused(stubs, elsewhere.access_token) == "SESSION_REVOKED"
    old = await rpc_error(stubs.auth.Login(pb.LoginRequest(email=address, password=PASSWORD)))
    assert old.code() == grpc.StatusCode.UNAUTHENTICATED
    await stubs.auth.Login(pb.LoginRequest(email=address, password="new password 1"))


async def test_sessions_are_listed_and_one_can_be_revoked(stubs: Stubs) -> None:
    address = email()
    first = await register_and_login(stubs, address)
    second = await stubs.auth.Login(pb.LoginRequest(email=address, password=PASSWORD))
    listed = await stubs.auth.ListSessions(
        pb.ListSessionsRequest(), metadata=bearer(second.access_token)
    )
    assert len(listed.sessions) == 2
    current = [s for s in listed.sessions if s.current]
    other = [s for s in listed.sessions if not s.current]
    assert len(current) == 1
    assert len(other) == 1
    assert other[0].ip == "127.0.0.1"
    assert "grpc" in other[0].user_agent
    assert other[0].create_time.seconds > 0

    stranger = await register_and_login(stubs, email())
    exc = await rpc_error(
        stubs.auth.RevokeSession(
            pb.RevokeSessionRequest(session_id=other[0].session_id),
            metadata=bearer(stranger.access_token),
        )
    )
    assert exc.code() == grpc.StatusCode.NOT_FOUND  # not theirs to end
    await me(stubs, first.access_token)

    await stubs.auth.RevokeSession(
        pb.RevokeSessionRequest(session_id=other[0].session_id),
        metadata=bearer(second.access_token),
    )
    assert await refused(stubs, first.access_token) == "SESSION_REVOKED"
    listed = await stubs.auth.ListSessions(
        pb.ListSessionsRequest(), metadata=bearer(second.access_token)
    )
    assert [s.session_id for s in listed.sessions] == [current[0].session_id]
    bad = await rpc_error(
        stubs.auth.RevokeSession(
            pb.RevokeSessionRequest(session_id="nope"), metadata=bearer(second.access_token)
        )
    )
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT


# --- brute force ----------------------------------------------------------------


async def test_a_failed_login_never_says_whether_the_email_exists(stubs: Stubs) -> None:
    address = email()
    await stubs.auth.Register(pb.RegisterRequest(email=address, password=PASSWORD))
    wrong_password = await rpc_error(
        stubs.auth.Login(pb.LoginRequest(email=address, password="not the password"))
    )
    no_account = await rpc_error(
        stubs.auth.Login(pb.LoginRequest(email=email(), password="not the password"))
    )
    for exc in (wrong_password, no_account):
        assert exc.code() == grpc.StatusCode.UNAUTHENTICATED
        assert exc.details() == "wrong email or password"
        assert reason(exc) == "INVALID_CREDENTIALS"


async def test_five_failures_throttle_the_account_with_a_growing_delay(stubs: Stubs) -> None:
    address = email()
    await stubs.auth.Register(pb.RegisterRequest(email=address, password=PASSWORD))
    for _ in range(5):
        exc = await rpc_error(stubs.auth.Login(pb.LoginRequest(email=address, password="wrong!!!")))
        assert exc.code() == grpc.StatusCode.UNAUTHENTICATED
    # Even the right password waits now (base delay 0.5 s in this server).
    throttled = await rpc_error(stubs.auth.Login(pb.LoginRequest(email=address, password=PASSWORD)))
    assert throttled.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert reason(throttled) == "LOGIN_THROTTLED"
    assert dict(throttled.trailing_metadata() or ()).get("retry-after") == "1"

    async def right_password_works() -> bool:
        try:
            await stubs.auth.Login(pb.LoginRequest(email=address, password=PASSWORD))
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:
                raise
            return False
        return True

    deadline = time.monotonic() + 5
    while not await right_password_works():
        assert time.monotonic() < deadline, "still throttled after the delay"
        await asyncio.sleep(0.1)
    # A success resets the count: one failure is not throttled.
    exc = await rpc_error(stubs.auth.Login(pb.LoginRequest(email=address, password="wrong!!!")))
    assert exc.code() == grpc.StatusCode.UNAUTHENTICATED


# --- profile and login history -----------------------------------------------------


async def test_login_history_is_newest_first_and_keyset_paged(stubs: Stubs) -> None:
    address = email()
    login = await register_and_login(stubs, address)
    await rpc_error(stubs.auth.Login(pb.LoginRequest(email=address, password="wrong!!!")))
    await stubs.auth.Refresh(pb.RefreshRequest(refresh_token=login.refresh_token))
    await stubs.auth.Login(pb.LoginRequest(email=address, password=PASSWORD))

    seen: list[upb.LoginAttempt] = []
    token = ""
    while True:
        page = await stubs.users.ListMyLoginHistory(
            upb.ListMyLoginHistoryRequest(page_size=3, page_token=token),
            metadata=bearer(login.access_token),
        )
        seen.extend(page.attempts)
        token = page.next_page_token
        if not token:
            break
    assert [(a.method, a.success) for a in seen] == [
        ("password", True),
        ("refresh", True),
        ("password", False),
        ("password", True),
    ]
    times = [a.time.ToNanoseconds() for a in seen]
    assert times == sorted(times, reverse=True)
    assert all(a.ip == "127.0.0.1" for a in seen)

    bad = await rpc_error(
        stubs.users.ListMyLoginHistory(
            upb.ListMyLoginHistoryRequest(page_token="garbage!"),
            metadata=bearer(login.access_token),
        )
    )
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_the_address_the_edge_appended_is_recorded(stubs: Stubs, server: AuthServer) -> None:
    """The last x-forwarded-for entry is the edge's; earlier ones are the client's word."""
    address = email()
    await stubs.auth.Register(pb.RegisterRequest(email=address, password=PASSWORD))
    await stubs.auth.Login(
        pb.LoginRequest(email=address, password=PASSWORD),
        metadata=(("x-forwarded-for", "203.0.113.7, 10.0.0.1"),),
    )
    rows = server.sql(
        "select h.ip from auth.login_history h join auth.users u"
        " on u.id = h.user_id where u.email = %s",
        address,
    )
    assert rows == [("10.0.0.1",)]


async def test_server_log_has_no_secrets(stubs: Stubs, server: AuthServer) -> None:
    login = await register_and_login(stubs, email())
    await rpc_error(stubs.auth.Login(pb.LoginRequest(email=email(), password="typo password")))
    wait_until(lambda: "serving" in server.proc.log_text(), 5, "server log")
    log = server.proc.log_text()
    for secret in (PASSWORD, "typo password", login.refresh_token, login.access_token):
        assert secret not in log
