"""Reading HTML forms into Pydantic models, with problems that pages show inline."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from mercato.kit.errors import problems_from_pydantic

M = TypeVar("M", bound=BaseModel)


async def form_dict(request: Request) -> dict[str, Any]:
    """The submitted form as a plain dict of strings (uploads left out), minus the CSRF field."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


def parse(model: type[M], data: dict[str, Any]) -> M:
    """Validate form data; raises ValidationFailed naming each bad field and rule."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise problems_from_pydantic(exc) from None


MAX_PAGE = 1000


def int_param(value: str | None, default: int | None = None) -> int | None:
    """A positive whole number from a query string, or the default for anything else."""
    try:
        number = int((value or "").strip())
    except ValueError:
        return default
    return number if number > 0 else default


def page_param(request: Request) -> int:
    """The ``?page=`` of a list: 1-based, anything malformed is page 1, capped."""
    return min(int_param(request.query_params.get("page"), 1) or 1, MAX_PAGE)


def safe_next(target: str | None, default: str = "/") -> str:
    """Only local paths, so a crafted link cannot bounce a signed-in user to another site."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return default
