"""Fixtures the auth service's integration tests share.

Each module starts its own auth server as the fixture `server`; `stubs` talks to
whichever server the requesting module defines.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest_asyncio

from tests.support.auth import AuthServer, Stubs


@pytest_asyncio.fixture(scope="module")
async def stubs(server: AuthServer) -> AsyncIterator[Stubs]:
    async with grpc.aio.insecure_channel(server.target) as channel:
        yield Stubs.on(channel)
