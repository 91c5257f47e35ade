"""Bulk writes into the catalogue, for the importer and the generator."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg import AsyncConnection, sql

logger = logging.getLogger(__name__)


async def insert_rows(
    conn: AsyncConnection[Any], table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """COPYs `rows` into `content.<table>`, keeping rows that already exist.

    A straight COPY is tried first, in a savepoint; when it hits an existing id or
    unique key (a repeated import, a generator run with the same seed) the rows go
    through a staging table and `on conflict do nothing` instead. Either way loading
    the same rows twice changes nothing.
    """
    rows = list(rows)
    if not rows:
        return
    target = sql.Identifier("content", table)
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    try:
        async with conn.transaction():
            await _copy(conn, sql.SQL("copy {} ({}) from stdin").format(target, cols), rows)
        return
    except psycopg.errors.UniqueViolation:
        logger.debug("%s: rows already present, merging", table)
    stage = sql.Identifier(f"_stage_{table}")
    await conn.execute(
        sql.SQL("create temp table if not exists {} (like {} including defaults)").format(
            stage, target
        )
    )
    await conn.execute(sql.SQL("truncate {}").format(stage))
    await _copy(conn, sql.SQL("copy {} ({}) from stdin").format(stage, cols), rows)
    await conn.execute(
        sql.SQL("insert into {} ({}) select {} from {} on conflict do nothing").format(
            target, cols, cols, stage
        )
    )


async def _copy(
    conn: AsyncConnection[Any], statement: sql.Composed, rows: list[Sequence[Any]]
) -> None:
    async with conn.cursor() as cur, cur.copy(statement) as copy:
        for row in rows:
            await copy.write_row(row)
