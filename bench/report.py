"""Printing results as they come, the final Rich table, and the JSON file in bench/results/."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

RESULTS = Path(__file__).resolve().parent / "results"


def sqlite_version() -> str:
    return f"SQLite {sqlite3.sqlite_version}"


def machine() -> dict[str, Any]:
    """What the figures depend on, recorded with them."""
    cpu = ""
    if Path("/proc/cpuinfo").exists():
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next((ln.split(":", 1)[1].strip() for ln in lines if "model name" in ln), "")
    git = subprocess.run(
        ["git", "describe", "--always", "--dirty"], capture_output=True, text=True, check=False
    )
    return {
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "git": git.stdout.strip(),
    }


class Output:
    """Collects one run: notes, per-backend info and measured rows with their ratios to the
    same backend's first ``hello`` row."""

    def __init__(self, scenario: str, params: dict[str, Any]) -> None:
        # Wide enough for the table when the output is a file or a pipe.
        self.console = Console(width=None if sys.stdout.isatty() else 120)
        self.started = datetime.now(UTC)
        self.rows: list[dict[str, Any]] = []
        self.data: dict[str, Any] = {
            "scenario": scenario,
            "started_at": self.started.isoformat(timespec="seconds"),
            "command": " ".join(["python -m bench", *sys.argv[1:]]),
            "params": params,
            "machine": machine(),
            "backends": {},
            "notes": [],
            "rows": self.rows,
        }
        m = self.data["machine"]
        self.console.print(
            f"[bold]bench {scenario}[/] {self.data['started_at']}  {m['usable_cores']} cores, "
            f"load {m['loadavg_at_start']}, Python {m['python']}, git {m['git']}\n{params}"
        )

    def note(self, text: str) -> None:
        self.console.print(text)
        self.data["notes"].append(Text.from_markup(text).plain)

    def backend(self, name: str, *, version: str, seed: dict[str, Any]) -> None:
        self.data["backends"][name] = {"version": version, "seed": seed}
        took = f"{seed['seed_s']} s (+{seed['upgrade_s']} s migrating)"
        if seed.get("cached"):
            self.note(
                f"{name} ({version}): reusing the seed made {seed['seeded_at']}, which took "
                f"{took} then; --fresh reseeds"
            )
        else:
            self.note(f"{name} ({version}): seeded in [bold]{took}[/] in this run")

    def row(self, backend: str, name: str, summary: dict[str, Any]) -> None:
        self.rows.append({"backend": backend, "row": name, **summary})
        self.console.print(
            f"  {backend:<9}{name:<13}{summary['rps']:>9.1f} req/s  p50 {summary['p50_ms']:.2f} ms"
            f"  p99 {summary['p99_ms']:.2f} ms  errors {summary['errors']}"
        )

    def add_ratios(self) -> None:
        """Each page row against the mean of the hello rows just before and after it, so
        that a change in the machine's load during the run cancels out; each hello row
        against the mean of all of them."""
        for backend in self.data["backends"]:
            rows = [r for r in self.rows if r["backend"] == backend]
            hellos = [i for i, r in enumerate(rows) if r["row"] == "hello"]
            if not hellos:
                continue
            for i, r in enumerate(rows):
                before = [h for h in hellos if h < i][-1:]
                after = [h for h in hellos if h > i][:1]
                base = hellos if i in hellos else before + after
                rps = sum(rows[h]["rps"] for h in base) / len(base)
                p50 = sum(rows[h]["p50_ms"] for h in base) / len(base)
                r["rps_x_hello"] = round(r["rps"] / rps, 6) if rps else 0.0
                r["p50_x_hello"] = round(r["p50_ms"] / p50, 2) if p50 else 0.0
            spread = [rows[h]["rps"] for h in hellos]
            if len(spread) < 2:
                continue
            width = (max(spread) - min(spread)) / max(spread) if max(spread) else 0.0
            self.data["backends"][backend]["hello_spread"] = round(width, 3)
            colour = "yellow" if width > 0.2 else "green"
            self.note(
                f"{backend}: the hello rows differ by up to [{colour}]{width:.0%}[/] "
                "(how much the machine's load changed during the run)"
            )

    def finish(self) -> Path:
        self.data["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
        self.add_ratios()
        self.console.print(self.table())
        RESULTS.mkdir(exist_ok=True)
        stamp = self.started.strftime("%Y%m%dT%H%M%SZ")
        path = RESULTS / f"{self.data['scenario']}-{stamp}.json"
        path.write_text(json.dumps(self.data, indent=2, ensure_ascii=False))
        self.console.print(f"results: {os.path.relpath(path)}")
        return path

    def table(self) -> Table:
        p = self.data["params"]
        shape = p.get("shape") or (
            f"{p['concurrency']} connections, {p['duration_s']:g} s per row, "
            f"{p['workers']} worker(s)"
        )
        title = (
            f"{self.data['scenario']} — {p['items']:,} items, {shape}, {self.data['started_at']}"
        )
        caption = "× hello: req/s and p50 relative to the /_hello rows just before and after"
        table = Table(title=title, caption=caption)
        table.add_column("backend")
        table.add_column("row")
        for col in ("req/s", "× hello", "p50 ms", "p99 ms", "p50 × hello", "errors"):
            table.add_column(col, justify="right")
        for r in self.rows:
            table.add_row(
                r["backend"],
                r["row"],
                _num(r["rps"]),
                _num(r.get("rps_x_hello", 0)),
                _num(r["p50_ms"]),
                _num(r["p99_ms"]),
                _num(r.get("p50_x_hello", 0)),
                f"[red]{r['errors']}[/]" if r["errors"] else "0",
            )
        return table


def _num(x: float) -> str:
    """Three significant digits, without exponents: 0.00392, 1.19, 45.2, 1,396."""
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"
