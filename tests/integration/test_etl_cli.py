"""The `etl` command line as `make up` uses it: migrate, seed, run a pass, report."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import orjson
from elasticsearch import AsyncElasticsearch

from tests import etl_helpers as h
from tests.support import legacy
from tests.support.procs import VENV_BIN


def etl_output(*args: str, **env: str) -> str:
    result = subprocess.run(
        [str(VENV_BIN / "etl"), *args],
        env={**os.environ, **h.env(**env)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


async def film_count() -> int:
    return int((await h.fetch("select count(*) from content.film_work"))[0][0])


async def test_migrate_seed_once_status_reindex(es: AsyncElasticsearch) -> None:
    await h.recreate_database(migrated=False)
    await h.drop_test_indices(es)

    h.run_etl("migrate")
    h.run_etl("migrate")
    versions = [
        row[0]
        for row in await h.fetch("select version from content.schema_migrations order by version")
    ]
    assert versions == h.MIGRATION_VERSIONS

    h.run_etl("seed", ETL_SEED_FILMS="300", ETL_SEED="5")
    assert await film_count() == 300
    queued = await h.pending_changes()
    h.run_etl("seed", ETL_SEED_FILMS="300", ETL_SEED="5")
    assert await film_count() == 300
    assert await h.pending_changes() == queued

    h.run_etl("once")
    await h.assert_indices_equal_database(es)
    status = orjson.loads(etl_output("status"))
    assert status["pending_changes"] == 0
    assert status["indices"][f"{h.PREFIX}movies"] == {"documents": 300, "database": 300}

    before = status["aliases"]
    h.run_etl("reindex")
    after = orjson.loads(etl_output("status"))["aliases"]
    assert set(before) == set(after)
    assert all(before[alias] != after[alias] for alias in before)
    await h.assert_indices_equal_database(es)


async def test_seed_loads_the_sqlite_catalogue_when_configured(tmp_path: Path) -> None:
    await h.recreate_database()

    h.run_etl("seed", CATALOG_SQLITE=str(legacy.write(tmp_path / "legacy.sqlite")))

    assert await film_count() == legacy.FILMS


async def test_generate_twice_with_the_same_seed_changes_nothing() -> None:
    await h.recreate_database()

    h.run_etl("generate", "--films", "500", "--seed", "3", "--chunk", "200")
    first = await h.expected_from_database()
    queued = await h.pending_changes()
    h.run_etl("generate", "--films", "500", "--seed", "3", "--chunk", "200")

    assert await h.expected_from_database() == first
    assert await h.pending_changes() == queued


async def test_run_stops_cleanly_on_sigterm() -> None:
    await h.recreate_database()
    proc = h.etl_process("etl-sigterm", "run")
    proc.log_path.unlink(missing_ok=True)
    proc.start()
    await h.wait_for_log(proc, "following the change queue", within=30)

    code = proc.stop(signal.SIGTERM, timeout=10)

    assert code == 0, proc.log_text()[-2000:]
