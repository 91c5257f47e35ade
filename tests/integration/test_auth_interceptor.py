"""The shared token check as another service uses it: a grpc.aio server with
the movies_auth interceptor, fetching the JWKS from the auth service over gRPC
and consulting the same Redis deny-list. Internal callers that bypass Envoy
are checked the same way, and a logout is felt at once."""

from __future__ import annotations

import statistics
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from auth.v1 import auth_service_pb2 as pb
from auth.v1 import user_service_pb2 as upb
from movies_auth import (
    AccessPolicy,
    AuthInterceptor,
    DenyList,
    JwksCache,
    TokenCheckSettings,
    TokenVerifier,
    current_principal,
    grpc_jwks_source,
    optional_principal,
    token_check,
)
from tests.support.auth import (
    AUDIENCE,
    ISSUER,
    AuthServer,
    Stubs,
    bearer,
    reason,
    register_and_login,
    start_auth,
)
from tests.support.procs import Proc, free_port

SERVICE = "/probe.v1.ProbeService/"


@pytest.fixture(scope="module")
def server(test_redis: Proc) -> Iterator[AuthServer]:
    yield from start_auth("interceptor", test_redis.port)  # type: ignore[attr-defined]


@pytest_asyncio.fixture(scope="module")
async def verifier(server: AuthServer, test_redis: Proc) -> AsyncIterator[TokenVerifier]:
    redis = aioredis.Redis(port=test_redis.port, db=1)  # type: ignore[attr-defined]
    async with grpc.aio.insecure_channel(server.target) as auth_channel:
        yield TokenVerifier(
            JwksCache(grpc_jwks_source(auth_channel)), DenyList(redis), ISSUER, AUDIENCE
        )
    await redis.aclose()


@pytest_asyncio.fixture(scope="module")
async def probe(verifier: TokenVerifier) -> AsyncIterator[grpc.aio.Channel]:
    """A downstream service: `Whoami` needs a user, `Admin` the admin role,
    `Public` nothing."""

    async def whoami(request: bytes, context: Any) -> bytes:
        p = current_principal()
        return f"{p.user_id} {p.session_id} {','.join(sorted(p.roles))}".encode()

    async def public(request: bytes, context: Any) -> bytes:
        return b"anonymous" if optional_principal() is None else b"someone"

    def unary(fn: Any) -> grpc.RpcMethodHandler[Any, Any]:
        return grpc.unary_unary_rpc_method_handler(fn)

    handlers = {"Whoami": unary(whoami), "Admin": unary(whoami), "Public": unary(public)}
    policy = AccessPolicy(
        public=frozenset({SERVICE + "Public"}), roles={SERVICE + "Admin": "admin"}
    )
    srv = grpc.aio.server(interceptors=[AuthInterceptor(verifier, policy)])
    srv.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler(SERVICE.strip("/"), handlers)]
    )
    port = srv.add_insecure_port(f"127.0.0.1:{free_port()}")
    await srv.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield channel
    await srv.stop(0)


async def call(channel: grpc.aio.Channel, method: str, token: str | None = None) -> bytes:
    metadata = bearer(token) if token else None
    stub: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(SERVICE + method)
    reply = await stub(b"", metadata=metadata, timeout=5)
    return reply


async def failure(
    channel: grpc.aio.Channel, method: str, token: str | None = None
) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(channel, method, token)
    return caught.value


async def test_public_methods_need_no_token(probe: grpc.aio.Channel) -> None:
    assert await call(probe, "Public") == b"anonymous"


async def test_the_handler_gets_the_principal(probe: grpc.aio.Channel, stubs: Stubs) -> None:
    login = await register_and_login(stubs, "probe@example.org")
    me = await stubs.users.GetMe(upb.GetMeRequest(), metadata=bearer(login.access_token))
    user_id, session_id, roles = (await call(probe, "Whoami", login.access_token)).decode().split()
    assert user_id == me.user_id
    assert session_id
    assert roles == "subscriber"


async def test_no_or_bad_token_is_unauthenticated_and_no_role_is_denied(
    probe: grpc.aio.Channel, stubs: Stubs
) -> None:
    missing = await failure(probe, "Whoami")
    assert missing.code() == grpc.StatusCode.UNAUTHENTICATED
    assert reason(missing) == "TOKEN_MISSING"
    assert "Bearer" in str(dict(missing.trailing_metadata() or ()).get("www-authenticate"))
    garbage = await failure(probe, "Whoami", "not.a.jwt")
    assert garbage.code() == grpc.StatusCode.UNAUTHENTICATED
    login = await register_and_login(stubs, "subscriber@example.org")
    denied = await failure(probe, "Admin", login.access_token)
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    assert reason(denied) == "ROLE_REQUIRED"


