"""Applies the numbered SQL files of `etl/migrations/` in order, each exactly once."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from psycopg import AsyncConnection

logger = logging.getLogger(__name__)

_NAME: Final = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# Two `etl migrate` at once (two stacks starting) must not apply a file twice.
_LOCK_KEY: Final = 724_339_100


@dataclass(frozen=True, slots=True)
class Migration:
    version: str
    path: Path


def discover(directory: Path) -> list[Migration]:
    """The migration files in version order; a misnamed or duplicate file is an error."""
    found: dict[str, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise ValueError(f"migration file {path.name!r} is not named NNNN_description.sql")
        if match[1] in found:
            raise ValueError(f"two migrations share version {match[1]}")
        found[match[1]] = Migration(match[1], path)
    return [found[v] for v in sorted(found)]


async def migrate(conn: AsyncConnection[Any], directory: Path) -> list[str]:
    """Applies pending migrations, each in its own transaction; returns their versions."""
    applied_now: list[str] = []
    async with conn.transaction():
        await conn.execute("select pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        await conn.execute("create schema if not exists content")
        await conn.execute(
            "create table if not exists content.schema_migrations ("
            " version text primary key, name text not null,"
            " applied_at timestamptz not null default now())"
        )
    for migration in discover(directory):
        async with conn.transaction():
            await conn.execute("select pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            cur = await conn.execute(
                "select 1 from content.schema_migrations where version = %s",
                (migration.version,),
            )
            if await cur.fetchone():
                continue
            logger.info("applying migration %s", migration.path.name)
            await conn.execute(migration.path.read_text())
            await conn.execute(
                "insert into content.schema_migrations (version, name) values (%s, %s)",
                (migration.version, migration.path.name),
            )
            applied_now.append(migration.version)
    if not applied_now:
        logger.info("schema up to date")
    return applied_now
