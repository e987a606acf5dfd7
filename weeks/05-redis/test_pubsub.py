"""Lab redis/pubsub — fan-out to subscribers, and what pub/sub loses.

Pub/sub channels are global to the Redis server (not per logical database), so every test uses
channel names of its own.
"""

from __future__ import annotations

import uuid

import pytest
import redis

from labs.week05_redis.notifier import Message, Notifier, Subscription

LESSON = "weeks/05-redis/README.md"


@pytest.fixture
def channel() -> str:
    return f"week05:{uuid.uuid4().hex}"


def drain(subscription: Subscription, expected: int) -> list[Message]:
    """Up to ``expected`` messages (waiting generously for each), plus any extra that shows up."""
    received: list[Message] = []
    while len(received) < expected and (message := _next(subscription, 5)) is not None:
        received.append(message)
    while (extra := _next(subscription, 0.2)) is not None:
        received.append(extra)
    return received


def _next(subscription: Subscription, timeout_s: float) -> Message | None:
    """``subscription.get``, with an exception from it reported as what it most likely means."""
    try:
        return subscription.get(timeout_s=timeout_s)
    except NotImplementedError:
        raise
    except Exception as exc:
        pytest.fail(f"expected Subscription.get to return the next event or None; it raised {exc!r}. "
                    f"Was a reply that is not an event — Redis's own 'subscribe' confirmation, whose "
                    f"data is a count — decoded as one? Only replies of type 'message' are events. "
                    f"See {LESSON}, section 'Pub/sub'.", pytrace=False)


def test_fan_out_reaches_every_subscriber(redis_client: redis.Redis, channel: str) -> None:
    notifier = Notifier(redis_client)
    subscribers = [notifier.subscribe(channel) for _ in range(3)]
    try:
        counts = [notifier.publish(channel, {"order": n, "status": "paid"}) for n in range(5)]
        received = [drain(sub, expected=5) for sub in subscribers]
    finally:
        for sub in subscribers:
            sub.close()

    assert counts == [3] * 5, (
        f"expected each publish to reach the 3 subscribers (PUBLISH returns that count); got "
        f"{counts}. subscribe() must return only once Redis has confirmed the subscription.")
    expected = [Message(channel, {"order": n, "status": "paid"}) for n in range(5)]
    for index, messages in enumerate(received):
        assert messages == expected, (
            f"expected subscriber {index} to receive the 5 events in order as Message objects; "
            f"got {messages}. Skip Redis's own subscribe confirmations — only 'message' replies "
            f"are events. See {LESSON}, section 'Pub/sub'.")


def test_subscribers_only_hear_their_channels(redis_client: redis.Redis, channel: str) -> None:
    notifier = Notifier(redis_client)
    with notifier.subscribe(channel) as orders, notifier.subscribe(channel + ":other") as other:
        notifier.publish(channel, {"order": 1})
        heard = other.get(timeout_s=0.3)
        assert heard is None, (
            f"expected a subscriber to hear only its own channel; the one on {channel}:other got "
            f"{heard!r} — see {LESSON}, section 'Pub/sub'.")
        got = orders.get(timeout_s=2)
    assert got == Message(channel, {"order": 1}), f"expected the event on {channel}; got {got}"


def test_an_offline_subscriber_misses_messages(redis_client: redis.Redis, channel: str) -> None:
    notifier = Notifier(redis_client)
    with notifier.subscribe(channel) as always_on:
        laptop = notifier.subscribe(channel)
        notifier.publish(channel, {"seq": 1})
        laptop.close()  # the laptop lid closes: the subscriber is offline
        delivered_while_offline = [notifier.publish(channel, {"seq": n}) for n in (2, 3, 4)]
        with notifier.subscribe(channel) as laptop_again:
            notifier.publish(channel, {"seq": 5})
            after_reconnect = [m.event["seq"] for m in drain(laptop_again, expected=1)]
        online = [m.event["seq"] for m in drain(always_on, expected=5)]

    assert online == [1, 2, 3, 4, 5], f"expected the online subscriber to see 1–5; got {online}"
    assert delivered_while_offline == [1, 1, 1], (
        f"expected PUBLISH to report 1 receiver while the laptop was away; got "
        f"{delivered_while_offline}")
    assert after_reconnect == [5], (
        f"expected the reconnected subscriber to get only what was published after it came back "
        f"([5]) — pub/sub keeps nothing for absent subscribers; got {after_reconnect}. When every "
        f"message must arrive you need a log with consumer offsets: Redis streams, week 10.")


def test_a_publish_nobody_hears_is_gone(redis_client: redis.Redis, channel: str) -> None:
    notifier = Notifier(redis_client)
    receivers = notifier.publish(channel, {"lost": True})
    with notifier.subscribe(channel) as late:
        got = late.get(timeout_s=0.3)
    assert receivers == 0 and got is None, (
        f"expected a publish with no subscribers to reach 0 receivers and never be seen later; "
        f"got receivers={receivers}, late subscriber saw {got}")
