"""The ``orders`` table as the application wants it *after* this week's migration.

Alembic compares these models with the live database (``alembic check``): the migration you
write in ``migrations/versions/0002_order_status.py`` must take a database from revision 0001 to
exactly this shape — column types, nullability, server defaults and the index included.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Identity, Index, String, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    customer_email: Mapped[str] = mapped_column(String(254))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    shipped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # New in revision 0002: every order has a status; existing rows are backfilled from
    # shipped_at, new rows start as 'pending'.
    status: Mapped[str] = mapped_column(String(16), server_default=text("'pending'"))

    __table_args__ = (Index("ix_orders_status_created_at", "status", "created_at"),)
