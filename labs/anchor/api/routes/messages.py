"""Messages: ingestion (the hot path), the message log, and resending one message to one endpoint.

The ingest path is kept to the minimum the guarantees need: the API key and the application come
from an in-process cache (no query when warm), the quota is one Redis round trip (plus the
idempotency record when ``Idempotency-Key`` is sent), and the message is one transaction with two
INSERTs — the message and its outbox row. The answer is serialised once, by hand.
"""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from ...core.ids import new_id
from ...core.problems import Problem, not_found, responses
from ...models import Delivery, Message
from ...schemas import IDENT, ListResponseMessageOut, MessageIn, MessageOut
from ...services.idempotency import (
    Claim,
    IdempotencyConflict,
    IdempotencyStore,
    RequestInProgress,
    StoredResponse,
    fingerprint,
)
from ...services.ingestion import ApplicationGone, DuplicateEventId, ingest
from ...services.pagination import DEFAULT_LIMIT, MAX_LIMIT, keyset, page
from ...services.quotas import Quotas, rate_limit_headers
from ..deps import (
    AppRef,
    CurrentTenant,
    EndpointRef,
    MessageRef,
    SessionDep,
    SettingsDep,
    app_quota,
    load_app,
    load_endpoint,
    load_message,
)

router = APIRouter(prefix="/api/v1/app/{app_id}/msg", tags=["message"],
                   responses=responses(400, 401, 404, 422))

IdempotencyKey = Annotated[str | None, Header(min_length=1, max_length=256,
                                              description="Retrying with the same key never stores twice")]


@router.post("", status_code=202, response_model=MessageOut, responses=responses(409, 413, 429))
async def create_message(app_id: AppRef, body: MessageIn, request: Request, tenant: CurrentTenant,
                         session: SessionDep, settings: SettingsDep,
                         idempotency_key: IdempotencyKey = None) -> Response:
    """Accept a message for delivery to the application's endpoints (202: stored, not yet delivered)."""
    raw = await request.body()
    if len(raw) > settings.max_payload_bytes:
        raise Problem(413, "payload_too_large",
                      f"the body is {len(raw)} bytes; the limit is {settings.max_payload_bytes}")
    app = await app_quota(request, session, tenant.tenant_id, app_id)
    quotas: Quotas = request.app.state.quotas
    decision = await quotas.take(tenant_id=tenant.tenant_id, app_id=app.app_id, app_rate_limit=app.rate_limit)
    headers = rate_limit_headers(decision)
    if not decision.allowed:
        raise Problem(429, "rate_limited", f"the ingest quota of {decision.limit} messages is spent; retry "
                      f"after {headers['Retry-After']} s", headers=headers)

    claim: Claim | None = None
    if idempotency_key is not None:
        store: IdempotencyStore = request.app.state.idempotency
        try:
            outcome = await store.begin(tenant_id=tenant.tenant_id, key=idempotency_key,
                                        request_fingerprint=fingerprint("POST", request.url.path, raw))
        except IdempotencyConflict as exc:
            raise Problem(422, "idempotency_conflict", str(exc), headers=headers) from exc
        except RequestInProgress as exc:
            raise Problem(409, "request_in_progress", str(exc),
                          headers=headers | {"Retry-After": "1"}) from exc
        if isinstance(outcome, StoredResponse):
            return JSONResponse(outcome.body, status_code=outcome.status,
                                headers=headers | {"Idempotent-Replayed": "true"})
        claim = outcome

    try:
        message = await ingest(session, tenant_id=tenant.tenant_id, app_id=app.app_id,
                               event_type=body.event_type, payload=body.payload, event_id=body.event_id,
                               channels=body.channels)
    except DuplicateEventId as exc:
        if claim is not None:
            await request.app.state.idempotency.abandon(claim)
        raise Problem(409, "conflict", f"eventId {exc.event_id!r} was already used by message "
                      f"{exc.message_id}", headers=headers, existing_id=exc.message_id) from exc
    except ApplicationGone as exc:
        if claim is not None:
            await request.app.state.idempotency.abandon(claim)
        raise not_found("application", app_id) from exc
    except BaseException:
        if claim is not None:
            await request.app.state.idempotency.abandon(claim)
        raise
    structlog.contextvars.bind_contextvars(msg_id=message.id)
    answer = MessageOut.of(message).model_dump(mode="json", by_alias=True)
    if claim is not None:
        await request.app.state.idempotency.complete(claim, StoredResponse(status=202, body=answer))
    request.app.state.metrics.messages_ingested.inc()
    return JSONResponse(answer, status_code=202, headers=headers)


@router.get("", response_model=ListResponseMessageOut)
async def list_messages(app_id: AppRef, tenant: CurrentTenant, session: SessionDep,
                        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
                        iterator: Annotated[str | None, Query(max_length=256, pattern=IDENT)] = None,
                        ) -> ListResponseMessageOut:
    """The application's messages, oldest first (``iterator`` = the last id seen)."""
    app = await load_app(session, tenant.tenant_id, app_id)
    query = select(Message).where(Message.tenant_id == tenant.tenant_id, Message.app_id == app.id)
    rows = (await session.scalars(keyset(query, Message.id, iterator=iterator, limit=limit))).all()
    result = page(rows, limit=limit, iterator=iterator, key_of=lambda row: row.id)
    return ListResponseMessageOut(data=[MessageOut.of(row) for row in result.items],
                                  iterator=result.iterator, done=result.done)


@router.get("/{msg_id}", response_model=MessageOut)
async def get_message(app_id: AppRef, msg_id: MessageRef, tenant: CurrentTenant,
                      session: SessionDep) -> MessageOut:
    app = await load_app(session, tenant.tenant_id, app_id)
    return MessageOut.of(await load_message(session, tenant.tenant_id, app.id, msg_id))


@router.post("/{msg_id}/endpoint/{endpoint_id}/resend", status_code=202, response_class=Response)
async def resend_message(app_id: AppRef, msg_id: MessageRef, endpoint_id: EndpointRef, tenant: CurrentTenant,
                         session: SessionDep) -> Response:
    """Deliver the message to the endpoint again, now: its delivery becomes pending and manual.

    The delivery row is created if the relay never made one (the endpoint was added later); the
    scheduler enqueues it on its next tick.
    """
    app = await load_app(session, tenant.tenant_id, app_id)
    message = await load_message(session, tenant.tenant_id, app.id, msg_id)
    endpoint = await load_endpoint(session, tenant.tenant_id, app.id, endpoint_id)
    again = {"status": "pending", "manual": True, "next_attempt_at": func.now(), "lease_until": None}
    await session.execute(insert(Delivery).values(
        id=new_id("dlv"), tenant_id=tenant.tenant_id, app_id=app.id, message_id=message.id,
        endpoint_id=endpoint.id, **again).on_conflict_do_update(
        index_elements=[Delivery.message_id, Delivery.endpoint_id], set_=again | {"updated_at": func.now()}))
    await session.commit()
    return Response(status_code=202)
