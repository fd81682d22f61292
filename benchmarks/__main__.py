"""Entry point: `python -m benchmarks SUITE ...` (pipeline, accuracy, export, ..., all).

Suites: pipeline, accuracy, export, loop_stall, live_view, feedback, soak, session_garbage,
and all.

Each suite takes [--json] [--quick]; soak takes --minutes N instead, session_garbage
--sessions N.

`all` runs both suites; with --json it prints the pipeline figures and the accuracy figures as
one object.
"""

import json
import sys

from benchmarks import (
    accuracy,
    export,
    feedback,
    live_view,
    loop_stall,
    pipeline,
    session_garbage,
    soak,
)

SUITES = {
    "pipeline": pipeline.main,
    "accuracy": accuracy.main,
    "export": export.main,
    "loop_stall": loop_stall.main,
    "live_view": live_view.main,
    "feedback": feedback.main,
    "soak": soak.main,
    "session_garbage": session_garbage.main,
}


def run_all(argv: list[str]) -> int:
    """Run the pipeline and accuracy suites; one merged JSON object with --json."""
    as_json = "--json" in argv
    quick = "--quick" in argv
    unknown = [arg for arg in argv if arg not in {"--json", "--quick"}]
    if unknown:
        print(f"scripts/bench all takes only --json and --quick, not {unknown}", file=sys.stderr)
        return 2
    if not as_json:
        # The tables, one after the other, exactly as each suite prints its own.
        status = pipeline.main(argv)
        print()
        return status or accuracy.main(argv)
    figures = pipeline.run(pipeline.QUICK if quick else pipeline.FULL)
    scores = accuracy.run(accuracy.QUICK if quick else accuracy.FULL)
    targets = {**_mapping(figures.pop("targets")), **_mapping(scores.pop("targets"))}
    meets = {**_mapping(figures.pop("meets_targets")), **_mapping(scores.pop("meets_targets"))}
    print(json.dumps({**figures, **scores, "targets": targets, "meets_targets": meets}, indent=2))
    return 0


def _mapping(value: object) -> dict[str, object]:
    """Check that a JSON figure is a sub-object, and return it."""
    if not isinstance(value, dict):
        msg = f"expected a mapping, got {value!r}"
        raise TypeError(msg)
    return value


def main(argv: list[str]) -> int:
    """Run the named suite (default: pipeline) with the remaining arguments."""
    name = argv[0] if argv and not argv[0].startswith("-") else "pipeline"
    rest = argv[1:] if argv and argv[0] == name else argv
    if name == "all":
        return run_all(rest)
    if name not in SUITES:
        print(f"unknown suite {name!r}; choose from {', '.join(SUITES)}, all", file=sys.stderr)
        return 2
    return SUITES[name](rest)


if __name__ == "__main__":  # child processes import this module as __mp_main__
    sys.exit(main(sys.argv[1:]))
