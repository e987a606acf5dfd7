"""The inference service: load the model once, answer ``/readyz`` honestly, batch, time out.

Loading starts in the lifespan as a background task, so the process answers at once: ``/healthz``
is 200 (alive), while ``/readyz`` and ``/v1/predict`` answer 503 with ``Retry-After`` until the
model is in memory — a load balancer sends no traffic before that, and an orchestrator does not
kill a process that is merely slow to load. The model is loaded exactly once per process, never
per request. Every prediction goes through the :class:`MicroBatcher`, and every request has its
own deadline: past ``timeout_s`` it gets a 503 with ``Retry-After`` instead of an open socket.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from . import problems
from .batching import InferenceTimeout, MicroBatcher
from .model import LoadedModel
from .problems import Problem


class PredictIn(BaseModel):
    features: list[float]


def _not_ready() -> Problem:
    return Problem(503, "Model not loaded yet", "the model is loading; retry shortly",
                   headers={"Retry-After": "1"}, failing=["model"])


def create_app(*, load_model: Callable[[], LoadedModel], max_batch_size: int = 32, max_wait_ms: float = 5.0,
               timeout_s: float = 1.0) -> FastAPI:
    """The service; ``load_model`` runs once, in a worker thread, after start-up."""

    async def load(app: FastAPI) -> None:
        model = await asyncio.to_thread(load_model)
        batcher: MicroBatcher[list[float], float] = MicroBatcher(
            model.predict_proba, max_batch_size=max_batch_size, max_wait_ms=max_wait_ms)
        await batcher.start()
        app.state.batcher = batcher
        app.state.model = model  # set last: from here on the service is ready

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.model, app.state.batcher = None, None
        loading = asyncio.create_task(load(app), name="load-model")
        try:
            yield
        finally:
            loading.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await loading
            if app.state.batcher is not None:
                await app.state.batcher.stop()

    app = FastAPI(title="Inference", lifespan=lifespan)
    problems.install(app)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        model: LoadedModel | None = request.app.state.model
        if model is None:
            return problems.problem_response(_not_ready())
        return JSONResponse({"status": "ready", "model_version": model.version})

    @app.post("/v1/predict")
    async def predict(body: PredictIn, request: Request) -> dict[str, Any]:
        model: LoadedModel | None = request.app.state.model
        if model is None:
            raise _not_ready()
        if len(body.features) != model.n_features:
            raise Problem(422, "Wrong number of features",
                          f"expected {model.n_features} features; got {len(body.features)}")
        try:
            probability = await request.app.state.batcher.predict(body.features, timeout_s=timeout_s)
        except InferenceTimeout as exc:
            raise Problem(503, "Inference timed out", str(exc), headers={"Retry-After": "1"}) from exc
        return {"probability": probability, "label": int(probability >= 0.5), "model_version": model.version}

    return app
