from __future__ import annotations

from pydantic import BaseModel, Field, field_validator


class ShopInput(BaseModel):
    title: str = Field(min_length=2, max_length=60)
    description: str = Field(default="", max_length=2000)
    bulletin: str = Field(default="", max_length=1000)

    @field_validator("title", "description", "bulletin")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()


class ShopCategoryInput(BaseModel):
    name: str = Field(min_length=1, max_length=40)
    parent_id: int | None = None
    sort_order: int = Field(default=0, ge=0, le=100_000)

    @field_validator("name")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()
