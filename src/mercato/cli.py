"""The ``mercato`` command: demo, serve, worker, db, seed, commission, app, token, sandbox."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mercato.config import Settings

app = typer.Typer(help="Mercato: an open marketplace.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
commission_app = typer.Typer(help="Platform commission per category.", no_args_is_help=True)
app.add_typer(commission_app, name="commission")
apps_app = typer.Typer(help="Developer apps: create, list, rotate secrets.", no_args_is_help=True)
app.add_typer(apps_app, name="app")
token_app = typer.Typer(help="Access tokens for testing: issue.", no_args_is_help=True)
app.add_typer(token_app, name="token")
sandbox_app = typer.Typer(
    help="Sandbox tools: act as a buyer or seller, move the clock (MERCATO_SANDBOX_TOOLS).",
    no_args_is_help=True,
)
app.add_typer(sandbox_app, name="sandbox")
console = Console()

DEMO_PASSWORD = "mercato-demo"
DEMO_ACCOUNTS = {
    "demo_buyer": "a buyer",
    "demo_seller": "owns the first demo shop",
    "demo_dev": "a developer",
    "demo_operator": "runs the marketplace",
}

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Data directory (MERCATO_DATA_DIR).")
]


def _settings(data_dir: Path | None = None) -> Settings:
    # Through the environment, so that server worker processes see the same settings.
    if data_dir is not None:
        os.environ["MERCATO_DATA_DIR"] = str(data_dir)
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings


@contextmanager
def _progress() -> Iterator[Callable[[str, int, int], None]]:
    """A Rich progress bar per label, fed by the ``progress(label, done, total)`` callbacks."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        tasks: dict[str, Any] = {}

        def report(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total)
            bar.update(tasks[label], completed=done, total=total)

        yield report


async def _migrate(settings: Settings) -> None:
    from mercato.kit.migrate import upgrade

    await upgrade(settings.resolved_database_url)


async def _ensure_current(settings: Settings) -> None:
    from alembic.script import ScriptDirectory

    from mercato.kit.migrate import alembic_config, current_revision

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    current = await current_revision(settings.resolved_database_url)
    if current != head:
        console.print(
            f"[red]The database is at revision {current or 'none'}, the code expects {head}.[/]"
            "\nRun [bold]mercato db upgrade[/] first."
        )
        raise typer.Exit(2)


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None) -> None:
    """Apply all migrations."""
    settings = _settings(data_dir)
    asyncio.run(_migrate(settings))
    console.print(f"[green]Database is up to date[/] ({_safe_url(settings)})")


@db_app.command("current")
def db_current(data_dir: DataDir = None) -> None:
    """Show the database's migration revision."""
    from mercato.kit.migrate import current_revision

    settings = _settings(data_dir)
    console.print(asyncio.run(current_revision(settings.resolved_database_url)) or "none")


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.resolved_database_url).render_as_string(hide_password=True)


@app.command()
def seed(
    items: Annotated[int, typer.Option(min=1, max=5_000_000, help="Items to create.")] = 1000,
    shops: Annotated[int, typer.Option(min=1, max=100_000, help="Shops to spread them over.")] = 10,
    buyers: Annotated[
        int, typer.Option(min=0, max=1_000_000, help="Buyers with an address and wallet money.")
    ] = 0,
    wallet: Annotated[
        float, typer.Option(min=0, help="Yuan deposited in each new buyer's wallet.")
    ] = 100_000.0,
    data_dir: DataDir = None,
) -> None:
    """Bulk-generate shops and items, and optionally buyers (for load tests and benchmarks).
    Every bulk account's password is ``mercato-bulk``."""
    from mercato.demo.seed import seed_bulk, seed_buyers

    settings = _settings(data_dir)

    async def run() -> Any:
        await _migrate(settings)
        async with _database(settings) as (db, storage):
            with _progress() as report:
                summary = await seed_bulk(db, storage, items=items, shops=shops, progress=report)
            if buyers:
                fen = round(wallet * 100)
                await seed_buyers(db, count=buyers, wallet_fen=fen)
                console.print(f"[green]Added[/] {buyers} buyers with ¥{wallet:,.2f} each")
            return summary

    summary = asyncio.run(run())
    console.print(f"[green]Seeded[/] {summary}")


