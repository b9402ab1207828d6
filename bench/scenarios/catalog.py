"""Scenario ``catalog``: the storefront's read path on a bulk-seeded catalogue.

For each backend: seed (or reuse a cached seed), then measure, one after another in the
same run, at the same concurrency and each on a fresh ``mercato serve`` process: search
pages, search pages with short terms and item pages, each between two rows of the bare
``/_hello`` baseline that its ratios are computed against.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg

from bench import loadgen, report, server

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "var" / "bench" / "catalog"
PG_DB = "mercato_bench"
DEFAULT_PG_URL = os.environ.get("MERCATO_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")
BUYER_WALLET_YUAN = 10_000_000  # enough that no benchmark buyer runs out of money
SORTS = ["relevance", "price_asc", "price_desc", "sales", "newest"]
# Words of the demo title generator (mercato/demo/data.py): nouns, adjectives, pairs.
TERMS = [
    *("连衣裙", "dress", "牛仔裤", "jeans", "运动鞋", "sneakers", "智能手机", "smartphone"),
    *("蓝牙耳机", "headphones", "充电器", "laptop", "零食大礼包", "精华液", "serum", "lipstick"),
    *("瑜伽垫", "yoga mat", "收纳箱", "tent", "novel", "jasmine", "vintage", "floral"),
    *("碎花 连衣裙", "复古 dress", "智能手机 5G", "tea 茉莉"),
]
# One and two characters: shorter than a trigram, served by the indexed short pieces of
# titles (mercato.kit.searchtext).
SHORT_TERMS = ["手机", "耳机", "茶", "T恤", "衬衫", "口红", "哑铃", "帐篷", "坚果", "小说", "新款"]


@dataclass
class Backend:
    name: str
    env: dict[str, str]
    version: str = ""
    seed: dict[str, Any] = field(default_factory=dict)  # seconds, cached, seeded_at


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--items", type=int, help="items to seed (default 100000; --quick 10000)")
    add("--shops", type=int, default=50, help="shops to spread them over (default 50)")
    add("--duration", type=float, help="measured seconds per row (default 10; --quick 3)")
    add("--warmup", type=float, help="unrecorded seconds before each row (default 2; --quick 1)")
    add("--concurrency", type=int, default=8, help="concurrent connections (default 8)")
    add("--workers", type=int, default=1, help="server processes (default 1)")
    add("--backends", default="sqlite,postgres", help="comma-separated (default both)")
    add("--quick", action="store_true", help="a smoke run: 10k items, 3 s rows")
    add("--fresh", action="store_true", help="reseed even when a cached seed matches")
    add("--client", choices=["raw", "httpx"], default="raw", help="load generator client")
    add(
        "--pg-url",
        default=DEFAULT_PG_URL,
        help=f"PostgreSQL server for the postgres backend (database {PG_DB} is recreated)",
    )


def run(args: argparse.Namespace) -> int:
    items = args.items or (10_000 if args.quick else 100_000)
    duration = args.duration or (3.0 if args.quick else 10.0)
    warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 2.0)
    params = {"items": items, "shops": args.shops, "duration_s": duration, "warmup_s": warmup}
    params |= {"concurrency": args.concurrency, "workers": args.workers, "client": args.client}
    out = report.Output("catalog", params)
    status = 0
    try:
        for name in [b.strip() for b in args.backends.split(",") if b.strip()]:
            status |= run_backend(name, args, items, duration, warmup, out)
    except KeyboardInterrupt:
        out.note("[red]interrupted: the results so far follow[/]")
        status = 130
    out.finish()
    return status or (0 if out.rows else 1)


def run_backend(
    name: str,
    args: argparse.Namespace,
    items: int,
    duration: float,
    warmup: float,
    out: report.Output,
) -> int:
    """Prepare and measure one backend; 1 if that failed, 0 if it worked or was skipped."""
    try:
        backend = prepare(name, items, args.shops, args.fresh, args.pg_url, out)
        if backend is not None:
            out.backend(backend.name, version=backend.version, seed=backend.seed)
            measure(backend, args, duration, warmup, out)
    except Exception as exc:
        out.note(f"[red]{name}: failed: {exc}[/]")
        return 1
    return 0


# --- data ---------------------------------------------------------------------------------


def prepare(
    name: str,
    items: int,
    shops: int,
    fresh: bool,
    pg_url: str,
    out: report.Output,
    *,
    buyers: int = 0,
    cache: Path = CACHE,
    pg_db: str = PG_DB,
) -> Backend | None:
    """A seeded backend: a SQLite data dir under ``cache`` or the PostgreSQL database
    ``pg_db``, reused while its seed key matches; None when PostgreSQL is not there."""
    key = cache_key(items, shops, buyers)
    if name == "sqlite":
        data_dir = cache / f"sqlite-{key}"
        marker = data_dir / "seeded.json"
        backend = Backend(name, {"MERCATO_DATA_DIR": str(data_dir)}, report.sqlite_version())
        cached = marker.exists() and not fresh
        if not cached:
            code = key.rsplit("-", 1)[1]
            for old in cache.glob("sqlite-*"):  # copies seeded by other code are stale
                if old == data_dir or not old.name.endswith(code):
                    shutil.rmtree(old)
            data_dir.mkdir(parents=True)
            marker.write_text(json.dumps(seed(backend, items, shops, out, buyers)))
        backend.seed = json.loads(marker.read_text()) | {"cached": cached}
        return backend
    if name == "postgres":
        admin = f"{pg_url.rstrip('/')}/postgres"
        try:
            version = asyncio.run(_pg(admin, "SHOW server_version"))[0][0]
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            out.note(f"[yellow]postgres: SKIPPED, no server at {pg_url} ({exc!r})[/]")
            return None
        url = f"{pg_url.rstrip('/').replace('postgresql://', 'postgresql+asyncpg://', 1)}/{pg_db}"
        env = {"MERCATO_DATA_DIR": str(cache / "postgres-data"), "MERCATO_DATABASE_URL": url}
        backend = Backend(name, env, f"PostgreSQL {version}")
        sql = "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1"
        comment = asyncio.run(_pg(admin, sql, pg_db))
        stored = json.loads(comment[0][0]) if comment and comment[0][0] else {}
        if not fresh and stored.get("key") == key:
            backend.seed = stored | {"cached": True}
            return backend
        asyncio.run(_pg(admin, f"DROP DATABASE IF EXISTS {pg_db} WITH (FORCE)"))
        asyncio.run(_pg(admin, f"CREATE DATABASE {pg_db}"))
        shutil.rmtree(cache / "postgres-data", ignore_errors=True)
        info = seed(backend, items, shops, out, buyers) | {"key": key}
        literal = json.dumps(info).replace("'", "''")
        asyncio.run(_pg(admin, f"COMMENT ON DATABASE {pg_db} IS '{literal}'"))
        backend.seed = info | {"cached": False}
        return backend
    raise ValueError(f"unknown backend {name!r}")


def cache_key(items: int, shops: int, buyers: int = 0) -> str:
    """Seed parameters plus a hash of what decides the seeded rows (the migrations, the seed
    code, the models and the indexed search text): any change to those means a reseed."""
    from mercato.kit.migrate import MIGRATIONS

    package = MIGRATIONS.parent
    sources = [
        *MIGRATIONS.rglob("*.py"),
        *(package / "demo").rglob("*.py"),
        *(package / "models").rglob("*.py"),
        package / "kit" / "searchtext.py",
    ]
    digest = hashlib.sha256()
    for path in sorted(sources):
        digest.update(path.read_bytes())
    people = f"+{buyers}b" if buyers else ""
    return f"{items}x{shops}{people}-{digest.hexdigest()[:10]}"


def seed(
    backend: Backend, items: int, shops: int, out: report.Output, buyers: int = 0
) -> dict[str, Any]:
    """Migrate and bulk-seed through the real CLI; return the timings."""
    out.note(f"{backend.name}: seeding {items:,} items across {shops} shops, {buyers} buyers …")
    mercato = str(server.VENV_BIN / "mercato")
    env = _env(backend)
    started = time.perf_counter()
    subprocess.run([mercato, "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL)
    upgraded = time.perf_counter()
    cmd = [mercato, "seed", "--items", str(items), "--shops", str(shops)]
    cmd += ["--buyers", str(buyers), "--wallet", str(BUYER_WALLET_YUAN)] if buyers else []
    subprocess.run(cmd, env=env, check=True)
    done = time.perf_counter()
    return {
        "upgrade_s": round(upgraded - started, 2),
        "seed_s": round(done - upgraded, 2),
        "seeded_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _env(backend: Backend) -> dict[str, str]:
    """The bench's own environment minus any MERCATO_ settings, plus the backend's."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("MERCATO_")}
    return base | backend.env


