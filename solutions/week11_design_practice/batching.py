"""Micro-batching: many callers, one model call per batch of up to N rows or T milliseconds.

A model call has a fixed cost (validation, dispatch, a thread hop) and a per-row cost that is
tiny in comparison, so 32 rows cost little more than one. Each caller puts its row and a future
on a queue; one collector task takes the first row, then keeps taking rows until it has
``max_batch_size`` or ``max_wait_ms`` has passed since the first, runs the model once in a
worker thread (the event loop keeps serving), and hands each caller its own row's answer.

``max_wait_ms`` is the latency a lone request pays for the chance of company — keep it small.
A caller that stops waiting (its ``timeout_s`` ran out) is dropped from the next batch: nobody
computes an answer nobody will read.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

X = TypeVar("X")
Y = TypeVar("Y")


class InferenceTimeout(TimeoutError):
    """The caller's ``timeout_s`` ran out before its batch was answered."""


class MicroBatcher(Generic[X, Y]):
    """``await batcher.predict(row, timeout_s=…)``; ``predict_batch`` sees lists of up to N rows."""

    def __init__(self, predict_batch: Callable[[list[X]], Sequence[Y]], *, max_batch_size: int,
                 max_wait_ms: float) -> None:
        if max_batch_size < 1 or max_wait_ms < 0:
            raise ValueError(f"need max_batch_size >= 1 and max_wait_ms >= 0; "
                             f"got {max_batch_size}, {max_wait_ms}")
        self.predict_batch = predict_batch
        self.max_batch_size = max_batch_size
        self.max_wait_ms = max_wait_ms
        self._queue: asyncio.Queue[tuple[X, asyncio.Future[Y]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._collect(), name="micro-batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        while not self._queue.empty():
            _, future = self._queue.get_nowait()
            future.cancel()

    async def predict(self, item: X, *, timeout_s: float) -> Y:
        if self._task is None:
            raise RuntimeError("the batcher is not started: await batcher.start() in the lifespan")
        future: asyncio.Future[Y] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((item, future))
        try:
            return await asyncio.wait_for(future, timeout_s)  # cancels the future on timeout
        except TimeoutError as exc:
            raise InferenceTimeout(f"no answer within {timeout_s} s") from exc

    async def _collect(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            deadline = loop.time() + self.max_wait_ms / 1000
            while len(batch) < self.max_batch_size:
                remaining_s = deadline - loop.time()
                if remaining_s <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), remaining_s))
                except TimeoutError:
                    break
            live = [(item, future) for item, future in batch if not future.done()]
            if not live:
                continue
            try:
                results = await asyncio.to_thread(self.predict_batch, [item for item, _ in live])
            except Exception as exc:
                for _, future in live:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(live, results, strict=True):
                if not future.done():
                    future.set_result(result)
