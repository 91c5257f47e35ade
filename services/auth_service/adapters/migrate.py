"""The auth schema: the numbered SQL files of `auth_service/migrations/`, applied
under an advisory lock (two replicas may start together)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from psycopg import AsyncConnection

import movies_migrations

SCHEMA: Final = "auth"
_LOCK_KEY: Final = 724_339_200


async def migrate(conn: AsyncConnection[Any], directory: Path) -> list[str]:
    return await movies_migrations.migrate(conn, directory, schema=SCHEMA, lock_key=_LOCK_KEY)
