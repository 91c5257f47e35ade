"""What the incremental sync and the full rebuild share: their knobs and the cache signal."""

from __future__ import annotations

from dataclasses import dataclass

from movies_etl.ports import CacheSignal, VersionKeeper


@dataclass(frozen=True, slots=True)
class SyncOptions:
    """The knobs of the service layer, taken from `Settings` by the bootstrap."""

    batch_size: int = 2000
    bulk_size: int = 1000
    bulk_concurrency: int = 3
    fetch_size: int = 2000
    reindex_backlog: int = 200_000
    poll_interval_seconds: float = 5.0
    # An idle loop with undelivered cache news (Redis was down) tries again this soon.
    signal_retry_seconds: float = 0.5
    retry_initial_seconds: float = 0.5
    retry_max_seconds: float = 30.0
    retry_give_up_seconds: float = 600.0
    old_index_grace_seconds: float = 2.0
    progress_every: int = 50_000
    verify_interval_seconds: float = 60.0
    verify_sample_size: int = 500
    verify_rebuild_fraction: float = 0.2


class CacheNotifier:
    """Tells the API's caches about new documents, again later if the signal failed.

    A failed signal is no reason to redo the work: the documents are already in
    Elasticsearch, only the news of them is pending.
    """

    def __init__(self, signal: CacheSignal) -> None:
        self._signal = signal
        self._pending = False

    def changed(self) -> None:
        self._pending = True

    @property
    def pending(self) -> bool:
        """News not delivered yet: the caller should come back soon, not after a poll."""
        return self._pending

    async def flush(self) -> None:
        """Delivers pending news; otherwise makes sure the published version still holds."""
        if self._pending:
            self._pending = not await self._signal.signal()
        elif isinstance(self._signal, VersionKeeper):
            await self._signal.reassert()
