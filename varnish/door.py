"""The door: Varnish on the public HTTP port, in front of Envoy's edge listener.

    python varnish/door.py render --out door.vcl   # the VCL, from door.vcl.tmpl
    python varnish/door.py launch --vcl door.vcl   # replaces itself with varnishd -F
    python varnish/door.py args --vcl /etc/varnish/door.vcl   # varnishd's arguments (images)

One template and one command line for the dev stack, the tests and the bench (and
the same VCL in compose), so the doors cannot drift apart. Settings are the
environment's, with the edge's names where they mean the same thing.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import string
import tempfile
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "door.vcl.tmpl"
# What the probe asks Envoy's edge listener (envoy/render.py, CATALOGUE_HEALTH_PATH).
CATALOGUE_HEALTH_PATH = "/.door/catalogue-health"
DURATION = re.compile(r"(\d+(?:\.\d+)?)s")
WORKSPACE_CLIENT_DEFAULT = 96 * 1024  # varnishd's own default


def seconds(duration: str) -> float:
    """An Envoy-style duration ("10s", "0.5s") in seconds."""
    match = DURATION.fullmatch(duration.strip())
    if match is None:
        raise ValueError(f"not a duration in seconds: {duration!r}")
    return float(match.group(1))


class DoorSettings(BaseSettings):
    """The door's variables (README, configuration table)."""

    model_config = SettingsConfigDict(env_ignore_empty=True)

    # The public port and address, and where Envoy's edge listener is.
    envoy_port: int = Field(8080, ge=1, le=65535)
    envoy_listen_address: str = "127.0.0.1"
    envoy_edge_port: int = Field(8081, ge=1, le=65535)
    door_backend_host: str = "127.0.0.1"
    # Above the edge's route timeout (ENVOY_ROUTE_TIMEOUT, 5s), so the edge's own
    # 504 arrives first.
    door_backend_timeout_seconds: float = Field(6.0, gt=0)
    # Past max-age, how long a copy is still served while one refresh runs behind
    # it (adds to the staleness bound), and how long while the catalogue is down.
    door_grace_seconds: float = Field(1.0, ge=0)
    door_stale_if_error_seconds: float = Field(20.0, ge=0)
    door_probe_interval_seconds: float = Field(0.5, gt=0)
    # How long an answer that may not be stored sends its URL straight to the edge.
    door_hit_for_miss_seconds: float = Field(10.0, gt=0)
    # Static files (admin panel) without a cache-control of their own.
    door_static_ttl_seconds: float = Field(300.0, ge=0)
    # The store (malloc: memory, bounded, LRU) and worker thread pools. Each pool
    # starts all its threads at once and never adds any: a thread costs ~0.5 MiB
    # once it has served (stack, workspaces), and a pool that grows on demand
    # (Varnish's default, up to 5,000 a pool) kept growing under a 64-client load
    # (200 → 690 threads, RSS +19% after the first 30 s); a fixed pool stayed
    # flat (+0.5%) and served more. Idle connections hold no thread, so threads
    # bound requests in progress, not clients.
    door_storage: str = "64m"
    door_thread_pools: int = Field(2, ge=1)
    door_threads_per_pool: int = Field(150, ge=10)
    # Request headers: the edge answers 431 above ENVOY_MAX_REQUEST_HEADERS_KB; the
    # door reads DOOR_HEADER_ROOM times that before its own parser gives up.
    envoy_max_request_headers_kb: int = Field(16, ge=1, le=8192)
    door_header_room: int = Field(2, ge=2)
    # Time to send the request headers, which is also a kept-alive connection's idle time.
    envoy_request_headers_timeout: str = "10s"
    # varnishd's working directory (shared memory for varnishstat, the compiled VCL).
    door_workdir: str = ""

    def workdir(self) -> Path:
        if self.door_workdir:
            return Path(self.door_workdir)
        return Path(tempfile.gettempdir()) / f"movies-door-{self.envoy_port}"

    def header_bytes(self) -> int:
        return self.envoy_max_request_headers_kb * 1024 * self.door_header_room


