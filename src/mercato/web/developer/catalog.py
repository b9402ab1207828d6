"""The developer console's API reference: the catalogue of methods by permission package and
one page per method (parameters, response fields, permission, errors, an example).

Everything here is read from the method registry (DESIGN.md rule 4) and the platform's
tables (permission packages, TOP's error codes): no method has hand-written text, so a
newly declared method has its page at once.
"""

from __future__ import annotations

import json
import types
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types as at
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic.fields import FieldInfo

from mercato.developer.packages import PACKAGES
from mercato.gateway import envelope, registry
from mercato.gateway.errors import TOP_ERRORS
from mercato.gateway.registry import Method
from mercato.kit.errors import NotFound
from mercato.models import User
from mercato.web.deps import require_user
from mercato.web.templating import page

router = APIRouter(prefix="/developer")

NO_PACKAGE = "无需权限包 No package (every app)"
ROLE_TITLES = {
    "seller": "卖家 Seller",
    "buyer": "买家 Buyer",
    "any": "任意用户 Any user",
}
# The request id shown in the example responses (a real one is random per call).
EXAMPLE_REQUEST_ID = "4f2a1c9e7b3d"

# The platform codes any method can answer (TOP-PROTOCOL §6.1, docs/gateway.md), with when.
_COMMON_ERRORS: tuple[tuple[int, str], ...] = (
    (7, "flow control: a call limit of the app was exceeded (accesscontrol.*)"),
    (11, "the app's status, IP whitelist or permission packages do not allow the call"),
    (15, "a business rule failed (isv.<error-code>)"),
    (21, "no method parameter"),
    (22, "the method is not declared"),
    (23, "format other than json / xml"),
    (24, "no sign parameter"),
    (25, "unknown sign_method or the signature does not match"),
    (28, "no app_key parameter"),
    (29, "unknown app_key"),
    (30, "no timestamp parameter"),
    (31, "timestamp unparseable or outside the allowed window"),
    (32, "no v parameter"),
    (33, "v is not digits and dots"),
    (34, "v other than 2.0"),
    (40, "a required business parameter is absent or empty (isv.missing-parameter:<name>)"),
    (41, "a business parameter is invalid (isv.invalid-parameter:<name>)"),
)
_SESSION_ERRORS: tuple[tuple[int, str], ...] = (
    (26, "the method needs a session and none was sent"),
    (27, "the session is unknown, expired, revoked or of another app (isv.invalid-session)"),
)
_ROLE_ERROR = (42, "the session's user lacks the method's role (isv.user-not-{role})")

_TYPE_NAMES = {str: "String", int: "Number", bool: "Boolean", float: "Number"}


@dataclass(frozen=True)
class Param:
    name: str  # the TOP name (the alias when there is one)
    type: str
    required: bool
    default: str | None
    constraints: list[str]
    description: str


@dataclass(frozen=True)
class ResponseField:
    name: str
    wrapper: str | None  # list element name: ``trades`` → ``trade``


@dataclass(frozen=True)
class ErrorCode:
    code: int
    msg: str
    when: str


@dataclass(frozen=True)
class Group:
    name: str | None
    title: str
    description: str
    methods: list[Method]


