"""Elasticsearch adapter: bulk upserts and deletes, index generations and aliases."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
from elasticsearch import AsyncElasticsearch, NotFoundError
from elasticsearch.helpers import async_scan
from elasticsearch.serializer import OrjsonSerializer

from movies_etl.domain import Action, Upsert
from movies_index import (
    EXPECTED_DOCUMENTS,
    INDEX_NAMES,
    INDEX_SETTINGS,
    SPECS,
    alias_name,
    version_pattern,
    versioned_name,
)

logger = logging.getLogger(__name__)

# Statuses worth retrying: the cluster is overloaded or a shard is not ready yet.
TRANSIENT_STATUSES = frozenset({408, 429, 502, 503, 504})
_BULK_LOAD_SETTINGS: dict[str, Any] = {"refresh_interval": "-1", "translog.durability": "async"}


class TransientIndexError(Exception):
    """Elasticsearch did not do what was asked, for a reason that may go away."""


class TransientBulkError(TransientIndexError):
    """Some documents were refused for a reason that may go away (overload, shard down)."""


class PermanentBulkError(Exception):
    """Documents were refused because they are wrong (mapping): retrying cannot help."""


def _header(op: str, doc_id: str) -> str:
    return orjson.dumps({op: {"_id": doc_id}}).decode()


def _succeeded(op: str, item: Mapping[str, Any]) -> bool:
    """Whether a bulk item did what was asked; deleting a missing document did."""
    status = int(item.get("status", 500))
    return 200 <= status < 300 or (op == "delete" and item.get("result") == "not_found")


# Two versions created within the same microsecond still get distinct names.
_counter = itertools.count()


def _new_version() -> str:
    return f"{time.time_ns() // 1000}{next(_counter) % 1000:03d}"


async def create_versioned_index(
    es: AsyncElasticsearch,
    name: str,
    prefix: str,
    extra_settings: Mapping[str, Any] | None = None,
) -> str:
    """Creates a new, empty concrete index for `name` and returns its name.

    The alias is not touched: the caller fills the index and then swaps the alias.
    `extra_settings` lets a bulk loader switch off refreshes while it fills the index.
    """
    index = versioned_name(name, prefix, _new_version())
    settings = {**INDEX_SETTINGS, **(extra_settings or {})}
    await es.indices.create(index=index, settings=settings, mappings=SPECS[name].mapping)
    logger.info("created index %s", index)
    return index


async def indices_behind_alias(es: AsyncElasticsearch, alias: str) -> list[str]:
    """The concrete indices an alias points to (empty when the alias does not exist)."""
    try:
        response = await es.indices.get_alias(name=alias)
    except NotFoundError:
        return []
    return sorted(response.body)


async def swap_aliases(es: AsyncElasticsearch, targets: Mapping[str, str]) -> dict[str, list[str]]:
    """Points each alias at its new index in one atomic request; returns the old indices.

    One `_aliases` call for all aliases means readers switch from the old
    generation to the new one at the same instant, for every index at once.
    """
    actions: list[dict[str, Any]] = []
    previous: dict[str, list[str]] = {}
    for alias, index in targets.items():
        previous[alias] = [old for old in await indices_behind_alias(es, alias) if old != index]
        actions.extend({"remove": {"index": old, "alias": alias}} for old in previous[alias])
        actions.append({"add": {"index": index, "alias": alias}})
    await es.indices.update_aliases(actions=actions)
    logger.info("aliases swapped: %s", dict(targets))
    return previous


def make_client(hosts: Sequence[str], timeout: float) -> AsyncElasticsearch:
    """A client over every node of `ELASTICSEARCH_URL`.

    After a connection error it tries each other node once, at once; anything
    longer (a cluster that is down, overloaded or electing) is tenacity's, with
    backoff and logs. Timeouts are not retried here: a bulk request that timed
    out may still be running.
    """
    return AsyncElasticsearch(
        list(hosts),
        request_timeout=timeout,
        max_retries=len(hosts) - 1,
        retry_on_timeout=False,
        serializer=OrjsonSerializer(),
    )


class SearchIndex:
    """Writes documents into the aliases the API reads, or into a generation being built."""

    def __init__(self, es: AsyncElasticsearch, prefix: str) -> None:
        self.es = es
        self.prefix = prefix

    def alias(self, name: str) -> str:
        return alias_name(name, self.prefix)

    async def write(
        self, index: str, actions: Iterable[Action], require_alias: bool = False
    ) -> int:
        """Sends actions in one bulk request; returns how many. Raises unless each succeeded.

        Callers keep `actions` to `ETL_BULK_SIZE`.

        Deleting a document that is not there is success: the goal is its absence.
        `require_alias` stops a write to a missing alias from auto-creating a
        concrete index under the alias's name, which would block the alias for good.
        """
        lines: list[str] = []
        count = 0
        for a in actions:
            count += 1
            if isinstance(a, Upsert):
                lines.extend((_header("index", a.id), a.source))
            else:
                lines.append(_header("delete", a.id))
        if not count:
            return 0
        lines.append("")  # NDJSON ends with a newline
        response = await self.es.bulk(
            index=index,
            # The client sends str/bytes bodies as they are; its annotation only
            # knows lists of actions.
            operations="\n".join(lines).encode(),  # type: ignore[arg-type]
            require_alias=require_alias,
        )
        if not response["errors"]:
            return count
        failures = [
            {op: item}
            for entry in response["items"]
            for op, item in entry.items()
            if not _succeeded(op, item)
        ]
        if failures:
            statuses = {int(item.get("status", 500)) for f in failures for item in f.values()}
            detail = f"{len(failures)} of {count} actions refused, e.g. {failures[0]}"
            if statuses <= TRANSIENT_STATUSES:
                raise TransientBulkError(detail)
            raise PermanentBulkError(detail)
        return count

    async def refresh(self, targets: Iterable[str]) -> None:
        """Makes written documents searchable now, before the API's cache is told."""
        # A missing alias is the caller's finding to make (`count` says None), not a crash.
        await self.es.indices.refresh(index=",".join(targets), ignore_unavailable=True)

    async def current(self) -> dict[str, list[str]]:
        """alias -> the concrete indices it points to (empty list when missing)."""
        return {
            self.alias(name): await indices_behind_alias(self.es, self.alias(name))
            for name in INDEX_NAMES
        }

    async def create_generation(self) -> dict[str, str]:
        """A new empty index per logical name, tuned for bulk loading until published.

        No refreshes and an asynchronous translog while it is filled: nobody reads it
        yet, and a generation interrupted by a crash is thrown away, never resumed.
        """
        return {
            name: await create_versioned_index(
                self.es, name, self.prefix, extra_settings=_BULK_LOAD_SETTINGS
            )
            for name in INDEX_NAMES
        }

    async def publish_generation(self, generation: Mapping[str, str]) -> list[str]:
        """Makes a filled generation searchable and swaps every alias to it at once.

        Returns the indices the aliases pointed to before, to be dropped later.
        """
        targets = ",".join(generation.values())
        await self._make_durable(targets)
        await self.set_expected(
            {index: await self._count_or_zero(index) for index in generation.values()}
        )
        previous = await swap_aliases(
            self.es, {self.alias(name): index for name, index in generation.items()}
        )
        return [old for olds in previous.values() for old in olds]

    async def _make_durable(self, targets: str) -> None:
        """Puts a filled generation on disk before any alias points at it.

        It was filled with an asynchronous translog and no refreshes; until a flush
        commits its segments, a killed Elasticsearch comes back without the documents
        while the aliases (and the ETL's bookkeeping) say they are there. The defaults
        come back first, so later incremental writes are durable when acknowledged.
        """
        reset = await self.es.indices.put_settings(
            index=targets, settings={key: None for key in _BULK_LOAD_SETTINGS}
        )
        if not reset.get("acknowledged"):
            raise TransientIndexError(f"settings reset of {targets} not acknowledged yet")
        await self.es.indices.refresh(index=targets)
        flushed = await self.es.indices.flush(index=targets, wait_if_ongoing=True)
        failed = flushed["_shards"].get("failed", 0)
        if failed:
            raise TransientIndexError(f"flush of {targets} failed on {failed} shards")

    async def drop(self, names: Iterable[str], grace_seconds: float = 0.0) -> None:
        """Deletes old generations, after a grace period for searches already under way."""
        names = list(names)
        if not names:
            return
        if grace_seconds:
            await asyncio.sleep(grace_seconds)
        await self.es.indices.delete(index=",".join(names), ignore_unavailable=True)
        logger.info("dropped old indices %s", names)

    async def orphans(self) -> list[str]:
        """Generations no alias points to: left over by a rebuild that was interrupted."""
        live = {index for olds in (await self.current()).values() for index in olds}
        found: list[str] = []
        for name in INDEX_NAMES:
            try:
                response = await self.es.indices.get(
                    index=version_pattern(name, self.prefix),
                    allow_no_indices=True,
                    expand_wildcards="open,closed",
                )
            except NotFoundError:
                continue
            found.extend(index for index in response.body if index not in live)
        return sorted(found)

    async def set_expected(self, expected: Mapping[str, int]) -> None:
        """Writes each index's (or alias's) expected document count into its `_meta`."""
        for target, documents in expected.items():
            await self.es.indices.put_mapping(index=target, meta={EXPECTED_DOCUMENTS: documents})

    async def ids(self, alias: str) -> set[str]:
        """Every id behind `alias`, scrolled without sources."""
        return {
            hit["_id"]
            async for hit in async_scan(
                self.es,
                index=alias,
                query={"query": {"match_all": {}}, "_source": False},
                size=5000,
            )
        }

    async def sources(self, alias: str, ids: Iterable[str]) -> dict[str, Any]:
        wanted = list(ids)
        if not wanted:
            return {}
        response = await self.es.mget(index=alias, ids=wanted)
        return {doc["_id"]: doc["_source"] for doc in response["docs"] if doc.get("found")}

    async def _count_or_zero(self, index: str) -> int:
        return await self.count(index) or 0

    async def count(self, alias: str) -> int | None:
        try:
            response = await self.es.count(index=alias)
        except NotFoundError:
            return None
        return int(response["count"])
