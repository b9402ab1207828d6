"""The one ASGI application that serves every surface."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from fastapi.staticfiles import StaticFiles

from mercato import __version__  # timers: registers the job handlers
from mercato.config import Settings
from mercato.developer.sandbox_clock import ClockFollower
from mercato.events.jobs import JobRunner
from mercato.gateway import hooks
from mercato.gateway.calllog import CallLog
from mercato.gateway.flowcontrol import FlowControl
from mercato.gateway.jsonapi import router as api_v1_router
from mercato.gateway.router import router as top_router
from mercato.kit.db import Database
from mercato.kit.storage import LocalStorage
from mercato.web import errors
from mercato.web.account.apps import router as authorized_apps_router
from mercato.web.account.views import router as account_router
from mercato.web.buyer.views import router as buyer_router
from mercato.web.developer.calls import router as developer_calls_router
from mercato.web.developer.catalog import router as developer_api_router
from mercato.web.developer.explorer import router as developer_explorer_router
from mercato.web.developer.review import router as app_review_router
from mercato.web.developer.sandbox import router as developer_sandbox_router
from mercato.web.developer.views import router as developer_router
from mercato.web.oauth.views import router as oauth_router
from mercato.web.oauth.views import token_router as oauth_token_router
from mercato.web.payments import router as payments_router
from mercato.web.seller.trades import router as seller_trades_router
from mercato.web.seller.views import router as seller_router
from mercato.web.storefront.views import router as storefront_router

STATIC_DIR = Path(__file__).parent / "web" / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    settings.media_dir.mkdir(parents=True, exist_ok=True)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.db = Database(settings.resolved_database_url)
        # Durable timers run here unless a separate `mercato worker` runs them.
        app.state.job_runner = JobRunner(app.state.db) if settings.run_jobs else None
        # The gateway's flow control and call log (its writer flushes on shutdown).
        app.state.flow_control = (
            FlowControl.from_settings(settings) if settings.flow_control else None
        )
        app.state.call_log = CallLog.from_settings(app.state.db, settings)
        # The sandbox clock `mercato sandbox clock` moves: loaded now, refreshed each second.
        app.state.clock = ClockFollower(app.state.db) if settings.sandbox_tools else None
        hooks.attach(app.state.db, flow=app.state.flow_control, calls=app.state.call_log)
        try:
            if app.state.clock is not None:
                await app.state.clock.start()
            if app.state.job_runner is not None:
                await app.state.job_runner.start()
            await app.state.call_log.start()
            yield
        finally:
            if app.state.job_runner is not None:
                await app.state.job_runner.stop()
            await app.state.call_log.stop()
            if app.state.clock is not None:
                await app.state.clock.stop()
            hooks.detach(app.state.db)
            await app.state.db.dispose()

    app = FastAPI(
        title="Mercato", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None
    )
    app.state.settings = settings
    app.state.secret_key = settings.resolved_secret_key()
    app.state.storage = LocalStorage(settings.media_dir, "/media")
    errors.install(app)

    @app.get("/_hello", include_in_schema=False)
    async def hello() -> PlainTextResponse:
        """A bare endpoint: the baseline that benchmarks compare every page against."""
        return PlainTextResponse("hello")

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")

    app.include_router(account_router)
    app.include_router(storefront_router)
    app.include_router(buyer_router)
    app.include_router(payments_router)  # channel callbacks: no CSRF, HMAC-signed
    app.include_router(top_router)  # /router/rest: no CSRF, every call signed
    app.include_router(api_v1_router)  # /api/v1: no CSRF, bearer tokens
    app.include_router(oauth_token_router)  # /oauth/token: no CSRF, server to server
    app.include_router(oauth_router)
    app.include_router(authorized_apps_router)
    app.include_router(seller_router)
    app.include_router(seller_trades_router)
    app.include_router(developer_router)
    app.include_router(developer_calls_router)
    app.include_router(developer_api_router)
    app.include_router(developer_explorer_router)
    app.include_router(app_review_router)
    app.include_router(developer_sandbox_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount("/media", StaticFiles(directory=settings.media_dir, check_dir=False), name="media")
    return app
