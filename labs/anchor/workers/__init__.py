"""The background roles — relay, worker, scheduler — and the run loop they share.

Each role is ``python -m anchor.workers.<role>``: it reads its settings (refusing bad ones with one
message), configures JSON logging, serves ``/metrics`` on ``metrics_port`` when set, builds its
PostgreSQL and Redis clients, waits until both answer, logs ``"<role> ready"`` and runs its loop
until SIGTERM or SIGINT. A signal only sets ``stopping``: each loop finishes what it holds (or
leaves it claimable) and returns, so ``docker stop`` and Kubernetes never cut a delivery in half.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import redis.asyncio as aioredis
import structlog
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ..core import metrics
from ..core.config import Settings, get_settings
from ..core.db import make_engine, make_sessionmaker
from ..core.logging import configure_logging
from ..core.redis import make_redis

log = structlog.get_logger()

DEPENDENCY_RETRY_S = 1.0  # how long a role waits before asking a dependency that is down again


@dataclass
class Clients:
    """What every role talks to, made once per process."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: aioredis.Redis

    async def aclose(self) -> None:
        await self.redis.aclose()
        await self.engine.dispose()


async def wait_for_dependencies(clients: Clients, stopping: asyncio.Event) -> bool:
    """Until PostgreSQL and Redis both answer (``True``), or until asked to stop (``False``).

    A role started before its database (compose, a restart) waits instead of crash-looping.
    """
    while not stopping.is_set():
        try:
            async with clients.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            await clients.redis.ping()
            return True
        except Exception as exc:  # any failure means "not yet"; it is logged
            log.warning("waiting for dependencies", error=f"{type(exc).__name__}: {exc}")
            await pause(stopping, DEPENDENCY_RETRY_S)
    return False


async def pause(stopping: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less if asked to stop meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), timeout=seconds)


RoleLoop = Callable[[Clients, asyncio.Event], Awaitable[None]]


def run(role: str, loop: RoleLoop) -> None:
    """The process entry point of a role: settings, logging, metrics, clients, signals, ``loop``."""
    try:
        settings = get_settings()
    except ValidationError as exc:
        print(f"anchor {role}: invalid settings:\n{exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    configure_logging(level=settings.log_level, json=settings.log_json, role=role)
    metrics.serve(settings.metrics_port)
    asyncio.run(_main(role, settings, loop))


async def _main(role: str, settings: Settings, loop: RoleLoop) -> None:
    stopping = asyncio.Event()
    running = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        running.add_signal_handler(signum, stopping.set)
    engine = make_engine(settings)
    clients = Clients(settings, engine, make_sessionmaker(engine), make_redis(settings))
    try:
        if await wait_for_dependencies(clients, stopping):
            await loop(clients, stopping)
    finally:
        await clients.aclose()
        log.info(f"{role} stopped")
