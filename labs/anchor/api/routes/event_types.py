"""Event types: the names endpoints filter on (``filterTypes``), per tenant."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ...core.problems import Problem, not_found, responses
from ...models import EventType
from ...schemas import IDENT, EventTypeIn, EventTypeOut, EventTypeUpdate, ListResponseEventTypeOut
from ...services.pagination import DEFAULT_LIMIT, MAX_LIMIT, keyset, page
from ..deps import CurrentTenant, SessionDep

router = APIRouter(prefix="/api/v1/event-type", tags=["event-type"], responses=responses(400, 401, 422))

EventTypeRef = Annotated[str, Path(min_length=1, max_length=256, pattern=IDENT)]


async def _load(session: AsyncSession, tenant_id: str, name: str) -> EventType:
    row = await session.get(EventType, (tenant_id, name))
    if row is None:
        raise not_found("event type", name)
    return row


@router.post("", status_code=201, response_model=EventTypeOut, responses=responses(409))
async def create_event_type(body: EventTypeIn, tenant: CurrentTenant, session: SessionDep) -> EventTypeOut:
    row = EventType(tenant_id=tenant.tenant_id, name=body.name, description=body.description,
                    archived=body.archived, schemas=body.schemas)
    session.add(row)
    try:
        await session.commit()
    except IntegrityError as exc:
        raise Problem(409, "conflict", f"event type {body.name!r} already exists") from exc
    await session.refresh(row)
    return EventTypeOut.of(row)


@router.get("", response_model=ListResponseEventTypeOut)
async def list_event_types(tenant: CurrentTenant, session: SessionDep,
                           limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
                           iterator: Annotated[str | None, Query(max_length=256, pattern=IDENT)] = None,
                           ) -> ListResponseEventTypeOut:
    query = select(EventType).where(EventType.tenant_id == tenant.tenant_id)
    rows = (await session.scalars(keyset(query, EventType.name, iterator=iterator, limit=limit))).all()
    result = page(rows, limit=limit, iterator=iterator, key_of=lambda row: row.name)
    return ListResponseEventTypeOut(data=[EventTypeOut.of(row) for row in result.items],
                                    iterator=result.iterator, done=result.done)


@router.get("/{event_type_name}", response_model=EventTypeOut, responses=responses(404))
async def get_event_type(event_type_name: EventTypeRef, tenant: CurrentTenant,
                         session: SessionDep) -> EventTypeOut:
    return EventTypeOut.of(await _load(session, tenant.tenant_id, event_type_name))


@router.put("/{event_type_name}", response_model=EventTypeOut, responses=responses(404))
async def update_event_type(event_type_name: EventTypeRef, body: EventTypeUpdate, tenant: CurrentTenant,
                            session: SessionDep) -> EventTypeOut:
    row = await _load(session, tenant.tenant_id, event_type_name)
    row.description, row.archived, row.schemas = body.description, body.archived, body.schemas
    await session.commit()
    await session.refresh(row)
    return EventTypeOut.of(row)


@router.delete("/{event_type_name}", status_code=204, responses=responses(404))
async def delete_event_type(event_type_name: EventTypeRef, tenant: CurrentTenant,
                            session: SessionDep) -> Response:
    await session.delete(await _load(session, tenant.tenant_id, event_type_name))
    await session.commit()
    return Response(status_code=204)
