"""Production settings of the native stack (issue 13 §10): PostgreSQL wants a
password for every TCP login (scram-sha-256), the superuser's too, and Redis
refuses commands without its password.

The refusals are checked on the shared stack (`make up`); the conversion of a
cluster made before (initdb --auth=trust) on one of the tests' own.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import psycopg
import pytest
import redis

from tests.support.instances import OwnPostgres
from tests.support.procs import ROOT
from tests.support.stack import stack

STACK_SH: Final = ROOT / "dev" / "stack.sh"
TIMEOUT_S: Final = 120


def test_a_wrong_postgres_password_is_refused() -> None:
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(stack().pg_dsn("movies", password="not-the-password"), connect_timeout=5)


def test_the_postgres_superuser_needs_its_password(tmp_path: Path) -> None:
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(
            stack().pg_dsn("postgres", user="postgres", password=None),
            connect_timeout=5,
            # No ~/.pgpass may supply one behind the test's back.
            passfile=str(tmp_path / "no-pgpass"),
        )
    with psycopg.connect(stack().admin_dsn, connect_timeout=5) as conn:
        assert conn.execute("select current_user").fetchone() == ("postgres",)


def test_redis_refuses_a_command_without_the_password() -> None:
    without = redis.Redis(port=stack().redis_port, socket_timeout=5)
    with pytest.raises(redis.AuthenticationError):
        without.get("catalogue:version")
    wrong = redis.Redis(port=stack().redis_port, password="not-the-password", socket_timeout=5)
    with pytest.raises(redis.AuthenticationError):
        wrong.ping()
    assert redis.Redis.from_url(stack().redis_url, socket_timeout=5).ping()


@pytest.fixture
def trusting_cluster() -> Iterator[OwnPostgres]:
    """A cluster as `make up` made them before: TCP logins trusted, a row of data."""
    own = OwnPostgres()
    own.data = own.dir / "postgres"  # where dev/stack.sh keeps it under STACK_DIR
    own.create()
    with psycopg.connect(own.admin_dsn, autocommit=True) as conn:
        conn.execute("create table kept (note text)")
        conn.execute("insert into kept values ('before the conversion')")
    try:
        yield own
    finally:
        own.remove()


def test_make_up_converts_a_trusting_cluster_without_losing_data(
    trusting_cluster: OwnPostgres,
) -> None:
    own = trusting_cluster
    env = {
        **os.environ,
        "STACK_DIR": str(own.dir),
        "PG_PORT": str(own.port),
        "PG_SUPERUSER_PASSWORD": "converted-superuser",
    }
    subprocess.run([str(STACK_SH), "start", "pg"], env=env, cwd=ROOT, check=True, timeout=TIMEOUT_S)

    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(own.dsn("postgres").replace(":movies@", ":wrong@"), connect_timeout=5)
    admin = f"postgresql://postgres:converted-superuser@127.0.0.1:{own.port}/postgres"
    with psycopg.connect(admin, connect_timeout=5) as conn:
        assert conn.execute("select note from kept").fetchall() == [("before the conversion",)]
    # The stack's roles log in with their passwords, as the services do.
    with psycopg.connect(own.dsn("movies"), connect_timeout=5) as conn:
        assert conn.execute("select current_user").fetchone() == ("movies",)
