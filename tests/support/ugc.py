"""The tests' own UGC service: a fresh PostgreSQL database per test module, a
server on a free port checking tokens against the tests' auth server and films
against the tests' content API, and gRPC stubs."""

from __future__ import annotations

import subprocess
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import grpc
import psycopg

from tests.support.auth import AUDIENCE, ISSUER, AuthServer, drop_database, dsn, fresh_database
from tests.support.auth import serving as grpc_serving
from tests.support.procs import Proc, free_port, python, wait_until
from ugc.v1 import bookmark_service_pb2_grpc as bookmark_grpc
from ugc.v1 import rating_service_pb2_grpc as rating_grpc
from ugc.v1 import review_service_pb2_grpc as review_grpc


@dataclass
class UgcServer:
    proc: Proc
    port: int
    env: dict[str, str]
    database: str

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(dsn(self.database), autocommit=True) as conn:
            cur = conn.execute(query.encode(), params)
            return cur.fetchall() if cur.description else []

    def check(self) -> subprocess.CompletedProcess[str]:
        """`python -m ugc_service check` on this server's database."""
        return subprocess.run(
            python("-m", "ugc_service", "check"),
            env=self.proc.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


def ugc_env(name: str, auth: AuthServer, redis_port: int, catalogue_port: int) -> dict[str, str]:
    return {
        "UGC_GRPC_PORT": str(free_port()),
        "UGC_POSTGRES_DSN": dsn(f"ugc_test_{name}"),
        "UGC_CATALOGUE_PORT": str(catalogue_port),
        "UGC_CATALOGUE_TIMEOUT_SECONDS": "0.5",
        "AUTH_GRPC_TARGET": auth.target,
        "AUTH_ISSUER": ISSUER,
        "AUTH_AUDIENCE": AUDIENCE,
        "AUTH_REDIS_URL": f"redis://127.0.0.1:{redis_port}/1",
        "LOG_LEVEL": "INFO",
    }


def start_ugc(
    name: str, auth: AuthServer, redis_port: int, catalogue_port: int, **overrides: str
) -> Generator[UgcServer, None, None]:
    """Yields a serving UGC server over a fresh database; stops and drops after."""
    database = f"ugc_test_{name}"
    fresh_database(database)
    env = {**ugc_env(name, auth, redis_port, catalogue_port), **overrides}
    port = int(env["UGC_GRPC_PORT"])
    proc = Proc(f"ugc-{name}", python("-m", "ugc_service", "serve"), env).start()
    server = UgcServer(proc, port, env, database)
    try:
        wait_until(lambda: proc.alive() and grpc_serving(port), 30, f"ugc server {name}")
        yield server
    finally:
        proc.stop()
        drop_database(database)


@dataclass
class UgcStubs:
    ratings: rating_grpc.RatingServiceAsyncStub
    reviews: review_grpc.ReviewServiceAsyncStub
    bookmarks: bookmark_grpc.BookmarkServiceAsyncStub

    @classmethod
    def on(cls, channel: grpc.aio.Channel) -> UgcStubs:
        return cls(
            rating_grpc.RatingServiceStub(channel),
            review_grpc.ReviewServiceStub(channel),
            bookmark_grpc.BookmarkServiceStub(channel),
        )
