"""The week's small service: a few endpoints to observe, and to shut down gracefully.

This file is given: your work is in ``logs.py`` and ``metrics.py`` (wired in below) and in
``serve.py``. Run it with ``python -m labs.week07_reliability.serve --port 8000``.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI, HTTPException, Query, Response

from .logs import RequestContextMiddleware, configure_logging
from .metrics import MetricsMiddleware, render

log = structlog.get_logger("app")


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    configure_logging()
    log.info("service started")
    yield
    log.info("service stopped")  # runs after uvicorn has drained in-flight requests


app = FastAPI(title="Week 07 service", lifespan=lifespan)
app.add_middleware(MetricsMiddleware)
app.add_middleware(RequestContextMiddleware)  # added last = outermost: its id covers everything


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process answers. Never looks at dependencies — a restart would not fix them."""
    return {"status": "ok"}


@app.get("/readyz")
async def readyz() -> dict[str, object]:
    """Readiness: this service has no dependencies, so answering is being ready. Week 08's service
    checks its PostgreSQL and Redis here and answers 503, naming the one that is down."""
    return {"status": "ready", "checks": {}}


@app.get("/items/{item_id}")
async def read_item(item_id: int) -> dict[str, int]:
    if item_id < 1:
        raise HTTPException(status_code=404, detail="no such item")
    return {"id": item_id}


@app.get("/slow")
async def slow(seconds: float = Query(1.0, ge=0, le=30)) -> dict[str, float]:
    """A request that takes a while: the in-flight work a graceful shutdown must not drop."""
    await asyncio.sleep(seconds)
    return {"slept": seconds}


@app.get("/work/{job}")
async def work(job: str) -> dict[str, object]:
    """Fan out into concurrent tasks that log: their lines must carry this request's id."""
    log.info("work started", job=job)
    steps = await asyncio.gather(*(_step(job, n) for n in range(3)))
    log.info("work done", job=job)
    return {"job": job, "steps": steps}


async def _step(job: str, n: int) -> int:
    await asyncio.sleep(random.uniform(0.01, 0.05))
    log.info("work step", job=job, step=n)
    return n


@app.get("/boom")
async def boom() -> None:
    raise RuntimeError("an unhandled bug")


@app.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    body, content_type = render()
    return Response(body, media_type=content_type)
