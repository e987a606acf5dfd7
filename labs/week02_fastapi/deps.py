"""Dependencies: how an endpoint gets its settings, its database session and its user.

Endpoints declare what they need (``session: SessionDep``); FastAPI builds it per request and
tests replace any piece with ``app.dependency_overrides[get_session] = …``.

Your task (lesson: weeks/02-fastapi/README.md, section 'Dependencies'): write ``get_session``
and ``get_current_user``. The aliases below are how the endpoints ask for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from .models import User
from .settings import Settings, get_settings

TODO = "see weeks/02-fastapi/README.md, section 'Dependencies'"

# tokenUrl is what /docs' "Authorize" button posts to; a missing header becomes a 401 here.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token")

SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_session(settings: SettingsDep) -> Iterator[Session]:
    """Yield one SQLAlchemy ``Session`` for this request; close it afterwards, even on errors.

    Use the process-wide engine ``db.engine_for(settings.database_url)`` — never an engine per
    request. Roll back if the endpoint raised.
    """
    raise NotImplementedError(TODO)


SessionDep = Annotated[Session, Depends(get_session)]


def get_current_user(token: Annotated[str, Depends(oauth2_scheme)], settings: SettingsDep,
                     session: SessionDep) -> User:
    """The user the bearer token belongs to, or ``HTTPException(401)``.

    401 for every token ``security.decode_access_token`` rejects, and for a valid token whose
    user no longer exists. Every 401 carries ``WWW-Authenticate: Bearer …`` (RFC 6750).
    """
    raise NotImplementedError(TODO)


CurrentUser = Annotated[User, Depends(get_current_user)]
