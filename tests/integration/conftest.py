"""Fixtures the integration tests share.

Each auth module starts its own auth server as the fixture `server`; `stubs`
talks to whichever server the requesting module defines. `pg_cut` stands
between a module's own server and the stack's PostgreSQL, to cut it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import grpc
import pytest
import pytest_asyncio

from tests.support.auth import AuthServer, Stubs
from tests.support.procs import free_port
from tests.support.stack import stack
from tests.support.tcp_proxy import TcpProxy


@pytest.fixture(scope="module")
def pg_cut() -> Iterator[TcpProxy]:
    """A proxy to the stack's PostgreSQL that a test can cut (the server stays up)."""
    proxy = TcpProxy(free_port(), stack().pg_port).start()
    yield proxy
    proxy.close()


@pytest_asyncio.fixture(scope="module")
async def stubs(server: AuthServer) -> AsyncIterator[Stubs]:
    async with grpc.aio.insecure_channel(server.target) as channel:
        yield Stubs.on(channel)