def render(settings: DoorSettings) -> str:
    values = {
        "BACKEND_HOST": settings.door_backend_host,
        "BACKEND_PORT": str(settings.envoy_edge_port),
        "BACKEND_TIMEOUT": f"{settings.door_backend_timeout_seconds:g}",
        "CATALOGUE_HEALTH_PATH": CATALOGUE_HEALTH_PATH,
        "PROBE_INTERVAL": f"{settings.door_probe_interval_seconds:g}",
        "GRACE": f"{settings.door_grace_seconds:g}",
        "STALE_IF_ERROR": f"{settings.door_stale_if_error_seconds:g}",
        "HIT_FOR_MISS": f"{settings.door_hit_for_miss_seconds:g}",
        "STATIC_TTL": f"{settings.door_static_ttl_seconds:g}",
    }
    return string.Template(TEMPLATE.read_text()).substitute(values)


def params(settings: DoorSettings) -> dict[str, str]:
    """varnishd parameters (-p): what the door bounds itself."""
    header_bytes = settings.header_bytes()
    return {
        # Only what the edge marks cacheable is stored (max-age); nothing by default.
        "default_ttl": "0",
        "thread_pools": str(settings.door_thread_pools),
        "thread_pool_min": str(settings.door_threads_per_pool),
        "thread_pool_max": str(settings.door_threads_per_pool),
        "timeout_idle": f"{seconds(settings.envoy_request_headers_timeout):g}",
        # Room for headers well above the edge's limit, so the edge's JSON 431
        # answers oversized headers, not the door's parser.
        "http_req_hdr_len": str(header_bytes),
        "http_req_size": str(header_bytes),
        # The request's headers live in the client workspace (per request in
        # flight: its size is the door's memory per connection being served).
        "workspace_client": str(max(WORKSPACE_CLIENT_DEFAULT, header_bytes * 2)),
        "http_max_hdr": "256",
    }


def varnishd() -> str:
    found = shutil.which("varnishd") or (
        "/usr/sbin/varnishd" if Path("/usr/sbin/varnishd").exists() else None
    )
    if found is None:
        raise SystemExit("no varnishd: run `make tools` (Debian's varnish package)")
    return found


def arguments(vcl: str, settings: DoorSettings) -> list[str]:
    """varnishd's arguments but the working directory: in the foreground, this VCL,
    the public address, the bounded store and the door's parameters."""
    argv = ["-F", "-a", f"{settings.envoy_listen_address}:{settings.envoy_port}", "-f", vcl]
    argv += ["-s", f"malloc,{settings.door_storage}"]
    for name, value in params(settings).items():
        argv += ["-p", f"{name}={value}"]
    return argv


def command(vcl: Path, settings: DoorSettings) -> list[str]:
    return [varnishd(), "-n", str(settings.workdir()), *arguments(str(vcl.resolve()), settings)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    render_args = sub.add_parser("render", help="write the VCL")
    render_args.add_argument("--out", required=True, type=Path)
    launch_args = sub.add_parser("launch", help="exec varnishd -F with this VCL")
    launch_args.add_argument("--vcl", required=True, type=Path)
    launch_args.add_argument("--print", action="store_true", help="print the command only")
    args_args = sub.add_parser("args", help="print varnishd's arguments, for an image's CMD")
    args_args.add_argument("--vcl", required=True)
    args = parser.parse_args()
    settings = DoorSettings()
    if args.action == "render":
        header = f"# Rendered by varnish/door.py from {TEMPLATE.name}: edit that, not this.\n"
        args.out.write_text(render(settings).replace("\n", "\n" + header, 1))
        return
    if args.action == "args":
        print(" ".join(arguments(args.vcl, settings)))
        return
    argv = command(args.vcl, settings)
    if args.print:
        print(" ".join(argv))
        return
    settings.workdir().mkdir(parents=True, exist_ok=True)
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main()
