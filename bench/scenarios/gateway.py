"""Scenario ``gateway``: signed ``taobao.item.seller.get`` calls through ``/router/rest``.

For each backend, on the catalog scenario's seed (reused from its cache): an online app on
the ``large`` flow-control tier is made with ``mercato app create`` and a bulk seller's
token with ``mercato token issue``, as a developer would. Then, on one ``mercato serve
--workers N`` process group with flow control and the call log on (PostgreSQL with Redis
for the shared counters), rows alternate ``hello`` with ``time.get`` (the gateway's fixed
cost: signature, flow control, call log, no session and no database) and ``item.seller.get``:
GETs of the seller's items, each request signed (md5, millisecond timestamp, session) in advance —
signing is the client's work, not the server's. The target: the signed call reaches at
least half of hello's throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import time
from typing import Any
from urllib.parse import urlencode

from bench import loadgen, report, server
from bench.scenarios import catalog
from bench.scenarios.catalog import Backend

FIELDS = "num_iid,title,price,num,approve_status,cid,pic_url,modified,sku"
SIGNED_REQUESTS = 3000  # distinct pre-signed calls per row, used round-robin
REDIS_URL = "redis://127.0.0.1:6379/0"
# hello, then the gateway's fixed cost (signed, flow control and call log, no session and no
# database: taobao.time.get), then the whole call, each signed row between two hellos.
ROWS = ("hello", "time.get", "hello", "item.seller.get", "hello", "item.seller.get", "hello")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--items", type=int, help="catalog items (default 100000; --quick 10000)")
    add("--shops", type=int, default=50, help="shops (default 50)")
    add("--duration", type=float, help="measured seconds per row (default 10; --quick 3)")
    add("--warmup", type=float, help="unrecorded seconds per row (default 2; --quick 1)")
    add("--concurrency", type=int, default=16, help="connections (default 16)")
    add("--workers", type=int, default=2, help="server processes (default 2)")
    add("--backends", default="sqlite,postgres", help="comma-separated (default both)")
    add("--quick", action="store_true", help="a smoke run: 10k items, 3 s rows")
    add("--fresh", action="store_true", help="reseed even when a cached seed matches")
    add("--redis-url", default=REDIS_URL, help="Redis for the postgres backend's counters")
    add("--pg-url", default=catalog.DEFAULT_PG_URL, help="PostgreSQL server for postgres")


def run(args: argparse.Namespace) -> int:
    items = args.items or (10_000 if args.quick else 100_000)
    duration = args.duration or (3.0 if args.quick else 10.0)
    warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 2.0)
    params = {"items": items, "shops": args.shops, "duration_s": duration, "warmup_s": warmup}
    params |= {"concurrency": args.concurrency, "workers": args.workers}
    out = report.Output("gateway", params)
    status = 0
    for name in [b.strip() for b in args.backends.split(",") if b.strip()]:
        try:
            backend = catalog.prepare(name, items, args.shops, args.fresh, args.pg_url, out)
            if backend is None:
                continue
            out.backend(backend.name, version=backend.version, seed=backend.seed)
            measure(backend, args, duration, warmup, out)
        except Exception as exc:
            out.note(f"[red]{name}: failed: {exc!r}[/]")
            status = 1
    out.finish()
    return status or (0 if out.rows else 1)


def measure(
    backend: Backend, args: argparse.Namespace, duration: float, warmup: float, out: report.Output
) -> None:
    env = catalog._env(backend)
    if backend.name == "postgres":
        env |= {"MERCATO_REDIS_URL": args.redis_url, "MERCATO_FLOW_REDIS_PREFIX": "bench-gw"}
    app_key, secret, token, item_ids = prepare_caller(backend, env)
    log = catalog.CACHE / f"serve-gateway-{backend.name}.log"
    log.unlink(missing_ok=True)
    port = server.free_port()
    cmd = server.mercato_serve(port, args.workers)
    with server.running(cmd, port, env=env, log=log) as base_url:
        for name in ROWS:
            if name == "hello":
                paths = ["/_hello"]
            else:
                paths = signed_paths(name, app_key, secret, token, item_ids)
            result = asyncio.run(
                loadgen.run(
                    base_url,
                    paths,
                    concurrency=args.concurrency,
                    duration=duration,
                    warmup=warmup,
                )
            )
            out.row(backend.name, name, result.summary())
            if name != "hello":
                _check_answers(base_url, name, paths[:20], out, backend.name)


def prepare_caller(
    backend: Backend, env: dict[str, str]
) -> tuple[str, str, dict[str, Any], list[int]]:
    """As a developer would: an online app on the ``large`` tier, a token of the bulk seller,
    and up to 500 of the seller's item ids."""
    seller = "bulk_seller_000001"
    app = _cli(env, "app", "create", "--name", "bench", "--owner", seller, "--online", "--json")
    _large_tier(backend, app["app_key"])
    token = _cli(env, "token", "issue", "--app-key", app["app_key"], "--nick", seller, "--json")
    item_ids = [
        row[0]
        for row in catalog.sample(
            backend,
            f"SELECT i.id FROM items i JOIN users u ON u.id = i.seller_id "
            f"WHERE u.nick = '{seller}' ORDER BY i.id LIMIT 500",
        )
    ]
    if not item_ids:
        raise RuntimeError(f"{seller} has no items in the seed")
    return app["app_key"], app["app_secret"], token, item_ids


def _cli(env: dict[str, str], *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [str(server.VENV_BIN / "mercato"), *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout))


def _large_tier(backend: Backend, app_key: str) -> None:
    """The bench app gets the ``large`` tier: counted (flow control on) but not refused."""
    sql = f"UPDATE apps SET tier = 'large' WHERE app_key = '{app_key}'"
    if backend.name == "sqlite":
        import sqlite3

        path = backend.env["MERCATO_DATA_DIR"] + "/mercato.db"
        with sqlite3.connect(path) as conn:
            conn.execute(sql)
        return
    url = backend.env["MERCATO_DATABASE_URL"].replace("+asyncpg", "")
    asyncio.run(catalog._pg(url, sql))


def signed_paths(
    name: str, app_key: str, secret: str, token: dict[str, Any], ids: list[int]
) -> list[str]:
    """GET paths of signed calls of row ``name``, made now (the timestamps stay within
    ±10 minutes)."""
    from mercato.gateway.signing import sign

    rng = random.Random(7)
    stamp = str(int(time.time() * 1000))
    paths = []
    for _ in range(SIGNED_REQUESTS):
        params = {
            "method": f"taobao.{name}",
            "app_key": app_key,
            "timestamp": stamp,
            "v": "2.0",
            "format": "json",
            "sign_method": "md5",
            "partner_id": f"bench-{rng.random()}",  # distinct requests, as real clients send
        }
        if name == "item.seller.get":
            params |= {"session": str(token["access_token"]), "fields": FIELDS}
            params["num_iid"] = str(rng.choice(ids))
        params["sign"] = sign(params, secret, "md5")
        paths.append("/router/rest?" + urlencode(params))
    return paths


def _check_answers(
    base_url: str, method: str, paths: list[str], out: report.Output, backend: str
) -> None:
    """The measured calls must be answers, not errors: a 200 with error_response would
    count as a fast success otherwise."""
    import urllib.request

    root = method.replace(".", "_") + "_response"
    for path in paths:
        with urllib.request.urlopen(base_url + path, timeout=10) as response:
            body = json.loads(response.read())
        if root not in body:
            out.note(f"[red]{backend}: {method} answered {body}[/]")
            raise RuntimeError(f"{method} did not succeed; the row measured errors")
