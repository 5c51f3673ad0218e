"""Helpers for the `RedisTaskStore` tests: the conformance suite's plans and records, a store per
event loop that is cleared and closed afterwards, and replicas racing in threads of their own."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from mockserver.stores.redis_tasks import RedisTaskStore
from mockserver.tasks import Admission, QueuePolicy, TaskRecord
from tests.tasks.test_stores import make

T = TypeVar("T")


async def submit(
    store: RedisTaskStore, task_id: str, now: float, policy: QueuePolicy | None = None, **kw: Any
) -> tuple[TaskRecord, Admission]:
    return await store.submit(lambda adm: make(task_id, now, adm, **kw), policy, now)


_opened: list[RedisTaskStore] = []


def replica(url: str, **kw: Any) -> RedisTaskStore:
    """Another store on the same Redis (as another replica would open), closed when `run` ends."""
    made = RedisTaskStore(url, **kw)
    _opened.append(made)
    return made


def run(url: str, body: Callable[[RedisTaskStore], Awaitable[T]], **kw: Any) -> T:
    """Run `body` with a fresh store on its own event loop, then clear the store and close every client."""

    async def main() -> T:
        store = replica(url, **kw)
        try:
            return await body(store)
        finally:
            await store.clear()
            while _opened:
                await _opened.pop().close()

    return asyncio.run(main())


async def task_keys(store: RedisTaskStore) -> list[bytes]:
    return [key async for key in store.link.client().scan_iter(match=f"{store.link.prefix}:*")]


def race(url: str, workers: int, work: Callable[[RedisTaskStore, int], Awaitable[T]]) -> list[T]:
    """`work(store, n)` in `workers` threads at once, each with its own event loop, store and client, as
    replicas on other hosts would be."""
    barrier = threading.Barrier(workers)
    results: list[Any] = [None] * workers

    def thread(n: int) -> None:
        async def main() -> T:
            store = RedisTaskStore(url)
            await store.count()  # connected before the start line
            barrier.wait(30)
            try:
                return await work(store, n)
            finally:
                await store.close()

        try:
            results[n] = asyncio.run(main())
        except BaseException as exc:  # handed to the test, which fails naming it
            results[n] = exc

    threads = [threading.Thread(target=thread, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results
