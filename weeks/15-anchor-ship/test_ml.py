"""Lab anchor-ship/ml: the failure-risk model — trained by a batch job, versioned in S3, served live.

The attempt log is generated with a fixed seed and written to the week's real PostgreSQL:
endpoints in four regimes (healthy, flaky, outages, degrading). Each endpoint's attempts are drawn
as one sequence; the first part goes into the database for the job to train on, the rest is kept
back as *the future* — attempts the job never saw. The model is judged on that future against
the naive rule "the next attempt goes like the last one", by this test's own arithmetic, not by
the numbers the job reports about itself. The job runs as it is deployed, ``python -m
anchor.ml.train``, against moto's S3 on loopback; serving is judged through ``LiveModel`` and
the ``failure-risk`` route.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import secrets
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import psycopg
import pytest
from anchor.core.config import Settings
from anchor.core.ids import new_id, ulid
from anchor.migrations import upgrade
from anchor.ml import serving, store, train
from anchor.ml.features import AttemptRow, EndpointHistory

from course.anchor import anchor_env

LESSON = "weeks/15-anchor-ship/README.md"
BUCKET = "anchor-models-week15"
PREFIX = "models/endpoint-failure"
REGIMES = ("healthy", "flaky", "outages", "degrading")
ENDPOINTS_PER_REGIME = 8
SEEN, FUTURE = 300, 100  # attempts per endpoint: written to the database / kept back
DAYS = 6
SEED = 1515
# "Beats the baseline", on the kept-back future. The reference measures about 0.83 of the
# baseline's log-loss and 0.14 more AUC on this log; the margins leave room for any sound model.
MAX_LOG_LOSS_RATIO = 0.9
MIN_AUC_GAIN = 0.04
COPY_ATTEMPTS = ("COPY attempts (id, tenant_id, app_id, message_id, endpoint_id, delivery_id, url, status, "
                 "response_status_code, duration_ms, error_class, created_at, response_body, trigger) "
                 "FROM STDIN")


# --------------------------------------------------------------------------- the synthetic log

@dataclass(frozen=True)
class Endpoint:
    id: str
    regime: str
    seen: list[AttemptRow]
    future: list[AttemptRow]


def _attempts(regime: str, n: int, start: datetime, rng: np.random.Generator) -> list[AttemptRow]:
    """``n`` consecutive attempts of one endpoint in ``regime``, a few minutes apart, from ``start``."""
    if regime == "healthy":
        failed = rng.random(n) < 0.03
    elif regime == "flaky":
        failed = rng.random(n) < rng.uniform(0.25, 0.45)
    elif regime == "outages":  # long up spells, long down spells: the last outcome is a good guess
        failed = np.zeros(n, dtype=bool)
        down = False
        for i in range(n):
            down = (rng.random() < 0.85) if down else (rng.random() < 0.04)
            failed[i] = rng.random() < (0.92 if down else 0.04)
    else:  # degrading: failures grow over the endpoint's whole life, future included
        failed = rng.random(n) < np.linspace(0.02, 0.8, n)
    gaps = rng.exponential(DAYS * 86400 / n, n)
    rows = []
    at = start
    for i in range(n):
        at += timedelta(seconds=float(gaps[i]))
        kind = str(rng.choice(["http", "timeout", "connect"])) if failed[i] else "ok"
        rows.append(AttemptRow(created_at=at, failed=bool(failed[i]),
                               response_status_code={"ok": 200, "http": 503}.get(kind),
                               duration_ms=(15000 if kind == "timeout"
                                            else int(rng.lognormal(math.log(80), 0.3))),
                               error_class=None if kind in ("ok", "http") else kind))
    return rows


def _seed_log(url: str, start: datetime) -> tuple[str, str, list[Endpoint]]:
    """A tenant, an application and its endpoints, with every endpoint's seen attempts in ``attempts``."""
    rng = np.random.default_rng(SEED)
    tenant, app, message = new_id("org"), new_id("app"), new_id("msg")
    endpoints = []
    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("INSERT INTO tenants (id, name) VALUES (%s, 'week15')", (tenant,))
        cursor.execute("INSERT INTO applications (id, tenant_id, name) VALUES (%s, %s, 'shop')",
                       (app, tenant))
        cursor.execute("INSERT INTO messages (id, tenant_id, app_id, event_type, payload) "
                       "VALUES (%s, %s, %s, 'order.paid', '{}')", (message, tenant, app))
        for regime in REGIMES:
            for _ in range(ENDPOINTS_PER_REGIME):
                rows = _attempts(regime, SEEN + FUTURE, start, rng)
                endpoint = Endpoint(new_id("ep"), regime, rows[:SEEN], rows[SEEN:])
                endpoints.append(endpoint)
                delivery = new_id("dlv")
                cursor.execute("INSERT INTO endpoints (id, tenant_id, app_id, url, description, version) "
                               "VALUES (%s, %s, %s, %s, '', 1)",
                               (endpoint.id, tenant, app, f"https://{regime}.example.com/hook"))
                cursor.execute("INSERT INTO deliveries (id, tenant_id, app_id, message_id, endpoint_id) "
                               "VALUES (%s, %s, %s, %s, %s)", (delivery, tenant, app, message, endpoint.id))
                with cursor.copy(COPY_ATTEMPTS) as copy:
                    for row in endpoint.seen:
                        # An attempt's id is made when it happens: ULIDs sort by time.
                        attempt_id = f"atmpt_{ulid(int(row.created_at.timestamp() * 1000))}"
                        copy.write_row((attempt_id, tenant, app, message, endpoint.id, delivery,
                                        "https://example.com", "failed" if row.failed else "succeeded",
                                        row.response_status_code, row.duration_ms, row.error_class,
                                        row.created_at, "", "scheduled"))
    return tenant, app, endpoints


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def anchor_url(database_url: str) -> str:
    """The week's database with the anchor's schema (its own migrations)."""
    upgrade(database_url)
    return database_url


