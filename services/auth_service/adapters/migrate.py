"""Applies the numbered SQL files of `auth_service/migrations/` in order, each
exactly once, under an advisory lock (two replicas may start together)."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Final

from psycopg import AsyncConnection

log = logging.getLogger(__name__)

_NAME: Final = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_LOCK_KEY: Final = 724_339_200


def discover(directory: Path) -> list[tuple[str, Path]]:
    """(version, path) in version order; a misnamed or duplicate file is an error."""
    found: dict[str, Path] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise ValueError(f"migration file {path.name!r} is not named NNNN_description.sql")
        if match[1] in found:
            raise ValueError(f"two migrations share version {match[1]}")
        found[match[1]] = path
    return sorted(found.items())


async def migrate(conn: AsyncConnection[Any], directory: Path) -> list[str]:
    """Applies pending migrations in one transaction each; returns their versions."""
    applied: list[str] = []
    async with conn.transaction():
        await conn.execute("select pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        await conn.execute("create schema if not exists auth")
        await conn.execute(
            "create table if not exists auth.schema_migrations ("
            " version text primary key, name text not null,"
            " applied_at timestamptz not null default now())"
        )
    for version, path in discover(directory):
        async with conn.transaction():
            await conn.execute("select pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            cur = await conn.execute(
                "select 1 from auth.schema_migrations where version = %s", (version,)
            )
            if await cur.fetchone():
                continue
            log.info("applying migration", extra={"migration": path.name})
            await conn.execute(path.read_text())
            await conn.execute(
                "insert into auth.schema_migrations (version, name) values (%s, %s)",
                (version, path.name),
            )
            applied.append(version)
    return applied
