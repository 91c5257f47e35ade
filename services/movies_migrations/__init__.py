"""Applies a folder of numbered SQL files (`NNNN_description.sql`) to one
PostgreSQL schema in order, each exactly once, and records what it applied.

Each deployable that owns a schema (the ETL's `content`, the auth service's
`auth`) keeps its own files, schema and lock key; only the procedure is shared.
It depends on psycopg alone, so no service imports another to migrate.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from psycopg import AsyncConnection, sql

log = logging.getLogger(__name__)

_NAME: Final = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


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


async def migrate(
    conn: AsyncConnection[Any], directory: Path, *, schema: str, lock_key: int
) -> list[str]:
    """Applies pending migrations, each in its own transaction; returns their versions.

    Every step holds the advisory lock `lock_key`, so two processes starting
    together (two replicas, two stacks) never apply a file twice.
    """
    table = sql.Identifier(schema, "schema_migrations")
    async with conn.transaction():
        await conn.execute("select pg_advisory_xact_lock(%s)", (lock_key,))
        await conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
        await conn.execute(
            sql.SQL(
                "create table if not exists {} ("
                " version text primary key, name text not null,"
                " applied_at timestamptz not null default now())"
            ).format(table)
        )
    applied: list[str] = []
    for migration in discover(directory):
        async with conn.transaction():
            await conn.execute("select pg_advisory_xact_lock(%s)", (lock_key,))
            cur = await conn.execute(
                sql.SQL("select 1 from {} where version = %s").format(table),
                (migration.version,),
            )
            if await cur.fetchone():
                continue
            log.info(
                "applying migration", extra={"schema": schema, "migration": migration.path.name}
            )
            await conn.execute(migration.path.read_text())
            await conn.execute(
                sql.SQL("insert into {} (version, name) values (%s, %s)").format(table),
                (migration.version, migration.path.name),
            )
            applied.append(migration.version)
    if not applied:
        log.info("schema up to date", extra={"schema": schema})
    return applied
