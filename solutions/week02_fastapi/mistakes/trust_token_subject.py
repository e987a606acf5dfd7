"""Mistake: a validly signed token is trusted without checking that its user still exists."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from . import security
from .db import engine_for
from .models import User
from .settings import Settings, get_settings

# tokenUrl is what /docs' "Authorize" button posts to; a missing header becomes a 401 here.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token")

SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_session(settings: SettingsDep) -> Iterator[Session]:
    """One session per request, always closed — also when the endpoint raised.

    An exception in the endpoint is thrown into this generator at ``yield``; the ``with`` block
    still closes the session, which rolls back whatever was not committed and returns the
    connection to the pool.
    """
    with Session(engine_for(settings.database_url)) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def _unauthorized(detail: str) -> HTTPException:
    # RFC 6750 §3: a 401 for a bearer-protected resource names the scheme (and the error).
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail,
                         headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


def get_current_user(token: Annotated[str, Depends(oauth2_scheme)], settings: SettingsDep,
                     session: SessionDep) -> User:
    """The user the bearer token belongs to; 401 for any token we did not issue or that went stale."""
    try:
        subject = security.decode_access_token(token, settings)
    except security.InvalidToken as exc:
        raise _unauthorized("invalid or expired token") from exc
    # MISTAKE: the signature is valid, so the subject "must" exist — a deleted account's token
    # keeps working until it expires.
    return session.get(User, int(subject)) or User(id=int(subject), email="(deleted)")


CurrentUser = Annotated[User, Depends(get_current_user)]
