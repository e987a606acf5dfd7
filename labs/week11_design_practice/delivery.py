"""Deliver one message to one endpoint: sign each attempt, classify the answer, retry or stop.

Your task — three functions:

* :func:`classify` — a status code (``None``: no answer) → 2xx ``DELIVERED``; 410 ``DISABLE``;
  anything else ``RETRY`` (3xx included: redirects are not followed).
* :func:`send_attempt` — one POST of ``message.body`` to ``endpoint.url``, signed afresh with
  ``signing.sign_headers(endpoint.secrets, message.msg_id, message.body)``, within ``timeout_s``,
  ``follow_redirects=False``. Network trouble (``httpx.HTTPError``: refused, reset, timed out) is
  an :class:`Attempt` with ``status=None`` and ``error`` = the exception's class name, never an
  exception. ``retry_after_s`` comes from the answer's ``Retry-After`` (``retry.parse_retry_after``).
* :func:`deliver` — attempt until a 2xx (``delivered=True``), a 410 (set ``endpoint.disabled``,
  stop), or the schedule is exhausted; between attempts ``await sleep(schedule.next_delay_s(
  failures, retry_after_s=…, rand=rand))``. A disabled endpoint is sent nothing. The result lists
  every attempt and whether the endpoint ended disabled.

Read weeks/11-design-practice/README.md, section 'Delivering: retries, jitter and Retry-After'.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum

import httpx

from .retry import RetrySchedule

SECTION = "see weeks/11-design-practice/README.md, section 'Delivering: retries, jitter and Retry-After'"


@dataclass
class Endpoint:
    """Where messages go; ``secrets`` newest first (several during a rotation)."""

    url: str
    secrets: list[str]
    disabled: bool = False


@dataclass(frozen=True)
class Message:
    msg_id: str
    body: bytes


class Verdict(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    DISABLE = "disable"


@dataclass(frozen=True)
class Attempt:
    """One POST as the sender saw it; ``status`` is ``None`` when no answer came back."""

    number: int
    status: int | None
    duration_s: float
    error: str = ""
    retry_after_s: float | None = None


@dataclass
class DeliveryResult:
    msg_id: str
    delivered: bool
    attempts: list[Attempt] = field(default_factory=list)
    endpoint_disabled: bool = False


def classify(status: int | None) -> Verdict:
    """2xx delivered; 410 disables the endpoint; anything else (no answer included) is retried."""
    raise NotImplementedError(f"classify — {SECTION}")


async def send_attempt(client: httpx.AsyncClient, endpoint: Endpoint, message: Message, *,
                       number: int, timeout_s: float) -> Attempt:
    """POST the message once, freshly signed; never raises for network trouble — it is an outcome."""
    raise NotImplementedError(f"send_attempt — {SECTION}")


async def deliver(client: httpx.AsyncClient, endpoint: Endpoint, message: Message, *,
                  schedule: RetrySchedule, timeout_s: float,
                  sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                  rand: Callable[[], float] = random.random) -> DeliveryResult:
    """Attempt until a 2xx, a 410, or the end of ``schedule``; sleep the schedule's delays between."""
    raise NotImplementedError(f"deliver — {SECTION}")
