"""The service's tables: users, and the deliveries the background work writes.

Week 04 replaces :func:`create_schema` with Alembic migrations; this week the schema is created
up front by whoever starts the service (a test fixture, the notebook, you in a shell).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, String, Text, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .db import engine_for


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    hashed_password: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Delivery(Base):
    """One notification that reached its recipient; written by :func:`tasks.deliver`."""

    __tablename__ = "deliveries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    message: Mapped[str] = mapped_column(Text)
    via: Mapped[str] = mapped_column(String(16))
    delivered_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


def create_schema(database_url: str) -> None:
    """Create the tables if they do not exist (idempotent)."""
    Base.metadata.create_all(engine_for(database_url))
