"""The batch training job: ``python -m anchor.ml.train`` — learn, from the attempt log, how likely an
endpoint's next attempt is to fail; publish the model only if it beats the naive baseline.

Every attempt in the lookback window becomes one sample: the features of its endpoint's history
*before* it (``features.EndpointHistory``) and the label "it failed". The split is by time — the
latest ``holdout_fraction`` of samples are held out — never at random: a random split lets the
model learn from attempts that happened after the ones it is tested on, and scores it on a future
it will never see in production.

The baseline is the obvious rule, "the next attempt goes like the last one": the failure rate,
learned on the training samples, after a failed and after a successful attempt. A model that does
not beat it on the held-out samples, on both log-loss and ROC AUC, is not published.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.pipeline import Pipeline
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ..core.config import get_settings
from ..core.db import make_engine
from ..core.ids import ulid
from .features import AttemptRow
from .settings import MLSettings
from .store import ModelStore, s3_client

MODEL_NAME = "endpoint-failure"
MIN_SAMPLES = 200  # fewer and the held-out metrics are noise; the job refuses to publish


@dataclass
class Dataset:
    """Samples in time order: features, label, the time of the labelled attempt, and the baseline's input."""

    x: np.ndarray
    y: np.ndarray
    at: np.ndarray            # epoch seconds of the attempt whose outcome is the label
    last_failed: np.ndarray   # 1 / 0, or -1 when the endpoint had no attempt before

    def __len__(self) -> int:
        return len(self.y)

    def take(self, mask: np.ndarray) -> Dataset:
        return Dataset(self.x[mask], self.y[mask], self.at[mask], self.last_failed[mask])


@dataclass
class Report:
    """What the job measured; stored in the version's ``metadata.json``."""

    n_train: int
    n_test: int
    cutoff: str
    model: dict[str, float]
    baseline_last_outcome: dict[str, float]
    baseline_base_rate: dict[str, float]
    endpoints: int
    published: int | None = None
    reasons: list[str] = field(default_factory=list)

    @property
    def beats_baseline(self) -> bool:
        return not self.reasons


# Each endpoint's latest attempts in the window, bounded per endpoint so the job's memory is
# endpoints x ``per_endpoint`` however busy the service was: an index range scan backwards on
# (endpoint_id, id) per endpoint. Attempt ids are ULIDs, so "since" is an id bound too.
_HISTORIES = text("""
    SELECT e.id AS endpoint_id, a.created_at, a.status, a.response_status_code, a.duration_ms,
           a.error_class
    FROM endpoints AS e
    CROSS JOIN LATERAL (
        SELECT id, created_at, status, response_status_code, duration_ms, error_class
        FROM attempts WHERE attempts.endpoint_id = e.id AND attempts.id >= :since_id
        ORDER BY id DESC LIMIT :per_endpoint) AS a
    ORDER BY e.id, a.id
""")


def id_floor(prefix: str, at: datetime) -> str:
    """The smallest ``prefix_ULID`` id made at or after ``at`` (its random part all zeros)."""
    return f"{prefix}_{ulid(int(at.timestamp() * 1000))[:10]}{'0' * 16}"


async def load_histories(engine: AsyncEngine, since: datetime, *,
                         per_endpoint: int = 2000) -> dict[str, list[AttemptRow]]:
    """Every endpoint's latest ``per_endpoint`` attempts since ``since``, oldest first, streamed."""
    histories: dict[str, list[AttemptRow]] = defaultdict(list)
    async with engine.connect() as connection:
        result = await connection.stream(
            _HISTORIES.execution_options(yield_per=5000),
            {"since_id": id_floor("atmpt", since), "per_endpoint": per_endpoint})
        async for row in result:
            histories[row.endpoint_id].append(AttemptRow(
                created_at=row.created_at, failed=row.status != "succeeded",
                response_status_code=row.response_status_code, duration_ms=row.duration_ms,
                error_class=row.error_class))
    return dict(histories)


def build_dataset(histories: dict[str, list[AttemptRow]]) -> Dataset:
    """One sample per attempt, sorted by the attempt's time.

    Walk each endpoint's attempts oldest first with a fresh ``EndpointHistory``: for every attempt,
    take ``history.features()`` *before* adding it (the model may only know the past), the label
    ``int(attempt.failed)``, its time ``created_at.timestamp()`` and ``history.last_failed`` (1, 0,
    or -1 before the first attempt) for the baseline; then ``history.add(attempt)``.
    """
    raise NotImplementedError("build_dataset: see weeks/15-anchor-ship/README.md, "
                              "section 'The training job'")


