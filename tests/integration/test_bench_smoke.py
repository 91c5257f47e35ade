"""The benchmark scripts keep working: `python -m bench.run --smoke` end to end.

Not a timed test: it runs every part of the bench on a tiny catalogue for about
a second per point against the dev stack's backends, and checks that each part
produced its table with nonzero throughput. The report goes to a temporary
file, never to docs/benchmarks.md.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.prereq import require

ROOT = Path(__file__).resolve().parents[2]


def _missing() -> list[str]:
    missing = [tool for tool in ("wrk",) if shutil.which(tool) is None]
    if shutil.which("go") is None and not (ROOT / "bench" / ".bin" / "ghz").exists():
        missing.append("go (to build ghz)")
    missing += [m for m in ("fastapi", "uvicorn") if importlib.util.find_spec(m) is None]
    return missing


@pytest.mark.timeout(900)
def test_smoke_suite_produces_every_table(tmp_path: Path) -> None:
    missing = _missing()
    require(not missing, f"bench prerequisites missing: {', '.join(missing)} (`make tools`)")
    report, raw = tmp_path / "bench.md", tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--out", str(report), "--json", str(raw)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=840,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]

    text = report.read_text()
    for heading in (
        "## Machine",
        "## Targets",
        "## Requests",
        "## Scale",
        "## Memory",
        "## Auth service",
        "## Search flood",
        "## UGC service",
    ):
        assert heading in text
    assert "_not run_" not in text

    results = json.loads(raw.read_text())
    api = results["api"]
    parts = {row["part"] for row in api}
    assert parts == {"baseline", "REST via the door", "REST, door cache off", "gRPC direct"}
    scenarios = {row["scenario"] for row in api}
    assert {"Envoy direct_response", "FastAPI + Redis cache hit"} <= scenarios
    for row in api:
        assert row["rps"] > 0, row
        assert row["p99_ms"] >= row["p50_ms"] > 0, row
        assert row["errors"] == 0, row

    (point,) = results["scale"]
    assert point["load"]["films"] > 0
    assert point["load"]["seconds"] > 0
    for kind in ("search", "search_c1", "lists"):
        assert point[kind]["rps"] > 0, kind
    assert point["lag"]["grpc_s"], "the ETL's change never showed through gRPC"
    assert point["lag"]["rest_s"], "the ETL's change never showed through REST"

    memory = results["memory"]
    assert memory["load"]["rps"] > 0
    assert {t["name"] for t in memory["tracks"]} == {
        "content-api (gRPC)",
        "Envoy (edge)",
        "Varnish (the door)",
    }
    assert all(t["samples"] for t in memory["tracks"])
