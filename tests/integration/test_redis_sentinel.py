"""Redis behind Sentinel (issue 14 §4): the ETL's signal and the API's cache follow a
failover to the promoted replica, and the version keeps growing across it.

Three processes of the tests' own (master, replica, one sentinel with quorum 1) on
free ports; the master is killed with SIGKILL."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis

from content_api.adapters.cache import RedisCache
from movies_etl.adapters.cache import RedisCacheSignal, make_client
from movies_index import redis_client
from tests.support.procs import LOG_DIR, Proc, eventually, free_port, port_open, wait_until

MASTER_NAME = "test_master"
KEY = "test_sentinel:version"
CHANNEL = "test_sentinel:channel"
TIMEOUT_SECONDS = 0.5


@dataclass
class Group:
    master: Proc
    master_port: int
    replica: Proc
    replica_port: int
    sentinel: Proc
    sentinel_port: int

    @property
    def sentinels(self) -> str:
        return f"127.0.0.1:{self.sentinel_port}"


def _server(name: str, port: int, *extra: str) -> Proc:
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    return Proc(name, [*args, "--appendonly", "no", *extra]).start()


@pytest.fixture
def group(tmp_path: Path) -> Iterator[Group]:
    master_port, replica_port, sentinel_port = free_port(), free_port(), free_port()
    # Redis waits repl-diskless-sync-delay (5 s) for more replicas before a first
    # full sync; with one replica that wait is only a delay.
    master = _server("test-redis-master", master_port, "--repl-diskless-sync-delay", "0")
    replica = _server(
        "test-redis-replica", replica_port, "--replicaof", "127.0.0.1", str(master_port)
    )
    config = tmp_path / "sentinel.conf"  # Sentinel rewrites its file: a writable copy
    config.write_text(
        f"port {sentinel_port}\nbind 127.0.0.1\ndir {tmp_path}\n"
        f"sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} 1\n"
        f"sentinel down-after-milliseconds {MASTER_NAME} 500\n"
        f"sentinel failover-timeout {MASTER_NAME} 2000\n"
    )
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    sentinel = Proc("test-redis-sentinel", ["redis-server", str(config), "--sentinel"]).start()
    procs = (master, replica, sentinel)
    try:
        for port in (master_port, replica_port, sentinel_port):
            wait_until(lambda p=port: port_open(p), 10, f"redis on {port}")  # type: ignore[misc]
        wait_until(lambda: _linked(replica_port), 30, "the replica in sync with the master")
        yield Group(master, master_port, replica, replica_port, sentinel, sentinel_port)
    finally:
        for proc in procs:
            proc.stop(signal.SIGKILL)


def _linked(port: int) -> bool:
    """The replica has finished its first sync (so a failover has data to promote)."""
    with redis.Redis(port=port, socket_timeout=TIMEOUT_SECONDS) as client:
        return bool(client.info("replication").get("master_link_status") == "up")


async def _get(port: int) -> bytes | None:
    client = aioredis.Redis(port=port, socket_timeout=TIMEOUT_SECONDS)
    try:
        value = await client.get(KEY)
        assert value is None or isinstance(value, bytes)
        return value
    finally:
        await client.aclose()


async def test_signal_and_cache_follow_a_failover(group: Group) -> None:
    etl = RedisCacheSignal(
        make_client("redis://unused/0", TIMEOUT_SECONDS, group.sentinels, MASTER_NAME),
        KEY,
        CHANNEL,
    )
    api = RedisCache(
        redis_client(
            "redis://unused/0",
            group.sentinels,
            MASTER_NAME,
            socket_timeout=TIMEOUT_SECONDS,
            socket_connect_timeout=TIMEOUT_SECONDS,
        ),
        ttl_seconds=60,
        version_key=KEY,
        channel=CHANNEL,
        poll_seconds=0.1,
        retry_after_seconds=0.2,
    )
    try:
        await eventually(etl.signal, 10, "a first signal through Sentinel")
        v1 = await _get(group.master_port)
        assert v1 is not None
        await api.start()
        await eventually(lambda: api.version() == v1.decode(), 5, "the API on v1")

        async def replicated() -> bool:
            return await _get(group.replica_port) == v1

        await eventually(replicated, 10, "v1 on the replica")
        await eventually(
            lambda: _sentinel_knows_replica(group), 30, "Sentinel discovering the replica"
        )

        group.master.stop(signal.SIGKILL)
        took = await eventually(etl.signal, 30, "a signal after the failover", interval=0.1)

        v2 = await _get(group.replica_port)
        assert v2 is not None
        assert int(v2) > int(v1)
        await eventually(lambda: api.version() == v2.decode(), 10, "the API on v2")
        print(f"signal delivered {took:.1f}s after the master was killed")
    finally:
        await api.close()
        await etl.close()


async def _sentinel_knows_replica(group: Group) -> bool:
    """Sentinel learns of replicas from the master's INFO (every 10 s); it can
    promote only one it knows and has heard from."""
    client = aioredis.Redis(port=group.sentinel_port, socket_timeout=TIMEOUT_SECONDS)
    try:
        replicas = await client.sentinel_slaves(MASTER_NAME)
    finally:
        await client.aclose()
    return any(
        r.get("port") == group.replica_port and r.get("is_slave") and not r.get("is_disconnected")
        for r in replicas
    )
