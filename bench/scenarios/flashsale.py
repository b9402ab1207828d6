"""Scenario ``flashsale``: checkout and payment over HTTP, and a flash sale for one SKU.

For each backend, on a fresh copy of a seeded marketplace (shops, items, and buyers with an
address and wallet money), one ``mercato serve --workers N`` process group serves:

1. ``hello``: the bare ``/_hello`` baseline the ratios are computed against;
2. ``checkout+pay``: steady shopping. Each client is a signed-in buyer who places a "buy
   now" order for an ordinary item through the checkout form and pays it from the wallet
   through the pay form, back to back: two form posts (CSRF token, session cookie), as a
   browser sends them;
3. ``flash sale``: a fixed number of buy-now attempts (10,000) from many clients for one
   SKU with 100 units, the winners paying at once, while the steady shoppers keep going
   (``steady in sale``);
4. ``hello`` again;
5. ``floor`` (PostgreSQL): the ceiling with no application at all, "orders" of two
   transactions of 20 trivial statements each over raw asyncpg, at the same concurrency.

Then the correctness checks read the database: trades for the flash SKU = units sold = the
units there were, its stock 0 and never negative anywhere, every paid trade's money in
escrow and the ledger summing to zero, and the server's trade count = what the clients saw.
A failed check makes the run exit non-zero.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench import loadgen, report, server
from bench.scenarios import catalog
from bench.scenarios.catalog import Backend

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "var" / "bench" / "flashsale"
SEED_DB = "mercato_bench_trade_seed"
RUN_DB = "mercato_bench_trade"
PASSWORD = "mercato-bulk"  # mercato.demo.seed.BULK_PASSWORD
CSRF = re.compile(rb'name="csrf_token" value="([^"]+)"')
SOLD_OUT = (b"left of item", b"not enough stock")  # the checkout's out_of_stock messages
OUTCOMES = frozenset({"paid", "sold_out"})  # an order's outcomes that are not errors
STEADY_ITEMS = 500
STEADY_STOCK = 10_000_000
FLOOR_STATEMENTS = 20  # per transaction of the floor row; two transactions per "order"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--items", type=int, help="items to seed (default 20000; --quick 5000)")
    add("--shops", type=int, default=20, help="shops to spread them over (default 20)")
    add("--attempts", type=int, help="flash-sale purchase attempts (default 10000; --quick 2000)")
    add("--units", type=int, default=100, help="units of the flash-sale SKU (default 100)")
    add("--flash-clients", type=int, default=64, help="clients racing in the sale (default 64)")
    add("--concurrency", type=int, default=16, help="steady shoppers (default 16)")
    add("--duration", type=float, help="measured seconds of steady shopping (default 15)")
    add("--warmup", type=float, help="unrecorded seconds before it (default 3; --quick 1)")
    add("--workers", type=int, default=2, help="server processes (default 2)")
    add("--backends", default="sqlite,postgres", help="comma-separated (default both)")
    add("--quick", action="store_true", help="a smoke run: 5k items, 2k attempts, 4 s rows")
    add("--fresh", action="store_true", help="reseed even when a cached seed matches")
    add("--pg-url", default=catalog.DEFAULT_PG_URL, help="PostgreSQL server for postgres")


@dataclass
class Plan:
    items: int
    attempts: int
    duration: float
    warmup: float
    buyers: int


def run(args: argparse.Namespace) -> int:
    plan = Plan(
        items=args.items or (5_000 if args.quick else 20_000),
        attempts=args.attempts or (2_000 if args.quick else 10_000),
        duration=args.duration or (4.0 if args.quick else 15.0),
        warmup=args.warmup if args.warmup is not None else (1.0 if args.quick else 3.0),
        buyers=args.flash_clients + args.concurrency,
    )
    params = {"items": plan.items, "shops": args.shops, "duration_s": plan.duration}
    params |= {"warmup_s": plan.warmup, "concurrency": args.concurrency}
    params |= {"flash_clients": args.flash_clients, "attempts": plan.attempts}
    params |= {"units": args.units, "workers": args.workers, "buyers": plan.buyers}
    out = report.Output("flashsale", params)
    status = 0
    try:
        for name in [b.strip() for b in args.backends.split(",") if b.strip()]:
            status |= run_backend(name, args, plan, out)
    except KeyboardInterrupt:
        out.note("[red]interrupted: the results so far follow[/]")
        status = 130
    out.finish()
    return status or (0 if out.rows else 1)


def run_backend(name: str, args: argparse.Namespace, plan: Plan, out: report.Output) -> int:
    """1 if the backend failed or a correctness check did not hold, 0 otherwise."""
    try:
        seeded = catalog.prepare(
            name,
            plan.items,
            args.shops,
            args.fresh,
            args.pg_url,
            out,
            buyers=plan.buyers,
            cache=CACHE,
            pg_db=SEED_DB,
        )
        if seeded is None:
            return 0
        out.backend(seeded.name, version=seeded.version, seed=seeded.seed)
        backend = fresh_copy(seeded, args.pg_url)
        market = arrange(backend, args.units)
        checks = measure(backend, market, args, plan, out)
    except Exception as exc:
        out.note(f"[red]{name}: failed: {exc!r}[/]")
        return 1
    failed = [what for what, ok in checks.items() if not ok]
    for what, ok in checks.items():
        out.note(f"{name}: {'[green]ok[/]' if ok else '[red]FAILED[/]'} {what}")
    out.data["backends"][name]["checks"] = checks
    return 1 if failed else 0


# --- data ---------------------------------------------------------------------------------


def fresh_copy(seeded: Backend, pg_url: str) -> Backend:
    """A throwaway copy of the seeded marketplace, so every run starts from the same data."""
    if seeded.name == "sqlite":
        source = Path(seeded.env["MERCATO_DATA_DIR"])
        target = CACHE / "run-sqlite"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, target)
        return Backend(seeded.name, {"MERCATO_DATA_DIR": str(target)}, seeded.version)
    admin = f"{pg_url.rstrip('/')}/postgres"
    asyncio.run(catalog._pg(admin, f"DROP DATABASE IF EXISTS {RUN_DB} WITH (FORCE)"))
    asyncio.run(catalog._pg(admin, f"CREATE DATABASE {RUN_DB} TEMPLATE {SEED_DB}"))
    url = seeded.env["MERCATO_DATABASE_URL"].rsplit("/", 1)[0] + f"/{RUN_DB}"
    env = seeded.env | {"MERCATO_DATABASE_URL": url}
    return Backend(seeded.name, env, seeded.version)


@dataclass
class Market:
    flash_line: str  # "item:sku:1"
    flash_sku: int
    steady_lines: list[str]
    buyers: list[tuple[str, int]]  # nick, address id


def arrange(backend: Backend, units: int) -> Market:
    """Pick the flash-sale SKU (``units`` in stock, its siblings none) and the ordinary
    items (plenty of stock), straight in the database before the server starts."""
    flash = catalog.sample(
        backend,
        "SELECT s.item_id, s.id FROM skus s JOIN items i ON i.id = s.item_id "
        "WHERE i.approve_status = 'onsale' AND s.status = 'normal' ORDER BY s.id LIMIT 1",
    )
    if not flash:
        raise RuntimeError("no onsale item with SKUs in the seed")
    item_id, sku_id = flash[0]
    steady = catalog.sample(
        backend,
        "SELECT id FROM items WHERE approve_status = 'onsale' AND id NOT IN "
        f"(SELECT item_id FROM skus) ORDER BY id LIMIT {STEADY_ITEMS}",
    )
    ids = ",".join(str(row[0]) for row in steady)
    execute(
        backend,
        [
            f"UPDATE skus SET quantity = CASE WHEN id = {sku_id} THEN {units} ELSE 0 END "
            f"WHERE item_id = {item_id}",
            f"UPDATE items SET quantity = {units} WHERE id = {item_id}",
            f"UPDATE items SET quantity = {STEADY_STOCK} WHERE id IN ({ids})",
        ],
    )
    buyers = catalog.sample(
        backend,
        "SELECT u.nick, a.id FROM users u JOIN addresses a ON a.user_id = u.id "
        "WHERE u.nick LIKE 'bulk_buyer_%' ORDER BY u.id",
    )
    return Market(
        flash_line=f"{item_id}:{sku_id}:1",
        flash_sku=sku_id,
        steady_lines=[f"{row[0]}:0:1" for row in steady],
        buyers=[(nick, address_id) for nick, address_id in buyers],
    )


def execute(backend: Backend, statements: list[str]) -> None:
    if backend.name == "sqlite":
        import sqlite3

        path = Path(backend.env["MERCATO_DATA_DIR"]) / "mercato.db"
        with sqlite3.connect(path) as conn:
            for sql in statements:
                conn.execute(sql)
        return
    url = backend.env["MERCATO_DATABASE_URL"].replace("+asyncpg", "")
    for sql in statements:
        asyncio.run(catalog._pg(url, sql))


# --- clients ------------------------------------------------------------------------------


@dataclass
class Buyer:
    """A signed-in buyer on one keep-alive connection, posting forms as a browser does."""

    nick: str
    address_id: int
    conn: loadgen.RawConnection
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str = ""

    async def send(self, method: str, path: str, fields: dict[str, Any] | None = None) -> Any:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = b""
        if fields is not None:
            body = urlencode({"csrf_token": self.csrf, **fields}).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        reply = await self.conn.request(method, path, body, headers)
        self.cookies |= reply.cookies
        return reply

    async def close(self) -> None:
        await self.conn.close()

    async def sign_in(self) -> None:
        page = await self.send("GET", "/login")
        token = CSRF.search(page.body)
        if token is None:
            raise RuntimeError(f"no CSRF token on /login ({page.status})")
        self.csrf = token[1].decode()
        reply = await self.send("POST", "/login", {"nick": self.nick, "password": PASSWORD})
        if reply.status != 303 or "mercato_session" not in self.cookies:
            raise RuntimeError(f"{self.nick} could not sign in ({reply.status})")


@dataclass
class Shopping:
    """What one kind of shopper did: each whole order (checkout then pay) in ``orders``,
    and each request's latency in ``checkout`` and ``pay``."""

    orders: loadgen.Result = field(default_factory=lambda: loadgen.Result(outcomes=OUTCOMES))
    checkout: loadgen.Result = field(default_factory=loadgen.Result)
    pay: loadgen.Result = field(default_factory=loadgen.Result)
    created: int = 0  # counted in every phase, warm-up included, for the checks
    paid: int = 0

    async def order(self, buyer: Buyer, line: str) -> str:
        """Buy ``line`` now and pay it; the outcome: paid, sold_out or what failed."""
        started = time.perf_counter()
        fields = {"checkout_key": uuid.uuid4().hex, "address_id": buyer.address_id, "buy": line}
        reply = await buyer.send("POST", "/checkout", fields)
        location = reply.headers.get("location", "")
        created = reply.status == 303 and location.startswith("/pay?tids=")
        sold_out = reply.status == 422 and any(text in reply.body for text in SOLD_OUT)
        self.checkout.add(time.perf_counter() - started, str(reply.status), created or sold_out)
        if not created:
            return "sold_out" if sold_out else f"checkout {reply.status}"
        self.created += 1
        paying = time.perf_counter()
        tids = location.removeprefix("/pay?tids=")
        reply = await buyer.send("POST", "/pay", {"tids": tids, "channel": "wallet"})
        done = reply.status == 303 and reply.headers.get("location", "").startswith("/trades")
        self.pay.add(time.perf_counter() - paying, str(reply.status), done)
        if not done:
            return f"pay {reply.status}"
        self.paid += 1
        return "paid"


