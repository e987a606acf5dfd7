"""When to stop delivering to an endpoint, and telling its tenant.

Write it (week 14). Two rules, each ending in ``endpoint.disabled`` for the tenant's operational
application (``events.emit``):

* **410 Gone** — disable at once, reason ``gone``;
* **sustained failure** — ``failing_since`` is set by the first failure after a success and
  cleared by the next success (which emits ``endpoint.recovered``); once
  ``now - failing_since >= disable_after_s``, disable, reason ``failing``. Time, not a count.

Endpoints of an operational application emit nothing (an event about the events' endpoint loops).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

GONE, FAILING = "gone", "failing"
TODO = "write it: see weeks/14-anchor-jobs/README.md, section 'Disabling endpoints'"


@dataclass(frozen=True)
class EndpointResult:
    """The last attempt's verdict for one endpoint in a batch of recorded attempts."""

    endpoint_id: str
    succeeded: bool
    gone: bool = False  # the receiver answered 410


async def apply(session: AsyncSession, results: Iterable[EndpointResult], *,
                disable_after_s: float, operational_endpoints: Mapping[str, bool]) -> list[str]:
    """Update ``failing_since``/``disabled`` for ``results`` in the caller's transaction; emit events.

    Returns the ids of the endpoints this call disabled.
    """
    raise NotImplementedError(TODO)


async def disable(session: AsyncSession, endpoint_id: str, reason: str, failing_since: datetime | None,
                  *, emit: bool = True) -> bool:
    """Disable the endpoint unless it already is (then ``False``: one ``endpoint.disabled`` only)."""
    raise NotImplementedError(TODO)