def time_split(data: Dataset, holdout_fraction: float) -> tuple[Dataset, Dataset, float]:
    """(train, test, cutoff): the latest ``holdout_fraction`` of samples by time held out.

    The cutoff is a time (a quantile of ``data.at``); every training sample is earlier than every
    held-out one. Never shuffle: neighbouring attempts of one endpoint are nearly the same sample.
    """
    raise NotImplementedError("time_split: see weeks/15-anchor-ship/README.md, "
                              "section 'A split in time'")


def fit(train: Dataset, *, seed: int = 0) -> Pipeline:
    """A classifier with ``predict_proba`` fitted on ``train.x``, ``train.y``.

    Standardised features into a logistic regression is enough here: calibrated probabilities,
    fast, and its coefficients say what it learned. Pass ``seed`` to anything random.
    """
    raise NotImplementedError("fit: see weeks/15-anchor-ship/README.md, "
                              "section 'Beating the baseline'")


def last_outcome_baseline(train: Dataset, test: Dataset) -> np.ndarray:
    """P(fail | the previous attempt failed / succeeded / there was none), learned on ``train``,
    with add-one smoothing so a state never seen in training predicts no certainty."""
    raise NotImplementedError("last_outcome_baseline: see weeks/15-anchor-ship/README.md, "
                              "section 'Beating the baseline'")


def _scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    auc = roc_auc_score(y, p) if len(set(y.tolist())) == 2 else float("nan")
    return {"log_loss": float(log_loss(y, p, labels=[0, 1])), "roc_auc": float(auc)}


def evaluate(model: Pipeline, train: Dataset, test: Dataset) -> tuple[dict[str, float], dict[str, float],
                                                                       dict[str, float]]:
    """The model's, the last-outcome baseline's and the base rate's scores on the held-out samples."""
    raise NotImplementedError("evaluate: see weeks/15-anchor-ship/README.md, "
                              "section 'Beating the baseline'")


def _unscored(data: Dataset, endpoints: int, reason: str) -> tuple[None, Report]:
    nothing = {"log_loss": float("nan"), "roc_auc": float("nan")}
    return None, Report(len(data), 0, "", nothing, nothing, nothing, endpoints, reasons=[reason])


def train_and_evaluate(data: Dataset, *, endpoints: int, holdout_fraction: float,
                       seed: int = 0) -> tuple[Pipeline | None, Report]:
    """Fit on the earlier samples, score on the later ones; the model is None when data is too thin."""
    raise NotImplementedError("train_and_evaluate: see weeks/15-anchor-ship/README.md, "
                              "section 'Beating the baseline'")


async def run(engine: AsyncEngine, store: ModelStore, ml: MLSettings, *, now: datetime | None = None,
              seed: int = 0) -> Report:
    """The job: read the log, train, evaluate, and publish a new version if it beats the baseline.

    ``load_histories(engine, now - ml.train_lookback_s, per_endpoint=…)``, ``build_dataset``,
    ``train_and_evaluate``; when the model beats the baseline, fit once more on every sample (the
    held-out ones are the freshest) and ``store.publish`` it with metadata (name, features,
    evaluation); set ``report.published``.
    """
    raise NotImplementedError("run: see weeks/15-anchor-ship/README.md, "
                              "section 'The training job'")


def _as_dict(report: Report) -> dict[str, Any]:
    return {"n_train": report.n_train, "n_test": report.n_test, "cutoff": report.cutoff,
            "endpoints": report.endpoints, "model": report.model,
            "baseline_last_outcome": report.baseline_last_outcome,
            "baseline_base_rate": report.baseline_base_rate}


async def _main() -> int:
    settings, ml = get_settings(), MLSettings()  # the bucket comes from the environment
    engine = make_engine(settings)
    try:
        store = ModelStore(s3_client(endpoint_url=ml.s3_endpoint_url, region=ml.region), ml.bucket, ml.prefix)
        report = await run(engine, store, ml)
    finally:
        await engine.dispose()
    print(json.dumps({**_as_dict(report), "published": report.published, "reasons": report.reasons}))
    # Not publishing is a normal outcome (too little data, or no better than the baseline): exit 0
    # so a nightly schedule does not page anyone; the log line says why.
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(_main()))
