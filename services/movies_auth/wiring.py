"""Everything a service needs to check tokens, from its environment: one
settings class and one context manager that yields the interceptor."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc
import httpx
import redis.asyncio as aioredis
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from movies_auth.denylist import DenyList
from movies_auth.interceptor import AccessPolicy, AuthInterceptor
from movies_auth.jwks import JwksCache, JwksSource, grpc_jwks_source, http_jwks_source
from movies_auth.verifier import TokenVerifier


class TokenCheckSettings(BaseSettings):
    """Where the keys and the deny-list are; names match the environment
    variables the auth service itself reads where they mean the same."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # One of the two: the auth service's gRPC address, or a JWKS URL.
    auth_grpc_target: str = ""
    auth_jwks_url: str = ""
    auth_issuer: str = "movies-auth"
    auth_audience: str = "movies"
    # The Redis the auth service writes its deny-list to (same database).
    auth_redis_url: str = "redis://127.0.0.1:6379/0"
    auth_redis_timeout_seconds: float = Field(0.25, gt=0)
    auth_leeway_seconds: int = Field(5, ge=0)
    auth_jwks_refresh_seconds: float = Field(300.0, gt=0)

    @model_validator(mode="after")
    def _one_source(self) -> TokenCheckSettings:
        if bool(self.auth_grpc_target) == bool(self.auth_jwks_url):
            raise ValueError("set exactly one of AUTH_GRPC_TARGET and AUTH_JWKS_URL")
        return self


@asynccontextmanager
async def token_check(
    settings: TokenCheckSettings, policy: AccessPolicy
) -> AsyncIterator[AuthInterceptor]:
    """The interceptor for `grpc.aio.server(interceptors=[...])`, with its
    clients opened here and closed on exit."""
    redis = aioredis.Redis.from_url(
        settings.auth_redis_url,
        socket_timeout=settings.auth_redis_timeout_seconds,
        socket_connect_timeout=settings.auth_redis_timeout_seconds,
    )
    channel: grpc.aio.Channel | None = None
    http: httpx.AsyncClient | None = None
    source: JwksSource
    if settings.auth_grpc_target:
        channel = grpc.aio.insecure_channel(settings.auth_grpc_target)
        source = grpc_jwks_source(channel)
    else:
        http = httpx.AsyncClient(timeout=2.0)
        source = http_jwks_source(settings.auth_jwks_url, http)
    verifier = TokenVerifier(
        JwksCache(source, settings.auth_jwks_refresh_seconds),
        DenyList(redis),
        settings.auth_issuer,
        settings.auth_audience,
        settings.auth_leeway_seconds,
    )
    try:
        yield AuthInterceptor(verifier, policy)
    finally:
        if channel is not None:
            await channel.close()
        if http is not None:
            await http.aclose()
        await redis.aclose()
