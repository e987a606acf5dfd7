"""API keys: created by a signed-in person (or another key), shown once, listed without secrets, revoked."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy import select, update

from ...core.problems import not_found, responses
from ...core.security import new_api_key
from ...models import ApiKey
from ...schemas import IDENT, ApiKeyCreated, ApiKeyIn, ApiKeyOut, ListResponseApiKeyOut
from ...services.pagination import DEFAULT_LIMIT, MAX_LIMIT, keyset, page
from ..cache import TtlCache
from ..deps import CurrentTenant, SessionDep

router = APIRouter(prefix="/api/v1/api-keys", tags=["api-keys"], responses=responses(400, 401, 422))


@router.post("", status_code=201, response_model=ApiKeyCreated)
async def create_api_key(body: ApiKeyIn, tenant: CurrentTenant, session: SessionDep) -> ApiKeyCreated:
    """The answer is the only time the key is ever shown: only a hash of its secret is stored."""
    created = new_api_key()
    row = ApiKey(id=created.key_id, tenant_id=tenant.tenant_id, name=body.name,
                 secret_hash=created.secret_hash, created_at=datetime.now(UTC))
    session.add(row)
    await session.commit()
    return ApiKeyCreated(id=row.id, name=row.name, key=created.key, created_at=row.created_at)


@router.get("", response_model=ListResponseApiKeyOut)
async def list_api_keys(tenant: CurrentTenant, session: SessionDep,
                        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
                        iterator: Annotated[str | None, Query(max_length=256, pattern=IDENT)] = None,
                        ) -> ListResponseApiKeyOut:
    rows = (await session.scalars(keyset(select(ApiKey).where(ApiKey.tenant_id == tenant.tenant_id),
                                         ApiKey.id, iterator=iterator, limit=limit))).all()
    result = page(rows, limit=limit, iterator=iterator, key_of=lambda row: row.id)
    return ListResponseApiKeyOut(data=[ApiKeyOut.of(row) for row in result.items],
                                 iterator=result.iterator, done=result.done)


@router.delete("/{key_id}", status_code=204, responses=responses(404))
async def revoke_api_key(key_id: Annotated[str, Path(max_length=256, pattern=IDENT)], request: Request,
                         tenant: CurrentTenant, session: SessionDep) -> Response:
    """Revoked at once on this instance; other instances stop accepting it within their cache TTL."""
    revoked = await session.scalar(update(ApiKey).where(
        ApiKey.id == key_id, ApiKey.tenant_id == tenant.tenant_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC)).returning(ApiKey.id))
    if revoked is None:
        raise not_found("API key", key_id)
    await session.commit()
    cache: TtlCache[object] = request.app.state.api_key_cache
    cache.evict(key_id)
    return Response(status_code=204)
