"""The log analyser, fast: one pass, one parse per line, hash lookups instead of list scans.

Each change answers a line of the profile of ``slow_logs.analyse``:

* ``_strptime`` dominated own time: the timestamp is fixed-width ISO-8601, so the hour is a
  slice of the string — no datetime is built at all;
* every line was parsed three times (one loop per metric): one loop now feeds every metric;
* ``client not in clients`` scanned a list (O(unique clients) per line, quadratic overall):
  a ``set`` answers in O(1).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable

from .loglines import Report

# Compiled once: ``re.sub(pattern, …)`` re-looks the pattern up in re's cache on every call.
NUMERIC_SEGMENT = re.compile(r"/[0-9]+")


def percentile(values: list[int], fraction: float) -> int:
    """Nearest-rank percentile, the same definition the slow analyser uses."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * round(fraction * 100) // 100))
    return ordered[rank - 1]


def analyse(lines: Iterable[str]) -> Report:
    """Summarise an access log; equal to ``slow_logs.analyse`` on every input, many times faster."""
    requests = 0
    clients: set[str] = set()
    status_counts: Counter[int] = Counter()
    errors_by_hour: Counter[str] = Counter()
    durations: defaultdict[str, list[int]] = defaultdict(list)
    endpoints: dict[tuple[str, str], str] = {}  # (method, path) → endpoint: ids repeat often

    for line in lines:
        fields = line.split()
        if not fields:
            continue
        stamp, client, method, path, status_text, duration = fields
        requests += 1
        clients.add(client)
        status = int(status_text)
        status_counts[status] += 1
        if status >= 500:
            errors_by_hour[stamp[:13]] += 1  # "2026-03-02T14:05:09Z"[:13] == "2026-03-02T14"
        key = (method, path)
        endpoint = endpoints.get(key)
        if endpoint is None:
            endpoint = endpoints[key] = f"{method} {NUMERIC_SEGMENT.sub('/{id}', path)}"
        durations[endpoint].append(int(duration))

    hits = sorted(((endpoint, len(values)) for endpoint, values in durations.items()),
                  key=lambda pair: (-pair[1], pair[0]))
    return Report(
        requests=requests,
        unique_clients=len(clients),
        status_counts=dict(sorted(status_counts.items())),
        top_endpoints=tuple(hits[:5]),
        p95_ms={endpoint: percentile(values, 0.95) for endpoint, values in sorted(durations.items())},
        errors_by_hour=dict(sorted(errors_by_hour.items())),
    )
