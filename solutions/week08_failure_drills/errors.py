"""The one exception the service raises on purpose, and how its wait becomes a header."""

from __future__ import annotations

import math


class Unavailable(Exception):
    """A designed failure: a dependency is down, try again in ``retry_after_s`` seconds (a 503)."""

    def __init__(self, reason: str, retry_after_s: float = 1.0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s


def retry_after_header(retry_after_s: float) -> str:
    """``Retry-After`` takes whole seconds: round up, and never say 0 (that invites a stampede)."""
    return str(max(1, math.ceil(retry_after_s)))
