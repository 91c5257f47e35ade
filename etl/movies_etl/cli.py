"""`etl`: the command line of the ETL. Parses arguments, calls the service layer."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

import orjson
import uvloop

from movies_etl import bootstrap, generator, importer, migrate
from movies_etl.adapters.postgres import connect
from movies_etl.config import Settings
from movies_logging import configure

logger = logging.getLogger("movies_etl")


async def _migrate(settings: Settings, _: argparse.Namespace) -> int:
    conn = await connect(settings.postgres_dsn, settings.postgres_connect_timeout_seconds)
    async with conn:
        applied = await migrate.migrate(conn, settings.etl_migrations_dir)
    logger.info("migrations applied: %s", applied or "none")
    return 0


async def _import(settings: Settings, args: argparse.Namespace) -> int:
    conn = await connect(settings.postgres_dsn, settings.postgres_connect_timeout_seconds)
    async with conn:
        await importer.import_sqlite(conn, Path(args.path))
    return 0


async def _generate(settings: Settings, args: argparse.Namespace) -> int:
    conn = await connect(settings.postgres_dsn, settings.postgres_connect_timeout_seconds)
    async with conn:
        counts = await generator.generate(conn, args.films, args.seed, args.chunk)
    logger.info("generated %s", counts)
    return 0


async def _seed(settings: Settings, _: argparse.Namespace) -> int:
    """Gives a fresh machine something to show; never touches a catalogue that has data."""
    conn = await connect(settings.postgres_dsn, settings.postgres_connect_timeout_seconds)
    async with conn:
        cur = await conn.execute("select exists (select 1 from content.film_work)")
        row = await cur.fetchone()
        if row and row[0]:
            logger.info("catalogue not empty: nothing to seed")
        elif settings.catalog_sqlite:
            await importer.import_sqlite(conn, settings.catalog_sqlite)
        else:
            await generator.generate(conn, settings.etl_seed_films, settings.etl_seed)
    return 0


async def _run(settings: Settings, _: argparse.Namespace) -> int:
    async with bootstrap.app(settings) as app:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        main = asyncio.current_task()
        assert main is not None

        def shutdown() -> None:
            # Safe at any moment: unacknowledged changes stay queued and are replayed.
            logger.info("stopping")
            stop.set()
            main.cancel()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, shutdown)
        logger.info("following the change queue")
        try:
            await app.sync.run_forever(stop)
        except asyncio.CancelledError:
            if not stop.is_set():
                raise
    return 0


async def _once(settings: Settings, _: argparse.Namespace) -> int:
    async with bootstrap.app(settings) as app:
        done = await app.sync.run_once()
    logger.info("pass done: %d changes", done)
    return 0


async def _reindex(settings: Settings, _: argparse.Namespace) -> int:
    async with bootstrap.app(settings) as app:
        counts = await app.rebuild.reindex()
    logger.info("reindexed: %s", counts)
    return 0


async def _verify(settings: Settings, _: argparse.Namespace) -> int:
    """Drains the queue first: the check compares the indices with a quiet queue."""
    retry = bootstrap.retry_policy(bootstrap.sync_options(settings))
    async with bootstrap.app(settings) as app:
        await app.sync.run_once()
        async for attempt in retry(False):
            with attempt:
                result = await app.verifier.verify()
    sys.stdout.write(orjson.dumps(result.state(), option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0 if result.outcome in ("consistent", "repaired", "rebuilt") else 1


async def _status(settings: Settings, _: argparse.Namespace) -> int:
    async with bootstrap.app(settings) as app:
        report = await app.status.report()
    sys.stdout.write(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


Command = Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="etl", description="Keeps Elasticsearch equal to the PostgreSQL catalogue."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, handler: Command, help_text: str) -> argparse.ArgumentParser:
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        cmd.set_defaults(handler=handler)
        return cmd

    add("migrate", _migrate, "apply pending SQL migrations")
    add("seed", _seed, "load CATALOG_SQLITE, or a small synthetic catalogue, into an empty db")
    imp = add("import-sqlite", _import, "import the legacy movies.sqlite catalogue")
    imp.add_argument("path", type=Path)
    gen = add("generate", _generate, "write a synthetic catalogue")
    gen.add_argument("--films", type=int, required=True)
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument("--chunk", type=int, default=5000, help="films per transaction")
    add("run", _run, "sync continuously (what `make up` starts)")
    add("once", _once, "one pass: rebuild if needed, then apply every queued change")
    add("reindex", _reindex, "rebuild all indices and swap the aliases atomically")
    add("verify", _verify, "compare the indices with the catalogue now; repair what differs")
    add("status", _status, "queue lag, last batch, rebuild and verification, documents per index")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings()
    configure(settings.log_level, settings.log_json)
    handler: Command = args.handler
    try:
        return uvloop.run(handler(settings, args))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        logger.error("%s failed: %s", args.command, exc, exc_info=settings.log_level == "DEBUG")
        return 1


if __name__ == "__main__":
    sys.exit(main())
