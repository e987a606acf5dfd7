"""One HTTP attempt to one endpoint: SSRF-checked at connect time, pinned, timed, classified.

Write it (week 14). Check the address *when connecting*: resolve the name, refuse it if any
address is private (``ssrf.is_allowed``), connect to the checked IP with the name in the
``Host`` header and TLS SNI (``extensions={"sni_hostname": host}``), follow no redirect. Never
raise for the receiver's trouble: every way an attempt goes wrong is an :class:`Outcome` with an
``error_class`` — dns, connect, tls, timeout, http, ssrf — and a detail a person can act on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .ssrf import IPAddress, Network

USER_AGENT = "anchor/1.0 (+https://www.standardwebhooks.com/)"


@dataclass(frozen=True)
class Outcome:
    """What one attempt did. ``status_code`` is ``None`` when no answer came back."""

    succeeded: bool
    status_code: int | None
    body: str  # at most body_max_bytes of the answer
    duration_ms: int
    error_class: str | None  # dns|connect|tls|timeout|http|ssrf; None on success
    detail: str | None
    retry_after_s: float | None = None

    @property
    def outcome(self) -> str:
        """The metric label: ``success`` or the error class."""
        return self.error_class or "success"

    @property
    def slow_down(self) -> bool:
        """A 429 or a timeout: the receiver is overloaded, so the retry waits longer."""
        return self.status_code == 429 or self.error_class == "timeout"


async def checked_address(url: str, allowed: Sequence[Network]) -> IPAddress:
    """The address to connect to for ``url``: every resolved address checked, one returned.

    ``LookupError`` when the name does not resolve, ``ssrf.UnsafeUrl`` when any address is refused.
    """
    raise NotImplementedError("write it: see weeks/14-anchor-jobs/README.md, section 'The attempt log'")


class Sender:
    """Makes attempts with pooled keep-alive HTTP clients (``httpx.AsyncClient``); one per worker."""

    def __init__(self, *, timeout_s: float, body_max_bytes: int, allowed: Sequence[Network],
                 max_connections: int) -> None:
        raise NotImplementedError("write it: see weeks/14-anchor-jobs/README.md, section 'The attempt log'")

    async def aclose(self) -> None:
        raise NotImplementedError("write it: see weeks/14-anchor-jobs/README.md, section 'The attempt log'")

    async def send(self, url: str, headers: dict[str, str], body: bytes) -> Outcome:
        """POST ``body`` to ``url`` once; the answer, or the classified reason there was none."""
        raise NotImplementedError("write it: see weeks/14-anchor-jobs/README.md, section 'The attempt log'")
