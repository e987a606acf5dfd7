"""``GET /api/v1/app/{app_id}/endpoint/{endpoint_id}/failure-risk`` → ``{probability, modelVersion}``.

Tenant-scoped like every route: the application and the endpoint are loaded through the caller's
tenant, so another tenant's endpoint is a 404, exactly like a missing one. Without a published
model the answer is 503 ``model_unavailable`` with ``Retry-After`` — the service is fine, the
add-on has nothing to say yet.
"""

from __future__ import annotations

import os

from fastapi import APIRouter, Request

from ..api.deps import AppRef, CurrentTenant, EndpointRef, SessionDep, load_app, load_endpoint
from ..core.problems import Problem, responses
from ..schemas import Schema
from .serving import LiveModel, recent_attempts
from .settings import MLSettings
from .store import ModelStore, s3_client

router = APIRouter(prefix="/api/v1/app/{app_id}/endpoint/{endpoint_id}", tags=["ml"])

NO_MODEL_RETRY_AFTER_S = 60


class FailureRiskOut(Schema):
    probability: float
    model_version: int


def live_model(request: Request) -> tuple[LiveModel | None, MLSettings | None]:
    """The app's :class:`LiveModel`, made on first use from ``ANCHOR_ML_*`` (None without a bucket).

    Kept on ``app.state`` like every client; a test (or ``main.py``) may put its own there first.
    """
    state = request.app.state
    if not hasattr(state, "failure_model"):
        if not os.environ.get("ANCHOR_ML_BUCKET"):  # the add-on is off; any other bad setting raises
            state.failure_model, state.ml_settings = None, None
        else:
            ml = MLSettings()  # the bucket comes from the environment
            store = ModelStore(s3_client(endpoint_url=ml.s3_endpoint_url, region=ml.region),
                               ml.bucket, ml.prefix)
            state.failure_model = LiveModel(store, poll_interval_s=ml.poll_interval_s)
            state.ml_settings = ml
    return state.failure_model, state.ml_settings


@router.get("/failure-risk", response_model=FailureRiskOut, responses=responses(401, 404, 503))
async def failure_risk(request: Request, app_id: AppRef, endpoint_id: EndpointRef, principal: CurrentTenant,
                       session: SessionDep) -> FailureRiskOut:
    """The probability that this endpoint's next attempt fails, from its recent attempts."""
    app = await load_app(session, principal.tenant_id, app_id)
    endpoint = await load_endpoint(session, principal.tenant_id, app.id, endpoint_id)
    live, ml = live_model(request)
    model = await live.current() if live is not None else None
    if model is None or ml is None:
        raise Problem(503, "model_unavailable", "no failure-risk model has been published yet",
                      headers={"Retry-After": str(NO_MODEL_RETRY_AFTER_S)})
    history = (await recent_attempts(session, [endpoint.id], ml.history_limit))[endpoint.id]
    return FailureRiskOut(probability=model.predict(history), model_version=model.version)
