"""Scenario ``gatewaycost``: what one call costs the server, with no HTTP server around it.

The application is called in this process as an ASGI app, one request at a time, so the
figures are the CPU time of the application alone — FastAPI and Mercato, no uvicorn, no
load generator sharing the cores. Rows, on the catalog scenario's seed with the gateway
scenario's app and token: ``hello``; ``time.get`` (a signed call with flow control and the
call log, no session, no database work in the handler); ``item.seller.get`` (the gateway
scenario's call). ``req/s`` is calls per second of one core (1 / CPU time per call), so
``× hello`` is the most any number of server processes could reach relative to hello.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from typing import Any

from bench import report
from bench.scenarios import catalog, gateway

ROWS = ("hello", "time.get", "item.seller.get", "hello", "time.get", "item.seller.get", "hello")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--items", type=int, default=10_000, help="catalog items (default 10000)")
    add("--shops", type=int, default=50, help="shops (default 50)")
    add("--calls", type=int, default=3000, help="measured calls per row (default 3000)")
    add("--backends", default="sqlite", help="comma-separated (default sqlite)")
    add("--fresh", action="store_true", help="reseed even when a cached seed matches")
    add("--pg-url", default=catalog.DEFAULT_PG_URL, help="PostgreSQL server for postgres")


def run(args: argparse.Namespace) -> int:
    shape = f"in process, one call at a time, {args.calls} calls per row, req/s of one core"
    out = report.Output("gatewaycost", {"items": args.items, "calls": args.calls, "shape": shape})
    for name in [b.strip() for b in args.backends.split(",") if b.strip()]:
        backend = catalog.prepare(name, args.items, args.shops, args.fresh, args.pg_url, out)
        if backend is None:
            continue
        out.backend(backend.name, version=backend.version, seed=backend.seed)
        asyncio.run(_measure(backend, args.calls, out))
    out.finish()
    return 0 if out.rows else 1


async def _measure(backend: catalog.Backend, calls: int, out: report.Output) -> None:
    env = catalog._env(backend)
    app_key, secret, token, item_ids = gateway.prepare_caller(backend, env)
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        from mercato.app import create_app

        application = create_app()
        async with application.router.lifespan_context(application):
            for name in ROWS:
                if name == "hello":
                    paths = ["/_hello"]
                else:
                    paths = gateway.signed_paths(name, app_key, secret, token, item_ids)
                out.row(backend.name, name, await _row(application, paths, calls))
    finally:
        os.environ.clear()
        os.environ.update(saved)


async def _row(application: Any, paths: list[str], calls: int) -> dict[str, Any]:
    for i in range(min(300, calls)):  # warm: caches, compiled statements
        await _call(application, paths[i % len(paths)])
    walls = []
    cpu = time.process_time()
    for i in range(calls):
        started = time.perf_counter()
        status, body = await _call(application, paths[i % len(paths)])
        walls.append(time.perf_counter() - started)
        if status != 200 or b"error_response" in body:  # a TOP error is HTTP 200 too
            raise RuntimeError(f"{paths[0][:40]}… answered {status} {body[:200]!r}")
    per_call = (time.process_time() - cpu) / calls
    walls.sort()
    return {
        "rps": round(1 / per_call, 1),
        "cpu_us": round(per_call * 1e6, 1),
        "p50_ms": round(statistics.median(walls) * 1000, 3),
        "p99_ms": round(walls[int(len(walls) * 0.99)] * 1000, 3),
        "errors": 0,
    }


async def _call(application: Any, path: str) -> tuple[int, bytes]:
    """One GET through the ASGI app; its status and body."""
    route, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": route,
        "raw_path": route.encode(),
        "query_string": query.encode(),
        "headers": [(b"host", b"bench")],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 80),
        "root_path": "",
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await application(scope, receive, send)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return int(sent[0]["status"]), body
