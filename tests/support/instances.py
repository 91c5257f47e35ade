"""Elasticsearch and PostgreSQL servers of the tests' own, on free ports.

The `disruptive` tests stop and start a real server. They stop one of these,
never the dev stack's (`make up`), which other people and tests are using.
Each is started the way the stack starts its own: Elasticsearch by
dev/elasticsearch/es.sh in a separate STACK_DIR, PostgreSQL by initdb and
pg_ctl, as the `postgres` user when running as root (it refuses root).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Final

from psycopg import connect, sql

from tests.support.procs import ROOT, free_port, port_open, wait_until

TESTS_STATE: Final = ROOT / ".stack" / "tests"
ES_SH: Final = ROOT / "dev" / "elasticsearch" / "es.sh"
# A small heap: the node holds a few thousand test documents beside the dev one.
ES_HEAP: Final = os.environ.get("TEST_ES_HEAP", "512m")
SERVER_TIMEOUT_S: Final = 300
# What es.sh runs as the node's JVM (its pid file holds that JVM's pid).
ES_MAIN_CLASS: Final = "dev.movies.es.EsMain"
PG_USER: Final = "movies"
PG_PASSWORD: Final = "movies"


class OwnElasticsearch:
    """A single-node Elasticsearch under .stack/tests/es-PORT/."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = TESTS_STATE / f"es-{self.port}"
        self.env = {
            **os.environ,
            "ES_PORT": str(self.port),
            "ES_TRANSPORT_PORT": str(free_port()),
            "STACK_DIR": str(self.dir),
            "ES_HEAP": ES_HEAP,
        }

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _es_sh(self, command: str) -> None:
        subprocess.run(
            [str(ES_SH), command],
            env=self.env,
            check=True,
            timeout=SERVER_TIMEOUT_S,
            stdout=subprocess.DEVNULL,
        )

    def start(self) -> None:
        """Returns once the node answers green or yellow."""
        self._es_sh("start")

    def stop(self) -> None:
        self._es_sh("stop")

    def kill(self) -> int:
        """SIGKILLs the node's JVM, as a crash would: no flush, no clean shutdown.

        Returns its pid once it has exited and its port is closed; the data dir
        stays, so `start` brings the node back on it (es.sh discards a pid file
        whose process is gone).
        """
        pid = int((self.dir / "run" / "elasticsearch.pid").read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        if ES_MAIN_CLASS not in cmdline or str(self.dir) not in cmdline:
            raise RuntimeError(f"pid {pid} is not this node's JVM: {cmdline!r}")
        os.kill(pid, signal.SIGKILL)
        wait_until(
            lambda: _exited(pid) and not port_open(self.port),
            SERVER_TIMEOUT_S,
            f"elasticsearch pid {pid} gone after SIGKILL",
        )
        return pid

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def _exited(pid: int) -> bool:
    """Whether a process is gone or a zombie: either way its files and ports are released.

    The JVM is not the tests' child (es.sh detaches it), so it may linger as a
    zombie until whoever adopted it reaps it.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in {"Z", "X"}


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if found:
        return found[-1].parent
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl is None:
        raise RuntimeError("PostgreSQL's pg_ctl not found (`make tools` installs it)")
    return Path(pg_ctl).parent


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


class OwnPostgres:
    """A PostgreSQL cluster under .stack/tests/pg-PORT/, with the stack's `movies` role."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = TESTS_STATE / f"pg-{self.port}"
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.bin = _pg_bin()

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def dsn(self, database: str) -> str:
        return f"postgresql://{PG_USER}:{PG_PASSWORD}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        subprocess.run(
            _as_postgres([str(self.bin / args[0]), *args[1:]]),
            check=True,
            timeout=SERVER_TIMEOUT_S,
            stdout=subprocess.DEVNULL,
        )

    def create(self) -> None:
        """A new cluster, started, with the role the ETL logs in as."""
        self.data.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
            shutil.chown(self.data, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.start()
        with connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("create role {} login password {}").format(
                    sql.Identifier(PG_USER), sql.Literal(PG_PASSWORD)
                )
            )

    def start(self) -> None:
        """Returns once the server accepts connections."""
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir}"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
