"""The process harness of the tests and the bench: start a child with its own
log, wait for a port, a URL or any condition, stop it.

The bench imports it too (bench/common.py), so there is one way to run a
server beside the dev stack.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import ClassVar, Self

import httpx

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
LOG_DIR = ROOT / ".stack" / "logs" / "tests"
POLL_S = 0.1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def http_ok(url: str) -> bool:
    return httpx.get(url, timeout=1).status_code == 200


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Blocks until `check()` holds; errors count as "not yet"."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(POLL_S)
    raise TimeoutError(f"{what} not ready after {timeout}s")


async def eventually(
    check: Callable[[], Awaitable[bool] | bool], within: float, what: str, interval: float = 0.2
) -> float:
    """Waits, without blocking the event loop, until `check()` (a plain or an
    async condition) holds; returns how long it took.

    Errors count as "not yet" (a backend may be coming back); the last one is
    reported if time runs out.
    """
    started = time.monotonic()
    last: Exception | None = None
    while True:
        try:
            held = check()
            if await held if inspect.isawaitable(held) else held:
                return time.monotonic() - started
        except Exception as exc:
            last = exc
        if time.monotonic() - started > within:
            raise AssertionError(f"{what}: not within {within}s (last error: {last!r})")
        await asyncio.sleep(interval)


def rss_mib(pid: int) -> float:
    """Resident memory of one process, from the kernel's own accounting."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Proc:
    """A child process logging to `log_dir`/NAME.log (appended across restarts)."""

    log_dir: ClassVar[Path] = LOG_DIR

    def __init__(self, name: str, args: Sequence[str], env: dict[str, str] | None = None) -> None:
        self.name = name
        self.args = list(args)
        self.env = {**os.environ, **(env or {})}
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.log_dir / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.popen is not None, f"{self.name} not started"
        return self.popen.pid

    def start(self) -> Self:
        with self.log_path.open("ab") as out:
            self.popen = subprocess.Popen(
                self.args, env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
            )
        return self

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def rss_mib(self) -> float:
        return rss_mib(self.pid) if self.alive() else 0.0

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> int | None:
        """Signals, waits, then kills; returns the exit code (None if never started)."""
        if self.popen is None or self.popen.poll() is not None:
            return self.popen.returncode if self.popen else None
        self.popen.send_signal(sig)
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            return self.popen.wait(5)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def python(*args: str) -> list[str]:
    return [sys.executable, *args]
