"""How both sides of the read model name the Elasticsearch nodes they may talk to."""

from __future__ import annotations


def elasticsearch_hosts(url: str) -> list[str]:
    """The node URLs in `ELASTICSEARCH_URL`: one, or several separated by commas.

    The client spreads requests over all of them and, after a connection error,
    tries another; with one URL nothing changes.
    """
    hosts = [part.strip().rstrip("/") for part in url.split(",") if part.strip()]
    if not hosts:
        raise ValueError("ELASTICSEARCH_URL names no host")
    for host in hosts:
        if "://" not in host:
            raise ValueError(f"ELASTICSEARCH_URL entry {host!r} needs a scheme (http://...)")
    return hosts
