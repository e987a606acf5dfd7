"""Features of an endpoint's recent attempt history — one implementation for training and serving.

:class:`EndpointHistory` folds attempts in time order and answers, at any point, the feature
vector *before* the next attempt. Training walks each endpoint's log and pairs every attempt with
the features that preceded it (label: that attempt failed); serving folds the latest
``history_limit`` attempts and asks once. Computing both from the same class is what rules out
train/serve skew, the classic silent bug of a model that looks good offline and is wrong online.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from datetime import datetime

WINDOWS = (5, 20, 100)  # attempts: the last few react to an outage, the last hundred give the rate
# Every feature depends on the last HORIZON attempts only (streak and count are capped there), so
# serving, which reads HORIZON attempts, computes exactly what training computed on a long log.
HORIZON = max(WINDOWS)
NETWORK_ERRORS = frozenset({"dns", "connect", "tls", "timeout", "ssrf"})

FEATURE_NAMES: tuple[str, ...] = (
    *(f"fail_rate_last_{n}" for n in WINDOWS),
    "last_failed",
    "last_2xx",
    "last_4xx",
    "last_5xx",
    "last_network_error",
    "consecutive_failures_log",
    "last_duration_log_ms",
    "mean_duration_log_ms_last_20",
    "history_log",
)


@dataclass(frozen=True)
class AttemptRow:
    """The columns of ``attempts`` the features read."""

    created_at: datetime
    failed: bool
    response_status_code: int | None
    duration_ms: int
    error_class: str | None


class EndpointHistory:
    """The running state of one endpoint's attempts, oldest first."""

    def __init__(self) -> None:
        self._outcomes: deque[bool] = deque(maxlen=max(WINDOWS))
        self._durations: deque[float] = deque(maxlen=20)
        self._last: AttemptRow | None = None
        self._consecutive_failures = 0
        self._count = 0

    def add(self, attempt: AttemptRow) -> None:
        self._outcomes.append(attempt.failed)
        self._durations.append(math.log1p(max(attempt.duration_ms, 0)))
        self._consecutive_failures = self._consecutive_failures + 1 if attempt.failed else 0
        self._last = attempt
        self._count += 1

    def features(self) -> list[float]:
        """The vector in :data:`FEATURE_NAMES` order. With no history every rate is 0 and
        ``history_log`` is 0, which the model learns to read as "new endpoint"."""
        outcomes = list(self._outcomes)
        rates = [sum(outcomes[-n:]) / len(outcomes[-n:]) if outcomes else 0.0 for n in WINDOWS]
        last = self._last
        code = last.response_status_code if last is not None else None
        return [
            *rates,
            float(last is not None and last.failed),
            float(code is not None and 200 <= code < 300),
            float(code is not None and 400 <= code < 500),
            float(code is not None and code >= 500),
            float(last is not None and last.error_class in NETWORK_ERRORS),
            math.log1p(min(self._consecutive_failures, HORIZON)),
            self._durations[-1] if self._durations else 0.0,
            sum(self._durations) / len(self._durations) if self._durations else 0.0,
            math.log1p(min(self._count, HORIZON)),
        ]

    @property
    def last_failed(self) -> bool | None:
        """The naive baseline's only input: did the previous attempt fail (None before any)."""
        return None if self._last is None else self._last.failed
