"""An Elasticsearch cluster of the tests' own: ES_NODES nodes of dev/elasticsearch/es.sh.

The same launcher as `ES_NODES=3 make up`, on consecutive free ports in its own
STACK_DIR, so a test can SIGKILL one node and bring it back without touching
the dev stack's Elasticsearch.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
from pathlib import Path
from typing import Final

from tests.support.instances import ES_HEAP, ES_SH, SERVER_TIMEOUT_S, TESTS_STATE
from tests.support.procs import wait_until

# Where consecutive free ports are looked for (below Linux's ephemeral range).
PORT_RANGE: Final = (20000, 32000)
PORT_ATTEMPTS: Final = 50
PROCESS_EXIT_S: Final = 10.0


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _running(pid: int) -> bool:
    """Alive and not a zombie (a killed node may wait a moment to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def consecutive_free_ports(count: int) -> int:
    """The first of `count` consecutive ports nothing is bound to."""
    for _ in range(PORT_ATTEMPTS):
        base = random.randrange(PORT_RANGE[0], PORT_RANGE[1] - count)
        if all(_free(base + i) for i in range(count)):
            return base
    raise RuntimeError(f"no {count} consecutive free ports in {PORT_RANGE}")


class OwnCluster:
    """`nodes` nodes under .stack/tests/cluster-PORT/; node i on the base ports + i."""

    def __init__(self, nodes: int) -> None:
        self.nodes = nodes
        self.port = consecutive_free_ports(nodes)
        self.dir = TESTS_STATE / f"cluster-{self.port}"
        self.env = {
            **os.environ,
            "ES_NODES": str(nodes),
            "ES_PORT": str(self.port),
            "ES_TRANSPORT_PORT": str(consecutive_free_ports(nodes)),
            "STACK_DIR": str(self.dir),
            "ES_HEAP": ES_HEAP,
        }

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{self.port + i}" for i in range(self.nodes)]

    @property
    def url(self) -> str:
        """Every node, as ELASTICSEARCH_URL takes them."""
        return ",".join(self.urls)

    def _es_sh(self, command: str) -> None:
        subprocess.run(
            [str(ES_SH), command],
            env=self.env,
            check=True,
            timeout=SERVER_TIMEOUT_S,
            stdout=subprocess.DEVNULL,
        )

    def start(self) -> None:
        """Starts every node that is not running; returns once all answer green or yellow."""
        self._es_sh("start")

    def pid(self, node: int) -> int:
        return int((self.dir / "run" / f"elasticsearch-{node}.pid").read_text())

    def kill(self, node: int) -> None:
        """SIGKILL, as a crash: no shutdown, no flush, no leaving the cluster."""
        pid = self.pid(node)
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not _running(pid), PROCESS_EXIT_S, "killed node gone")

    def remove(self) -> None:
        self._es_sh("stop")
        shutil.rmtree(self.dir, ignore_errors=True)
