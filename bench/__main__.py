"""``python -m bench [catalog] [options]``: run a benchmark scenario (see docs/benchmarks.md)."""

from __future__ import annotations

import argparse
import sys

from bench.scenarios import catalog

SCENARIOS = {"catalog": catalog}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark Mercato against a same-run /_hello baseline.",
    )
    parser.add_argument("scenario", nargs="?", default="catalog", choices=SCENARIOS)
    catalog.add_arguments(parser)
    args = parser.parse_args(argv)
    return SCENARIOS[args.scenario].run(args)


if __name__ == "__main__":
    sys.exit(main())
