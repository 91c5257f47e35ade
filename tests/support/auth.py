"""The tests' own auth service: a fresh PostgreSQL database per test module, a
server process on a free port, gRPC stubs, and the real signing key (read with
the test's encryption key) for forging tokens the genuine way."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import grpc
import psycopg
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from auth.v1 import auth_service_pb2 as pb
from auth.v1 import auth_service_pb2_grpc as pb_grpc
from auth.v1 import role_service_pb2_grpc as role_grpc
from auth.v1 import user_service_pb2_grpc as user_grpc
from auth_service.adapters import crypto
from tests.support.procs import VENV_BIN, Proc, free_port, wait_until
from tests.support.stack import stack

ADMIN_DSN = stack().admin_dsn
ISSUER, AUDIENCE = "movies-auth-test", "movies-test"
TTL_S = 300
KEK = crypto.new_kek()
# Light argon2 parameters keep the suite fast; the bench measures the defaults.
FAST_ARGON2 = {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST_KIB": "1024", "ARGON2_PARALLELISM": "1"}


def dsn(database: str) -> str:
    return stack().pg_dsn(database, user="postgres", password=stack().pg_superuser_password)


def fresh_database(name: str) -> str:
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}"')
    return dsn(name)


def drop_database(name: str) -> None:
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


def serving(port: int) -> bool:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        reply = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=1)
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


@dataclass
class AuthServer:
    proc: Proc
    port: int
    env: dict[str, str]
    database: str

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Runs `auth ...` against this server's database and keys."""
        return subprocess.run(
            [str(VENV_BIN / "auth"), *args],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def signing_key(self) -> crypto.KeyPair:
        """The newest key, decrypted as the service does."""
        with psycopg.connect(dsn(self.database)) as conn:
            row = conn.execute(
                "select kid, private_key, public_jwk from auth.signing_keys"
                " order by created_at desc, kid limit 1"
            ).fetchone()
        assert row is not None
        return crypto.unseal(row[0], row[1], row[2], crypto.decode_kek(KEK))

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(dsn(self.database)) as conn:
            return conn.execute(query, params).fetchall()


def start_auth(
    name: str, redis_port: int, fresh: bool = True, **overrides: str
) -> Generator[AuthServer, None, None]:
    """Yields a serving auth server over a fresh database (or, with `fresh`
    false, the one an earlier server of this name left); stops and drops after."""
    database = f"auth_test_{name}"
    port = free_port()
    env = {
        "AUTH_GRPC_PORT": str(port),
        "AUTH_POSTGRES_DSN": fresh_database(database) if fresh else dsn(database),
        "AUTH_REDIS_URL": f"redis://127.0.0.1:{redis_port}/1",
        "AUTH_KEY_ENCRYPTION_KEY": KEK,
        "AUTH_ISSUER": ISSUER,
        "AUTH_AUDIENCE": AUDIENCE,
        "ACCESS_TOKEN_TTL_SECONDS": str(TTL_S),
        "AUTH_KEY_RELOAD_SECONDS": "0.5",
        "LOGIN_THROTTLE_BASE_SECONDS": "0.5",
        "LOG_LEVEL": "INFO",
        **FAST_ARGON2,
        **overrides,
    }
    proc = Proc(f"auth-{name}", [str(VENV_BIN / "auth"), "serve"], env).start()
    server = AuthServer(proc, port, env, database)
    try:
        wait_until(lambda: serving(port), 30, f"auth server {name}")
        yield server
    finally:
        proc.stop()
        if fresh:
            drop_database(database)


@dataclass
class Stubs:
    auth: pb_grpc.AuthServiceAsyncStub
    users: user_grpc.UserServiceAsyncStub
    roles: role_grpc.RoleServiceAsyncStub

    @classmethod
    def on(cls, channel: grpc.aio.Channel) -> Stubs:
        return cls(
            pb_grpc.AuthServiceStub(channel),
            user_grpc.UserServiceStub(channel),
            role_grpc.RoleServiceStub(channel),
        )


def bearer(token: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {token}"),)


async def register_and_login(
    stubs: Stubs, email: str, password: str = "correct horse battery"
) -> pb.LoginResponse:
    await stubs.auth.Register(pb.RegisterRequest(email=email, password=password))
    return await stubs.auth.Login(pb.LoginRequest(email=email, password=password))


async def rpc_error(call: Any) -> grpc.aio.AioRpcError:
    """The error an awaited call fails with (the test fails if it succeeds)."""
    try:
        await call
    except grpc.aio.AioRpcError as exc:
        return exc
    raise AssertionError("the call succeeded")


def reason(exc: grpc.aio.AioRpcError) -> str:
    """The ErrorInfo reason of a failed call (AIP-193)."""
    for key, value in exc.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                info = error_details_pb2.ErrorInfo()
                if detail.Unpack(info):
                    return str(info.reason)
    return ""
