"""Lab: the inference service preview (batching.py, inference.py in labs/week11_design_practice/).

A real scikit-learn model, trained here on generated data and saved with its version, served by
your app on a loopback port: loaded once, ready only when loaded, micro-batched, time-limited.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from labs.week11_design_practice.batching import InferenceTimeout, MicroBatcher
from labs.week11_design_practice.inference import create_app
from labs.week11_design_practice.model import LoadedModel, load_model, make_data, save_model, train_model

LESSON = "weeks/11-design-practice/README.md, section"
Serving = Callable[..., AbstractContextManager[str]]


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "model.joblib"
    return save_model(train_model(2_000), path, version="2026.03.1")


@dataclass
class Watched:
    """A loader that counts its calls and wraps the model to record every batch it is given."""

    path: Path
    gate: threading.Event = field(default_factory=threading.Event)
    model_delay_s: float = 0.0
    loads: int = 0
    batches: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.gate.set()

    def __call__(self) -> LoadedModel:
        self.loads += 1
        self.gate.wait(timeout=30)
        real = load_model(self.path)
        watched = self

        class Recording:
            def predict_proba(self, rows):
                watched.batches.append(len(rows))
                if watched.model_delay_s:
                    time.sleep(watched.model_delay_s)
                return real.model.predict_proba(rows)

        return LoadedModel(Recording(), real.version, real.n_features)


def rows(n: int) -> list[list[float]]:
    features, _ = make_data(max(n, 10), seed=99)
    return [list(map(float, row)) for row in features[:n]]


async def post_all(url: str, bodies: list[dict[str, object]], timeout_s: float = 30) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, timeout=timeout_s) as client:
        return await asyncio.gather(*(client.post("/v1/predict", json=body) for body in bodies))


def wait_ready(url: str, timeout_s: float = 20) -> httpx.Response:
    """Poll /readyz while it says 503 (loading); any other answer ends the wait."""
    deadline = time.monotonic() + timeout_s
    while True:
        answer = httpx.get(f"{url}/readyz", timeout=5)
        if answer.status_code != 503 or time.monotonic() > deadline:
            return answer
        time.sleep(0.05)


def test_readyz_is_503_until_the_model_is_loaded(model_path: Path, serving_factory: Serving) -> None:
    loader = Watched(model_path)
    loader.gate.clear()
    with serving_factory(create_app(load_model=loader)) as url:
        try:
            assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200, (
                "/healthz answers 200 while the model loads: the process is alive, just not ready")
            for path, method in (("/readyz", "GET"), ("/v1/predict", "POST")):
                answer = httpx.request(method, f"{url}{path}", json={"features": rows(1)[0]}, timeout=5)
                assert answer.status_code == 503 and answer.headers.get("retry-after", "").isdigit(), (
                    f"{method} {path} while the model is still loading: expected 503 with Retry-After; "
                    f"got {answer.status_code} {answer.text[:160]} — see {LESSON} 'Readiness and timeouts'")
            assert "model" in httpx.get(f"{url}/readyz", timeout=5).text, (
                "a 503 from /readyz names what is missing: model")
        finally:
            # Let the load finish even when a check failed: the server's shutdown waits for the
            # loading thread, and a held gate would keep it (and the run) waiting 30 s.
            loader.gate.set()
        ready = wait_ready(url)
        assert ready.status_code == 200 and ready.json().get("model_version") == "2026.03.1", (
            f"once loaded, /readyz is 200 and names the model version it serves; got {ready.status_code} "
            f"{ready.text}")


def test_the_model_is_loaded_once(model_path: Path, serving_factory: Serving) -> None:
    loader = Watched(model_path)
    with serving_factory(create_app(load_model=loader)) as url:
        assert wait_ready(url).status_code == 200, "the service never became ready"
        answers = asyncio.run(post_all(url, [{"features": row} for row in rows(20)]))
        refused = [a.text for a in answers if a.status_code != 200]
        assert not refused, f"every prediction must succeed once ready; got {refused[:2]}"
    assert loader.loads == 1, (
        f"20 predictions made the service load the model {loader.loads} times: load it once, in the "
        "lifespan, and "
        f"keep it on app.state — see {LESSON} 'Readiness and timeouts'")


def test_every_caller_gets_its_own_rows_answer(model_path: Path, serving_factory: Serving) -> None:
    loader = Watched(model_path)
    reference = load_model(model_path)
    inputs = rows(48)
    with serving_factory(create_app(load_model=loader, max_batch_size=16, max_wait_ms=50)) as url:
        assert wait_ready(url).status_code == 200
        answers = asyncio.run(post_all(url, [{"features": row} for row in inputs]))
    expected = reference.predict_proba(inputs)
    for row_number, (answer, want) in enumerate(zip(answers, expected, strict=True)):
        assert answer.status_code == 200, f"row {row_number}: {answer.status_code} {answer.text[:160]}"
        got = answer.json()
        assert got["probability"] == pytest.approx(want) and got["model_version"] == "2026.03.1", (
            f"row {row_number} got probability {got['probability']}, but the model says {want} for that row: "
            f"batched answers went to the wrong callers — see {LESSON} 'Micro-batching inference'")
    assert max(loader.batches) > 1, f"48 concurrent requests were never batched: batch sizes {loader.batches}"


def test_batches_hold_at_most_n_and_a_lone_request_is_not_kept_waiting(model_path: Path) -> None:
    loaded = load_model(model_path)
    sizes: list[int] = []

    def predict_batch(batch: list[list[float]]) -> list[float]:
        sizes.append(len(batch))
        return loaded.predict_proba(batch)

    async def scenario() -> float:
        batcher: MicroBatcher[list[float], float] = MicroBatcher(predict_batch, max_batch_size=8,
                                                                  max_wait_ms=50)
        await batcher.start()
        try:
            await asyncio.gather(*(batcher.predict(row, timeout_s=30) for row in rows(40)))
            return await batcher.predict(rows(1)[0], timeout_s=5)
        finally:
            await batcher.stop()

    try:
        lone = asyncio.run(scenario())
    except InferenceTimeout:
        pytest.fail("a lone request (max_wait_ms=50) got no answer within 5 s: the collector waited for a "
                    f"full batch. A batch closes at N rows OR T ms after its first row — see {LESSON} "
                    "'Micro-batching inference'", pytrace=False)
    assert 0.0 <= lone <= 1.0
    assert sizes and max(sizes[:-1]) <= 8 and sizes[-1] == 1, (
        "max_batch_size=8: no batch may hold more than 8 rows, and the lone request is a batch of 1; got "
        f"{sizes}")
    assert sum(sizes) == 41 and max(sizes) > 1, f"40 + 1 rows should arrive in a few batches; got {sizes}"


def test_a_slow_model_answers_503_at_the_timeout(model_path: Path, serving_factory: Serving) -> None:
    loader = Watched(model_path, model_delay_s=1.5)
    with serving_factory(create_app(load_model=loader, timeout_s=0.2)) as url:
        assert wait_ready(url).status_code == 200
        answer = httpx.post(f"{url}/v1/predict", json={"features": rows(1)[0]}, timeout=30)
        assert answer.status_code == 503 and answer.headers.get("retry-after", "").isdigit(), (
            f"the model takes 1.5 s and the request's timeout is 0.2 s: expected 503 with Retry-After; got "
            f"{answer.status_code} {answer.text[:160]} — see {LESSON} 'Readiness and timeouts'")
        assert answer.headers.get("content-type", "").startswith("application/problem+json")
        wrong = httpx.post(f"{url}/v1/predict", json={"features": [1.0, 2.0]}, timeout=30)
        is_problem = wrong.headers.get("content-type", "").startswith("application/problem+json")
        assert wrong.status_code == 422 and is_problem, (
            f"2 features for an 8-feature model: expected a 422 problem; got {wrong.status_code}")


def test_batching_multiplies_throughput(model_path: Path) -> None:
    """Same run, same model, same 256 requests: batches of up to 32 against batches of 1."""
    loaded = load_model(model_path)
    inputs = rows(256)

    async def throughput(max_batch_size: int) -> float:
        batcher: MicroBatcher[list[float], float] = MicroBatcher(
            loaded.predict_proba, max_batch_size=max_batch_size, max_wait_ms=2)
        await batcher.start()
        try:
            started = time.perf_counter()
            await asyncio.gather(*(batcher.predict(row, timeout_s=60) for row in inputs))
            return len(inputs) / (time.perf_counter() - started)
        finally:
            await batcher.stop()

    single = max(asyncio.run(throughput(1)) for _ in range(3))
    batched = max(asyncio.run(throughput(32)) for _ in range(3))
    assert batched >= 2 * single, (
        f"batches of up to 32 served {batched:.0f} predictions/s, batches of 1 {single:.0f}/s: expected at "
        "least "
        "2× (typically 10×+). Call predict_batch once per batch with every row, not once per row — see "
        f"{LESSON} "
        "'Micro-batching inference'")
