"""Ratios to the same run's hello rows."""

from __future__ import annotations

from bench import report


def test_page_rows_are_relative_to_the_hello_rows_around_them() -> None:
    # given hello, search, hello, item, hello with known figures
    out = report.Output("test", {})
    out.data["backends"]["sqlite"] = {}
    for name, rps, p50 in [
        ("hello", 1000, 1.0),
        ("search", 30, 60.0),
        ("hello", 2000, 3.0),
        ("item", 100, 20.0),
        ("hello", 3000, 1.0),
    ]:
        out.row("sqlite", name, {"rps": rps, "p50_ms": p50, "p99_ms": p50, "errors": 0})
    # when
    out.add_ratios()
    # then
    ratios = [(r["rps_x_hello"], r["p50_x_hello"]) for r in out.rows]
    assert ratios[1] == (0.02, 30.0)  # 30 / mean(1000, 2000); 60 / mean(1, 3)
    assert ratios[3] == (0.04, 10.0)  # 100 / mean(2000, 3000); 20 / mean(3, 1)
    assert ratios[0] == (0.5, 0.6)  # hello rows: against the mean of all three
    assert out.data["backends"]["sqlite"]["hello_spread"] == round(2 / 3, 3)
