"""Endpoints: where an application's messages go — checked against SSRF, with their signing secrets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ...core.config import Settings
from ...core.ids import new_id, ulid
from ...core.problems import Problem, responses
from ...models import Delivery, Endpoint, EndpointSecret
from ...schemas import (
    IDENT,
    EndpointIn,
    EndpointOut,
    EndpointPatch,
    EndpointSecretOut,
    EndpointSecretRotateIn,
    EndpointUpdate,
    ListResponseEndpointOut,
    RecoverIn,
    RecoverOut,
)
from ...services import secrets
from ...services.pagination import DEFAULT_LIMIT, MAX_LIMIT, keyset, page
from ...services.ssrf import UnsafeUrl, check_url
from ..deps import AppRef, CurrentTenant, EndpointRef, SessionDep, SettingsDep, load_app, load_endpoint

router = APIRouter(prefix="/api/v1/app/{app_id}/endpoint", tags=["endpoint"],
                   responses=responses(400, 401, 404, 422))


async def _checked_url(url: str, settings: Settings) -> str:
    """The SSRF guard at registration: refuse, naming the address, what delivery would refuse."""
    try:
        await check_url(url, settings.allowed_networks)
    except UnsafeUrl as exc:
        raise Problem(422, "unsafe_url", f"url: {exc}") from exc
    return url


def _normalised_secret(given: str) -> str:
    try:
        return secrets.normalise_secret(given)
    except secrets.InvalidSecret as exc:
        raise Problem(422, "invalid_secret", f"secret: {exc}") from exc


def _apply(endpoint: Endpoint, fields: dict[str, Any]) -> None:
    """Set ``fields`` on ``endpoint``; switching ``disabled`` records why (or forgets why)."""
    disabled = fields.pop("disabled", None)
    for name, value in fields.items():
        setattr(endpoint, "metadata_" if name == "metadata" else name, value)
    if disabled is False and endpoint.disabled:
        endpoint.disabled, endpoint.disabled_reason, endpoint.failing_since = False, None, None
    elif disabled is True and not endpoint.disabled:
        endpoint.disabled, endpoint.disabled_reason = True, "manual"


async def _commit(session: AsyncSession, uid: str | None) -> None:
    try:
        await session.commit()
    except IntegrityError as exc:
        raise Problem(409, "conflict",
                      f"an endpoint with uid {uid!r} already exists in this application") from exc


@router.post("", status_code=201, response_model=EndpointOut, responses=responses(409))
async def create_endpoint(app_id: AppRef, body: EndpointIn, tenant: CurrentTenant, session: SessionDep,
                          settings: SettingsDep) -> EndpointOut:
    app = await load_app(session, tenant.tenant_id, app_id)
    url = await _checked_url(body.url, settings)
    secret = _normalised_secret(body.secret) if body.secret else secrets.generate_secret()
    endpoint = Endpoint(id=new_id("ep"), tenant_id=tenant.tenant_id, app_id=app.id, url=url,
                        description=body.description, uid=body.uid, version=body.version,
                        filter_types=body.filter_types, channels=body.channels, rate_limit=body.rate_limit,
                        max_concurrency=body.max_concurrency, ordered=body.ordered, disabled=body.disabled,
                        disabled_reason="manual" if body.disabled else None, metadata_=body.metadata)
    session.add(endpoint)
    session.add(EndpointSecret(endpoint_id=endpoint.id, secret=secret))
    await _commit(session, body.uid)
    await session.refresh(endpoint)
    return EndpointOut.of(endpoint)


@router.get("", response_model=ListResponseEndpointOut)
async def list_endpoints(app_id: AppRef, tenant: CurrentTenant, session: SessionDep,
                         limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
                         iterator: Annotated[str | None, Query(max_length=256, pattern=IDENT)] = None,
                         ) -> ListResponseEndpointOut:
    app = await load_app(session, tenant.tenant_id, app_id)
    query = select(Endpoint).where(Endpoint.tenant_id == tenant.tenant_id, Endpoint.app_id == app.id)
    rows = (await session.scalars(keyset(query, Endpoint.id, iterator=iterator, limit=limit))).all()
    result = page(rows, limit=limit, iterator=iterator, key_of=lambda row: row.id)
    return ListResponseEndpointOut(data=[EndpointOut.of(row) for row in result.items],
                                   iterator=result.iterator, done=result.done)


@router.get("/{endpoint_id}", response_model=EndpointOut)
async def get_endpoint(app_id: AppRef, endpoint_id: EndpointRef, tenant: CurrentTenant,
                       session: SessionDep) -> EndpointOut:
    app = await load_app(session, tenant.tenant_id, app_id)
    return EndpointOut.of(await load_endpoint(session, tenant.tenant_id, app.id, endpoint_id))


@router.put("/{endpoint_id}", response_model=EndpointOut, responses=responses(409))
async def replace_endpoint(app_id: AppRef, endpoint_id: EndpointRef, body: EndpointUpdate,
                           tenant: CurrentTenant, session: SessionDep, settings: SettingsDep) -> EndpointOut:
    app = await load_app(session, tenant.tenant_id, app_id)
    endpoint = await load_endpoint(session, tenant.tenant_id, app.id, endpoint_id)
    await _checked_url(body.url, settings)
    _apply(endpoint, body.model_dump())
    await _commit(session, endpoint.uid)
    await session.refresh(endpoint)
    return EndpointOut.of(endpoint)


@router.patch("/{endpoint_id}", response_model=EndpointOut, responses=responses(409))
async def patch_endpoint(app_id: AppRef, endpoint_id: EndpointRef, body: EndpointPatch,
                         tenant: CurrentTenant, session: SessionDep, settings: SettingsDep) -> EndpointOut:
    """``{"disabled": false}`` re-enables an endpoint the service disabled (and forgets why)."""
    app = await load_app(session, tenant.tenant_id, app_id)
    endpoint = await load_endpoint(session, tenant.tenant_id, app.id, endpoint_id)
    fields = body.model_dump(exclude_unset=True)
    if fields.get("url") is not None:
        await _checked_url(fields["url"], settings)
    # A null in a PATCH clears optional settings; required ones keep their value.
    required = {"url", "description", "version", "disabled", "metadata", "ordered"}
    _apply(endpoint, {name: value for name, value in fields.items()
                      if value is not None or name not in required})
    await _commit(session, endpoint.uid)
    await session.refresh(endpoint)
    return EndpointOut.of(endpoint)


@router.delete("/{endpoint_id}", status_code=204)
async def delete_endpoint(app_id: AppRef, endpoint_id: EndpointRef, tenant: CurrentTenant,
                          session: SessionDep) -> Response:
    app = await load_app(session, tenant.tenant_id, app_id)
    await session.delete(await load_endpoint(session, tenant.tenant_id, app.id, endpoint_id))
    await session.commit()
    return Response(status_code=204)


@router.get("/{endpoint_id}/secret", response_model=EndpointSecretOut)
async def get_endpoint_secret(app_id: AppRef, endpoint_id: EndpointRef, tenant: CurrentTenant,
                              session: SessionDep) -> EndpointSecretOut:
    """The current signing secret (receivers verify ``webhook-signature`` with it)."""
    app = await load_app(session, tenant.tenant_id, app_id)
    endpoint = await load_endpoint(session, tenant.tenant_id, app.id, endpoint_id)
    key = await secrets.current_secret(session, endpoint.id)
    if key is None:  # every endpoint gets one at creation; a missing one is our bug, so say it
        raise Problem(500, "internal", f"endpoint {endpoint.id} has no current secret")
    return EndpointSecretOut(key=key)


@router.post("/{endpoint_id}/secret/rotate", status_code=204)
async def rotate_endpoint_secret(app_id: AppRef, endpoint_id: EndpointRef, body: EndpointSecretRotateIn,
                                 tenant: CurrentTenant, session: SessionDep,
                                 settings: SettingsDep) -> Response:
    """A new current secret; the old one keeps signing for ``secret_grace_s`` (24 h by default)."""
    app = await load_app(session, tenant.tenant_id, app_id)
    endpoint = await load_endpoint(session, tenant.tenant_id, app.id, endpoint_id)
    new_secret = _normalised_secret(body.key) if body.key else None
    await secrets.rotate(session, endpoint.id, new_secret=new_secret, grace_s=settings.secret_grace_s)
    await session.commit()
    return Response(status_code=204)


@router.post("/{endpoint_id}/recover", status_code=202, response_model=RecoverOut, responses=responses(409))
async def recover_endpoint(app_id: AppRef, endpoint_id: EndpointRef, body: RecoverIn, tenant: CurrentTenant,
                           session: SessionDep) -> RecoverOut:
    """Failed and skipped deliveries created since ``since`` (until ``until``) are tried again.

    They become ``pending`` with their attempt count reset and are due now; the scheduler puts
    them on the stream. Refused (409) while the endpoint is disabled: they would only be skipped.
    """
    app = await load_app(session, tenant.tenant_id, app_id)
    endpoint = await load_endpoint(session, tenant.tenant_id, app.id, endpoint_id)
    if endpoint.disabled:
        raise Problem(409, "endpoint_disabled",
                      f"endpoint {endpoint.id} is disabled ({endpoint.disabled_reason}); "
                      "re-enable it with PATCH {\"disabled\": false} first")
    since = body.since if body.since.tzinfo else body.since.replace(tzinfo=UTC)
    conditions = [Delivery.tenant_id == tenant.tenant_id, Delivery.endpoint_id == endpoint.id,
                  Delivery.status.in_(("failed", "skipped")), Delivery.created_at >= since]
    if body.until is not None:
        conditions.append(Delivery.created_at < (body.until if body.until.tzinfo
                                                 else body.until.replace(tzinfo=UTC)))
    result = await session.execute(update(Delivery).where(*conditions).values(
        status="pending", attempts=0, next_attempt_at=func.now(), lease_until=None)
        .execution_options(synchronize_session=False))
    await session.commit()
    recovered = getattr(result, "rowcount", 0) or 0
    return RecoverOut(id=f"qtask_{ulid()}", status="finished", updated_at=datetime.now(UTC),
                      recovered=recovered)
