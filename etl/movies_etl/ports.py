"""The small interfaces the service layer needs from its stores.

The adapters implement them for PostgreSQL, Elasticsearch and Redis; unit tests
implement them with in-memory fakes. Documents are named by their index
(`movies_index.MOVIES`, ...), so one method serves every index.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

from tenacity import AsyncRetrying

from movies_etl.domain import Action, Backlog, Change, Counts, Source


class SourceReader(Protocol):
    async def documents(self, index: str, ids: Iterable[UUID]) -> list[Source]:
        """The current documents of `ids` for `index`; ids without a row are left out."""
        ...


class QueueSession(SourceReader, Protocol):
    """A session that alone may consume the change queue while it is open."""

    async def fetch_changes(self, limit: int, max_seq: int | None = None) -> list[Change]: ...
    async def max_seq(self) -> int | None: ...
    async def analyze(self) -> None: ...
    async def pending_at_least(self, n: int) -> bool: ...
    async def films_of_persons(self, ids: Iterable[UUID]) -> set[UUID]: ...
    async def films_of_genres(self, ids: Iterable[UUID]) -> set[UUID]: ...
    async def persons_of_films(self, ids: Iterable[UUID]) -> set[UUID]: ...
    async def acknowledge(
        self, seqs: Sequence[int], state_key: str, state: dict[str, Any]
    ) -> None: ...
    async def acknowledge_snapshot(
        self, snapshot: str, states: dict[str, dict[str, Any]]
    ) -> int: ...


class SourceSnapshot(Protocol):
    token: str

    def stream(self, index: str, size: int) -> AsyncGenerator[list[Source]]:
        """Every document of `index` as the snapshot saw the catalogue, `size` at a time."""
        ...


class Catalog(Protocol):
    """The source of truth and its change queue."""

    def exclusive(self) -> AbstractAsyncContextManager[QueueSession]: ...
    def snapshot(self) -> AbstractAsyncContextManager[SourceSnapshot]: ...
    async def get_state(self, key: str) -> Any: ...
    async def load_state(self) -> dict[str, Any]: ...
    async def counts(self) -> Counts: ...
    async def backlog(self) -> Backlog: ...
    async def wait_for_change(self, seconds: float) -> bool: ...


class Index(Protocol):
    """The read model: aliases over generations of concrete indices."""

    prefix: str

    def alias(self, name: str) -> str: ...
    async def write(
        self, index: str, actions: Iterable[Action], require_alias: bool = False
    ) -> int: ...
    async def refresh(self, targets: Iterable[str]) -> None: ...
    async def current(self) -> dict[str, list[str]]: ...
    async def create_generation(self) -> dict[str, str]: ...
    async def publish_generation(self, generation: Mapping[str, str]) -> list[str]: ...
    async def drop(self, names: Iterable[str], grace_seconds: float = 0.0) -> None: ...
    async def orphans(self) -> list[str]: ...
    async def count(self, alias: str) -> int | None: ...


class AuditSession(QueueSession, Protocol):
    """What the verifier reads from the catalogue, besides a queue session's reads."""

    async def ids(self, index: str) -> set[str]:
        """Every id `index` should hold a document for."""
        ...

    async def sample(self, index: str, size: int) -> list[UUID]:
        """Up to `size` ids of `index`'s source rows, chosen at random."""
        ...

    async def record(self, key: str, state: dict[str, Any]) -> None:
        """Keeps `state` under `key` in the ETL's bookkeeping, for `etl status`."""
        ...


class AuditCatalog(Protocol):
    def exclusive(self) -> AbstractAsyncContextManager[AuditSession]: ...
    async def counts(self) -> Counts: ...
    async def backlog(self) -> Backlog: ...


class AuditIndex(Index, Protocol):
    """What the verifier reads from Elasticsearch, besides the writer's operations."""

    async def ids(self, alias: str) -> set[str]:
        """Every document id behind `alias`."""
        ...

    async def sources(self, alias: str, ids: Iterable[str]) -> dict[str, Any]:
        """The stored document of each id found behind `alias`, decoded."""
        ...

    async def set_expected(self, expected: Mapping[str, int]) -> None:
        """Records, per alias, how many documents it should hold (read by the API)."""
        ...


class CacheSignal(Protocol):
    async def signal(self) -> bool: ...


@runtime_checkable
class VersionKeeper(Protocol):
    """A signal that can notice its store went back to an older version (a failover)."""

    async def reassert(self) -> bool: ...


# Attempts at a call, with backoff: `forever=True` for the continuous ETL, which
# waits out any failure; otherwise transient failures only, for a bounded time.
RetryPolicy = Callable[[bool], AsyncRetrying]
