"""Group commit of rating writes (ugc_service.adapters.batching): writes that meet
in flight share one call, each caller gets its own result, and one batch's failure
or one caller's departure touches no one else."""

from __future__ import annotations

import asyncio

import pytest

from ugc_service.adapters.batching import Batcher


class Store:
    """Records each flush; a flush waits for `release` when one is set."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release: asyncio.Event | None = None
        self.fail_on: int | None = None
        self.flushed = asyncio.Event()

    async def flush(self, items: list[int]) -> list[int]:
        self.batches.append(list(items))
        self.flushed.set()
        if self.release is not None:
            await self.release.wait()
        if self.fail_on is not None and self.fail_on in items:
            raise ConnectionError("store gone")
        return [item * 10 for item in items]


async def wait_for_batches(store: Store, n: int) -> None:
    async with asyncio.timeout(5):
        while len(store.batches) < n:
            store.flushed.clear()
            await store.flushed.wait()


async def test_writes_arriving_together_leave_together_and_each_gets_its_own_result() -> None:
    store = Store()
    batcher: Batcher[int, int] = Batcher(store.flush, max_size=64, max_in_flight=1)
    assert await asyncio.gather(*(batcher.submit(i) for i in range(10))) == [
        i * 10 for i in range(10)
    ]
    assert store.batches == [list(range(10))]


async def test_an_idle_batcher_sends_a_lone_write_at_once() -> None:
    store = Store()
    batcher: Batcher[int, int] = Batcher(store.flush, max_size=64, max_in_flight=1)
    assert await batcher.submit(7) == 70
    assert await batcher.submit(8) == 80
    assert store.batches == [[7], [8]]


async def test_writes_queued_behind_a_running_batch_form_the_next_one() -> None:
    store = Store()
    store.release = asyncio.Event()
    batcher: Batcher[int, int] = Batcher(store.flush, max_size=3, max_in_flight=1)
    first = asyncio.ensure_future(batcher.submit(0))
    await wait_for_batches(store, 1)
    rest = [asyncio.ensure_future(batcher.submit(i)) for i in range(1, 6)]
    await asyncio.sleep(0)
    assert store.batches == [[0]], "nothing may start while the one allowed batch runs"
    store.release.set()
    assert await asyncio.gather(first, *rest) == [0, 10, 20, 30, 40, 50]
    assert store.batches == [[0], [1, 2, 3], [4, 5]], "max_size bounds each batch"


async def test_a_failed_batch_fails_its_own_writes_only() -> None:
    store = Store()
    store.release = asyncio.Event()
    store.fail_on = 1
    batcher: Batcher[int, int] = Batcher(store.flush, max_size=64, max_in_flight=1)
    doomed = [asyncio.ensure_future(batcher.submit(i)) for i in (1, 2)]
    await wait_for_batches(store, 1)
    later = asyncio.ensure_future(batcher.submit(3))
    store.release.set()
    for call in doomed:
        with pytest.raises(ConnectionError):
            await call
    assert await later == 30
    assert store.batches == [[1, 2], [3]]


async def test_a_caller_that_gives_up_leaves_its_batch_to_finish_for_the_others() -> None:
    store = Store()
    store.release = asyncio.Event()
    batcher: Batcher[int, int] = Batcher(store.flush, max_size=64, max_in_flight=1)
    quitter = asyncio.ensure_future(batcher.submit(1))
    stayer = asyncio.ensure_future(batcher.submit(2))
    await wait_for_batches(store, 1)
    quitter.cancel()
    store.release.set()
    assert await stayer == 20
    assert quitter.cancelled()
    assert await batcher.submit(3) == 30, "the batcher still runs after a caller left"


async def test_two_in_flight_run_side_by_side() -> None:
    store = Store()
    store.release = asyncio.Event()
    batcher: Batcher[int, int] = Batcher(store.flush, max_size=64, max_in_flight=2)
    a = asyncio.ensure_future(batcher.submit(1))
    await wait_for_batches(store, 1)
    b = asyncio.ensure_future(batcher.submit(2))
    await wait_for_batches(store, 2)
    store.release.set()
    assert list(await asyncio.gather(a, b)) == [10, 20]
    assert store.batches == [[1], [2]]


def test_bounds_below_one_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Batcher(Store().flush, max_size=0, max_in_flight=1)
