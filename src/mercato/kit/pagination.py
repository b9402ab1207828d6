"""Page requests and pages, shared by every list."""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class PageRequest:
    page: int = 1
    size: int = 40

    def __post_init__(self) -> None:
        if self.page < 1 or self.size < 1:
            raise ValueError("page and size start at 1")

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    request: PageRequest

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.request.size))

    @property
    def has_next(self) -> bool:
        return self.request.page < self.pages
