"""`CallbackDispatcher`: POSTs each task transition to its callback URL, in order, once, off the request path.

A background asyncio task polls the store for transitions whose time has come (`claim_due`), and
delivers each claim — the due steps of one task — sequentially in its own asyncio task, so one task's
callbacks arrive in lifecycle order while different tasks are delivered concurrently (bounded by
`concurrency`). Each step is tried up to `attempts` times with exponential back-off; every attempt lands
in the store's delivery log; each POST carries `X-Mock-Delivery-Id: <task>:<step>`, the same on every
attempt, so a receiver can drop the duplicates a crash can cause. Requests never wait for any of
this, and a slow or dead receiver only occupies delivery slots, each bounded by `timeout`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from mockserver.stores.base import Claim, TaskStore
from mockserver.tasks.http import CallbackClient, CallbackError
from mockserver.tasks.model import TaskRecord, view_at

log = logging.getLogger("mockserver.tasks")

DELIVERY_ID_HEADER = "X-Mock-Delivery-Id"

# Renders the JSON body a callback for one step carries: (record, step index) -> payload (None: no callback).
PayloadFor = Callable[[TaskRecord, int], Any]


class CallbackDispatcher:
    """Finds due transitions, claims them in the store and delivers them with retries."""

    def __init__(
        self,
        store: TaskStore,
        now: Callable[[], float],
        payload_for: PayloadFor,
        *,
        attempts: int = 3,
        timeout: float = 5.0,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        concurrency: int = 64,
        poll_interval: float = 0.05,
        refresh: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.store = store
        # Reads the clock's settings from a shared store before each poll (another process may move it).
        self.refresh = refresh
        self.now = now
        self.payload_for = payload_for
        self.attempts = max(1, attempts)
        self.timeout = timeout
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.concurrency = max(1, concurrency)
        self.poll_interval = poll_interval
        self._client: CallbackClient | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._deliveries: set[asyncio.Task[None]] = set()
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False

    @property
    def running(self) -> bool:
        return self._loop_task is not None and not self._loop_task.done()

    async def start(self) -> None:
        if self.running:
            return
        self._client = CallbackClient(timeout=self.timeout)
        self._stopping = False
        self._wake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._loop_task = asyncio.create_task(self._run(), name="mockserver-callbacks")

    async def stop(self) -> None:
        self._stopping = True  # the loop also checks this: a cancel can land while it is waking up
        task, self._loop_task = self._loop_task, None
        if task is not None:
            if self._wake is not None:
                self._wake.set()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        pending = list(self._deliveries)
        for delivery in pending:
            delivery.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        self._deliveries.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def wake(self) -> None:
        """Look for due transitions now rather than at the next poll (from any thread)."""
        event, loop = self._wake, self._loop
        if event is None or loop is None:
            return
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            event.set()
        else:
            with contextlib.suppress(RuntimeError):  # the loop has closed
                loop.call_soon_threadsafe(event.set)

    def cancel_deliveries(self) -> None:
        """Drop deliveries in flight (on reset: their tasks are gone)."""
        for delivery in list(self._deliveries):
            delivery.cancel()

    async def _run(self) -> None:
        assert self._wake is not None
        failing = False
        while not self._stopping:
            free = self.concurrency - len(self._deliveries)
            claims: list[Claim] = []
            if free > 0:
                try:
                    if self.refresh is not None:
                        await self.refresh()
                    claims = await self.store.claim_due(self.now(), free)
                    if failing:
                        log.warning("callback dispatcher: the store answers again")
                    failing = False
                except Exception as exc:  # a locked, closed or unreachable store must not kill the dispatcher
                    if not failing:  # once per outage, not once per poll
                        log.error("callback dispatcher: claiming due transitions failed: %s", exc)
                    failing = True
            for claim in claims:
                delivery = asyncio.create_task(self._deliver(claim))
                self._deliveries.add(delivery)
                delivery.add_done_callback(self._finished)
            if claims and len(claims) == free:
                await asyncio.sleep(0)
                continue
            self._wake.clear()
            # Not asyncio.wait_for: on 3.11 it swallows a cancel that arrives as the event is set,
            # which left stop() waiting for a loop that never ended.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_interval):
                    await self._wake.wait()

    def _finished(self, delivery: asyncio.Task[None]) -> None:
        self._deliveries.discard(delivery)
        if self._wake is not None:
            self._wake.set()

    async def _deliver(self, claim: Claim) -> None:
        record = claim.record
        done = claim.start
        try:
            for index in range(claim.start, claim.end):
                await self._deliver_step(record, index)
                done = index + 1
        except asyncio.CancelledError:
            # Hand the undelivered steps back, so a restarted server (or another process) sends them.
            with contextlib.suppress(Exception):
                await self.store.complete(claim, upto=done)
            raise
        except Exception:
            log.exception("callback dispatcher: delivering task %s failed", record.id)
        await self.store.complete(claim)

    async def _deliver_step(self, record: TaskRecord, index: int) -> None:
        url = record.notify_hook
        if not url:
            return
        step = view_at(record, index).step
        payload = self.payload_for(record, index)
        if payload is None:  # the vendor sends nothing for this step (e.g. an event the client filtered out)
            return
        body = orjson.dumps(payload)
        # The same id on every attempt and from every process: after a crash a step may be sent again
        # (at least once), and receivers deduplicate on this.
        headers = {"Content-Type": "application/json", DELIVERY_ID_HEADER: f"{record.id}:{index}"}
        for attempt in range(1, self.attempts + 1):
            started = time.perf_counter()
            status: int | None = None
            error: str | None = None
            try:
                assert self._client is not None
                status = await self._client.post(url, body, headers)
                ok = 200 <= status < 300
                if not ok:
                    error = f"HTTP {status}"
            except CallbackError as exc:
                ok = False
                error = str(exc)
            final = ok or attempt == self.attempts
            await self.store.log_attempt(
                {
                    "task": record.id,
                    "vendor": record.vendor,
                    "url": url,
                    "step": index,
                    "status": step.status,
                    "progress": step.progress,
                    "attempt": attempt,
                    "http_status": status,
                    "error": error,
                    "ok": ok,
                    "final": final,
                    "at": round(self.now(), 3),
                    "elapsed_ms": round((time.perf_counter() - started) * 1000, 2),
                }
            )
            if ok:
                return
            if not final:
                await asyncio.sleep(min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))
        log.warning(
            "callback for task %s step %d to %s given up after %d attempts", record.id, index, url, self.attempts
        )
