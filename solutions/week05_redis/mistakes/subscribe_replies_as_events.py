"""MISTAKE subscribe_replies_as_events — every reply from get_message() is treated as an event.

Redis answers SUBSCRIBE with a confirmation per channel (type "subscribe", data = how many
channels this connection now has). Read as an event, it is garbage — here json.loads(1)
raises — and subscribe() returning before that confirmation means a PUBLISH can miss us.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import redis


@dataclass(frozen=True)
class Message:
    channel: str
    event: dict[str, Any]


class Subscription:
    """A live subscription on its own connection; ``close()`` (or ``with``) ends it."""

    def __init__(self, client: redis.Redis, channels: tuple[str, ...]) -> None:
        self._pubsub = client.pubsub()
        self._pubsub.subscribe(*channels)  # MISTAKE: returns before Redis confirms

    def get(self, timeout_s: float) -> Message | None:
        """The next event, waiting up to ``timeout_s`` seconds; None if none arrived."""
        reply = self._pubsub.get_message(timeout=timeout_s)  # MISTAKE: any reply is an "event"
        if reply is None:
            return None
        return Message(_text(reply["channel"]), json.loads(reply["data"]))

    def close(self) -> None:
        self._pubsub.close()

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
        """Send ``event`` to ``channel``; returns how many subscribers received it."""
        return int(self.client.publish(channel, json.dumps(event)))

    def subscribe(self, *channels: str) -> Subscription:
        """Subscribe to ``channels``; returns once Redis has confirmed every one."""
        return Subscription(self.client, channels)


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
