"""Migration files are found in version order and misnamed ones are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from movies_etl.config import Settings
from movies_migrations import discover
from tests import etl_helpers as h


def test_every_migration_file_on_disk_is_found_in_order() -> None:
    found = discover(Settings().etl_migrations_dir)

    assert [m.path.resolve() for m in found] == [p.resolve() for p in h.MIGRATION_FILES]
    assert [m.version for m in found] == h.MIGRATION_VERSIONS


def test_versions_order_the_files(tmp_path: Path) -> None:
    for name in ("0010_later.sql", "0002_earlier.sql", "0009_middle.sql"):
        (tmp_path / name).write_text("select 1;")

    assert [m.version for m in discover(tmp_path)] == ["0002", "0009", "0010"]


def test_misnamed_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "0001_ok.sql").write_text("select 1;")
    (tmp_path / "bad.sql").write_text("select 1;")

    with pytest.raises(ValueError, match=r"bad\.sql"):
        discover(tmp_path)


def test_duplicate_version_is_refused(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("select 1;")
    (tmp_path / "0001_b.sql").write_text("select 1;")

    with pytest.raises(ValueError, match="0001"):
        discover(tmp_path)
