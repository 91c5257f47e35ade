"""The rendered door: Varnish compiles the VCL, and its own limits leave the
edge's (Envoy's JSON 431) in charge of oversized headers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOOR = ROOT / "varnish" / "door.py"


def door(*args: str, **env: str) -> str:
    done = subprocess.run(
        [sys.executable, str(DOOR), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def test_varnish_compiles_the_vcl(tmp_path: Path) -> None:
    varnishd = shutil.which("varnishd") or "/usr/sbin/varnishd"
    if not Path(varnishd).exists():
        pytest.skip("no varnishd: `make tools` installs Debian's varnish")
    vcl = tmp_path / "door.vcl"
    door("render", "--out", str(vcl), DOOR_BACKEND_HOST="127.0.0.1", ENVOY_EDGE_PORT="18081")
    compiled = subprocess.run(
        [varnishd, "-C", "-j", "none", "-n", str(tmp_path / "work"), "-f", str(vcl)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert compiled.returncode == 0, compiled.stderr[-3000:]
    assert '.port = "18081"' in vcl.read_text()


def test_the_doors_header_limits_are_above_the_edges() -> None:
    argv = door("launch", "--vcl", "door.vcl", "--print", ENVOY_MAX_REQUEST_HEADERS_KB="16").split()
    params = dict(argv[i + 1].split("=", 1) for i, arg in enumerate(argv) if arg == "-p")
    edge_limit = 16 * 1024
    assert int(params["http_req_hdr_len"]) > edge_limit
    assert int(params["http_req_size"]) > edge_limit
    assert int(params["workspace_client"]) > int(params["http_req_size"])
    # Only what the edge marks cacheable (max-age) is stored.
    assert params["default_ttl"] == "0"