class _database:
    """The app's database and storage for CLI work, disposed on exit."""

    def __init__(self, settings: Settings) -> None:
        from mercato.kit.db import Database
        from mercato.kit.storage import LocalStorage

        self.db = Database(settings.resolved_database_url)
        self.storage = LocalStorage(settings.media_dir, "/media")

    async def __aenter__(self) -> tuple[Any, Any]:
        return self.db, self.storage

    async def __aexit__(self, *exc: object) -> None:
        await self.db.dispose()


def _run_server(host: str, port: int, workers: int) -> None:
    import uvicorn

    uvicorn.run(
        "mercato.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_level="info",
        access_log=False,
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Server processes.")] = 1,
    data_dir: DataDir = None,
) -> None:
    """Serve the marketplace (run `mercato db upgrade` after installing a new version)."""
    settings = _settings(data_dir)
    asyncio.run(_ensure_current(settings))
    _run_server(host, port, workers)


@app.command()
def worker(
    interval: Annotated[
        float, typer.Option(min=0.05, max=3600, help="Seconds between polls for due jobs.")
    ] = 1.0,
    data_dir: DataDir = None,
) -> None:
    """Run durable jobs and timers until Ctrl-C (set MERCATO_RUN_JOBS=false on the servers)."""
    from mercato import timers  # noqa: F401  (registers the job handlers)
    from mercato.developer.sandbox_clock import ClockFollower
    from mercato.events.jobs import JobRunner

    settings = _settings(data_dir)
    asyncio.run(_ensure_current(settings))

    async def run() -> None:
        async with _database(settings) as (db, _storage), contextlib.AsyncExitStack() as stack:
            if settings.sandbox_tools:  # timers run on the sandbox clock the servers follow
                await stack.enter_async_context(ClockFollower(db))
            runner = JobRunner(db, interval=interval)
            await runner.start()
            console.print(f"[green]Running jobs[/] every {interval:g} s ({_safe_url(settings)})")
            try:
                await asyncio.Event().wait()  # until Ctrl-C cancels the run
            finally:
                await runner.stop()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        console.print("Worker stopped")


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    data_dir: DataDir = None,
) -> None:
    """Migrate, seed the demo marketplace if the database is empty, and serve it."""
    from mercato.demo.seed import seed_demo

    settings = _settings(data_dir)

    async def prepare() -> Any:
        await _migrate(settings)
        async with _database(settings) as (db, storage):
            with _progress() as report:
                return await seed_demo(db, storage, password=DEMO_PASSWORD, progress=report)

    summary = asyncio.run(prepare())
    if summary.created:
        console.print(
            f"[green]Seeded the demo:[/] {summary.shops} shops, {summary.items} items, "
            f"{summary.skus} SKUs, {summary.users} users, {summary.categories} categories"
        )
    shown = "localhost" if host in ("0.0.0.0", "127.0.0.1", "::") else host
    console.rule("[bold]Mercato demo")
    console.print(f"Storefront:      http://{shown}:{port}/")
    console.print(f"Search example:  http://{shown}:{port}/search?q=连衣裙")
    console.print(f"Seller center:   http://{shown}:{port}/seller")
    console.print(f"Sign in:         http://{shown}:{port}/login")
    console.print(f"Demo accounts (password [bold]{DEMO_PASSWORD}[/]):")
    for nick, what in DEMO_ACCOUNTS.items():
        console.print(f"  {nick:<14} {what}")
    console.print(f"Data directory:  {settings.data_dir.resolve()}")
    console.rule()
    _run_server(host, port, 1)


