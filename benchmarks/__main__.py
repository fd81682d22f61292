"""Entry point: `python -m benchmarks [pipeline] [--json] [--quick]` (see scripts/bench)."""

import sys

from benchmarks import pipeline

SUITES = {"pipeline": pipeline.main}


def main(argv: list[str]) -> int:
    """Run the named suite (default: pipeline) with the remaining arguments."""
    name = argv[0] if argv and not argv[0].startswith("-") else "pipeline"
    rest = argv[1:] if argv and argv[0] == name else argv
    if name not in SUITES:
        print(f"unknown suite {name!r}; choose from {', '.join(SUITES)}", file=sys.stderr)
        return 2
    return SUITES[name](rest)


sys.exit(main(sys.argv[1:]))
