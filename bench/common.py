"""What every part of the bench shares: processes, load results, tables, machine facts."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

# The process harness is the tests' own: the bench's modules import it from here.
from tests.support import procs
from tests.support.procs import ROOT as ROOT
from tests.support.procs import VENV_BIN as VENV_BIN
from tests.support.procs import free_port as free_port
from tests.support.procs import http_ok as http_ok
from tests.support.procs import wait_until as wait_until
from tests.support.stack import stack

LOG_DIR = ROOT / ".stack" / "logs" / "bench"
ES_URL = stack().es_url
REDIS_PORT = stack().redis_port
REDIS_URL = stack().redis_url
PG_PORT = stack().pg_port


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def _es_ready() -> bool:
    got = httpx.get(f"{ES_URL}/_cluster/health?wait_for_status=yellow&timeout=1s", timeout=3)
    return got.status_code == 200


def wait_for_es(timeout: float = 300) -> None:
    """Elasticsearch is shared: other engineers' resilience tests stop and restart it."""
    if not _es_ready():
        log("waiting for Elasticsearch")
        wait_until(_es_ready, timeout, "Elasticsearch")


class Proc(procs.Proc):
    """A child process of the bench, logging to .stack/logs/bench/NAME.log.

    Envoy asks the kernel for SIGTERM when its parent dies: the bench stays alive
    for as long as its children are needed and stops them itself.
    """

    log_dir = LOG_DIR


@dataclass(frozen=True)
class Load:
    """One load run: throughput and latency as the client saw them."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int

    @staticmethod
    def median(runs: Sequence[Load]) -> Load:
        return Load(
            rps=statistics.median(r.rps for r in runs),
            p50_ms=statistics.median(r.p50_ms for r in runs),
            p99_ms=statistics.median(r.p99_ms for r in runs),
            requests=sum(r.requests for r in runs),
            errors=sum(r.errors for r in runs),
        )


@dataclass
class Series:
    """Repeated runs of one scenario at one concurrency; reported as medians."""

    part: str
    scenario: str
    concurrency: int
    runs: list[Load] = field(default_factory=list)

    @property
    def result(self) -> Load:
        return Load.median(self.runs)


@dataclass(frozen=True)
class Settings:
    """How long and how hard: the smoke run proves the scripts work, the full one measures."""

    smoke: bool
    duration_s: float
    repeats: int
    concurrencies: tuple[int, ...]
    api_films: int
    sizes: tuple[int, ...]
    memory_s: float
    lag_trials: int

    @staticmethod
    def full(sizes: tuple[int, ...] = (10_000, 100_000, 1_000_000)) -> Settings:
        return Settings(False, 5.0, 3, (1, 16, 64), 100_000, sizes, 300.0, 5)

    @staticmethod
    def quick() -> Settings:
        return Settings(True, 1.0, 1, (1, 4), 400, (400,), 4.0, 2)


def fmt(value: float, digits: int = 1) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}×" if base > 0 else "–"


def md_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return "\n".join(lines)


def _first_line(args: Sequence[str]) -> str:
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "not found"
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else "unknown"


def _version(text: str) -> str:
    match = re.search(r"\b(\d+\.\d+(?:\.\d+)?)\b", text)
    return match.group(1) if match else text


def machine_facts() -> dict[str, str]:
    """What a reader needs to compare these numbers with theirs."""
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        match = re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        cpu = match.group(1).strip() if match else cpu
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    try:
        es_version = httpx.get(ES_URL, timeout=2).json()["version"]["number"]
    except Exception:
        es_version = "unreachable"
    envoy = _first_line([str(VENV_BIN / "envoy"), "--version"])
    envoy_match = re.search(r"/(\d+\.\d+\.\d+)/", envoy)
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": str(os.cpu_count()),
        "cpu": cpu,
        "memory": f"{mem_kib / 1024 / 1024:.1f} GiB",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "envoy": envoy_match.group(1) if envoy_match else envoy,
        "elasticsearch": es_version,
        "redis": _version(_first_line(["redis-server", "--version"]).replace("v=", " ")),
        "postgresql": _version(_first_line(["psql", "--version"])),
        "wrk": _version(_first_line(["wrk", "--version"])),
    }


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise RuntimeError(f"{tool} is not installed (Debian: apt-get install {tool})")
    return path
