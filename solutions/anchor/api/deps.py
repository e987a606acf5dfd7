"""What routes depend on: the session, Redis, the settings, and above all the caller's tenant.

Every route that touches tenant data takes :data:`CurrentTenant` and filters on its id; the
helpers that load an application, endpoint or message by id take the tenant id too and answer a
foreign id exactly like a missing one (404), so ids cannot be probed across tenants.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

import redis.asyncio as aioredis
import structlog
from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import case, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.config import Settings
from ..core.problems import Problem, not_found
from ..core.security import (
    API_KEY_PREFIX,
    InvalidCredentials,
    api_secret_matches,
    decode_access_token,
    parse_api_key,
)
from ..models import ApiKey, Application, Endpoint, Message
from ..schemas import IDENT
from .cache import TtlCache

API_KEY_CACHE_TTL_S = 5.0  # how long a revocation made on another instance may go unnoticed here


@dataclass(frozen=True)
class Principal:
    """Who is calling: always a tenant; a person (``user_id``) or an API key (``key_id``)."""

    tenant_id: str
    user_id: str | None = None
    key_id: str | None = None


@dataclass(frozen=True)
class CachedKey:
    tenant_id: str
    secret_hash: str


@dataclass(frozen=True)
class AppQuota:
    """What ingestion needs of an application: its id and its own rate, if any."""

    app_id: str
    rate_limit: int | None


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as session:
        yield session


# ``async def`` although they await nothing: FastAPI runs a plain ``def`` dependency in its thread
# pool, a thread hop per request for reading an attribute (5 % of the ingest path's CPU, measured).
async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_redis(request: Request) -> aioredis.Redis:
    client: aioredis.Redis = request.app.state.redis
    return client


SessionDep = Annotated[AsyncSession, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
RedisDep = Annotated[aioredis.Redis, Depends(get_redis)]

_bearer = HTTPBearer(auto_error=False, description="An API key (ak_…) or a person's access token (JWT)")


def unauthorized(detail: str) -> Problem:
    return Problem(401, "authentication_failed", detail, headers={"WWW-Authenticate": "Bearer"})


async def _api_key_tenant(request: Request, session: AsyncSession, token: str) -> Principal:
    try:
        key_id, secret = parse_api_key(token)
    except InvalidCredentials as exc:
        raise unauthorized("invalid API key") from exc
    cache: TtlCache[CachedKey] = request.app.state.api_key_cache
    cached = cache.get(key_id)
    if cached is None:
        row = (await session.execute(select(ApiKey.tenant_id, ApiKey.secret_hash).where(
            ApiKey.id == key_id, ApiKey.revoked_at.is_(None)))).first()
        if row is None:
            raise unauthorized("invalid API key")
        cached = CachedKey(tenant_id=row.tenant_id, secret_hash=row.secret_hash)
        cache.put(key_id, cached)
    if not api_secret_matches(secret, cached.secret_hash):
        raise unauthorized("invalid API key")
    return Principal(tenant_id=cached.tenant_id, key_id=key_id)


async def current_principal(
        request: Request, session: SessionDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal:
    """The caller, from ``Authorization: Bearer …``; anything wrong with it is a 401 problem."""
    if credentials is None or not credentials.credentials:
        raise unauthorized("send Authorization: Bearer <API key or access token>")
    token = credentials.credentials
    if token.startswith(API_KEY_PREFIX):
        principal = await _api_key_tenant(request, session, token)
    else:
        settings: Settings = request.app.state.settings
        try:
            claims = decode_access_token(token, settings.jwt_secret.get_secret_value())
        except InvalidCredentials as exc:
            raise unauthorized("invalid or expired access token") from exc
        principal = Principal(tenant_id=claims.tenant_id, user_id=claims.user_id)
    structlog.contextvars.bind_contextvars(tenant_id=principal.tenant_id)
    return principal


CurrentTenant = Annotated[Principal, Depends(current_principal)]

# Path parameters: an id or a uid, in the alphabet ids and uids share.
AppRef = Annotated[str, Path(min_length=1, max_length=256, pattern=IDENT, description="id or uid")]
EndpointRef = Annotated[str, Path(min_length=1, max_length=256, pattern=IDENT, description="id or uid")]
MessageRef = Annotated[str, Path(min_length=1, max_length=256, pattern=IDENT, description="id or eventId")]


async def load_app(session: AsyncSession, tenant_id: str, ref: str) -> Application:
    """The tenant's application with id or uid ``ref`` (the id wins if both match), else 404."""
    app = await session.scalar(select(Application).where(
        Application.tenant_id == tenant_id, or_(Application.id == ref, Application.uid == ref))
        .order_by(case((Application.id == ref, 0), else_=1)).limit(1))
    if app is None:
        raise not_found("application", ref)
    structlog.contextvars.bind_contextvars(app_id=app.id)
    return app


async def app_quota(request: Request, session: AsyncSession, tenant_id: str, ref: str) -> AppQuota:
    """:func:`load_app` for the ingest path, through the in-process cache."""
    cache: TtlCache[AppQuota] = request.app.state.app_cache
    cache_key = f"{tenant_id}/{ref}"
    found = cache.get(cache_key)
    if found is None:
        app = await load_app(session, tenant_id, ref)
        found = AppQuota(app_id=app.id, rate_limit=app.rate_limit)
        cache.put(cache_key, found)
    structlog.contextvars.bind_contextvars(app_id=found.app_id)
    return found


def forget_app(request: Request, tenant_id: str) -> None:
    """After an application changed: drop this instance's cached lookups for the tenant."""
    cache: TtlCache[AppQuota] = request.app.state.app_cache
    cache.evict_where(lambda key: key.startswith(f"{tenant_id}/"))


async def load_endpoint(session: AsyncSession, tenant_id: str, app_id: str, ref: str) -> Endpoint:
    endpoint = await session.scalar(select(Endpoint).where(
        Endpoint.tenant_id == tenant_id, Endpoint.app_id == app_id,
        or_(Endpoint.id == ref, Endpoint.uid == ref))
        .order_by(case((Endpoint.id == ref, 0), else_=1)).limit(1))
    if endpoint is None:
        raise not_found("endpoint", ref)
    structlog.contextvars.bind_contextvars(endpoint_id=endpoint.id)
    return endpoint


async def load_message(session: AsyncSession, tenant_id: str, app_id: str, ref: str) -> Message:
    message = await session.scalar(select(Message).where(
        Message.tenant_id == tenant_id, Message.app_id == app_id,
        or_(Message.id == ref, Message.event_id == ref))
        .order_by(case((Message.id == ref, 0), else_=1)).limit(1))
    if message is None:
        raise not_found("message", ref)
    structlog.contextvars.bind_contextvars(msg_id=message.id)
    return message