@pytest.fixture(scope="module")
def seeded(anchor_url: str) -> tuple[str, str, list[Endpoint]]:
    # Ends an hour ago, so "now" at training time is after every attempt and the 30-day look-back
    # of the job covers them all.
    start = datetime.now(UTC) - timedelta(days=DAYS + 2)
    return _seed_log(anchor_url, start)


@pytest.fixture(scope="module")
def s3(aws: Callable[[str], Any]) -> Any:
    client = aws("s3")
    client.create_bucket(Bucket=BUCKET)
    client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return client


@pytest.fixture(scope="module")
def settings(anchor_url: str, redis_server_url: str) -> Settings:
    return Settings(database_url=anchor_url, redis_url=redis_server_url, jwt_secret=secrets.token_urlsafe(48),
                    log_json=False)


@pytest.fixture(scope="module")
def trained(seeded: Any, settings: Settings, s3: Any, moto_url: str) -> dict[str, Any]:
    """The batch job, run as the stack's schedule runs it; its last output line, parsed if JSON."""
    env = os.environ | anchor_env(database_url=settings.database_url, redis_url=settings.redis_url,
                                  jwt_secret=settings.jwt_secret.get_secret_value()) | {
        "ANCHOR_ML_BUCKET": BUCKET, "ANCHOR_ML_S3_ENDPOINT_URL": moto_url, "ANCHOR_ML_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    done = subprocess.run([sys.executable, "-m", "anchor.ml.train"], env=env, capture_output=True, text=True,
                          timeout=180)
    if done.returncode != 0:
        pytest.fail(f"expected `python -m anchor.ml.train` to exit 0; it exited {done.returncode}:\n"
                    f"{(done.stdout + done.stderr)[-2500:]}\nLook at {LESSON}, section 'The training job'.",
                    pytrace=False)
    return {"output": done.stdout}


def _keys(s3: Any, prefix: str = PREFIX) -> set[str]:
    return {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])}


