"""What the API reads and writes."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field


class NewItem(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    price_cents: int = Field(ge=0)


class Item(NewItem):
    id: uuid.UUID

    @classmethod
    def create(cls, new: NewItem) -> Item:
        """A new item with a fresh id (made here, so the response can name the row it committed)."""
        return cls(id=uuid.uuid4(), **new.model_dump())
