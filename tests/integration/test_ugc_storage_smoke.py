"""The UGC storage study (docs/research/ugc-storage.md) runs end to end at a tiny scale.

It starts servers of its own on free ports under a temporary directory (its own PostgreSQL
cluster; a Cassandra node from dev/cassandra, whose first start downloads the jars with
Maven), loads the seeded workload, checks every store's answers against the generator,
measures, and stops the servers. The shared dev stack is not touched.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest

from tests.support.procs import ROOT, VENV_BIN, free_port

# A new CI machine: Maven downloads Cassandra (67 MB), the JVM starts in 20-60 s.
STUDY_TIMEOUT_S: Final = 1200
SCALE: Final = "0.0005"  # 5,000 ratings, 500 reviews, 2,500 votes, 1,000 bookmarks


@pytest.fixture
def servers_dir() -> Iterator[Path]:
    """Under the repository's .stack/, not /tmp: PostgreSQL runs as the `postgres` user,
    which cannot enter pytest's private temporary directory."""
    path = ROOT / ".stack" / "tests" / f"ugc-study-{uuid.uuid4().hex[:8]}"
    yield path
    shutil.rmtree(path, ignore_errors=True)


def run_study(tmp_path: Path, servers: Path, stores: str) -> dict[str, Any]:
    out = tmp_path / "report.json"
    args = [
        str(VENV_BIN / "python"),
        "-m",
        "bench.ugc_storage",
        f"--scale={SCALE}",
        f"--stores={stores}",
        f"--dir={servers}",
        f"--pg-port={free_port()}",
        f"--cassandra-port={free_port()}",
        f"--cassandra-storage-port={free_port()}",
        f"--cassandra-jmx-port={free_port()}",
        "--cassandra-heap=1g",
        "--rounds=1",
        "--queries=20",
        "--write-rate=20",
        "--min-seconds=0.5",
        f"--out={out}",
        "--stop",
    ]
    done = subprocess.run(
        args, cwd=ROOT, capture_output=True, text=True, timeout=STUDY_TIMEOUT_S, check=False
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def assert_sound(report: dict[str, Any], store: str) -> None:
    sizes = report["sizes"]
    assert sizes == {"ratings": 5000, "reviews": 500, "votes": 2500, "bookmarks": 1000}
    load = report["load"][store]
    assert load["ratings"]["rows"] == sizes["ratings"]
    assert load["reviews"]["rows"] == sizes["reviews"]
    assert load["review_votes"]["rows"] == sizes["votes"]
    assert load["bookmarks"]["rows"] == sizes["bookmarks"]
    mismatches = report["mismatches"][store]
    assert mismatches["checked"] > 0
    assert mismatches == {**mismatches, "rating_summary": 0, "bookmarks_page": 0, "reviews_page": 0}
    assert sum(report["disk_bytes"][store].values()) > 0
    summary = report["summary"][store]
    for mode in ("alone", "with_writes"):
        for query in ("rating_summary", "bookmarks_page", "reviews_page", "summary_from_rows"):
            assert summary[mode][query]["p50_ms"] > 0
    assert summary["writes"]["writes_per_s"] > 0


@pytest.mark.timeout(STUDY_TIMEOUT_S + 60)
def test_postgresql_study(tmp_path: Path, servers_dir: Path) -> None:
    report = run_study(tmp_path, servers_dir, "postgresql")
    assert_sound(report, "postgresql")


@pytest.mark.slow
@pytest.mark.timeout(STUDY_TIMEOUT_S + 60)
def test_cassandra_and_postgresql_study(tmp_path: Path, servers_dir: Path) -> None:
    report = run_study(tmp_path, servers_dir, "postgresql,cassandra")
    assert_sound(report, "postgresql")
    assert_sound(report, "cassandra")