# --- measuring ----------------------------------------------------------------------------


def measure(
    backend: Backend,
    market: Market,
    args: argparse.Namespace,
    plan: Plan,
    out: report.Output,
) -> dict[str, bool]:
    log = CACHE / f"serve-{backend.name}.log"
    log.unlink(missing_ok=True)
    port = server.free_port()
    cmd = server.mercato_serve(port, args.workers)
    with server.running(cmd, port, env=catalog._env(backend), log=log) as base_url:
        steady, flash = asyncio.run(_shop(base_url, market, args, plan, out, backend.name))
    if backend.name == "postgres":
        url = backend.env["MERCATO_DATABASE_URL"].replace("+asyncpg", "")
        floor = asyncio.run(_statement_floor(url, args.concurrency, plan.duration / 3))
        out.row(backend.name, "floor", floor.summary())
    return checks(backend, market, args.units, steady, flash)


async def _statement_floor(url: str, concurrency: int, seconds: float) -> loadgen.Result:
    """What PostgreSQL and one Python client manage with no application at all: "orders"
    of two transactions of FLOOR_STATEMENTS trivial statements each, over raw asyncpg, at
    the steady shoppers' concurrency. A checkout+pay sends more statements than this
    (tests/web/test_statement_budget.py), so its orders/s cannot exceed this row's."""
    import asyncpg

    pool = await asyncpg.create_pool(url, min_size=concurrency, max_size=concurrency)

    async def order(client: _Pooled, _i: int) -> str:
        for _ in range(2):
            async with client.conn.transaction():
                for n in range(FLOOR_STATEMENTS):
                    await client.conn.fetchval("SELECT $1::int", n)
        return "200"

    try:
        conns = [_Pooled(await pool.acquire()) for _ in range(concurrency)]
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(seconds, stop.set)
        result = loadgen.Result()
        started = time.perf_counter()
        await loadgen.drive(conns, order, seconds * 3, loadgen.MAX_REQUESTS, 30, result, stop)
        result.elapsed = time.perf_counter() - started
        for client in conns:
            await pool.release(client.conn)
        return result
    finally:
        await pool.close()


