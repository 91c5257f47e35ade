"""Starting the tests' own content API servers and Envoy edges."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from tests.support.procs import LOG_DIR, ROOT, VENV_BIN, Proc, free_port, python, wait_until


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
    """An Envoy the tests own, rendered from the same template as the dev stack."""

    proc: Proc
    port: int
    admin_port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_edge(name: str, *apis: ApiServer, env: Mapping[str, str] | None = None) -> Edge:
    """An edge over every server in `apis` (its cluster's hosts), `env` overriding
    the edge's settings (envoy/render.py)."""
    port, admin = free_port(), free_port()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    cfg = LOG_DIR / f"{name}.yaml"
    env = {
        **os.environ,
        "ENVOY_PORT": str(port),
        "ENVOY_ADMIN_PORT": str(admin),
        "ENVOY_TRANSCODER_PORT": str(free_port()),
        "GRPC_UPSTREAMS": ",".join(api.target for api in apis),
        "ENVOY_ROUTE_TIMEOUT": "5s",
        # Every test client is 127.0.0.1: the per-client search limit is tested
        # on an edge of its own (tests/e2e/test_door.py).
        "ENVOY_SEARCH_RATE_LIMIT": "1000000",
        "DOCS_DIR": str(ROOT / "gen" / "docs"),
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
    return Edge(proc, port, admin)