def _pct(rate: Any) -> str:
    return f"{rate} ({rate * 100:g} %)"


@commission_app.command("set")
def commission_set(
    category: Annotated[int, typer.Option("--category", min=1, help="Category id.")],
    rate: Annotated[
        str,
        typer.Option(help="A fraction such as 0.03, or 'inherit' to use the parent's again."),
    ],
    data_dir: DataDir = None,
) -> None:
    """Set the commission rate of a category (and of its subcategories that inherit it)."""
    from mercato import payments
    from mercato.kit.errors import NotFound

    settings = _settings(data_dir)
    try:
        value = None if rate.strip().lower() == "inherit" else payments.parse_rate(rate)
    except ValueError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None

    async def run() -> Any:
        await _ensure_current(settings)
        async with _database(settings) as (db, _storage), db.write() as session:
            await payments.set_commission_rate(session, category, value)
            return await payments.commission_rate(
                session, category, default=settings.commission_rate
            )

    try:
        effective = asyncio.run(run())
    except NotFound as exc:
        console.print(f"[red]{exc.message}[/]")
        raise typer.Exit(1) from None
    own = "inherited" if value is None else "own rate"
    console.print(f"[green]Category {category}[/] pays {_pct(effective)} ({own})")


@commission_app.command("list")
def commission_list(data_dir: DataDir = None) -> None:
    """Every category's own commission rate and the rate it pays."""
    from rich.table import Table

    from mercato import payments

    settings = _settings(data_dir)

    async def run() -> Any:
        await _ensure_current(settings)
        async with _database(settings) as (db, _storage), db.read() as session:
            return await payments.commission_rates(session, default=settings.commission_rate)

    table = Table("id", "parent", "name", "own rate", "pays")
    for category, own, effective in asyncio.run(run()):
        table.add_row(
            str(category.id),
            str(category.parent_id or ""),
            category.name,
            "inherit" if own is None else str(own),
            _pct(effective),
        )
    console.print(table)
    default = _pct(settings.commission_rate)
    console.print(f"Default above the root (MERCATO_COMMISSION_RATE): {default}")


# ---------------------------------------------------------------- developer apps

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def _fail(exc: Any, as_json: bool) -> NoReturn:
    """Show a domain error (JSON for scripts) and exit 1, the way every app command fails."""
    if as_json:
        typer.echo(json.dumps(exc.as_dict(), ensure_ascii=False))
    else:
        console.print(f"[red]{exc.message}[/]")
    raise typer.Exit(1)


def _app_json(app_row: Any, secret: str | None = None) -> dict[str, Any]:
    from mercato.developer.schemas import AppOut

    out = AppOut.of(app_row).model_dump(mode="json")
    if secret is not None:
        out["app_secret"] = secret  # shown once: only create and rotate-secret pass it
    return out


def _print_app(app_row: Any, secret: str | None, as_json: bool) -> None:
    out = _app_json(app_row, secret)
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False))
        return
    for key, value in out.items():
        console.print(f"{key:<14} {value}", markup=False)
    if secret is not None:
        console.print("[yellow]Keep the secret now: it is not shown again.[/]")


