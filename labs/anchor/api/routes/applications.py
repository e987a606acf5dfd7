"""Applications: a tenant's customers, the unit messages are sent to (``app_id`` = id or uid)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ...core.ids import new_id
from ...core.problems import Problem, responses
from ...models import Application
from ...schemas import IDENT, ApplicationIn, ApplicationOut, ApplicationPatch, ListResponseApplicationOut
from ...services.pagination import DEFAULT_LIMIT, MAX_LIMIT, keyset, page
from ..deps import AppRef, CurrentTenant, SessionDep, forget_app, load_app

router = APIRouter(prefix="/api/v1/app", tags=["application"], responses=responses(400, 401, 422))


async def _commit(session: AsyncSession, uid: str | None) -> None:
    try:
        await session.commit()
    except IntegrityError as exc:
        raise Problem(409, "conflict", f"an application with uid {uid!r} already exists") from exc


@router.post("", status_code=201, response_model=ApplicationOut, responses=responses(409))
async def create_application(body: ApplicationIn, tenant: CurrentTenant,
                             session: SessionDep) -> ApplicationOut:
    app = Application(id=new_id("app"), tenant_id=tenant.tenant_id, name=body.name, uid=body.uid,
                      rate_limit=body.rate_limit, metadata_=body.metadata)
    session.add(app)
    await _commit(session, body.uid)
    await session.refresh(app)
    return ApplicationOut.of(app)


@router.get("", response_model=ListResponseApplicationOut)
async def list_applications(tenant: CurrentTenant, session: SessionDep,
                            limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
                            iterator: Annotated[str | None, Query(max_length=256, pattern=IDENT)] = None,
                            ) -> ListResponseApplicationOut:
    query = select(Application).where(Application.tenant_id == tenant.tenant_id)
    rows = (await session.scalars(keyset(query, Application.id, iterator=iterator, limit=limit))).all()
    result = page(rows, limit=limit, iterator=iterator, key_of=lambda row: row.id)
    return ListResponseApplicationOut(data=[ApplicationOut.of(row) for row in result.items],
                                      iterator=result.iterator, done=result.done)


@router.get("/{app_id}", response_model=ApplicationOut, responses=responses(404))
async def get_application(app_id: AppRef, tenant: CurrentTenant, session: SessionDep) -> ApplicationOut:
    return ApplicationOut.of(await load_app(session, tenant.tenant_id, app_id))


@router.put("/{app_id}", response_model=ApplicationOut, responses=responses(404, 409))
async def replace_application(app_id: AppRef, body: ApplicationIn, request: Request, tenant: CurrentTenant,
                              session: SessionDep) -> ApplicationOut:
    app = await load_app(session, tenant.tenant_id, app_id)
    app.name, app.uid, app.rate_limit, app.metadata_ = body.name, body.uid, body.rate_limit, body.metadata
    await _commit(session, body.uid)
    forget_app(request, tenant.tenant_id)
    await session.refresh(app)
    return ApplicationOut.of(app)


@router.patch("/{app_id}", response_model=ApplicationOut, responses=responses(404, 409))
async def patch_application(app_id: AppRef, body: ApplicationPatch, request: Request, tenant: CurrentTenant,
                            session: SessionDep) -> ApplicationOut:
    app = await load_app(session, tenant.tenant_id, app_id)
    for name, value in body.model_dump(exclude_unset=True).items():
        if value is None and name in {"name", "metadata"}:
            continue  # a null clears what may be empty (uid, rateLimit), never what is required
        setattr(app, "metadata_" if name == "metadata" else name, value)
    await _commit(session, app.uid)
    forget_app(request, tenant.tenant_id)
    await session.refresh(app)
    return ApplicationOut.of(app)


@router.delete("/{app_id}", status_code=204, responses=responses(404))
async def delete_application(app_id: AppRef, request: Request, tenant: CurrentTenant,
                             session: SessionDep) -> Response:
    """Deletes the application and, by cascade, its endpoints, messages, deliveries and attempts."""
    app = await load_app(session, tenant.tenant_id, app_id)
    await session.delete(app)
    await session.commit()
    forget_app(request, tenant.tenant_id)
    return Response(status_code=204)
