"""The endpoints. Each declares what it needs; none builds its own session, settings or user.

Your task: the bodies. The signatures already say which dependencies each endpoint takes —
keep them (tests swap those dependencies). Lesson: weeks/02-fastapi/README.md.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, status
from fastapi.security import OAuth2PasswordRequestForm

from .deps import CurrentUser, SessionDep, SettingsDep
from .models import User
from .ratelimit import public_rate_limit
from .schemas import DeliveryAccepted, DeliveryIn, PublicStatus, Token, UserCreate, UserOut

router = APIRouter()
log = logging.getLogger("week02.app")
AUTH = "see weeks/02-fastapi/README.md, section 'Auth'"
RATE_LIMITING = "see weeks/02-fastapi/README.md, section 'Rate limiting'"
BACKGROUND = "see weeks/02-fastapi/README.md, section 'Background work'"


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def register(body: UserCreate, session: SessionDep) -> User:
    """Create a user with an argon2id-hashed password (``security.hash_password``).

    E-mails are stored lower-cased. A duplicate e-mail is ``409 Conflict``: let the unique index
    decide (catch ``sqlalchemy.exc.IntegrityError`` on commit, roll back), don't SELECT first.
    """
    raise NotImplementedError(AUTH)


@router.post("/token", response_model=Token)
def login(form: Annotated[OAuth2PasswordRequestForm, Depends()], session: SessionDep,
          settings: SettingsDep) -> Token:
    """OAuth2 password flow: form fields ``username`` (the e-mail) and ``password``.

    Right credentials → ``Token(access_token=security.create_access_token(str(user.id), …))``.
    Anything else → 401 with ``WWW-Authenticate: Bearer``, and just as slowly for an unknown
    e-mail as for a wrong password.
    """
    raise NotImplementedError(AUTH)


@router.get("/me", response_model=UserOut)
def me(user: CurrentUser) -> User:
    """The caller — whatever the ``get_current_user`` dependency says it is."""
    raise NotImplementedError(AUTH)


@router.get("/public/status", response_model=PublicStatus, dependencies=[Depends(public_rate_limit)])
def public_status(session: SessionDep) -> PublicStatus:
    """Public, no login: ``PublicStatus(users=<number of users>)``. The limit is the dependency's job."""
    raise NotImplementedError(RATE_LIMITING)


@router.post("/deliveries", response_model=DeliveryAccepted, status_code=status.HTTP_202_ACCEPTED)
def create_delivery(body: DeliveryIn, user: CurrentUser, settings: SettingsDep,
                    background: BackgroundTasks) -> DeliveryAccepted:
    """Accept a notification for the caller and answer 202 before it is delivered.

    Make a new id (``str(uuid.uuid4())``). ``via="queue"``: ``tasks.enqueue_delivery`` on
    ``tasks.get_queue(settings)`` — durable. ``via="background"``: ``background.add_task(
    tasks.deliver, id, user.id, body.message, "background", settings)`` — runs in this process
    after the response.
    """
    raise NotImplementedError(BACKGROUND)