@apps_app.command("create")
def app_create(
    name: Annotated[str, typer.Option(help="App name (1-60 characters).")],
    owner: Annotated[str, typer.Option(help="Nick of the developer who owns the app.")],
    app_type: Annotated[
        str, typer.Option("--type", help="seller_tool, buyer_tool or service_market.")
    ] = "seller_tool",
    callback: Annotated[str, typer.Option(help="OAuth callback URL (http or https).")] = "",
    packages: Annotated[
        str | None, typer.Option(help="Comma list of permission packages (default: all).")
    ] = None,
    online: Annotated[bool, typer.Option("--online", help="Skip review: online at once.")] = False,
    as_json: JsonFlag = False,
    data_dir: DataDir = None,
) -> None:
    """Register an app for a developer and print its key and secret (shown only now)."""
    from mercato.accounts.repository import user_by_nick
    from mercato.developer import service as dev
    from mercato.kit.errors import MercatoError, NotFound

    settings = _settings(data_dir)
    chosen = None if packages is None else [p for p in packages.split(",") if p.strip()]

    async def run() -> tuple[Any, str]:
        await _ensure_current(settings)
        async with _database(settings) as (db, _storage), db.write() as session:
            user = await user_by_nick(session, owner)
            if user is None:
                raise NotFound(f"no user {owner}")
            app_row, secret = await dev.create_app(
                session,
                user,
                name=name,
                app_type=app_type,
                callback_url=callback,
                packages=chosen,
                server_secret=settings.resolved_secret_key(),
            )
            if online:
                await dev.put_online_without_review(session, app_row)
            return app_row, secret

    try:
        app_row, secret = asyncio.run(run())
    except MercatoError as exc:
        _fail(exc, as_json)
    _print_app(app_row, secret, as_json)


@apps_app.command("list")
def app_list(
    owner: Annotated[str | None, typer.Option(help="Only this developer's apps.")] = None,
    as_json: JsonFlag = False,
    data_dir: DataDir = None,
) -> None:
    """Every app (or one developer's), without secrets."""
    from rich.table import Table

    from mercato.accounts.repository import user_by_nick
    from mercato.developer import repository as dev_repo
    from mercato.developer import service as dev
    from mercato.kit.errors import MercatoError, NotFound

    settings = _settings(data_dir)

    async def run() -> list[Any]:
        await _ensure_current(settings)
        async with _database(settings) as (db, _storage), db.read() as session:
            if owner is None:
                return await dev_repo.all_apps(session)
            user = await user_by_nick(session, owner)
            if user is None:
                raise NotFound(f"no user {owner}")
            return await dev.my_apps(session, user)

    try:
        rows = asyncio.run(run())
    except MercatoError as exc:
        _fail(exc, as_json)
    if as_json:
        typer.echo(json.dumps([_app_json(row) for row in rows], ensure_ascii=False))
        return
    table = Table("app_key", "name", "type", "status", "packages")
    for row in rows:
        table.add_row(row.app_key, row.name, row.app_type, row.status, str(len(row.packages)))
    console.print(table)


@apps_app.command("rotate-secret")
def app_rotate_secret(
    app_key: Annotated[str, typer.Option("--app-key", help="The app's key.")],
    as_json: JsonFlag = False,
    data_dir: DataDir = None,
) -> None:
    """Give the app a new secret (the old one stops working at once) and print it once."""
    from mercato.developer import service as dev
    from mercato.kit.errors import MercatoError

    settings = _settings(data_dir)

    async def run() -> tuple[Any, str]:
        await _ensure_current(settings)
        async with _database(settings) as (db, _storage), db.write() as session:
            app_row = await dev.get_app_by_key(session, app_key)
            secret = await dev.rotate_secret(
                session, app_row, server_secret=settings.resolved_secret_key()
            )
            return app_row, secret

    try:
        app_row, secret = asyncio.run(run())
    except MercatoError as exc:
        _fail(exc, as_json)
    _print_app(app_row, secret, as_json)


# ---------------------------------------------------------------- access tokens


