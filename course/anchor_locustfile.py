"""The locust user ``course anchor load`` runs: tenants posting messages, as fast as they can.

Run headless by :mod:`course.anchor_load` in its own process (locust's gevent must not patch the
harness). What to hit comes from the environment, so one file drives the anchor and the bare
FastAPI yardstick alike: ``ANCHOR_LOAD_PATH`` (POST target), ``ANCHOR_LOAD_KEY`` (bearer token,
optional), ``ANCHOR_LOAD_RATE_PER_USER`` (a paced rate; unset: flat out). Each payload carries
``sentAt`` (epoch seconds), which the receiver subtracts from its arrival time: ingest → first
attempt, end to end, with no clock but this machine's.
"""

from __future__ import annotations

import itertools
import os
import random
import time

from locust import constant, constant_throughput, task
from locust.contrib.fasthttp import FastHttpUser

PATH = os.environ.get("ANCHOR_LOAD_PATH", "/")
KEY = os.environ.get("ANCHOR_LOAD_KEY", "")
# Messages per second per user; unset: back to back (the maximum rate this machine sustains).
RATE_PER_USER = float(os.environ.get("ANCHOR_LOAD_RATE_PER_USER") or 0)
COUNTER = itertools.count()


class Tenant(FastHttpUser):
    """One connection (kept alive, as a real client's would be) sending messages back to back."""

    wait_time = constant_throughput(RATE_PER_USER) if RATE_PER_USER else constant(0)

    def on_start(self) -> None:
        """Paced users start at random points of one period: independent clients, not a chorus.

        Started together, every user would send in the same instant once per period, and the
        latency measured would be the length of that burst's queue, not the service's.
        """
        if RATE_PER_USER:
            time.sleep(random.uniform(0, 1 / RATE_PER_USER))  # gevent-patched: other users run meanwhile

    @task
    def send(self) -> None:
        headers = {"Authorization": f"Bearer {KEY}"} if KEY else {}
        body = {"eventType": "demo.hello", "payload": {"sentAt": time.time(), "n": next(COUNTER)}}
        with self.client.post(PATH, json=body, headers=headers, name="ingest",
                              catch_response=True) as response:
            if response.status_code not in (200, 202):
                response.failure(f"{response.status_code} {response.text[:200]}")
