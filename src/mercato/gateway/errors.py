"""TOP's numbered errors, the one exception the gateway raises, and how domain errors map
onto it (TOP-PROTOCOL.md §6). Every error goes out as ``error_response`` with HTTP 200."""

from __future__ import annotations

from mercato.kit.errors import (
    AuthenticationRequired,
    MercatoError,
    PermissionDenied,
    ValidationFailed,
)

# §6.1: code -> msg, as TOP spells them.
TOP_ERRORS: dict[int, str] = {
    3: "Upload Fail",
    7: "App Call Limited",
    9: "Http Action Not Allowed",
    10: "Service Currently Unavailable",
    11: "Insufficient ISV Permissions",
    12: "Insufficient User Permissions",
    15: "Remote Service Error",
    21: "Missing Method",
    22: "Invalid Method",
    23: "Invalid Format",
    24: "Missing Signature",
    25: "Invalid Signature",
    26: "Missing Session",
    27: "Invalid Session",
    28: "Missing App Key",
    29: "Invalid App Key",
    30: "Missing Timestamp",
    31: "Invalid Timestamp",
    32: "Missing Version",
    33: "Invalid Version",
    34: "Unsupported Version",
    40: "Missing Required Arguments",
    41: "Invalid Arguments",
    42: "Insufficient Session Permissions",
    43: "Parameter Error",
    47: "Invalid Encoding",
}

# The HTTP status the JSON face uses for a TOP code (the TOP face always answers 200).
HTTP_STATUS: dict[int, int] = {
    3: 400,
    7: 429,
    9: 405,
    10: 500,
    11: 403,
    12: 403,
    15: 400,
    22: 404,
    26: 401,
    27: 401,
    40: 422,
    41: 422,
    42: 403,
    43: 400,
    47: 400,
}


class GatewayError(Exception):
    """A TOP error: ``code`` from §6.1, optional ``sub_code``/``sub_msg`` (§6.2).

    ``http_status`` and ``slug`` are for the JSON face only; ``problems`` keeps the field
    problems of a parameter error for it."""

    def __init__(
        self,
        code: int,
        sub_code: str | None = None,
        sub_msg: str | None = None,
        *,
        http_status: int | None = None,
        slug: str | None = None,
        problems: list[dict[str, str]] | None = None,
    ) -> None:
        self.code = code
        self.msg = TOP_ERRORS.get(code, "Remote Service Error")
        self.sub_code = sub_code
        self.sub_msg = sub_msg
        self.http_status = http_status or HTTP_STATUS.get(code, 400)
        self.slug = slug or self.msg.lower().replace(" ", "_")
        self.problems = problems
        super().__init__(f"{code} {self.msg} {sub_code or ''} {sub_msg or ''}".strip())

    def body(self, request_id: str) -> dict[str, object]:
        """The inner object of ``error_response``; absent sub-fields are omitted."""
        out: dict[str, object] = {"code": self.code, "msg": self.msg}
        if self.sub_code:
            out["sub_code"] = self.sub_code
        if self.sub_msg:
            out["sub_msg"] = self.sub_msg
        out["request_id"] = request_id
        return out


def unknown_error() -> GatewayError:
    """Anything unexpected: code 10, no details (the cause is logged, never sent)."""
    return GatewayError(
        10,
        "isp.unknown-error",
        "the service failed; try again later",
        http_status=500,
        slug="internal_error",
    )


def _isv(code: str) -> str:
    return "isv." + code.replace("_", "-")


def from_validation(exc: ValidationFailed) -> GatewayError:
    """40 ``isv.missing-parameter:<field>`` when a field is missing, else 41
    ``isv.invalid-parameter:<field>`` — named after the first problem."""
    problems = [p.as_dict() for p in exc.problems]
    first = exc.problems[0] if exc.problems else None
    field = first.field if first else "unknown"
    if first is not None and first.rule == "missing":
        return GatewayError(
            40,
            f"isv.missing-parameter:{field}",
            f"{field} is required",
            slug="missing_parameter",
            problems=problems,
        )
    message = first.message if first else "invalid"
    return GatewayError(
        41,
        f"isv.invalid-parameter:{field}",
        f"{field}: {message}",
        slug="invalid_parameter",
        problems=problems,
    )


def from_domain(exc: MercatoError) -> GatewayError:
    """A domain error raised by a handler, in TOP terms (DESIGN.md rule 5)."""
    if isinstance(exc, ValidationFailed):
        return from_validation(exc)
    if isinstance(exc, AuthenticationRequired):
        return GatewayError(27, _isv(exc.code), exc.message, slug=exc.code)
    if isinstance(exc, PermissionDenied):
        return GatewayError(11, _isv(exc.code), exc.message, slug=exc.code)
    # NotFound, Conflict and every other business failure: 15 with an isv.* sub-code.
    return GatewayError(15, _isv(exc.code), exc.message, http_status=exc.status, slug=exc.code)
