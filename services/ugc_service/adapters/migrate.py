"""The ugc schema: the numbered SQL files of `ugc_service/migrations/`, applied
under an advisory lock (two replicas may start together)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from psycopg import AsyncConnection

import movies_migrations

SCHEMA: Final = "ugc"
_LOCK_KEY: Final = 724_339_300


async def migrate(conn: AsyncConnection[Any], directory: Path) -> list[str]:
    return await movies_migrations.migrate(conn, directory, schema=SCHEMA, lock_key=_LOCK_KEY)
