"""The inference service: load the model once, answer ``/readyz`` honestly, batch, time out.

Given: the app, its lifespan (which starts ``load(app)`` as a background task and stops the
batcher at shutdown) and ``/healthz``. Your task:

* ``load(app)`` — call ``load_model`` ONCE in a worker thread (``asyncio.to_thread``), build and
  start a :class:`MicroBatcher` over ``model.predict_proba`` with ``max_batch_size`` and
  ``max_wait_ms``, store it in ``app.state.batcher``, and set ``app.state.model`` last.
* ``GET /readyz`` — while ``app.state.model`` is ``None``: the 503 problem of ``_not_ready()``
  (``Retry-After: 1``, ``failing: ["model"]``); then 200 ``{"status": "ready", "model_version": …}``.
* ``POST /v1/predict`` — not loaded: raise ``_not_ready()``; a feature count other than
  ``model.n_features``: a 422 ``Problem``; otherwise ``await batcher.predict(features,
  timeout_s=timeout_s)`` — an :class:`InferenceTimeout` becomes a 503 ``Problem`` with
  ``Retry-After: 1`` — and answer ``{"probability": p, "label": int(p >= 0.5), "model_version": v}``.

Read weeks/11-design-practice/README.md, sections 'Readiness and timeouts' and 'Micro-batching inference'.
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
from .batching import InferenceTimeout, MicroBatcher  # noqa: F401 — yours to use
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
        raise NotImplementedError(
            "load — see weeks/11-design-practice/README.md, section 'Readiness and timeouts'")

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
        raise NotImplementedError(
            "readyz — see weeks/11-design-practice/README.md, section 'Readiness and timeouts'")

    @app.post("/v1/predict")
    async def predict(body: PredictIn, request: Request) -> dict[str, Any]:
        raise NotImplementedError(
            "predict — see weeks/11-design-practice/README.md, section 'Micro-batching inference'")

    return app