@dataclass
class _Pooled:
    """A pooled asyncpg connection as drive() wants it: close() is a no-op, the pool
    closes it."""

    conn: Any

    async def close(self) -> None:
        return None


async def _shop(
    base_url: str,
    market: Market,
    args: argparse.Namespace,
    plan: Plan,
    out: report.Output,
    name: str,
) -> tuple[Shopping, Shopping]:
    buyers = await _sign_in(base_url, market.buyers[: plan.buyers])
    shoppers, racers = buyers[: args.concurrency], buyers[args.concurrency :]
    steady, flash = Shopping(), Shopping()

    async def ordinary(buyer: Buyer, i: int) -> str:
        return await steady.order(buyer, market.steady_lines[i % len(market.steady_lines)])

    async def rush(buyer: Buyer, _i: int) -> str:
        return await flash.order(buyer, market.flash_line)

    out.row(name, "hello", (await _hello(base_url, args.concurrency, plan)).summary())
    await _for(plan.warmup, shoppers, ordinary, loadgen.Result())
    await _for(plan.duration, shoppers, ordinary, steady.orders)
    _rows(out, name, "checkout+pay", steady)

    during = Shopping()
    during.created, during.paid = steady.created, steady.paid

    async def ordinary_during(buyer: Buyer, i: int) -> str:
        return await during.order(buyer, market.steady_lines[i % len(market.steady_lines)])

    stop = asyncio.Event()
    started = time.perf_counter()
    background = asyncio.create_task(_until(stop, shoppers, ordinary_during, during.orders))
    await loadgen.drive(racers, rush, loadgen.MAX_COUNT_SECONDS, plan.attempts, 30, flash.orders)
    flash.orders.elapsed = time.perf_counter() - started
    stop.set()
    await background
    _rows(out, name, "flash sale", flash)
    _rows(out, name, "steady in sale", during)
    out.row(name, "hello", (await _hello(base_url, args.concurrency, plan)).summary())
    steady.created, steady.paid = during.created, during.paid  # totals for the checks
    for buyer in buyers:
        await buyer.close()
    return steady, flash


