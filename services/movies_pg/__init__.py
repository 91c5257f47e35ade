"""asyncpg for the services' stores: one pool recipe and one list of what a dead
store raises, so every service answers "unavailable" (503) on the same errors."""

from __future__ import annotations

from typing import Final, Protocol, TypeAlias

import asyncpg

# Strings: asyncpg's classes are generic only in its stubs.
Pool: TypeAlias = "asyncpg.Pool[asyncpg.Record]"
Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record]"

# What says "the store is down or refusing work" (psycopg's OperationalError, in
# asyncpg's terms): the connection classes (SQLSTATE 08), insufficient resources
# (53), operator intervention such as a shutdown (57), system errors (58), a
# connection closed mid-query, and a socket that could not connect at all.
UNAVAILABLE_ERRORS: Final[tuple[type[Exception], ...]] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InsufficientResourcesError,
    asyncpg.OperatorInterventionError,
    asyncpg.PostgresSystemError,
    asyncpg.InterfaceError,
)


class ConnectionInit(Protocol):
    """Prepares a new connection (type codecs, say) before the pool lends it."""

    async def __call__(self, con: Connection, /) -> None: ...


async def _keep_session(conn: Connection) -> None:
    """The pool's reset on release, after its own rollback of an open
    transaction: nothing more. The stores set no session state, listen to
    nothing and take only transaction-scoped locks, so asyncpg's default reset
    query (RESET ALL, UNLISTEN, CLOSE ALL, advisory unlocks) would be a round
    trip per call that undoes nothing."""


async def open_pool(
    dsn: str,
    size: int,
    command_timeout: float,
    connect_timeout: float = 60.0,
    init: ConnectionInit | None = None,
) -> Pool:
    """Up to `size` connections, one opened now (PostgreSQL must be up to start);
    `command_timeout` bounds any one statement, so a stalled server cannot hold a
    connection forever; `init` prepares each new connection (type codecs)."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=1,
        max_size=size,
        init=init,
        reset=_keep_session,
        timeout=connect_timeout,
        command_timeout=command_timeout,
    )
    assert pool is not None  # only None when created with `await` left out
    return pool
