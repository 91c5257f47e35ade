"""Settings of the admin panel process, read once from the environment."""

from __future__ import annotations

from functools import cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class PanelSettings(BaseSettings):
    """Every tunable of the panel; Django's settings module is built from this."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # Required, no default: a key in the repository signs nothing safely.
    admin_secret_key: SecretStr
    admin_debug: bool = False
    admin_host: str = "127.0.0.1"
    admin_port: int = Field(8000, ge=1, le=65535)
    admin_workers: int = Field(2, ge=1)
    admin_threads: int = Field(4, ge=1)
    # The catalogue's database; the panel's own tables go to ADMIN_DB_SCHEMA in it.
    postgres_dsn: str = "postgresql://movies:movies@127.0.0.1:5432/movies"
    admin_db_schema: str = Field("admin_panel", pattern=r"^[a-z_][a-z0-9_]*$")
    admin_db_conn_max_age: int = Field(60, ge=0)
    admin_allowed_hosts: list[str] = ["127.0.0.1", "localhost"]
    admin_csrf_trusted_origins: list[str] = ["http://127.0.0.1:8080", "http://localhost:8080"]
    # False on the local stack (plain HTTP); true wherever TLS terminates in front.
    admin_secure_cookies: bool = False
    # Behind TLS only (a local stack has none): redirect to https, HSTS for this long.
    admin_ssl_redirect: bool = False
    admin_hsts_seconds: int = Field(0, ge=0)
    admin_session_age_seconds: int = Field(8 * 3600, ge=60)
    admin_static_root: str = ".stack/admin/static"
    language_code: str = "ru"
    time_zone: str = "UTC"
    # The auth service (gRPC): sign-in and the per-request account check.
    auth_grpc_host: str = "127.0.0.1"
    auth_grpc_port: int = Field(50052, ge=1, le=65535)
    admin_auth_timeout_seconds: float = Field(3.0, gt=0)
    # Change lists count exactly below this many rows and estimate above it.
    admin_exact_count_below: int = Field(10_000, ge=0)


@cache
def settings() -> PanelSettings:
    return PanelSettings()