async def test_a_logout_is_felt_by_the_other_service_at_once(
    probe: grpc.aio.Channel, stubs: Stubs
) -> None:
    login = await register_and_login(stubs, "leaving@example.org")
    await call(probe, "Whoami", login.access_token)
    await stubs.auth.Logout(pb.LogoutRequest(), metadata=bearer(login.access_token))
    logged_out = time.monotonic()
    refused = await failure(probe, "Whoami", login.access_token)
    elapsed = time.monotonic() - logged_out
    assert refused.code() == grpc.StatusCode.UNAUTHENTICATED
    assert reason(refused) == "SESSION_REVOKED"
    assert elapsed < 1.0
    print(f"logout → first refused call in another service: {elapsed * 1000:.1f} ms")


async def test_the_token_check_is_cheap_with_the_jwks_cached(
    verifier: TokenVerifier, stubs: Stubs
) -> None:
    """Signature, claims and one Redis lookup. The bench holds the target
    (< 0.3 ms p50); this bound only catches a check that refetches keys."""
    login = await register_and_login(stubs, "timed@example.org")
    await verifier.verify(login.access_token)
    samples = []
    for _ in range(300):
        started = time.perf_counter()
        await verifier.verify(login.access_token)
        samples.append(time.perf_counter() - started)
    p50 = statistics.median(samples) * 1000
    print(f"token check p50: {p50:.3f} ms")
    assert p50 < 5.0


async def test_the_check_fails_closed_when_the_deny_list_is_unreachable(
    server: AuthServer, stubs: Stubs
) -> None:
    """No Redis, no proof the session is alive: UNAVAILABLE, never a pass."""
    login = await register_and_login(stubs, "unreachable@example.org")
    dead = aioredis.Redis(port=free_port(), socket_connect_timeout=0.2, socket_timeout=0.2)
    async with grpc.aio.insecure_channel(server.target) as auth_channel:
        verifier = TokenVerifier(
            JwksCache(grpc_jwks_source(auth_channel)), DenyList(dead), ISSUER, AUDIENCE
        )
        policy = AccessPolicy()
        srv = grpc.aio.server(interceptors=[AuthInterceptor(verifier, policy)])

        async def whoami(request: bytes, context: Any) -> bytes:
            return current_principal().user_id.encode()

        srv.add_generic_rpc_handlers(
            [
                grpc.method_handlers_generic_handler(
                    SERVICE.strip("/"), {"Whoami": grpc.unary_unary_rpc_method_handler(whoami)}
                )
            ]
        )
        port = srv.add_insecure_port("127.0.0.1:0")
        await srv.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                exc = await failure(channel, "Whoami", login.access_token)
        finally:
            await srv.stop(0)
            await dead.aclose()
    assert exc.code() == grpc.StatusCode.UNAVAILABLE
    assert reason(exc) == "AUTH_UNAVAILABLE"


async def test_a_service_wires_the_check_from_its_settings(
    server: AuthServer, stubs: Stubs, test_redis: Proc
) -> None:
    """What another service writes: settings from the environment, one context
    manager, the interceptor on its server."""
    settings = TokenCheckSettings(
        auth_grpc_target=server.target,
        auth_issuer=ISSUER,
        auth_audience=AUDIENCE,
        auth_redis_url=f"redis://127.0.0.1:{test_redis.port}/1",  # type: ignore[attr-defined]
    )
    login = await register_and_login(stubs, "wired@example.org")

    async def whoami(request: bytes, context: Any) -> bytes:
        return current_principal().user_id.encode()

    async with token_check(settings, AccessPolicy()) as interceptor:
        srv = grpc.aio.server(interceptors=[interceptor])
        srv.add_generic_rpc_handlers(
            [
                grpc.method_handlers_generic_handler(
                    SERVICE.strip("/"), {"Whoami": grpc.unary_unary_rpc_method_handler(whoami)}
                )
            ]
        )
        port = srv.add_insecure_port("127.0.0.1:0")
        await srv.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                assert await call(channel, "Whoami", login.access_token)
                await stubs.auth.Logout(pb.LogoutRequest(), metadata=bearer(login.access_token))
                refused = await failure(channel, "Whoami", login.access_token)
        finally:
            await srv.stop(0)
    assert reason(refused) == "SESSION_REVOKED"
