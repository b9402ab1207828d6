"""One error family for the whole platform.

Every expected failure is a ``MercatoError`` with an HTTP status and a stable code; each
surface (TOP gateway, JSON API, HTML pages) renders it in its own way.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldProblem:
    """One invalid field: which field, which rule it broke, and a sentence for people."""

    field: str
    rule: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "rule": self.rule, "message": self.message}


class MercatoError(Exception):
    status: int = 400
    code: str = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code

    def as_dict(self) -> dict[str, object]:
        return {"error": self.code, "detail": self.message}


class NotFound(MercatoError):
    status = 404
    code = "not_found"


class Conflict(MercatoError):
    status = 409
    code = "conflict"


class PermissionDenied(MercatoError):
    status = 403
    code = "permission_denied"


class AuthenticationRequired(MercatoError):
    status = 401
    code = "authentication_required"


class ValidationFailed(MercatoError):
    """One or more fields are invalid; each problem names the field and the rule."""

    status = 422
    code = "invalid"

    def __init__(self, problems: list[FieldProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))

    @classmethod
    def one(cls, field: str, rule: str, message: str) -> ValidationFailed:
        return cls([FieldProblem(field, rule, message)])

    def by_field(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for p in self.problems:
            out.setdefault(p.field, p.message)
        return out

    def as_dict(self) -> dict[str, object]:
        return {
            "error": self.code,
            "detail": self.message,
            "problems": [p.as_dict() for p in self.problems],
        }


def problems_from_pydantic(exc: Exception, prefix: str = "") -> ValidationFailed:
    """Turn a pydantic ``ValidationError`` into our ``ValidationFailed``."""
    from pydantic import ValidationError

    assert isinstance(exc, ValidationError)
    problems = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "form"
        problems.append(FieldProblem(prefix + loc, err["type"], err["msg"]))
    return ValidationFailed(problems)
