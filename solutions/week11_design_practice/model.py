"""The model the inference service serves: trained on generated data, saved with its version.

Given complete. The notebook trains it and saves it (``models/churn-<version>.joblib``); the
tests train a copy in a temporary directory. An artifact carries its own version and feature
count, so a service can report what it serves (``/readyz``) and refuse inputs of the wrong shape.
Loading is what a real service does once, at start-up — it can take seconds for a big model.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

N_FEATURES = 8


def make_data(n_samples: int = 5_000, *, seed: int = 11) -> tuple[np.ndarray, np.ndarray]:
    """Generated rows (``N_FEATURES`` floats) and 0/1 labels — the same for the same seed."""
    features, labels = make_classification(n_samples=n_samples, n_features=N_FEATURES, n_informative=5,
                                           n_redundant=1, n_clusters_per_class=1, random_state=seed)
    return features, labels


def train_model(n_samples: int = 5_000, *, seed: int = 11) -> Pipeline:
    """Scaler + logistic regression: small, fast to train, and honest about its per-call overhead."""
    features, labels = make_data(n_samples, seed=seed)
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1_000)).fit(features, labels)


def save_model(model: Pipeline, path: Path, *, version: str) -> Path:
    """Write the model with its version, feature count and training time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump({"model": model, "version": version, "n_features": N_FEATURES,
                 "trained_at": dt.datetime.now(dt.UTC).isoformat()}, path)
    return path


@dataclass(frozen=True)
class LoadedModel:
    """A loaded artifact: ``predict_proba(rows)`` → the probability of class 1 for each row."""

    model: Any
    version: str
    n_features: int

    def predict_proba(self, rows: list[list[float]]) -> list[float]:
        return [float(p) for p in self.model.predict_proba(np.asarray(rows, dtype=float))[:, 1]]


def load_model(path: Path) -> LoadedModel:
    artifact = joblib.load(path)
    return LoadedModel(artifact["model"], artifact["version"], artifact["n_features"])
