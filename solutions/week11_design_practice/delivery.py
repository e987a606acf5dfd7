"""Deliver one message to one endpoint: sign each attempt, classify the answer, retry or stop.

The anchor's worker makes one attempt at a time (:func:`send_attempt`) and schedules the next
in PostgreSQL; :func:`deliver` is the same policy as one coroutine that sleeps between attempts —
what a test, a notebook or a small service needs.

The rules, from the Standard Webhooks spec: 2xx is success and nothing else is; ``410 Gone``
means "stop sending" and disables the endpoint at once; every other status, a timeout, a refused
or reset connection is a failure to retry; redirects are not followed. Every attempt carries the
same ``webhook-id`` (the receiver dedupes on it) and a fresh timestamp and signature.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum

import httpx

from .retry import RetrySchedule, parse_retry_after
from .signing import sign_headers


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
    if status is not None and 200 <= status < 300:
        return Verdict.DELIVERED
    if status == 410:
        return Verdict.DISABLE
    return Verdict.RETRY


async def send_attempt(client: httpx.AsyncClient, endpoint: Endpoint, message: Message, *,
                       number: int, timeout_s: float) -> Attempt:
    """POST the message once, freshly signed; never raises for network trouble — it is an outcome."""
    headers = sign_headers(endpoint.secrets, message.msg_id, message.body)
    headers["content-type"] = "application/json"
    started = time.monotonic()
    try:
        response = await client.post(endpoint.url, content=message.body, headers=headers,
                                     timeout=timeout_s, follow_redirects=False)
    except httpx.HTTPError as exc:
        return Attempt(number, None, time.monotonic() - started, error=type(exc).__name__)
    return Attempt(number, response.status_code, time.monotonic() - started,
                   retry_after_s=parse_retry_after(response.headers.get("retry-after")))


async def deliver(client: httpx.AsyncClient, endpoint: Endpoint, message: Message, *,
                  schedule: RetrySchedule, timeout_s: float,
                  sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                  rand: Callable[[], float] = random.random) -> DeliveryResult:
    """Attempt until a 2xx, a 410, or the end of ``schedule``; sleep the schedule's delays between."""
    result = DeliveryResult(message.msg_id, delivered=False)
    while not endpoint.disabled:
        attempt = await send_attempt(client, endpoint, message, number=len(result.attempts) + 1,
                                     timeout_s=timeout_s)
        result.attempts.append(attempt)
        verdict = classify(attempt.status)
        if verdict is Verdict.DELIVERED:
            result.delivered = True
            break
        if verdict is Verdict.DISABLE:
            endpoint.disabled = True
            break
        delay_s = schedule.next_delay_s(len(result.attempts), retry_after_s=attempt.retry_after_s, rand=rand)
        if delay_s is None:
            break
        await sleep(delay_s)
    result.endpoint_disabled = endpoint.disabled
    return result
