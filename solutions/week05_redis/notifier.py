"""A pub/sub notifier: JSON events fanned out to everyone subscribed *right now*.

Redis pub/sub stores nothing. ``PUBLISH`` hands a message to the connections subscribed at
that instant and returns how many there were; a subscriber that is offline — restarting,
reconnecting, not yet subscribed — never sees it. Fine for "refresh your dashboard" hints,
wrong for anything that must arrive (that is what streams are for, week 10).
"""

from __future__ import annotations

import json
import time
from collections import deque
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

    def __init__(self, client: redis.Redis, channels: tuple[str, ...], timeout_s: float = 5.0) -> None:
        self._pubsub = client.pubsub()
        self._early: deque[Message] = deque()  # events that beat a later channel's confirmation
        self._pubsub.subscribe(*channels)
        # SUBSCRIBE is only a request: until Redis confirms each channel, a PUBLISH can still
        # miss us. Wait for the confirmations so "subscribed" really means subscribed.
        pending, deadline = set(channels), time.monotonic() + timeout_s
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                self.close()
                raise TimeoutError(f"Redis did not confirm the subscription to {sorted(pending)}")
            reply = self._pubsub.get_message(timeout=left)
            if reply is None:
                continue
            if reply["type"] == "subscribe":
                pending.discard(_text(reply["channel"]))
            elif reply["type"] == "message":
                self._early.append(_message(reply))

    def get(self, timeout_s: float) -> Message | None:
        """The next event, waiting up to ``timeout_s`` seconds; None if none arrived."""
        if self._early:
            return self._early.popleft()
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            reply = self._pubsub.get_message(ignore_subscribe_messages=True, timeout=left)
            if reply is not None and reply["type"] == "message":
                return _message(reply)
        return None

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


def _message(reply: dict[str, Any]) -> Message:
    return Message(_text(reply["channel"]), json.loads(reply["data"]))


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
