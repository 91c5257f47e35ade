"""gRPC load straight at the server with `ghz`, built once from the Go module proxy.

`ghz` sends the messages of its data file round-robin, one per call, over one
HTTP/2 connection (as Envoy does towards the server) with `concurrency` workers.
Messages given as protobuf objects go to `ghz` serialized (length-prefixed), not
as JSON: ghz then spends about a fifth less CPU a call (0.29 vs 0.36 ms a refresh
of the auth service), CPU it takes from the server on a 2-core machine.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from google.protobuf import proto
from google.protobuf.message import Message

from bench.common import ROOT, Load, log

GHZ_VERSION = "v0.93.0"
BIN_DIR = ROOT / "bench" / ".bin"
GHZ = BIN_DIR / "ghz"
DESCRIPTORS = ROOT / "gen" / "descriptors.pb"


def ensure_ghz() -> Path:
    """`bench/.bin/ghz`, installed with `go install` the first time it is needed."""
    if GHZ.exists():
        return GHZ
    go = shutil.which("go")
    if go is None:
        raise RuntimeError("ghz needs Go to build it (Debian: apt-get install golang-go)")
    log(f"building ghz {GHZ_VERSION} into {BIN_DIR}")
    BIN_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [go, "install", f"github.com/bojand/ghz/cmd/ghz@{GHZ_VERSION}"],
        env={**os.environ, "GOBIN": str(BIN_DIR)},
        check=True,
        timeout=600,
    )
    return GHZ


def version() -> str:
    return GHZ_VERSION if GHZ.exists() else "not built"


def run(
    target: str,
    method: str,
    messages: Sequence[dict[str, Any]] | Sequence[Message],
    concurrency: int,
    duration_s: float,
    metadata: dict[str, str] | None = None,
) -> Load:
    """`method` is `package.Service/Method`; each call sends the next of `messages`
    (with `metadata`, e.g. a bearer token, on every call)."""
    ghz = ensure_ghz()
    with tempfile.TemporaryDirectory(prefix="bench-ghz-") as tmp:
        if messages and isinstance(messages[0], Message):
            data = Path(tmp) / "data.bin"
            buffer = io.BytesIO()
            for message in messages:
                proto.serialize_length_prefixed(cast(Message, message), buffer)
            data.write_bytes(buffer.getvalue())
            data_args = ["--binary-file", str(data)]
        else:
            data = Path(tmp) / "data.json"
            data.write_text(json.dumps(list(messages)))
            data_args = ["--data-file", str(data)]
        out = subprocess.run(
            [
                str(ghz),
                "--insecure",
                "--protoset",
                str(DESCRIPTORS),
                "--call",
                method,
                *data_args,
                "--concurrency",
                str(concurrency),
                "--connections",
                "1",
                "--duration",
                f"{duration_s}s",
                "--duration-stop",
                "wait",
                "--timeout",
                "5s",
                "--format",
                "json",
                *(["--metadata", json.dumps(metadata)] if metadata else []),
                target,
            ],
            capture_output=True,
            text=True,
            timeout=duration_s + 60,
            check=False,
        )
    if out.returncode != 0 or not out.stdout.strip():
        raise RuntimeError(f"ghz failed ({out.returncode}): {out.stderr[-2000:]}")
    report = json.loads(out.stdout)
    pct = {
        int(p["percentage"]): p["latency"] / 1e6 for p in report.get("latencyDistribution") or []
    }
    codes: dict[str, int] = report.get("statusCodeDistribution") or {}
    ok = int(codes.get("OK", 0))
    total = int(report.get("count", 0))
    if total > ok:
        errors = report.get("errorDistribution") or {}
        log(f"ghz {method} c={concurrency}: {total - ok} errors: {json.dumps(errors)[:500]}")
    return Load(
        rps=float(report.get("rps", 0.0)),
        p50_ms=pct.get(50, 0.0),
        p99_ms=pct.get(99, 0.0),
        requests=total,
        errors=total - ok,
    )
