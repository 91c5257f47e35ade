"""`etl status`: queue lag, what the last batch, rebuild and verification did, documents
per index."""

from __future__ import annotations

from typing import Any

from movies_etl.ports import Catalog, Index
from movies_index import INDEX_NAMES


class StatusReport:
    def __init__(self, catalog: Catalog, index: Index) -> None:
        self._catalog = catalog
        self._index = index

    async def report(self) -> dict[str, Any]:
        """The report as JSON-ready data.

        An unreachable Elasticsearch is reported, not raised: that is when the
        report is needed most.
        """
        backlog = await self._catalog.backlog()
        state = await self._catalog.load_state()
        rows = await self._catalog.counts()
        per_index: dict[str, dict[str, int | None]] = {}
        aliases: dict[str, list[str]] | str
        try:
            for name in INDEX_NAMES:
                alias = self._index.alias(name)
                per_index[alias] = {
                    "documents": await self._index.count(alias),
                    "database": rows[name],
                }
            aliases = await self._index.current()
        except Exception as exc:
            aliases = f"elasticsearch unavailable: {exc}"
        return {
            "pending_changes": backlog.pending,
            "lag_seconds": round(backlog.oldest_age_seconds or 0.0, 3),
            "indices": per_index,
            "aliases": aliases,
            "last_batch": state.get("last_batch"),
            "last_rebuild": state.get("last_rebuild"),
            "last_verification": state.get("last_verification"),
        }
