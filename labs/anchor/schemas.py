"""The API's request and response bodies: Svix's shapes (camelCase JSON) for the subset implemented.

Every field has the bound its column has (a 300-character name would otherwise reach PostgreSQL
and come back as a 500); free text refuses the NUL character, which PostgreSQL cannot store.
Responses are built from rows by the ``of`` class methods, explicitly, so no ORM relationship is
ever loaded behind a serialiser's back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, AliasChoices, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from . import models


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain the NUL character")
    return value


def _payload_storable(value: dict[str, Any]) -> dict[str, Any]:
    """JSONB refuses ``\\u0000`` anywhere in a document, keys included."""
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str) and "\x00" in item:
            raise ValueError("must not contain the NUL character (\\u0000) anywhere")
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return value


# Svix's identifier alphabet for uids, event types and event ids.
IDENT = r"^[a-zA-Z0-9\-_.]+$"
CHANNEL = r"^[a-zA-Z0-9\-_.:]+$"

Name = Annotated[str, Field(min_length=1, max_length=256), AfterValidator(_no_nul)]
Description = Annotated[str, Field(max_length=4096), AfterValidator(_no_nul)]
Uid = Annotated[str, Field(min_length=1, max_length=256, pattern=IDENT)]
EventTypeName = Annotated[str, Field(min_length=1, max_length=256, pattern=IDENT)]
Channel = Annotated[str, Field(min_length=1, max_length=128, pattern=CHANNEL)]
Metadata = Annotated[dict[str, str], AfterValidator(_payload_storable)]
Payload = Annotated[dict[str, Any], AfterValidator(_payload_storable)]
RateLimit = Annotated[int, Field(ge=1, le=65535, description="per second")]


class Schema(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


# --- auth -------------------------------------------------------------------------------------

class SignupIn(Schema):
    email: Annotated[str, Field(max_length=320, pattern=r"^[^@\s\x00]+@[^@\s\x00]+$")]
    password: Annotated[str, Field(min_length=8, max_length=256), AfterValidator(_no_nul)]
    organization: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_no_nul)]


class SignupOut(Schema):
    tenant_id: str
    user_id: str


class TokenOut(BaseModel):
    """OAuth2's token response (snake_case, as RFC 6749 names it)."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class ApiKeyIn(Schema):
    name: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_no_nul)]


class ApiKeyOut(Schema):
    id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None = None

    @classmethod
    def of(cls, row: models.ApiKey) -> ApiKeyOut:
        return cls(id=row.id, name=row.name, created_at=row.created_at, revoked_at=row.revoked_at)


class ApiKeyCreated(Schema):
    """The only answer that ever contains the key itself."""

    id: str
    name: str
    key: str
    created_at: datetime


# --- applications -----------------------------------------------------------------------------

class ApplicationIn(Schema):
    name: Name
    uid: Uid | None = None
    rate_limit: RateLimit | None = Field(None, validation_alias=AliasChoices("rateLimit", "throttleRate",
                                                                               "rate_limit"))
    metadata: Metadata = Field(default_factory=dict)


class ApplicationPatch(Schema):
    name: Name | None = None
    uid: Uid | None = None
    rate_limit: RateLimit | None = Field(None, validation_alias=AliasChoices("rateLimit", "throttleRate",
                                                                               "rate_limit"))
    metadata: Metadata | None = None


class ApplicationOut(Schema):
    id: str
    name: str
    uid: str | None
    rate_limit: int | None
    metadata: dict[str, str]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: models.Application) -> ApplicationOut:
        return cls(id=row.id, name=row.name, uid=row.uid, rate_limit=row.rate_limit,
                   metadata=row.metadata_, created_at=row.created_at, updated_at=row.updated_at)


# --- event types ------------------------------------------------------------------------------

class EventTypeUpdate(Schema):
    description: Description = ""
    archived: bool = False
    schemas: dict[str, Any] | None = None


class EventTypeIn(EventTypeUpdate):
    name: EventTypeName


class EventTypeOut(Schema):
    name: str
    description: str
    archived: bool
    deprecated: bool = False
    schemas: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: models.EventType) -> EventTypeOut:
        return cls(name=row.name, description=row.description, archived=row.archived, schemas=row.schemas,
                   created_at=row.created_at, updated_at=row.updated_at)


# --- endpoints --------------------------------------------------------------------------------

_FILTER_TYPES = AliasChoices("filterTypes", "eventTypes", "filter_types")
_RATE_LIMIT = AliasChoices("rateLimit", "throttleRate", "rate_limit")


class EndpointUpdate(Schema):
    """A whole endpoint (``PUT``): what is not given takes its default."""

    url: Annotated[str, Field(min_length=1, max_length=2048)]
    description: Description = ""
    uid: Uid | None = None
    version: Annotated[int, Field(ge=1, le=1000)] = 1
    filter_types: list[EventTypeName] | None = Field(None, max_length=256, validation_alias=_FILTER_TYPES)
    channels: list[Channel] | None = Field(None, max_length=64)
    rate_limit: RateLimit | None = Field(None, validation_alias=_RATE_LIMIT)
    disabled: bool = False
    metadata: Metadata = Field(default_factory=dict)
    max_concurrency: Annotated[int, Field(ge=1, le=10000)] | None = None
    ordered: bool = False