async def _pg(url: str, sql: str, *args: Any) -> list[Any]:
    conn = await asyncpg.connect(url, timeout=3)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


def sample(backend: Backend, sql: str) -> list[Any]:
    if backend.name == "sqlite":
        path = Path(backend.env["MERCATO_DATA_DIR"]) / "mercato.db"
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            return conn.execute(sql).fetchall()
    url = backend.env["MERCATO_DATABASE_URL"].replace("+asyncpg", "")
    return [tuple(row) for row in asyncio.run(_pg(url, sql))]


def paths(backend: Backend, out: report.Output) -> dict[str, list[str]]:
    """Request paths per row: item pages of random onsale items, search pages with
    rotating terms, sorts, pages and some category and price filters."""
    rng = random.Random(42)
    onsale = "FROM items WHERE approve_status = 'onsale' ORDER BY random() LIMIT 2000"
    rows = sample(backend, f"SELECT id, category_id, price, title {onsale}")
    if not rows:
        raise RuntimeError("no onsale items in the seeded database")
    titles = " ".join(r[3] for r in rows).lower()
    missing = [t for t in TERMS + SHORT_TERMS if not all(w in titles for w in t.lower().split())]
    if missing:
        out.note(f"[yellow]search terms absent from the sampled titles (kept): {missing}[/]")
    prices = sorted(r[2] for r in rows)

    def search(terms: list[str]) -> list[str]:
        result = []
        for _ in range(500):
            query: dict[str, Any] = {"q": rng.choice(terms), "sort": rng.choice(SORTS)}
            query["page"] = rng.choices([1, 2, 3], weights=[6, 3, 1])[0]
            if rng.random() < 0.15:
                query["cat"] = rng.choice(rows)[1]
            if rng.random() < 0.15:
                low, high = sorted(rng.sample(prices, 2))
                query |= {"min": low // 100, "max": high // 100 + 1}
            result.append("/search?" + urlencode(query))
        return result

    return {
        "search": search(TERMS),
        "search short": search(SHORT_TERMS),
        "item": [f"/item/{r[0]}" for r in rows],
    }


# --- measuring ----------------------------------------------------------------------------


def measure(
    backend: Backend,
    args: argparse.Namespace,
    duration: float,
    warmup: float,
    out: report.Output,
) -> None:
    """One row after another, each on a fresh server process: the client cannot stop the
    server's work on requests it gave up, and that must not slow down the next row."""
    rows: list[tuple[str, list[str]]] = [("hello", ["/_hello"])]
    for name, page_paths in paths(backend, out).items():  # each page between two hellos
        rows += [(name, page_paths), ("hello", ["/_hello"])]
    log = CACHE / f"serve-{backend.name}.log"
    log.unlink(missing_ok=True)
    for name, row_paths in rows:
        port = server.free_port()
        cmd = server.mercato_serve(port, args.workers)
        with server.running(cmd, port, env=_env(backend), log=log) as base_url:
            result = asyncio.run(
                loadgen.run(
                    base_url,
                    row_paths,
                    concurrency=args.concurrency,
                    duration=duration,
                    warmup=warmup,
                    client=args.client,
                )
            )
        out.row(backend.name, name, result.summary())
        if result.requests < args.concurrency:
            out.note(
                f"[yellow]{backend.name} {name}: only {result.requests} responses in "
                f"{duration:g} s ({result.unfinished} still running at the end): these pages "
                "are slower than the window can measure[/]"
            )
