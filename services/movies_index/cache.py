"""How the ETL tells the API that the catalogue changed: the key, the channel, the
version's order, and the one way both reach Redis (one server or Sentinel)."""

from __future__ import annotations

from typing import Any, Final, cast

from redis.asyncio import Redis
from redis.asyncio.connection import parse_url
from redis.asyncio.sentinel import Sentinel

# Redis key holding the catalogue version: cached answers are keyed by it, so a new
# version retires them all, even for an API that missed the message below.
CACHE_VERSION_KEY: Final = "content:catalog_version"
# Pub/sub channel the ETL publishes each new version on.
CACHE_CHANNEL: Final = "content:catalog_changed"


def version_order(version: str | bytes | None) -> int:
    """Where a version stands: versions only grow, so a smaller one is a step back.

    The ETL makes each version larger than both the clock (microseconds since the
    epoch) and the version before it, so a Redis that lost increments (a promoted
    replica, a restart) cannot hand out an old version again for long: the API
    ignores a step back, the ETL publishes past it. A missing or foreign value
    orders first.
    """
    if version is None:
        return 0
    try:
        return int(version)
    except ValueError:
        return 0


def sentinel_addresses(value: str) -> list[tuple[str, int]]:
    """`REDIS_SENTINELS` ("host:port,host:port") as addresses; empty means no Sentinel."""
    addresses: list[tuple[str, int]] = []
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        host, sep, port = part.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"REDIS_SENTINELS entry {part!r} is not host:port")
        addresses.append((host, int(port)))
    return addresses


def redis_client(url: str, sentinels: str, master: str, **options: Any) -> Redis:
    """One Redis server (`url`), or whichever server Sentinel names master of `master`.

    With Sentinel, `url` still gives the database, user and password; its host is
    not used. Every command goes to the current master and follows it when a
    replica is promoted. `options` are connection options (timeouts, pool size).
    """
    addresses = sentinel_addresses(sentinels)
    if not addresses:
        return Redis.from_url(url, **options)
    credentials = {k: v for k, v in parse_url(url).items() if k not in ("host", "port", "path")}
    timeouts = {k: v for k, v in options.items() if k.startswith("socket_")}
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        addresses, sentinel_kwargs=timeouts, **credentials, **options
    )
    return cast("Redis", sentinel.master_for(master))