@token_app.command("issue")
def token_issue(
    app_key: Annotated[str, typer.Option("--app-key", help="The app's key.")],
    nick: Annotated[str, typer.Option(help="Nick of the user the token acts for.")],
    as_json: JsonFlag = False,
    data_dir: DataDir = None,
) -> None:
    """Authorize the app for the user (if not yet) and print a fresh token's TOP fields."""
    from mercato.accounts.repository import user_by_nick
    from mercato.developer import service as dev
    from mercato.kit.errors import MercatoError, NotFound
    from mercato.oauth import service as oauth

    settings = _settings(data_dir)

    async def run() -> dict[str, object]:
        await _ensure_current(settings)
        async with _database(settings) as (db, _storage), db.write() as session:
            app_row = await dev.get_app_by_key(session, app_key)
            user = await user_by_nick(session, nick)
            if user is None:
                raise NotFound(f"no user {nick}")
            return await oauth.issue_token_for(
                session, app_row, user, server_secret=settings.resolved_secret_key()
            )

    try:
        fields = asyncio.run(run())
    except MercatoError as exc:
        _fail(exc, as_json)
    if as_json:
        typer.echo(json.dumps(fields, ensure_ascii=False))
        return
    for key, value in fields.items():
        console.print(f"{key:<26} {value}", markup=False)


# ---------------------------------------------------------------- sandbox tools

Buyer = Annotated[str, typer.Option(help="Nick of the buyer.")]
Tid = Annotated[int, typer.Option("--tid", help="The trade.")]


def _sandbox(settings: Settings, work: Callable[[Any], Awaitable[Any]], as_json: bool) -> Any:
    """Run ``work(db)`` on the sandbox clock (the offset every process shares), or exit 1
    with the domain error: the sandbox tools off, an unknown nick, a refused transition."""
    from mercato.developer import sandbox
    from mercato.developer.sandbox_clock import ClockFollower
    from mercato.kit.errors import MercatoError

    async def run() -> Any:
        sandbox.check_enabled(settings)
        await _ensure_current(settings)
        async with _database(settings) as (db, _storage), ClockFollower(db):
            return await work(db)

    try:
        return asyncio.run(run())
    except MercatoError as exc:
        _fail(exc, as_json)


def _sandbox_write(
    settings: Settings, act: Callable[[Any, Any], Awaitable[Any]], as_json: bool
) -> Any:
    """``act(session, timeouts)`` in one write unit of work, with this install's timers."""
    from mercato.trade.policy import Timeouts

    async def work(db: Any) -> Any:
        async with db.write() as session:
            return await act(session, Timeouts.from_settings(settings))

    return _sandbox(settings, work, as_json)


def _print_result(out: dict[str, Any], as_json: bool, line: str) -> None:
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False))
    else:
        console.print(line, markup=False)


def _trade_step(
    data_dir: Path | None, as_json: bool, act: Callable[[Any, Any], Awaitable[Any]]
) -> None:
    """Run a step that answers with a trade, and print it."""
    out = _sandbox_write(_settings(data_dir), act, as_json).as_dict()
    _print_result(out, as_json, f"trade {out['tid']}: {out['status']}, ¥{out['payment']}")


@sandbox_app.command("order")
def sandbox_order(
    buyer: Annotated[str, typer.Option(help="Nick of the buying user (needs an address).")],
    num_iid: Annotated[int, typer.Option("--num-iid", help="The item to buy.")],
    sku_id: Annotated[int, typer.Option("--sku-id", help="Its SKU (0: none).")] = 0,
    quantity: Annotated[int, typer.Option(help="How many.")] = 1,
    pay: Annotated[bool, typer.Option("--pay", help="Also pay from the wallet.")] = False,
    as_json: JsonFlag = False,
    data_dir: DataDir = None,
) -> None:
    """Place an order as BUYER (buy now, to the default address), and pay it with --pay:
    the same services the pages call, so the same events and timers follow."""
    from mercato.developer import sandbox

    async def act(session: Any, timeouts: Any) -> Any:
        return await sandbox.place_order(
            session,
            buyer,
            num_iid=num_iid,
            sku_id=sku_id,
            quantity=quantity,
            pay=pay,
            timeouts=timeouts,
        )

    _trade_step(data_dir, as_json, act)


@sandbox_app.command("pay")
def sandbox_pay(
    buyer: Buyer, tid: Tid, as_json: JsonFlag = False, data_dir: DataDir = None
) -> None:
    """Pay the buyer's unpaid trade from their wallet."""
    from mercato.developer import sandbox

    _trade_step(
        data_dir, as_json, lambda session, _timeouts: sandbox.pay_trade(session, buyer, tid)
    )


