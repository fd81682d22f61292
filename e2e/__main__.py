"""scripts/e2e: python -m e2e --hass-python PYTHON [--artifacts DIR]."""

import argparse
import asyncio
from pathlib import Path
import sys
import time
import traceback

from e2e.scenario import run


def main(argv: list[str] | None = None) -> int:
    """Run the scenario; exit status 0 when every step passed."""
    parser = argparse.ArgumentParser(prog="scripts/e2e")
    parser.add_argument("--hass-python", required=True, help="Python of the HA under test")
    parser.add_argument("--artifacts", type=Path, default=Path("artifacts/e2e"))
    args = parser.parse_args(argv)
    artifacts: Path = args.artifacts.resolve()
    started = time.monotonic()
    try:
        asyncio.run(run(args.hass_python, artifacts))
    except Exception as err:  # noqa: BLE001 - any failure ends the run with its reason
        traceback.print_exc()
        print(f"[e2e] FAILED after {time.monotonic() - started:.0f} s: {err}", file=sys.stderr)
        print(f"[e2e] logs and screenshots: {artifacts}", file=sys.stderr)
        return 1
    print(f"[e2e] passed in {time.monotonic() - started:.0f} s; artifacts: {artifacts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
