"""Sign-up and sign-in for people: a tenant with its first user, and short-lived access tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ...core.ids import new_id
from ...core.problems import Problem, responses
from ...core.security import create_access_token, hash_password, verify_password
from ...models import Application, Tenant, User
from ...schemas import SignupIn, SignupOut, TokenOut
from ..deps import SessionDep, SettingsDep, unauthorized

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post("/signup", status_code=201, response_model=SignupOut, responses=responses(400, 409, 422))
async def signup(body: SignupIn, session: SessionDep) -> SignupOut:
    """Create a tenant, its first user and its operational application (for the service's own events)."""
    # argon2 is deliberately slow (tens of ms): off the event loop, so other requests keep flowing.
    password_hash = await run_in_threadpool(hash_password, body.password)
    tenant = Tenant(id=new_id("org"), name=body.organization)
    user = User(id=new_id("user"), tenant_id=tenant.id, email=body.email.lower(), password_hash=password_hash)
    session.add(tenant)
    await session.flush()
    session.add_all([user, Application(id=new_id("app"), tenant_id=tenant.id, uid="operational",
                                       name="Operational events", operational=True, metadata_={})])
    try:
        await session.commit()
    except IntegrityError as exc:
        raise Problem(409, "email_taken", f"an account with email {body.email!r} already exists") from exc
    return SignupOut(tenant_id=tenant.id, user_id=user.id)


@router.post("/token", response_model=TokenOut, responses=responses(400, 401, 422))
async def token(form: Annotated[OAuth2PasswordRequestForm, Depends()], session: SessionDep,
                settings: SettingsDep) -> TokenOut:
    """OAuth2's password flow: ``username`` (the email) and ``password`` → a bearer access token."""
    row = (await session.execute(select(User.id, User.tenant_id, User.password_hash).where(
        User.email == form.username.lower()))).first()
    ok = await run_in_threadpool(verify_password, form.password, row.password_hash if row else None)
    if row is None or not ok:
        raise unauthorized("wrong email or password")
    access_token = create_access_token(user_id=row.id, tenant_id=row.tenant_id,
                                       secret=settings.jwt_secret.get_secret_value(),
                                       ttl_s=settings.access_token_ttl_s)
    return TokenOut(access_token=access_token, expires_in=settings.access_token_ttl_s)
