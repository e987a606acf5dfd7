"""What crosses the HTTP boundary — never the ORM models themselves.

``UserOut`` has no password field at all, so no code path can leak a hash into a response.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class UserCreate(BaseModel):
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=320)
    password: str = Field(min_length=8, max_length=256)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"


class DeliveryIn(BaseModel):
    message: str = Field(min_length=1, max_length=1000)
    via: Literal["background", "queue"] = "queue"


class DeliveryAccepted(BaseModel):
    id: str
    via: Literal["background", "queue"]


class PublicStatus(BaseModel):
    status: Literal["ok"] = "ok"
    users: int
