"""A pub/sub notifier: JSON events fanned out to everyone subscribed *right now*.

Your task: implement :class:`Subscription` and :class:`Notifier` on Redis pub/sub.

* ``subscribe`` returns only once Redis has confirmed every channel (until then a PUBLISH
  can miss the subscriber);
* ``Subscription.get`` returns the next *event* — Redis's own subscribe confirmations are
  not events — or None after ``timeout_s`` seconds;
* ``publish`` returns how many subscribers received the event.

See weeks/05-redis/README.md, section 'Pub/sub'.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import redis

SECTION = "see weeks/05-redis/README.md, section 'Pub/sub'"


@dataclass(frozen=True)
class Message:
    channel: str
    event: dict[str, Any]


class Subscription:
    """A live subscription on its own connection (``client.pubsub()``); ``close()`` ends it."""

    def __init__(self, client: redis.Redis, channels: tuple[str, ...], timeout_s: float = 5.0) -> None:
        """Subscribe and wait (up to ``timeout_s`` seconds) for Redis to confirm every channel."""
        raise NotImplementedError(f"Subscription — {SECTION}")

    def get(self, timeout_s: float) -> Message | None:
        """The next event, waiting up to ``timeout_s`` seconds; None if none arrived."""
        raise NotImplementedError(f"Subscription.get — {SECTION}")

    def close(self) -> None:
        raise NotImplementedError(f"Subscription.close — {SECTION}")

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class Notifier:
    """Publishes and subscribes JSON events on Redis pub/sub channels."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def publish(self, channel: str, event: Mapping[str, Any]) -> int:
        """Send ``event`` (as JSON) to ``channel``; returns how many subscribers received it."""
        raise NotImplementedError(f"Notifier.publish — {SECTION}")

    def subscribe(self, *channels: str) -> Subscription:
        """Subscribe to ``channels``; returns once Redis has confirmed every one."""
        raise NotImplementedError(f"Notifier.subscribe — {SECTION}")
