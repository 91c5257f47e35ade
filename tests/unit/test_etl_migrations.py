"""Migration files are found in version order and misnamed ones are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from movies_etl.config import Settings
from movies_etl.migrate import discover


def test_project_migrations_are_ordered() -> None:
    versions = [m.version for m in discover(Settings().etl_migrations_dir)]

    assert versions == sorted(versions)
    assert versions[:2] == ["0001", "0002"]


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