async def _for(
    seconds: float, buyers: list[Buyer], action: loadgen.Action, result: loadgen.Result
) -> None:
    """Shop for ``seconds``, then let the orders under way finish: an order the client
    gave up on could still be placed, and the checks compare counts."""
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(seconds, stop.set)
    await _until(stop, buyers, action, result)


async def _until(
    stop: asyncio.Event, buyers: list[Buyer], action: loadgen.Action, result: loadgen.Result
) -> None:
    started = time.perf_counter()
    limit = loadgen.MAX_REQUESTS
    await loadgen.drive(buyers, action, loadgen.MAX_COUNT_SECONDS, limit, 30, result, stop=stop)
    result.elapsed = time.perf_counter() - started


async def _hello(base_url: str, concurrency: int, plan: Plan) -> loadgen.Result:
    return await loadgen.run(
        base_url, ["/_hello"], concurrency=concurrency, duration=plan.duration / 3, warmup=0.5
    )


async def _sign_in(base_url: str, people: list[tuple[str, int]]) -> list[Buyer]:
    """Every buyer signs in through the login form, a few at a time (argon2 is slow on
    purpose, and this is not what is measured)."""
    host, port = base_url.removeprefix("http://").split(":")
    buyers = [Buyer(nick, aid, loadgen.RawConnection(host, int(port))) for nick, aid in people]
    gate = asyncio.Semaphore(4)

    async def one(buyer: Buyer) -> None:
        async with gate:
            await buyer.sign_in()

    await asyncio.gather(*(one(buyer) for buyer in buyers))
    return buyers


