"""Build dist/hearthcam-<version>.zip: custom_components/hearthcam alone, reproducibly.

The files sit at the zip's root, the layout HACS extracts into custom_components/hearthcam/
(and what a manual install unzips there). Run through scripts/release.
"""

import json
from pathlib import Path
import sys
import zipfile

ROOT = Path(__file__).resolve().parents[1]
INTEGRATION = ROOT / "custom_components" / "hearthcam"
# A fixed timestamp and order make the same sources give the same bytes.
_EPOCH = (1980, 1, 1, 0, 0, 0)
_SKIP_DIRS = {"__pycache__"}
_SKIP_SUFFIXES = {".pyc", ".pyo"}


def release_files(integration: Path = INTEGRATION) -> list[Path]:
    """Return the integration's files that ship, sorted, without caches."""
    return sorted(
        path
        for path in integration.rglob("*")
        if path.is_file()
        and not _SKIP_DIRS & set(path.relative_to(integration).parts)
        and path.suffix not in _SKIP_SUFFIXES
    )


def version(integration: Path = INTEGRATION) -> str:
    """Return the manifest's version."""
    return str(json.loads((integration / "manifest.json").read_text())["version"])


def build(out_dir: Path, integration: Path = INTEGRATION) -> Path:
    """Write hearthcam-<version>.zip into out_dir and return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"hearthcam-{version(integration)}.zip"
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in release_files(integration):
            info = zipfile.ZipInfo(path.relative_to(integration).as_posix(), _EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())
    return target


def main() -> int:
    """Build into dist/ and print the path."""
    target = build(ROOT / "dist")
    print(f"{target.relative_to(ROOT)} ({target.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
