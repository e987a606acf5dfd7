"""The attempt log: every HTTP attempt the workers made, by message or by endpoint, newest ids last."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from ...core.problems import responses
from ...models import Attempt
from ...schemas import IDENT, ListResponseMessageAttemptOut, MessageAttemptOut
from ...services.pagination import DEFAULT_LIMIT, MAX_LIMIT, keyset, page
from ..deps import (
    AppRef,
    CurrentTenant,
    EndpointRef,
    MessageRef,
    SessionDep,
    load_app,
    load_endpoint,
    load_message,
)

router = APIRouter(prefix="/api/v1/app/{app_id}/attempt", tags=["message-attempt"],
                   responses=responses(400, 401, 404, 422))

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Iterator = Annotated[str | None, Query(max_length=256, pattern=IDENT)]


@router.get("/msg/{msg_id}", response_model=ListResponseMessageAttemptOut)
async def list_attempts_by_message(app_id: AppRef, msg_id: MessageRef, tenant: CurrentTenant,
                                   session: SessionDep, limit: Limit = DEFAULT_LIMIT,
                                   iterator: Iterator = None) -> ListResponseMessageAttemptOut:
    app = await load_app(session, tenant.tenant_id, app_id)
    message = await load_message(session, tenant.tenant_id, app.id, msg_id)
    query = select(Attempt).where(Attempt.tenant_id == tenant.tenant_id, Attempt.message_id == message.id)
    rows = (await session.scalars(keyset(query, Attempt.id, iterator=iterator, limit=limit))).all()
    result = page(rows, limit=limit, iterator=iterator, key_of=lambda row: row.id)
    return ListResponseMessageAttemptOut(data=[MessageAttemptOut.of(row) for row in result.items],
                                         iterator=result.iterator, done=result.done)


@router.get("/endpoint/{endpoint_id}", response_model=ListResponseMessageAttemptOut)
async def list_attempts_by_endpoint(app_id: AppRef, endpoint_id: EndpointRef, tenant: CurrentTenant,
                                    session: SessionDep, limit: Limit = DEFAULT_LIMIT,
                                    iterator: Iterator = None) -> ListResponseMessageAttemptOut:
    app = await load_app(session, tenant.tenant_id, app_id)
    endpoint = await load_endpoint(session, tenant.tenant_id, app.id, endpoint_id)
    query = select(Attempt).where(Attempt.tenant_id == tenant.tenant_id, Attempt.endpoint_id == endpoint.id)
    rows = (await session.scalars(keyset(query, Attempt.id, iterator=iterator, limit=limit))).all()
    result = page(rows, limit=limit, iterator=iterator, key_of=lambda row: row.id)
    return ListResponseMessageAttemptOut(data=[MessageAttemptOut.of(row) for row in result.items],
                                         iterator=result.iterator, done=result.done)
