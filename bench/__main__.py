"""``python -m bench [SCENARIO] [options]``: run benchmark scenarios (docs/benchmarks.md).

With no scenario, every scenario runs with its defaults, one after another."""

from __future__ import annotations

import argparse
import sys

from bench.scenarios import catalog, flashsale, gateway, gatewaycost

SCENARIOS = {
    "catalog": catalog,
    "flashsale": flashsale,
    "gateway": gateway,
    "gatewaycost": gatewaycost,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark Mercato, each figure against a same-run /_hello baseline.",
    )
    scenarios = parser.add_subparsers(dest="scenario", metavar="SCENARIO")
    parsers = {}
    for name, module in SCENARIOS.items():
        summary = (module.__doc__ or name).splitlines()[0]
        parsers[name] = scenarios.add_parser(name, help=summary, description=module.__doc__)
        module.add_arguments(parsers[name])
    args = parser.parse_args(argv)
    if args.scenario is not None:
        return SCENARIOS[args.scenario].run(args)
    status = 0
    for name, module in SCENARIOS.items():
        status |= module.run(parsers[name].parse_args([]))
    return status


if __name__ == "__main__":
    sys.exit(main())
