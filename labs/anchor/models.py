"""The tables. PostgreSQL is the truth: a message is accepted only once its row and its outbox row
commit together, and every delivery's state (pending, succeeded, failed, skipped) lives here, so
Redis can lose its stream and the scheduler rebuilds the work from these rows.

Ownership: every row carries ``tenant_id`` and every query the API runs filters on it — the
tenant-isolation tests try each route with another tenant's ids.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSONB, datetime: DateTime(timezone=True)}


def _created() -> Mapped[datetime]:
    return mapped_column(server_default=func.now())


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # org_…
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = _created()


class User(Base):
    """A person who signs in with email and password and gets a short-lived JWT."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # user_…
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)  # argon2id, via pwdlib
    created_at: Mapped[datetime] = _created()


class ApiKey(Base):
    """A machine credential: ``ak_<id>_<secret>``, shown once, stored as a SHA-256 of the secret.

    A fast hash is right here (unlike passwords): the secret is 256 random bits, so there is
    nothing to brute-force, and every API request verifies one.
    """

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # key_…
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = _created()
    revoked_at: Mapped[datetime | None]


class Application(Base):
    """A tenant's customer (Svix's "application"): the unit messages are sent to."""

    __tablename__ = "applications"
    __table_args__ = (UniqueConstraint("tenant_id", "uid"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # app_…
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    uid: Mapped[str | None] = mapped_column(String(256))
    name: Mapped[str] = mapped_column(String(256))
    rate_limit: Mapped[int | None]
    operational: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict, server_default=text("'{}'"))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class EventType(Base):
    __tablename__ = "event_types"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(256), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    archived: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    schemas: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class Endpoint(Base):
    """Where an application's messages go, with the limits the worker enforces for it."""

    __tablename__ = "endpoints"
    __table_args__ = (UniqueConstraint("app_id", "uid"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # ep_…
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    uid: Mapped[str | None] = mapped_column(String(256))
    url: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(default=1)
    filter_types: Mapped[list[str] | None] = mapped_column(ARRAY(String(256)))
    channels: Mapped[list[str] | None] = mapped_column(ARRAY(String(128)))
    rate_limit: Mapped[int | None]           # attempts per second, enforced by the worker
    max_concurrency: Mapped[int | None]      # attempts in flight at once, enforced by the worker
    ordered: Mapped[bool] = mapped_column(default=False, server_default=text("false"))  # FIFO
    disabled: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    failing_since: Mapped[datetime | None]   # first failure since the last success
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict, server_default=text("'{}'"))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class EndpointSecret(Base):
    """A signing secret. The current one has ``expires_at`` NULL; a rotated-out one keeps signing
    until its ``expires_at`` (the grace period), so receivers can switch without dropping messages."""

    __tablename__ = "endpoint_secrets"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("endpoints.id", ondelete="CASCADE"), index=True)
    secret: Mapped[str] = mapped_column(Text)  # whsec_<base64>
    created_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime | None]


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("app_id", "event_id"), Index("ix_messages_app_id_id", "app_id", "id"))

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # msg_…
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    app_id: Mapped[str] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"))
    event_id: Mapped[str | None] = mapped_column(String(256))
    event_type: Mapped[str] = mapped_column(String(256))
    payload: Mapped[dict[str, Any]]
    channels: Mapped[list[str] | None] = mapped_column(ARRAY(String(128)))
    created_at: Mapped[datetime] = _created()


class Outbox(Base):
    """One row per accepted message, written in its transaction; the relay turns it into deliveries."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = _created()


class Delivery(Base):
    """One message to one endpoint: its state, its attempt count and when it is next due.

    ``lease_until`` is the worker's claim: set atomically before the HTTP request, cleared when the
    attempt is recorded. A second worker may take a delivery only after the lease lapsed, which is
    why the claim timeout must outlive the HTTP timeout.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("message_id", "endpoint_id"),
        Index("ix_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
        Index("ix_deliveries_endpoint_id_id", "endpoint_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # dlv_…
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    app_id: Mapped[str] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("endpoints.id", ondelete="CASCADE"))
    # pending | succeeded | failed | skipped
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=func.now())
    lease_until: Mapped[datetime | None]
    enqueued_at: Mapped[datetime | None]
    manual: Mapped[bool] = mapped_column(default=False, server_default=text("false"))  # a resend
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class Attempt(Base):
    """One HTTP attempt, as the attempt log shows it."""

    __tablename__ = "attempts"
    __table_args__ = (
        Index("ix_attempts_message_id_id", "message_id", "id"),
        Index("ix_attempts_endpoint_id_id", "endpoint_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # atmpt_…
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    app_id: Mapped[str] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("endpoints.id", ondelete="CASCADE"))
    delivery_id: Mapped[str] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # succeeded|failed
    response_status_code: Mapped[int | None]
    response_body: Mapped[str] = mapped_column(Text, default="")  # truncated
    duration_ms: Mapped[int] = mapped_column(Integer)
    error_class: Mapped[str | None] = mapped_column(String(16))  # dns|connect|tls|timeout|http|ssrf
    error_detail: Mapped[str | None] = mapped_column(Text)
    trigger: Mapped[str] = mapped_column(String(16), default="scheduled")  # scheduled|manual
    created_at: Mapped[datetime] = _created()
