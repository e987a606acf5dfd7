"""Micro-batching: many callers, one model call per batch of up to N rows or T milliseconds.

Your task — :meth:`MicroBatcher.predict` and :meth:`MicroBatcher._collect` (``start``/``stop``
are given):

* ``predict(item, timeout_s=…)`` puts ``(item, future)`` on ``self._queue`` and awaits the future
  for at most ``timeout_s`` (``asyncio.wait_for``, which cancels the future on timeout); on
  timeout it raises :class:`InferenceTimeout`. Before ``start()`` it raises ``RuntimeError``.
* ``_collect()`` loops for ever: await the first item; keep taking items until the batch holds
  ``max_batch_size`` or ``max_wait_ms`` has passed since the first arrived; drop items whose
  future is already done (their caller gave up); call ``predict_batch`` ONCE with all the rows,
  in a worker thread (``asyncio.to_thread``); give result ``i`` to caller ``i``. If the call
  raises, every waiting caller gets that exception.

Read weeks/11-design-practice/README.md, section 'Micro-batching inference'.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

X = TypeVar("X")
Y = TypeVar("Y")


SECTION = "see weeks/11-design-practice/README.md, section 'Micro-batching inference'"


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
        raise NotImplementedError(f"MicroBatcher.predict — {SECTION}")

    async def _collect(self) -> None:
        raise NotImplementedError(f"MicroBatcher._collect — {SECTION}")