def _rows(out: report.Output, backend: str, name: str, shopping: Shopping) -> None:
    """The whole orders (req/s = orders or attempts per second), then each request."""
    out.row(backend, name, shopping.orders.summary())
    out.row(backend, "  checkout", _per_second(shopping.checkout, shopping.orders.elapsed))
    out.row(backend, "  pay", _per_second(shopping.pay, shopping.orders.elapsed))


def _per_second(result: loadgen.Result, elapsed: float) -> dict[str, Any]:
    result.elapsed = elapsed
    return result.summary()


# --- correctness --------------------------------------------------------------------------


def checks(
    backend: Backend, market: Market, units: int, steady: Shopping, flash: Shopping
) -> dict[str, bool]:
    """What must hold whatever the speed, read from the database after the run."""

    def one(sql: str) -> int:
        return int(catalog.sample(backend, sql)[0][0] or 0)

    sku = market.flash_sku
    sold = one(f"SELECT sum(num) FROM orders WHERE sku_id = {sku}")
    flash_trades = one(f"SELECT count(DISTINCT trade_id) FROM orders WHERE sku_id = {sku}")
    left = one(f"SELECT quantity FROM skus WHERE id = {sku}")
    negative = one("SELECT count(*) FROM skus WHERE quantity < 0")
    negative += one("SELECT count(*) FROM items WHERE quantity < 0")
    trades = one("SELECT count(*) FROM trades")
    paid = one("SELECT count(*) FROM trades WHERE status = 'WAIT_SELLER_SEND_GOODS'")
    paid_fen = one("SELECT sum(payment) FROM trades WHERE status = 'WAIT_SELLER_SEND_GOODS'")
    ledger_sum = one("SELECT sum(amount) FROM ledger_entries")
    escrow = one(
        "SELECT sum(e.amount) FROM ledger_entries e JOIN ledger_accounts a "
        "ON a.id = e.account_id WHERE a.code = 'escrow'"
    )
    return {
        f"flash trades {flash_trades} = units sold {sold} = units there were {units}": (
            flash_trades == sold == units
        ),
        f"oversold {max(sold - units, 0)} = 0, flash SKU stock left {left} = 0": (
            sold <= units and left == 0
        ),
        f"rows with negative stock {negative} = 0": negative == 0,
        f"trades in the database {trades} = checkouts the clients saw "
        f"{steady.created + flash.created}": trades == steady.created + flash.created,
        f"paid trades {paid} = payments the clients saw {steady.paid + flash.paid}": (
            paid == steady.paid + flash.paid
        ),
        f"ledger sum {ledger_sum} fen = 0": ledger_sum == 0,
        f"escrow {escrow} fen = paid trades' payments {paid_fen} fen": escrow == paid_fen,
    }
