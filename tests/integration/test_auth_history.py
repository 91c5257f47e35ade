"""The login history is range-partitioned by month: partitions exist ahead of
time, rows land in the partition of their month, and a user's history reads
across partitions newest first."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from auth.v1 import user_service_pb2 as upb
from auth_service.adapters.postgres import PostgresStore, month_start, open_pool, partition_name
from tests.support.auth import AuthServer, Stubs, bearer, dsn, register_and_login, start_auth
from tests.support.procs import Proc

MONTHS_AHEAD = 3


@pytest.fixture(scope="module")
def server(test_redis: Proc) -> Iterator[AuthServer]:
    yield from start_auth(
        "history",
        test_redis.port,  # type: ignore[attr-defined]
        LOGIN_HISTORY_MONTHS_AHEAD=str(MONTHS_AHEAD),
    )


def partitions(server: AuthServer) -> list[str]:
    rows = server.sql(
        "select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid"
        " where i.inhparent = 'auth.login_history'::regclass order by c.relname"
    )
    return [r[0] for r in rows]


def test_partitions_exist_for_this_month_and_the_next_ones(server: AuthServer) -> None:
    now = datetime.now(UTC)
    expected = [partition_name(month_start(now, k)) for k in range(MONTHS_AHEAD + 1)]
    assert set(expected) <= set(partitions(server))


async def test_rows_across_a_month_boundary_land_in_two_partitions(
    stubs: Stubs, server: AuthServer
) -> None:
    login = await register_and_login(stubs, "boundary@example.org")
    user_id = server.sql("select id from auth.users where email = 'boundary@example.org'")[0][0]
    boundary = month_start(datetime.now(UTC), 1)
    before, after = boundary - timedelta(seconds=1), boundary + timedelta(seconds=1)
    for at in (before, after):
        server.sql(
            "insert into auth.login_history (user_id, occurred_at, ip, user_agent, method, success)"
            " values (%s, %s, '198.51.100.1', 'test', 'password', false) returning id",
            user_id,
            at,
        )
    rows = server.sql(
        "select tableoid::regclass::text, occurred_at from auth.login_history"
        " where user_id = %s and occurred_at in (%s, %s) order by occurred_at",
        user_id,
        before,
        after,
    )
    assert [r[0] for r in rows] == [
        f"auth.{partition_name(month_start(before))}",
        f"auth.{partition_name(boundary)}",
    ]

    page = await stubs.users.ListMyLoginHistory(
        upb.ListMyLoginHistoryRequest(page_size=2), metadata=bearer(login.access_token)
    )
    assert [a.time.ToDatetime(UTC) for a in page.attempts] == [after, before]
    rest = await stubs.users.ListMyLoginHistory(
        upb.ListMyLoginHistoryRequest(page_token=page.next_page_token),
        metadata=bearer(login.access_token),
    )
    assert [(a.method, a.success) for a in rest.attempts] == [("password", True)]
    assert rest.next_page_token == ""


async def test_maintenance_creates_missing_partitions_once(server: AuthServer) -> None:
    """The daily job, run as if it were a later year: four new months, then none."""
    pool = await open_pool(
        dsn(server.database), size=2, connect_timeout_seconds=10, statement_timeout_seconds=10
    )
    try:
        store = PostgresStore(pool)
        later = datetime(2031, 12, 15, tzinfo=UTC)
        created = await store.ensure_history_partitions(later, MONTHS_AHEAD)
        assert created == [
            "login_history_y2031m12",
            "login_history_y2032m01",
            "login_history_y2032m02",
            "login_history_y2032m03",
        ]
        assert await store.ensure_history_partitions(later, MONTHS_AHEAD) == []
    finally:
        await pool.close()
    assert set(created) <= set(partitions(server))
