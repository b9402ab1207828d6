"""The steps both faces share once the caller is identified: app standing, permission
package, role, flow control, business parameters and the handler (TOP-PROTOCOL.md §14.1,
steps after the signature)."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ValidationError

from mercato.gateway import adapters, hooks
from mercato.gateway.context import CallContext
from mercato.gateway.errors import GatewayError, from_domain, from_validation, unknown_error
from mercato.gateway.registry import Method
from mercato.kit.errors import MercatoError, problems_from_pydantic
from mercato.models import App, Role, User

log = logging.getLogger("mercato.gateway")

# The TOP system parameters: never passed to a params model.
SYSTEM_PARAMS = frozenset(
    {
        "method",
        "app_key",
        "sign",
        "sign_method",
        "timestamp",
        "v",
        "format",
        "session",
        "partner_id",
        "simplify",
        "target_app_key",
        "access_token",
    }
)


def check_app(app: App, method: Method, client_ip: str) -> None:
    """The app may call now, from this address, and holds the method's package (code 11)."""
    if app.status not in adapters.LIVE_APP_STATUSES:
        raise GatewayError(11, "isv.permission-app-status-limit", f"the app is {app.status}")
    if not adapters.ip_allowed(app, client_ip):
        raise GatewayError(
            11, "isv.permission-ip-whitelist-limit", f"{client_ip} is not in the IP whitelist"
        )
    if method.package is None:
        return
    held = {p.package for p in app.packages}
    if not held:
        raise GatewayError(11, "isv.permission-api-package-empty", "the app holds no package")
    if method.package not in held:
        raise GatewayError(
            11,
            "isv.permission-api-package-not-allowed",
            f"{method.name} needs the package {method.package}",
        )


def check_role(user: User, method: Method) -> None:
    """A session acts for one user; a seller method needs a seller (code 42, see
    docs/gateway.md: the session's user lacks the standing, the app is not at fault)."""
    if method.role == "any":
        return
    if not user.has_role(Role(method.role)):
        raise GatewayError(
            42,
            f"isv.user-not-{method.role}",
            f"{method.name} needs a {method.role}'s session",
            slug=f"not_a_{method.role}",
        )


def business_params(raw: dict[str, Any]) -> dict[str, Any]:
    """The business parameters: system ones left out; empty values count as absent."""
    return {k: v for k, v in raw.items() if k not in SYSTEM_PARAMS and v != ""}


def parse_params(method: Method, values: dict[str, Any]) -> BaseModel:
    """The method's params model from the received values: 40 missing, 41 invalid."""
    try:
        return method.params.model_validate(values)
    except ValidationError as exc:
        raise from_validation(problems_from_pydantic(exc)) from None


async def run(ctx: CallContext, method: Method, values: dict[str, Any]) -> dict[str, Any]:
    """Flow control, parameters, then the handler in one unit of work (a write unit for
    write methods). Domain errors become TOP errors; anything else is code 10, logged."""
    await hooks.before_call(ctx)
    params = parse_params(method, values)
    try:
        async with ctx.db.session(write=method.write) as db_session:
            ctx._db_session = db_session
            try:
                return await method.handler(ctx, params)
            finally:
                ctx._db_session = None
    except GatewayError:
        raise
    except MercatoError as exc:
        raise from_domain(exc) from None
    except Exception:
        log.exception("gateway method %s failed (request %s)", method.name, ctx.request_id)
        raise unknown_error() from None
