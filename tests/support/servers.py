"""Starting the tests' own content API servers and Envoy edges."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.procs import (
    LOG_DIR,
    ROOT,
    VENV_BIN,
    Proc,
    free_port,
    port_open,
    python,
    wait_until,
)

# What the door's probe asks the edge (envoy/render.py, varnish/door.py).
CATALOGUE_HEALTH_PATH = "/.door/catalogue-health"


def healthy(port: int) -> bool:
    cmd = python("-m", "content_api.healthcheck", "--port", str(port))
    return subprocess.run(cmd, capture_output=True, check=False).returncode == 0


@dataclass
class ApiServer:
    """A gRPC server the tests own, and how to reach or restart it."""

    proc: Proc
    port: int
    env: dict[str, str]

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def restart(self) -> None:
        self.proc.stop(signal.SIGTERM)
        self.proc = Proc(self.proc.name, self.proc.args, self.env).start()
        wait_until(lambda: healthy(self.port), 30, "content-api")


def start_api(name: str, env: dict[str, str]) -> ApiServer:
    port = free_port()
    # No drain by default: only tests with an edge in front need it (they set it).
    full_env = {"GRPC_PORT": str(port), "LOG_LEVEL": "INFO", "SHUTDOWN_DRAIN_SECONDS": "0", **env}
    server = ApiServer(
        Proc(name, [str(VENV_BIN / "content-api")], full_env).start(), port, full_env
    )
    wait_until(lambda: healthy(port), 30, name)
    return server


@dataclass
class Edge:
    """An edge the tests own, rendered from the same templates as the dev stack:
    the door (Varnish) on `port`, Envoy behind it (`proc`), real gRPC on `grpc_port`."""

    proc: Proc
    port: int
    admin_port: int
    grpc_port: int
    door: Proc
    door_workdir: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def door_counter(self, name: str) -> int:
        """One of the door's counters (`varnishstat -1`), e.g. MAIN.backend_req."""
        out = subprocess.run(
            ["varnishstat", "-n", str(self.door_workdir), "-1", "-f", name],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return sum(int(line.split()[1]) for line in out.splitlines() if line.startswith(name))

    def stop(self) -> None:
        self.door.stop()
        self.proc.stop()
        shutil.rmtree(self.door_workdir, ignore_errors=True)


def start_edge(name: str, *apis: ApiServer, env: Mapping[str, str] | None = None) -> Edge:
    """An edge over every server in `apis` (its cluster's hosts), `env` overriding
    the edge's and the door's settings (envoy/render.py, varnish/door.py)."""
    port, admin, edge_port, grpc_port = free_port(), free_port(), free_port(), free_port()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    cfg = LOG_DIR / f"{name}.yaml"
    vcl = LOG_DIR / f"{name}.vcl"
    workdir = Path(tempfile.mkdtemp(prefix=f"{name}-door-"))
    workdir.chmod(0o755)  # varnishd, started as root, compiles the VCL as its own user
    env = {
        **os.environ,
        "ENVOY_PORT": str(port),
        "ENVOY_ADMIN_PORT": str(admin),
        "ENVOY_EDGE_PORT": str(edge_port),
        "ENVOY_GRPC_PORT": str(grpc_port),
        "ENVOY_TRANSCODER_PORT": str(free_port()),
        "GRPC_UPSTREAMS": ",".join(api.target for api in apis),
        "ENVOY_ROUTE_TIMEOUT": "5s",
        # Every test client is 127.0.0.1: the per-client search limit is tested
        # on an edge of its own (tests/e2e/test_door.py).
        "ENVOY_SEARCH_RATE_LIMIT": "1000000",
        "DOCS_DIR": str(ROOT / "gen" / "docs"),
        "DOOR_WORKDIR": str(workdir),
        **(env or {}),
    }
    render = python(
        str(ROOT / "envoy" / "render.py"),
        "--descriptor",
        str(ROOT / "gen" / "descriptors.pb"),
        "--out",
        str(cfg),
    )
    subprocess.run(render, env=env, check=True)
    launch = python(str(ROOT / "envoy" / "launch.py"), "--config", str(cfg), "--concurrency", "1")
    proc = Proc(name, launch).start()
    ready = f"http://127.0.0.1:{admin}/ready"
    wait_until(lambda: httpx.get(ready).status_code == 200, 30, name)
    door_py = str(ROOT / "varnish" / "door.py")
    subprocess.run(python(door_py, "render", "--out", str(vcl)), env=env, check=True)
    door = Proc(f"{name}-door", python(door_py, "launch", "--vcl", str(vcl)), env).start()
    health = f"http://127.0.0.1:{edge_port}{CATALOGUE_HEALTH_PATH}"
    wait_until(lambda: httpx.get(health).status_code == 200 or not apis, 30, f"{name} catalogue")
    wait_until(lambda: port_open(port), 30, f"{name} door")
    return Edge(proc, port, admin, grpc_port, door, workdir)
