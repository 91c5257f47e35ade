"""Where the running dev stack (`make up`) is: the same port variables as dev/stack.sh.

Defined once, so every test follows `PG_PORT=15432 ES_PORT=19200 … make test` the
way the stack did; a module that read `ELASTICSEARCH_URL` with its own default
would quietly talk to another stack's node.
"""

from __future__ import annotations

from functools import cache

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Stack(BaseSettings):
    """The stack's addresses, from the environment with dev/stack.sh's defaults."""

    model_config = SettingsConfigDict(extra="ignore")

    pg_port: int = 5432
    redis_port: int = 6379
    es_port: int = 9200
    grpc_port: int = 50051
    envoy_port: int = 8080
    elasticsearch_url: str = ""
    # dev/stack.sh's dev defaults: TCP logins need a password, Redis asks for one.
    pg_superuser_password: str = "postgres"
    redis_password: str = "movies-redis"
    redis_url: str = ""

    @model_validator(mode="after")
    def _urls_follow_the_ports(self) -> Stack:
        if not self.elasticsearch_url:
            self.elasticsearch_url = f"http://127.0.0.1:{self.es_port}"
        if not self.redis_url:
            self.redis_url = f"redis://:{self.redis_password}@127.0.0.1:{self.redis_port}/0"
        return self

    @property
    def es_url(self) -> str:
        """One node's URL (the first, when ELASTICSEARCH_URL lists a cluster)."""
        return self.elasticsearch_url.split(",")[0].strip().rstrip("/")

    @property
    def es_node_port(self) -> int:
        return int(self.es_url.rsplit(":", 1)[1])

    @property
    def admin_dsn(self) -> str:
        """The superuser's DSN, for creating and dropping the tests' own databases."""
        return self.pg_dsn("postgres", user="postgres", password=self.pg_superuser_password)

    def pg_dsn(self, database: str, user: str = "movies", password: str | None = "movies") -> str:
        auth = f"{user}:{password}" if password else user
        return f"postgresql://{auth}@127.0.0.1:{self.pg_port}/{database}"


@cache
def stack() -> Stack:
    return Stack()
