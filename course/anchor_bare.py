"""The yardstick for ``course anchor load``: a bare FastAPI endpoint that parses a message and
answers 202, with no database, no Redis and no auth.

Measured in the same run, on the same machine, by the same load generator, it says how much of
the anchor's ingest cost is the framework and the machine, and how much is the anchor's own work
(a transaction, a quota check, idempotency): the ratio is comparable across machines where the
absolute rate is not. Run as ``uvicorn course.anchor_bare:app``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI(title="bare yardstick")


class MessageIn(BaseModel):
    eventType: str  # the anchor's (Svix's) JSON name
    payload: dict[str, Any]


@app.post("/msg", status_code=202)
async def message(body: MessageIn) -> dict[str, Any]:
    """Validate and echo, as the anchor's ingest does before it touches a database."""
    return {"eventType": body.eventType, "payload": body.payload}
