"""Wires adapters into the service layer in one place (clients built at start-up)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import psycopg
import redis.asyncio as aioredis

from auth_service.adapters import crypto
from auth_service.adapters.migrate import migrate
from auth_service.adapters.oauth import OAuthProvider, OAuthStates, ProviderConfig
from auth_service.adapters.passwords import PasswordHasher
from auth_service.adapters.postgres import PostgresStore, open_pool
from auth_service.adapters.throttle import LoginThrottle
from auth_service.config import Settings
from auth_service.service_layer.accounts import AccountService, PageLimits
from auth_service.service_layer.keys import KeyRing, TokenIssuer
from auth_service.service_layer.oauth import OAuthSignIn
from auth_service.service_layer.roles import RoleAdmin
from movies_auth import DenyList, JwksCache, TokenVerifier
from movies_pg import Pool

log = logging.getLogger(__name__)

_START_RETRY_SECONDS = 0.5


@dataclass
class App:
    """Everything a running server (or a CLI command) holds; closed together."""

    settings: Settings
    store: PostgresStore
    keys: KeyRing
    accounts: AccountService
    roles: RoleAdmin
    oauth: OAuthSignIn
    verifier: TokenVerifier
    redis: aioredis.Redis
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


async def _every(seconds: float, what: str, job: Callable[[], Awaitable[Any]]) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await job()
        except Exception:
            log.exception("periodic job failed", extra={"job": what})


@asynccontextmanager
async def build_app(settings: Settings, background: bool = True) -> AsyncIterator[App]:
    """Opens PostgreSQL (migrating it), Redis and the key ring. With
    `background`, keeps keys and login-history partitions up to date."""
    pool = await _open_pool(settings)
    redis_client = aioredis.Redis.from_url(
        settings.auth_redis_url,
        socket_timeout=settings.auth_redis_timeout_seconds,
        socket_connect_timeout=settings.auth_redis_timeout_seconds,
        health_check_interval=30,
    )
    http = httpx.AsyncClient(timeout=settings.oauth_http_timeout_seconds)
    app: App | None = None
    try:
        # The schema's tool (movies_migrations) runs on psycopg; the store on asyncpg.
        async with await psycopg.AsyncConnection.connect(
            settings.auth_postgres_dsn, autocommit=True
        ) as conn:
            applied = await migrate(conn, settings.auth_migrations_dir)
        log.info("schema up to date", extra={"applied": applied})
        store = PostgresStore(pool)
        keys = KeyRing(
            store,
            crypto.decode_kek(settings.auth_key_encryption_key.get_secret_value()),
            settings.access_token_ttl_seconds,
            settings.auth_leeway_seconds,
            settings.auth_key_activation_delay_seconds,
        )
        await keys.ensure()
        await _ensure_partitions(store, settings)
        denylist = DenyList(redis_client)
        hasher = PasswordHasher(
            settings.argon2_time_cost,
            settings.argon2_memory_cost_kib,
            settings.argon2_parallelism,
            settings.argon2_max_concurrency,
        )
        issuer = TokenIssuer(
            keys, settings.auth_issuer, settings.auth_audience, settings.access_token_ttl_seconds
        )

        async def local_jwks() -> Mapping[str, Any]:
            return keys.jwks()

        verifier = TokenVerifier(
            JwksCache(local_jwks, settings.auth_key_reload_seconds, min_refetch_seconds=0.5),
            denylist,
            settings.auth_issuer,
            settings.auth_audience,
            settings.auth_leeway_seconds,
        )
        accounts = AccountService(
            store,
            hasher,
            LoginThrottle(
                redis_client,
                settings.login_failure_threshold,
                settings.login_throttle_base_seconds,
                settings.login_throttle_max_seconds,
                settings.login_failure_window_seconds,
            ),
            denylist,
            issuer,
            settings.refresh_token_ttl_seconds,
            settings.auth_leeway_seconds,
            PageLimits(
                settings.login_history_default_page_size, settings.login_history_max_page_size
            ),
        )
        oauth = OAuthSignIn(
            {p.config.name: p for p in _providers(settings, http)},
            OAuthStates(redis_client, settings.oauth_state_ttl_seconds),
            store,
            accounts,
        )
        app = App(settings, store, keys, accounts, RoleAdmin(store), oauth, verifier, redis_client)
        if background:
            app.tasks = [
                asyncio.create_task(
                    _every(settings.auth_key_reload_seconds, "reload keys", keys.reload)
                ),
                asyncio.create_task(
                    _every(
                        settings.login_history_maintenance_seconds,
                        "login-history partitions",
                        lambda: _ensure_partitions(store, settings),
                    )
                ),
            ]
        yield app
    finally:
        for task in app.tasks if app else ():
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        if app is not None:
            app.accounts.close()
        await redis_client.aclose()
        await http.aclose()
        await pool.close()


async def _open_pool(settings: Settings) -> Pool:
    """The store's pool; PostgreSQL still starting (refusing connections) is
    waited for up to AUTH_POSTGRES_START_TIMEOUT_SECONDS, as the migration's
    connection did."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + settings.auth_postgres_start_timeout_seconds
    while True:
        try:
            return await open_pool(
                settings.auth_postgres_dsn,
                settings.auth_postgres_pool_size,
                settings.auth_postgres_connect_timeout_seconds,
                settings.request_deadline_seconds,
            )
        except (OSError, asyncpg.CannotConnectNowError):
            if loop.time() >= give_up:
                raise
            await asyncio.sleep(_START_RETRY_SECONDS)


def _providers(settings: Settings, http: httpx.AsyncClient) -> list[OAuthProvider]:
    if not settings.oauth_yandex_client_id:
        return []
    yandex = ProviderConfig(
        name="yandex",
        client_id=settings.oauth_yandex_client_id,
        client_secret=settings.oauth_yandex_client_secret.get_secret_value(),
        authorize_url=settings.oauth_yandex_authorize_url,
        token_url=settings.oauth_yandex_token_url,
        userinfo_url=settings.oauth_yandex_userinfo_url,
        redirect_uri=settings.oauth_yandex_redirect_uri,
        scope=settings.oauth_yandex_scope,
    )
    return [OAuthProvider(yandex, http)]


async def _ensure_partitions(store: PostgresStore, settings: Settings) -> None:
    created = await store.ensure_history_partitions(
        datetime.now(UTC), settings.login_history_months_ahead
    )
    if created:
        log.info("login-history partitions created", extra={"partitions": created})
