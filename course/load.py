"""A small, bounded load generator for drills: real HTTP requests from threads, on loopback.

A failure drill is only as honest as the load pushed through it: several clients at once, each
request timed, every answer (or non-answer) kept. :class:`Load` does that and nothing more::

    load = Load(service.url, lambda client, n: ("GET", f"/items/{ids[n % len(ids)]}", None))
    with load:                      # threads start sending
        time.sleep(0.5)
    report = load.report()          # what every client saw
    report.statuses()               # Counter({200: 187, 503: 12})
    report.p99_s                    # the 99th percentile latency, in seconds

Every run is bounded three ways, so a drill can never hang a test run: by time (``max_duration_s``,
after which no request starts), by count (``max_requests`` over all clients) and per request
(``timeout_s``, after which it counts as "no answer"). Targets must be on loopback: this is a tool
for testing your own processes, never anyone else's.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import urlsplit

import httpx

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})

Request = tuple[str, str, dict[str, Any] | None]
"""What a load client sends next: ``(method, path, json body or None)``."""

MakeRequest = Callable[[int, int], Request]
"""``make(client, n)`` → the ``n``-th request (0, 1, …) of client number ``client``."""


def percentile(values: Iterable[float], q: float) -> float:
    """The nearest-rank ``q`` quantile (``q`` in (0, 1]) of ``values``; NaN when there are none.

    Nearest rank, not interpolation: the answer is always a latency some request really had.
    """
    if not 0 < q <= 1:
        raise ValueError(f"q must be in (0, 1]; got {q}")
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def check_loopback(url: str) -> str:
    """``url`` unchanged if it names a loopback host; ``ValueError`` otherwise."""
    host = urlsplit(url).hostname
    if host not in LOOPBACK:
        raise ValueError(f"load is only driven at loopback (127.0.0.1, localhost, ::1); got {url!r}")
    return url


@dataclass(frozen=True)
class Outcome:
    """One request, as the client saw it."""

    method: str
    path: str
    started: float  # time.monotonic() when it was sent
    seconds: float
    status: int | None  # None: no answer within the timeout, or the connection failed
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names
    body: Any = None  # parsed JSON, or the text when it is not JSON
    error: str = ""  # the exception's type name when there was no answer

    @property
    def finished(self) -> float:
        """``time.monotonic()`` when the answer (or the failure) arrived."""
        return self.started + self.seconds

    def describe(self) -> str:
        """One line for a failure message: ``GET /items/1 → 503 in 0.02s {"detail": …}``."""
        what = self.status if self.status is not None else f"no answer ({self.error})"
        return f"{self.method} {self.path} → {what} in {self.seconds:.2f}s {str(self.body)[:120]}"


class LoadClient:
    """One HTTP client on a loopback service; a fresh connection per request.

    No keep-alive on purpose: after a 500 or a cut, a server may close a pooled connection, and
    the next request must not inherit that as a mysterious error.
    """

    def __init__(self, base_url: str, *, timeout_s: float = 5.0) -> None:
        self.base_url = check_loopback(base_url)
        self.timeout_s = timeout_s
        self._http = httpx.Client(base_url=base_url, timeout=timeout_s,
                                  limits=httpx.Limits(max_keepalive_connections=0))

    def request(self, method: str, path: str, *, json: dict[str, Any] | None = None,
                headers: dict[str, str] | None = None) -> Outcome:
        """Send one request and return its :class:`Outcome`; never raises for a network failure."""
        started = time.monotonic()
        try:
            response = self._http.request(method, path, json=json, headers=headers)
        except httpx.HTTPError as exc:
            return Outcome(method, path, started, time.monotonic() - started, None, error=type(exc).__name__)
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        return Outcome(method, path, started, time.monotonic() - started, response.status_code,
                       {k.lower(): v for k, v in response.headers.items()}, body)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass(frozen=True)
class LoadReport:
    """Every outcome of a run (or of one phase of it), with the numbers a drill asks for."""

    outcomes: tuple[Outcome, ...]

    def __len__(self) -> int:
        return len(self.outcomes)

    def statuses(self) -> Counter[int | None]:
        """How many requests got each status (``None``: no answer)."""
        return Counter(o.status for o in self.outcomes)

    @property
    def latencies_s(self) -> list[float]:
        return [o.seconds for o in self.outcomes]

    def percentile_s(self, q: float) -> float:
        return percentile(self.latencies_s, q)

    @property
    def p50_s(self) -> float:
        return self.percentile_s(0.5)

    @property
    def p99_s(self) -> float:
        return self.percentile_s(0.99)

    def outside(self, allowed: Iterable[int]) -> list[Outcome]:
        """The outcomes whose status is not in ``allowed`` (a missing answer never is)."""
        allowed = set(allowed)
        return [o for o in self.outcomes if o.status not in allowed]

    def without_retry_after(self, statuses: Iterable[int] = (429, 503)) -> list[Outcome]:
        """Answers with one of ``statuses`` that lack a ``Retry-After: <whole seconds>`` header."""
        wanted = set(statuses)
        return [o for o in self.outcomes
                if o.status in wanted and not o.headers.get("retry-after", "").isdigit()]

    def started_between(self, start: float, end: float = math.inf) -> LoadReport:
        """The requests sent in ``[start, end)`` (``time.monotonic()`` values): one phase of a drill."""
        return LoadReport(tuple(o for o in self.outcomes if start <= o.started < end))

    def summary(self) -> str:
        """``120 requests: 200×110, 503×10; p50 0.004s, p99 0.251s`` — for messages and notebooks."""
        if not self.outcomes:
            return "0 requests"
        ordered = sorted(self.statuses().items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
        counts = ", ".join(f"{'no answer' if s is None else s}×{n}" for s, n in ordered)
        return f"{len(self)} requests: {counts}; p50 {self.p50_s:.3f}s, p99 {self.p99_s:.3f}s"


class Load:
    """``clients`` threads sending ``make(client, n)`` requests at a loopback service until stopped.

    Bounded: no request starts after ``max_duration_s`` or once ``max_requests`` have been sent,
    and each one gives up after ``timeout_s``. Every request carries a fresh ``X-Client-Id`` unless
    ``client_id`` says otherwise, so a per-client rate limit only bites tests that mean it to.
    """

    def __init__(self, base_url: str, make: MakeRequest, *, clients: int = 4, max_duration_s: float = 10.0,
                 max_requests: int = 5_000, timeout_s: float = 5.0,
                 client_id: Callable[[int, int], str] | None = None) -> None:
        if clients < 1 or max_duration_s <= 0 or max_requests < 1 or timeout_s <= 0:
            raise ValueError("need clients >= 1, max_duration_s > 0, max_requests >= 1 and timeout_s > 0")
        self.base_url = check_loopback(base_url)
        self.make = make
        self.clients = clients
        self.max_duration_s = max_duration_s
        self.max_requests = max_requests
        self.timeout_s = timeout_s
        self.client_id = client_id or (lambda _client, _n: f"load-{uuid.uuid4()}")
        self._outcomes: list[Outcome] = []
        self._lock = threading.Lock()
        self._sent = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.started_at: float | None = None

    def start(self) -> Self:
        if self._threads:
            raise RuntimeError("this load has already been started")
        self.started_at = time.monotonic()
        self._threads = [threading.Thread(target=self._client, args=(i,), name=f"load-{i}", daemon=True)
                         for i in range(self.clients)]
        for thread in self._threads:
            thread.start()
        return self

    def _take_ticket(self) -> bool:
        with self._lock:
            if self._sent >= self.max_requests:
                return False
            self._sent += 1
            return True

    def _client(self, index: int) -> None:
        assert self.started_at is not None
        deadline = self.started_at + self.max_duration_s
        with LoadClient(self.base_url, timeout_s=self.timeout_s) as http:
            for n in range(self.max_requests):
                if self._stop.is_set() or time.monotonic() >= deadline or not self._take_ticket():
                    return
                method, path, body = self.make(index, n)
                outcome = http.request(method, path, json=body,
                                       headers={"X-Client-Id": self.client_id(index, n)})
                with self._lock:
                    self._outcomes.append(outcome)

    def snapshot(self) -> LoadReport:
        """What has been answered so far, while the load keeps running."""
        with self._lock:
            return LoadReport(tuple(self._outcomes))

    def stop(self) -> LoadReport:
        """Stop sending, wait for requests in flight (each bounded by ``timeout_s``), and report."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.timeout_s + 5)
        return self.report()

    def report(self) -> LoadReport:
        """Every outcome, in the order the answers arrived."""
        return self.snapshot()

    @property
    def running(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    def wait(self) -> LoadReport:
        """Wait until the load ends by itself (its time or count bound) and report."""
        for thread in self._threads:
            thread.join(timeout=self.max_duration_s + self.timeout_s + 5)
        return self.report()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def run_load(base_url: str, make: MakeRequest, *, duration_s: float, clients: int = 4,
             max_requests: int = 5_000, timeout_s: float = 5.0,
             client_id: Callable[[int, int], str] | None = None) -> LoadReport:
    """Drive ``make`` at ``base_url`` for ``duration_s`` seconds (or ``max_requests``) and report."""
    load = Load(base_url, make, clients=clients, max_duration_s=duration_s, max_requests=max_requests,
                timeout_s=timeout_s, client_id=client_id)
    return load.start().wait()