@sandbox_app.command("ship")
def sandbox_ship(
    tid: Tid,
    company: Annotated[
        str | None, typer.Option(help="Carrier code, e.g. SF (default: the first in service).")
    ] = None,
    waybill: Annotated[
        str | None, typer.Option(help="Waybill number (default: one made for the trade).")
    ] = None,
    as_json: JsonFlag = False,
    data_dir: DataDir = None,
) -> None:
    """Ship a paid trade as its seller (offline send); the auto-confirm timer starts."""
    from mercato.developer import sandbox

    async def act(session: Any, timeouts: Any) -> Any:
        return await sandbox.ship(session, tid, company=company, waybill=waybill, timeouts=timeouts)

    out = _sandbox_write(_settings(data_dir), act, as_json).as_dict()
    line = f"trade {out['tid']}: {out['status']}, {out['company']} {out['waybill']}"
    _print_result(out, as_json, line)


@sandbox_app.command("confirm")
def sandbox_confirm(
    buyer: Buyer, tid: Tid, as_json: JsonFlag = False, data_dir: DataDir = None
) -> None:
    """Confirm receipt of a shipped trade as its buyer: it finishes, the seller is paid."""
    from mercato.developer import sandbox

    _trade_step(data_dir, as_json, lambda session, _timeouts: sandbox.confirm(session, buyer, tid))


@sandbox_app.command("refund")
def sandbox_refund(
    buyer: Buyer,
    tid: Tid,
    oid: Annotated[
        int | None, typer.Option("--oid", help="One order (default: the whole trade).")
    ] = None,
    amount: Annotated[
        str | None, typer.Option(help="Yuan, e.g. 12.50 (default: all that is left).")
    ] = None,
    reason: Annotated[str, typer.Option(help="Why.")] = "沙箱退款 Sandbox refund",
    return_goods: Annotated[
        bool, typer.Option("--return-goods", help="Send the goods back (shipped trades).")
    ] = False,
    as_json: JsonFlag = False,
    data_dir: DataDir = None,
) -> None:
    """Apply for a refund as the buyer; the seller has the usual time to answer."""
    from mercato.developer import sandbox
    from mercato.kit.money import parse_yuan

    async def act(session: Any, timeouts: Any) -> Any:
        return await sandbox.refund(
            session,
            buyer,
            tid,
            oid=oid,
            amount=None if amount is None else parse_yuan(amount, "amount"),
            reason=reason,
            return_goods=return_goods,
            timeouts=timeouts,
        )

    out = _sandbox_write(_settings(data_dir), act, as_json).as_dict()
    line = f"refund {out['refund_id']} (trade {out['tid']}): {out['status']}, ¥{out['refund_fee']}"
    _print_result(out, as_json, line)


@sandbox_app.command("clock")
def sandbox_clock(
    advance: Annotated[
        str | None, typer.Option(help="Move time forward, e.g. 90m, 12h, 3d (units s/m/h/d).")
    ] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Back to the wall clock.")] = False,
    as_json: JsonFlag = False,
    data_dir: DataDir = None,
) -> None:
    """Show the sandbox time, or move it for every server and worker (within a second) and
    run the timers that became due now: unpaid trades close, shipped ones confirm."""
    from mercato.developer import sandbox

    async def work(db: Any) -> Any:
        if advance is None and not reset:
            async with db.read() as session:
                return await sandbox.clock_state(session)
        return await sandbox.move_clock(db, advance=advance, reset=reset)

    state = _sandbox(_settings(data_dir), work, as_json)
    out = state.as_dict()
    line = f"sandbox time {out['now']} (offset {state.offset}), {out['jobs_run']} timers run"
    _print_result(out, as_json, line)


if __name__ == "__main__":
    app()
