"""The ETL's schema, `content`: the numbered SQL files of `etl/migrations/`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from psycopg import AsyncConnection

import movies_migrations

SCHEMA: Final = "content"
# Two `etl migrate` at once (two stacks starting) must not apply a file twice.
_LOCK_KEY: Final = 724_339_100


async def migrate(conn: AsyncConnection[Any], directory: Path) -> list[str]:
    return await movies_migrations.migrate(conn, directory, schema=SCHEMA, lock_key=_LOCK_KEY)
