"""REST load with `wrk`: one connection per unit of concurrency, one client thread.

A Lua script cycles through a list of request paths (pre-formatted once), so a
scenario can spread over many films, pages or queries; its `done` hook prints the
exact median and 99th percentile wrk measured.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.common import Load, require

LUA = r"""
local requests = {}
local i = 0
function init(args)
  for line in io.lines(args[1]) do
    requests[#requests + 1] = wrk.format("GET", line)
  end
end
function request()
  i = i + 1
  if i > #requests then i = 1 end
  return requests[i]
end
function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"status_errors": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def run(base_url: str, paths: Sequence[str], concurrency: int, duration_s: float) -> Load:
    """`wrk -t1 -c<concurrency>` for `duration_s` over `paths`, in order, wrapping around."""
    return run_script(base_url, LUA, paths, concurrency, duration_s)[0]


def run_script(
    base_url: str, lua: str, lines: Sequence[str], concurrency: int, duration_s: float
) -> tuple[Load, str]:
    """`wrk -t1 -c<concurrency>` for `duration_s` with the Lua script `lua`, which
    reads `lines` (one per request, its own format) and prints `WRKJSON {...}` when
    done; returns the load and wrk's whole output (a script may print more)."""
    wrk = require("wrk")
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        script = Path(tmp) / "requests.lua"
        script.write_text(lua)
        listing = Path(tmp) / "requests.txt"
        listing.write_text("\n".join(lines) + "\n")
        out = subprocess.run(
            [
                wrk,
                "-t1",
                f"-c{concurrency}",
                f"-d{max(1, round(duration_s))}s",
                "--timeout",
                "5s",
                "-s",
                str(script),
                base_url,
                "--",
                str(listing),
            ],
            capture_output=True,
            text=True,
            timeout=duration_s + 60,
            check=False,
        )
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(
            f"wrk failed ({out.returncode}): {out.stderr[-2000:]}{out.stdout[-2000:]}"
        )
    data = json.loads(line.removeprefix("WRKJSON "))
    seconds = data["duration_us"] / 1e6
    load = Load(
        rps=data["requests"] / seconds if seconds else 0.0,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        requests=int(data["requests"]),
        errors=int(data["status_errors"]) + int(data["socket_errors"]),
    )
    return load, out.stdout