def _strip_optional(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _type_name(annotation: Any) -> tuple[str, list[str]]:
    """TOP's type name for a parameter and, for a Literal, its allowed values."""
    annotation = _strip_optional(annotation)
    if get_origin(annotation) is Literal:
        values = list(get_args(annotation))
        kinds = {_TYPE_NAMES.get(type(v), "String") for v in values}
        return (kinds.pop() if len(kinds) == 1 else "String"), [str(v) for v in values]
    if isinstance(annotation, type) and annotation in _TYPE_NAMES:
        return _TYPE_NAMES[annotation], []
    return getattr(annotation, "__name__", str(annotation)), []


def _constraints(info: FieldInfo, choices: list[str]) -> list[str]:
    out: list[str] = []
    if choices:
        out.append("one of: " + ", ".join(choices))
    for item in info.metadata:
        if isinstance(item, at.Ge):
            out.append(f"≥ {item.ge}")
        elif isinstance(item, at.Gt):
            out.append(f"> {item.gt}")
        elif isinstance(item, at.Le):
            out.append(f"≤ {item.le}")
        elif isinstance(item, at.Lt):
            out.append(f"< {item.lt}")
        elif isinstance(item, at.MinLen):
            out.append(f"min length {item.min_length}")
        elif isinstance(item, at.MaxLen):
            out.append(f"max length {item.max_length}")
        elif isinstance(item, at.MultipleOf):
            out.append(f"multiple of {item.multiple_of}")
        elif getattr(item, "pattern", None):
            out.append(f"pattern {item.pattern}")
    return out


def _default(info: FieldInfo) -> str | None:
    if info.is_required():
        return None
    if info.default_factory is not None:
        return None
    value = info.get_default()
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def params_of(method: Method) -> list[Param]:
    """The method's business parameters by TOP name, in declaration order."""
    out = []
    for name, info in method.params.model_fields.items():
        type_name, choices = _type_name(info.annotation)
        out.append(
            Param(
                name=info.alias or name,
                type=type_name,
                required=info.is_required(),
                default=_default(info),
                constraints=_constraints(info, choices),
                description=info.description or "",
            )
        )
    return out


def response_fields(method: Method) -> list[ResponseField]:
    return [ResponseField(name, method.lists.get(name)) for name in method.fields]


def errors_of(method: Method) -> list[ErrorCode]:
    """The platform codes a caller of ``method`` can get, by code."""
    pairs = list(_COMMON_ERRORS)
    if method.session:
        pairs += _SESSION_ERRORS
        if method.role != "any":
            code, when = _ROLE_ERROR
            pairs.append((code, when.format(role=method.role)))
    return [ErrorCode(code, TOP_ERRORS[code], when) for code, when in sorted(pairs)]


def example_json(method: Method) -> str:
    """The declared example inside the success envelope, lists wrapped as TOP sends them."""
    body = envelope.success_body(method.name, method.example, method.lists, EXAMPLE_REQUEST_ID)
    return json.dumps(body, ensure_ascii=False, indent=2)


def package_title(name: str | None) -> str:
    if name is None:
        return NO_PACKAGE
    known = PACKAGES.get(name)
    return known.title if known else name


def groups() -> list[Group]:
    """The methods by permission package, in the catalogue's order; "no package" last."""
    by_package: dict[str | None, list[Method]] = {}
    for method in registry.methods():
        by_package.setdefault(method.package, []).append(method)
    out = []
    for name, pkg in PACKAGES.items():
        if name in by_package:
            out.append(Group(name, pkg.title, pkg.description, by_package.pop(name)))
    for rest in sorted(by_package, key=lambda n: (n is None, n or "")):
        out.append(Group(rest, package_title(rest), "", by_package[rest]))
    return out


def _one_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _labels() -> dict[str, Any]:
    return {"role_titles": ROLE_TITLES, "one_line": _one_line}


@router.get("/api")
async def api_catalogue(request: Request, user: User = Depends(require_user)) -> Response:
    found = groups()
    total = sum(len(g.methods) for g in found)
    return await page(request, "developer/api_catalog.html", groups=found, total=total, **_labels())


@router.get("/api/{method_name}")
async def api_method(
    request: Request, method_name: str, user: User = Depends(require_user)
) -> Response:
    method = registry.get(method_name)
    if method is None:
        raise NotFound("no such API method")
    pkg = PACKAGES.get(method.package) if method.package else None
    return await page(
        request,
        "developer/api_method.html",
        method=method,
        package=pkg,
        package_title=package_title(method.package),
        root=envelope.root_name(method.name),
        params=params_of(method),
        response_fields=response_fields(method),
        lists=dict(method.lists),
        errors=errors_of(method),
        example=example_json(method),
        **_labels(),
    )