class EndpointIn(EndpointUpdate):
    secret: Annotated[str, Field(max_length=120)] | None = Field(
        None, description="whsec_ + base64 of 24–64 bytes; generated when omitted")


class EndpointPatch(Schema):
    url: Annotated[str, Field(min_length=1, max_length=2048)] | None = None
    description: Description | None = None
    uid: Uid | None = None
    version: Annotated[int, Field(ge=1, le=1000)] | None = None
    filter_types: list[EventTypeName] | None = Field(None, max_length=256, validation_alias=_FILTER_TYPES)
    channels: list[Channel] | None = Field(None, max_length=64)
    rate_limit: RateLimit | None = Field(None, validation_alias=_RATE_LIMIT)
    disabled: bool | None = None
    metadata: Metadata | None = None
    max_concurrency: Annotated[int, Field(ge=1, le=10000)] | None = None
    ordered: bool | None = None


class EndpointOut(Schema):
    id: str
    url: str
    description: str
    uid: str | None
    version: int
    filter_types: list[str] | None
    channels: list[str] | None
    rate_limit: int | None
    max_concurrency: int | None
    ordered: bool
    disabled: bool
    disabled_reason: str | None
    metadata: dict[str, str]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: models.Endpoint) -> EndpointOut:
        return cls(id=row.id, url=row.url, description=row.description, uid=row.uid, version=row.version,
                   filter_types=row.filter_types, channels=row.channels, rate_limit=row.rate_limit,
                   max_concurrency=row.max_concurrency, ordered=row.ordered, disabled=row.disabled,
                   disabled_reason=row.disabled_reason, metadata=row.metadata_,
                   created_at=row.created_at, updated_at=row.updated_at)


class EndpointSecretOut(Schema):
    key: str


class EndpointSecretRotateIn(Schema):
    key: Annotated[str, Field(max_length=120)] | None = None


class RecoverIn(Schema):
    since: datetime
    until: datetime | None = None


class RecoverOut(Schema):
    id: str
    status: Literal["running", "finished", "failed"]
    task: Literal["endpoint.recover"] = "endpoint.recover"
    updated_at: datetime
    recovered: int = Field(description="deliveries set pending again")


# --- messages and attempts --------------------------------------------------------------------

class MessageIn(Schema):
    event_type: EventTypeName
    payload: Payload
    event_id: Uid | None = None
    channels: list[Channel] | None = Field(None, max_length=10)


class MessageOut(Schema):
    id: str
    event_id: str | None
    event_type: str
    payload: dict[str, Any]
    channels: list[str] | None
    timestamp: datetime

    @classmethod
    def of(cls, row: models.Message) -> MessageOut:
        return cls(id=row.id, event_id=row.event_id, event_type=row.event_type, payload=row.payload,
                   channels=row.channels, timestamp=row.created_at)


class MessageAttemptOut(Schema):
    id: str
    msg_id: str
    endpoint_id: str
    url: str
    response: str
    response_status_code: int = Field(description="0 when no HTTP response was received")
    response_duration_ms: int
    status: Literal[0, 2] = Field(description="0 success, 2 fail")
    status_text: Literal["success", "fail"]
    trigger_type: Literal[0, 1] = Field(description="0 scheduled, 1 manual")
    timestamp: datetime
    error_class: str | None

    @classmethod
    def of(cls, row: models.Attempt) -> MessageAttemptOut:
        succeeded = row.status == "succeeded"
        return cls(id=row.id, msg_id=row.message_id, endpoint_id=row.endpoint_id, url=row.url,
                   response=row.response_body, response_status_code=row.response_status_code or 0,
                   response_duration_ms=row.duration_ms, status=0 if succeeded else 2,
                   status_text="success" if succeeded else "fail",
                   trigger_type=1 if row.trigger == "manual" else 0, timestamp=row.created_at,
                   error_class=row.error_class)


# --- lists --------------------------------------------------------------------------------------

T = TypeVar("T")


class ListResponse(Schema, Generic[T]):
    """A keyset page: pass ``iterator`` back for the next one until ``done``."""

    data: list[T]
    iterator: str | None
    prev_iterator: str | None = None
    done: bool


class ListResponseApiKeyOut(ListResponse[ApiKeyOut]):
    pass


class ListResponseApplicationOut(ListResponse[ApplicationOut]):
    pass


class ListResponseEventTypeOut(ListResponse[EventTypeOut]):
    pass


class ListResponseEndpointOut(ListResponse[EndpointOut]):
    pass


class ListResponseMessageOut(ListResponse[MessageOut]):
    pass


class ListResponseMessageAttemptOut(ListResponse[MessageAttemptOut]):
    pass