def _published_model(s3: Any) -> tuple[int, Any]:
    """The version ``latest`` points at, and its model, read by the layout the lesson fixes."""
    import io

    import joblib

    keys = _keys(s3)
    assert f"{PREFIX}/latest" in keys, (
        f"expected the job to publish {PREFIX}/latest (pointing at v1) in s3://{BUCKET}; the bucket "
        f"has {sorted(keys) or 'nothing'}. Look at {LESSON}, section 'Versioned artifacts'.")
    version = int(json.loads(s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/latest")["Body"].read())["version"])
    blob = s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/v{version}/model.joblib")["Body"].read()
    return version, joblib.load(io.BytesIO(blob))


def _scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import log_loss, roc_auc_score

    p = np.clip(p, 1e-6, 1 - 1e-6)
    return {"log_loss": float(log_loss(y, p, labels=[0, 1])), "roc_auc": float(roc_auc_score(y, p))}


def _on_the_future(model: Any, endpoints: list[Endpoint]) -> tuple[dict[str, float], dict[str, float]]:
    """The model's and the last-outcome baseline's scores on the kept-back attempts.

    The baseline is fitted on the seen attempts: P(fail | the previous attempt failed / succeeded).
    """
    pairs = [(a.failed, b.failed) for e in endpoints for a, b in zip(e.seen, e.seen[1:], strict=False)]
    after = {state: (sum(nxt for last, nxt in pairs if last is state) + 1)
             / (sum(1 for last, _ in pairs if last is state) + 2) for state in (True, False)}
    xs, ys, base = [], [], []
    for endpoint in endpoints:
        history = EndpointHistory()
        for row in endpoint.seen:
            history.add(row)
        for row in endpoint.future:
            xs.append(history.features())
            base.append(after[bool(history.last_failed)])
            ys.append(int(row.failed))
            history.add(row)
    y = np.asarray(ys)
    return _scores(y, model.predict_proba(np.asarray(xs))[:, 1]), _scores(y, np.asarray(base))


# --------------------------------------------------------------------------- the job

def test_the_model_beats_the_last_outcome_baseline_on_the_future(trained: dict[str, Any], seeded: Any,
                                                                 s3: Any) -> None:
    _, _, endpoints = seeded
    version, model = _published_model(s3)
    assert hasattr(model, "predict_proba"), (
        f"expected v{version}/model.joblib to hold a fitted classifier with predict_proba; got {type(model)}")
    ours, baseline = _on_the_future(model, endpoints)
    print(f"\nthe future ({len(endpoints) * FUTURE} attempts the job never saw), published v{version}:"
          f"\n  model         log-loss {ours['log_loss']:.4f}  ROC AUC {ours['roc_auc']:.4f}"
          f"\n  last outcome  log-loss {baseline['log_loss']:.4f}  ROC AUC {baseline['roc_auc']:.4f}")
    ratio = ours["log_loss"] / baseline["log_loss"]
    assert ratio <= MAX_LOG_LOSS_RATIO and ours["roc_auc"] - baseline["roc_auc"] >= MIN_AUC_GAIN, (
        f"expected the published model to beat 'the next attempt goes like the last one' on later "
        f"attempts: log-loss at most {MAX_LOG_LOSS_RATIO} of the baseline's and ROC AUC {MIN_AUC_GAIN} "
        f"above it; got log-loss {ours['log_loss']:.4f} vs {baseline['log_loss']:.4f} (ratio {ratio:.2f}), "
        f"AUC {ours['roc_auc']:.4f} vs {baseline['roc_auc']:.4f}. Look at {LESSON}, section "
        "'Beating the baseline'.")


def test_the_split_trains_only_on_the_past(seeded: Any) -> None:
    _, _, endpoints = seeded
    data = train.build_dataset({e.id: e.seen for e in endpoints})
    assert len(data) == len(endpoints) * SEEN, (
        f"expected one sample per attempt ({len(endpoints) * SEEN}); got {len(data)}")
    past, future, _ = train.time_split(data, 0.2)
    assert len(past) + len(future) == len(data) and 0.1 * len(data) <= len(future) <= 0.3 * len(data), (
        f"expected about a fifth of the samples held out; got {len(past)} / {len(future)}")
    assert past.at.max() < future.at.min(), (
        f"expected every training sample earlier than every held-out one; "
        f"{int((past.at >= future.at.min()).sum())} training samples come after the first held-out "
        "one. A random split over a time-ordered log lets the model learn from the future it is "
        "scored on: the score is a flattering lie that production never repeats. Look at "
        f"{LESSON}, section 'A split in time'.")


def test_a_new_version_never_overwrites_the_last(trained: dict[str, Any], s3: Any) -> None:
    version, model = _published_model(s3)
    models = store.ModelStore(s3, BUCKET, PREFIX)
    before = s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/v{version}/model.joblib")["Body"].read()
    newer = models.publish(model, {"name": "endpoint-failure", "note": "a second run"})
    keys = _keys(s3)
    expected = {f"{PREFIX}/v{v}/{name}" for v in (version, newer)
                for name in ("model.joblib", "metadata.json")}
    assert newer == version + 1 and expected <= keys, (
        f"expected publishing again to add v{version + 1} beside v{version}; publish returned {newer!r} "
        f"and the bucket holds {sorted(keys)}. Look at {LESSON}, section 'Versioned artifacts'.")
    after = s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/v{version}/model.joblib")["Body"].read()
    assert after == before, (
        f"expected v{version}/model.joblib untouched by the next run; it changed. A version overwritten in "
        "place cannot be rolled back to, and a reader mid-download gets half of each.")
    pointer = json.loads(s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/latest")["Body"].read())
    assert pointer.get("version") == newer, f"expected latest → v{newer}; got {pointer}"


# --------------------------------------------------------------------------- serving

def test_the_model_is_loaded_once_not_per_request(trained: dict[str, Any], s3: Any) -> None:
    live = serving.LiveModel(store.ModelStore(s3, BUCKET, PREFIX), poll_interval_s=3600)
    first = asyncio.run(live.current())
    assert first is not None, f"expected LiveModel to load the published version; got None. Look at {LESSON}."
    again = [asyncio.run(live.current()) for _ in range(3)]
    assert all(model is first for model in again), (
        "expected the same loaded model for every request within the poll interval; got a new one "
        f"each time ({len({id(m) for m in again})} distinct of 3). Loading per request downloads and "
        "unpickles the model on every call: slow, and the endpoint dies with the bucket. Look at "
        f"{LESSON}, section 'Loaded once, swapped without a restart'.")


def test_the_route_picks_up_a_new_version_without_a_restart(trained: dict[str, Any], seeded: Any,
                                                            settings: Settings, s3: Any) -> None:
    from anchor.core.security import create_access_token
    from anchor.main import create_app
    from anchor.ml.routes import router
    from anchor.ml.settings import MLSettings
    from fastapi.testclient import TestClient

    tenant, app_id, endpoints = seeded
    models = store.ModelStore(s3, BUCKET, PREFIX)
    app = create_app(settings)
    app.include_router(router)
    app.state.failure_model = serving.LiveModel(models, poll_interval_s=0)
    app.state.ml_settings = MLSettings(bucket=BUCKET, poll_interval_s=0)
    token = create_access_token(user_id=new_id("user"), tenant_id=tenant,
                                secret=settings.jwt_secret.get_secret_value(), ttl_s=600)
    by_regime = {e.regime: e for e in endpoints}
    with TestClient(app) as client:
        def risk(endpoint: Endpoint) -> dict[str, Any]:
            answer = client.get(f"/api/v1/app/{app_id}/endpoint/{endpoint.id}/failure-risk",
                                headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 200, (
                f"expected 200 from failure-risk; got {answer.status_code} {answer.text[:300]}. Look at "
                f"{LESSON}, section 'Loaded once, swapped without a restart'.")
            return dict(answer.json())

        healthy = risk(by_regime["healthy"])
        degrading = risk(by_regime["degrading"])
        assert healthy["probability"] < degrading["probability"], (
            f"expected a healthy endpoint's risk below a degrading one's; got {healthy} and {degrading}")
        current = healthy["modelVersion"]
        newer = models.publish(models.load(current)[0], {"name": "endpoint-failure", "note": "nightly"})
        assert risk(by_regime["healthy"])["modelVersion"] == newer, (
            f"expected the route to serve v{newer} once it is published, without a restart; it still "
            f"serves v{current}. Look at {LESSON}, section 'Loaded once, swapped without a restart'.")
