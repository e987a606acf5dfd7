"""Mistake: the "queue" path uses BackgroundTasks too — nothing durable, lost when the API dies."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from . import security, tasks
from .deps import CurrentUser, SessionDep, SettingsDep
from .models import User
from .ratelimit import public_rate_limit
from .schemas import DeliveryAccepted, DeliveryIn, PublicStatus, Token, UserCreate, UserOut

router = APIRouter()
log = logging.getLogger("week02.app")


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def register(body: UserCreate, session: SessionDep) -> User:
    """Create a user; the password is stored only as an argon2id hash. Duplicate e-mail → 409."""
    user = User(email=body.email.lower(), hashed_password=security.hash_password(body.password))
    session.add(user)
    try:
        session.commit()
    except IntegrityError as exc:  # the unique index decides, not a racy SELECT beforehand
        session.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, detail="email already registered") from exc
    log.info("user registered", extra={"user_id": user.id})
    return user


@router.post("/token", response_model=Token)
def login(form: Annotated[OAuth2PasswordRequestForm, Depends()], session: SessionDep,
          settings: SettingsDep) -> Token:
    """OAuth2 password flow: form ``username`` (the e-mail) + ``password`` → a bearer token."""
    user = session.scalar(select(User).where(User.email == form.username.lower()))
    # Always run argon2, even for an unknown e-mail: otherwise the response time says which
    # accounts exist.
    password_ok = security.verify_password(form.password, user.hashed_password if user else None)
    if user is None or not password_ok:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="incorrect email or password",
                            headers={"WWW-Authenticate": "Bearer"})
    return Token(access_token=security.create_access_token(str(user.id), settings))


@router.get("/me", response_model=UserOut)
def me(user: CurrentUser) -> User:
    """The caller, as the ``get_current_user`` dependency established."""
    return user


@router.get("/public/status", response_model=PublicStatus, dependencies=[Depends(public_rate_limit)])
def public_status(session: SessionDep) -> PublicStatus:
    """Public, rate-limited per client by its dependency."""
    return PublicStatus(users=session.scalar(select(func.count()).select_from(User)) or 0)


@router.post("/deliveries", response_model=DeliveryAccepted, status_code=status.HTTP_202_ACCEPTED)
def create_delivery(body: DeliveryIn, user: CurrentUser, settings: SettingsDep,
                    background: BackgroundTasks) -> DeliveryAccepted:
    """Accept a notification and answer 202 before it is delivered — durably or not, per ``via``."""
    delivery_id = str(uuid.uuid4())
    # MISTAKE: "it's all background work anyway" — both paths live in the API process's memory.
    background.add_task(tasks.deliver, delivery_id, user.id, body.message, body.via, settings)
    return DeliveryAccepted(id=delivery_id, via=body.via)
