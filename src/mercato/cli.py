"""The ``mercato`` command: demo, serve, worker, db, seed."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mercato.config import Settings

app = typer.Typer(help="Mercato: an open marketplace.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
commission_app = typer.Typer(help="Platform commission per category.", no_args_is_help=True)
app.add_typer(commission_app, name="commission")
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
    from mercato.events.jobs import JobRunner

    settings = _settings(data_dir)
    asyncio.run(_ensure_current(settings))

    async def run() -> None:
        async with _database(settings) as (db, _storage):
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


if __name__ == "__main__":
    app()
