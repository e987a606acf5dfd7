"""The one exception the service raises on purpose: a dependency is down, try again later."""

from __future__ import annotations


class Unavailable(Exception):
    """A designed failure: answered as 503 with ``Retry-After: retry_after_s``."""

    def __init__(self, reason: str, retry_after_s: int = 1) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = max(1, retry_after_s)
