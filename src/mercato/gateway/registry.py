"""The one method registry (DESIGN.md rule 4).

Each API method is declared once, next to its domain, in that domain's ``gateway.py``::

    @registry.method(
        "taobao.items.onsale.get",
        params=OnsaleParams,
        package="items-read",
        session=True,
        role="seller",
        fields=("total_results", "items"),
        lists={"items": "item", "skus": "sku"},
        description="The seller's items on sale.",
    )
    async def items_onsale_get(ctx: CallContext, params: OnsaleParams) -> dict[str, Any]: ...

``/router/rest``, the JSON face (``/api/v1/{method}``), its OpenAPI document and the docs all
read the declarations from here. Dispatch is a dictionary lookup of a declared name — never
``getattr`` on a name taken from the request.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from mercato.gateway.context import CallContext

Role = Literal["seller", "buyer", "any"]
Handler = Callable[["CallContext", Any], Awaitable[dict[str, Any]]]
H = TypeVar("H", bound=Handler)

# The modules that declare methods, imported once on first use. A domain adds its
# ``gateway.py`` here (e.g. "mercato.trade.gateway").
METHOD_MODULES: tuple[str, ...] = (
    "mercato.gateway.platform",
    "mercato.oauth.gateway",
    "mercato.accounts.gateway",
    "mercato.shops.gateway",
    "mercato.catalog.gateway",
    "mercato.catalog.gateway_writes",
    "mercato.trade.gateway",
    "mercato.logistics.gateway",
    "mercato.refunds.gateway",
    "mercato.ratings.gateway",
)


class TopParams(BaseModel):
    """Base of every params model: TOP names via aliases (``location.state``), unknown
    business parameters ignored, as TOP does."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class NoParams(TopParams):
    """A method without business parameters."""


@dataclass(frozen=True)
class Method:
    """One API method's declaration."""

    name: str
    params: type[BaseModel]
    handler: Handler
    package: str | None  # permission package (developer/packages.py); None: every app
    session: bool = False  # needs a user session (TOP "needs authorization")
    role: Role = "any"  # which users' sessions may call it
    write: bool = False  # runs in a write unit of work
    fields: tuple[str, ...] = ()  # the response's root field names
    lists: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    max_page_size: int | None = None
    description: str = ""
    example: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def root(self) -> str:
        """The success root: ``taobao.time.get`` → ``time_get_response``."""
        name = self.name.removeprefix("taobao.")
        return name.replace(".", "_") + "_response"


class Registry:
    def __init__(self, modules: tuple[str, ...] = ()) -> None:
        self._methods: dict[str, Method] = {}
        self._modules = modules
        self._loaded = not modules

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            for module in self._modules:
                importlib.import_module(module)

    def add(self, method: Method) -> Method:
        if method.name in self._methods:
            raise ValueError(f"{method.name} is declared twice")
        if method.session is False and method.role != "any":
            raise ValueError(f"{method.name}: a role needs a session")
        self._methods[method.name] = method
        return method

    def remove(self, name: str) -> None:
        self._methods.pop(name, None)

    def get(self, name: str) -> Method | None:
        self._load()
        return self._methods.get(name)

    def methods(self) -> list[Method]:
        self._load()
        return sorted(self._methods.values(), key=lambda m: m.name)

    @contextmanager
    def temporarily(self, *methods: Method) -> Iterator[None]:
        """Declare methods for the duration of a block (tests)."""
        self._load()
        for m in methods:
            self.add(m)
        try:
            yield
        finally:
            for m in methods:
                self.remove(m.name)


REGISTRY = Registry(METHOD_MODULES)


def method(
    name: str,
    *,
    params: type[BaseModel] = NoParams,
    package: str | None,
    session: bool = False,
    role: Role = "any",
    write: bool = False,
    fields: tuple[str, ...] = (),
    lists: Mapping[str, str] | None = None,
    max_page_size: int | None = None,
    description: str = "",
    example: Mapping[str, Any] | None = None,
    registry: Registry = REGISTRY,
) -> Callable[[H], H]:
    """Declare the decorated handler as the API method ``name``."""

    def register(handler: H) -> H:
        registry.add(
            Method(
                name=name,
                params=params,
                handler=handler,
                package=package,
                session=session,
                role=role,
                write=write,
                fields=fields,
                lists=MappingProxyType(dict(lists or {})),
                max_page_size=max_page_size,
                description=description or (handler.__doc__ or "").strip(),
                example=MappingProxyType(dict(example or {})),
            )
        )
        return handler

    return register


def get(name: str) -> Method | None:
    return REGISTRY.get(name)


def methods() -> list[Method]:
    """Every declared method, by name (docs, OpenAPI, tests)."""
    return REGISTRY.methods()
