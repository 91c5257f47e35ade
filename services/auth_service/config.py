"""Settings of the auth service, read once from environment variables."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class Settings(BaseSettings):
    """Every tunable of the auth service; names match the environment variables
    (prefixed `AUTH_` where a bare name would collide with another process's)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    auth_grpc_host: str = "127.0.0.1"
    auth_grpc_port: int = Field(50052, ge=1, le=65535)
    auth_grpc_max_concurrent_rpcs: int = Field(1000, ge=1)

    auth_postgres_dsn: str = "postgresql://postgres@127.0.0.1:5432/auth"
    auth_postgres_pool_size: int = Field(8, ge=1)
    # A new connection (the pool grows or replaces a broken one) gives up after
    # this; a request still answers within REQUEST_DEADLINE_SECONDS.
    auth_postgres_connect_timeout_seconds: float = Field(5.0, gt=0)
    # How long start-up waits for PostgreSQL to accept connections.
    auth_postgres_start_timeout_seconds: float = Field(30.0, gt=0)
    auth_migrations_dir: Path = _MIGRATIONS

    auth_redis_url: str = "redis://127.0.0.1:6379/0"
    auth_redis_timeout_seconds: float = Field(0.5, gt=0)

    auth_issuer: str = "movies-auth"
    auth_audience: str = "movies"
    access_token_ttl_seconds: int = Field(300, ge=1)
    # A session lives while it is used: each refresh pushes its end this far out.
    refresh_token_ttl_seconds: int = Field(30 * 24 * 3600, ge=60)
    # Clock skew tolerated when verifying, and added to deny-list lifetimes.
    auth_leeway_seconds: int = Field(5, ge=0)
    # 32 random bytes, base64url: encrypts the private signing keys at rest in
    # PostgreSQL. Required, no default: a key in the repository protects nothing.
    auth_key_encryption_key: SecretStr
    # How soon a `auth keys rotate` by another process reaches this server.
    auth_key_reload_seconds: float = Field(5.0, gt=0)
    # A rotated key is in the JWKS at once but signs only this much later, so
    # every JWKS cache knows it before its first token: keep it at least the
    # longest cache of the key set, i.e. >= ENVOY_JWKS_CACHE_DURATION (30 s) +
    # AUTH_KEY_RELOAD_SECONDS (a replica serves the JWKS it last loaded) + the
    # edge's fetch retries. movies_auth refetches on an unknown kid and needs
    # nothing. `auth keys rotate --now` skips the delay (emergencies only).
    auth_key_activation_delay_seconds: float = Field(60.0, ge=0)

    # argon2id with OWASP's baseline (19 MiB, t=2, p=1): about 30 ms of one core
    # per hash. RFC 9106's 64 MiB, t=3, p=4 costs about 200 ms on the 2-core
    # target machine, capping sign-ins near 10/s, a lever for denial of service.
    # Raising these later is safe: each account is rehashed at its next sign-in.
    argon2_time_cost: int = Field(2, ge=1)
    argon2_memory_cost_kib: int = Field(19 * 1024, ge=8)
    argon2_parallelism: int = Field(1, ge=1)
    # Hashes computed at once; more wait (within the request deadline).
    argon2_max_concurrency: int = Field(default_factory=lambda: os.cpu_count() or 2, ge=1)

    # Per-account throttling: after this many failures in a row, each further
    # attempt waits base * 2^(failures - threshold) seconds, capped.
    login_failure_threshold: int = Field(5, ge=1)
    login_throttle_base_seconds: float = Field(1.0, gt=0)
    login_throttle_max_seconds: float = Field(900.0, gt=0)
    # Failures older than this are forgotten.
    login_failure_window_seconds: int = Field(3600, ge=1)

    # Login-history partitions exist this many months ahead; checked daily.
    login_history_months_ahead: int = Field(3, ge=1)
    login_history_maintenance_seconds: float = Field(24 * 3600, gt=0)
    login_history_default_page_size: int = Field(20, ge=1)
    login_history_max_page_size: int = Field(100, ge=1)

    # Behind Envoy the client address is the last x-forwarded-for entry: the
    # edge appends the peer it saw (use_remote_address), while entries before it
    # are whatever the client sent. A server reachable directly by clients
    # should not trust the header at all.
    auth_trust_forwarded_for: bool = True

    # Sign-in with Yandex ID (authorization code + PKCE); off while the client id
    # is empty. The URLs are settings so tests can run a stand-in provider.
    oauth_yandex_client_id: str = ""
    oauth_yandex_client_secret: SecretStr = SecretStr("")
    oauth_yandex_authorize_url: str = "https://oauth.yandex.ru/authorize"
    oauth_yandex_token_url: str = "https://oauth.yandex.ru/token"
    oauth_yandex_userinfo_url: str = "https://login.yandex.ru/info"
    oauth_yandex_redirect_uri: str = "http://127.0.0.1:8080/api/v1/auth/oauth/yandex/callback"
    oauth_yandex_scope: str = ""
    # How long a started sign-in (its state and PKCE verifier) waits in Redis.
    oauth_state_ttl_seconds: int = Field(300, ge=10)
    oauth_http_timeout_seconds: float = Field(5.0, gt=0)

    request_deadline_seconds: float = Field(5.0, gt=0)
    shutdown_grace_seconds: float = Field(5.0, ge=0)
    log_level: str = "INFO"
    log_json: bool = True
