"""Footage is for the owner only: clip files 0600, store directories 0700, old stores fixed."""

from datetime import UTC, datetime
import os
from pathlib import Path
import stat

import numpy as np
import pytest

from custom_components.hearthcam.engine.clip_info import ClipFile
from custom_components.hearthcam.engine.clips import ClipStore
from custom_components.hearthcam.engine.imaging import encode_array_jpeg
from custom_components.hearthcam.engine.model import ClipTrigger, RecordedClip
from devkit.footage import Scene
from devkit.pytest_plugin import MakeFootage

from .clipkit import media_facts, record, write_fragmented

T0 = datetime(2026, 3, 14, 12, 0, 0, tzinfo=UTC)
SMALL = Scene(width=160, height=120, duration_s=2, audio=True)


@pytest.fixture(scope="module")
def clip_mp4(make_footage: MakeFootage, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2 s fragmented MP4, as the recorder writes them."""
    target = tmp_path_factory.mktemp("permissions-source") / "clip.mp4"
    return write_fragmented(make_footage(SMALL, ".mp4"), target)


@pytest.fixture(autouse=True)
def permissive_umask() -> object:
    """The umask Home Assistant usually runs with: new files would be world-readable."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    """Permission bits of a path, not following a symlink."""
    return stat.S_IMODE(path.lstat().st_mode)


def modes_below(root: Path) -> dict[str, int]:
    """Permission bits of the root and everything below it, by relative path."""
    found = {".": mode(root)}
    found |= {str(p.relative_to(root)): mode(p) for p in root.rglob("*")}
    return found


def private(path: Path) -> int:
    """The mode a store's path must have."""
    return 0o700 if path.is_dir() else 0o600


def test_a_clip_is_private_from_its_first_byte(tmp_path: Path, clip_mp4: Path) -> None:
    """The part exists 0600 before PyAV writes into it; the clip's files and folders stay so."""
    store = ClipStore(tmp_path / "clips")
    store.load()
    assert mode(store.root) == 0o700
    _, part = store.allocate("cam", T0)
    assert mode(part) == 0o600
    assert mode(part.parent) == mode(part.parent.parent) == 0o700
    write_fragmented(clip_mp4, part)  # FFmpeg truncates the file it is given, keeping its mode
    assert mode(part) == 0o600
    codec, width, height, audio, duration = media_facts(clip_mp4)
    thumbnail = encode_array_jpeg(np.full((60, 80, 3), 120, np.uint8))
    info = store.finalize(
        RecordedClip(
            part, T0, duration, codec, width, height, audio, ClipTrigger.MOTION, 1, thumbnail
        )
    )
    store.set_kept(info.clip_id, True)  # rewrites the sidecar
    assert modes_below(store.root) == {
        ".": 0o700,
        "cam": 0o700,
        "cam/2026-03-14": 0o700,
        "cam/2026-03-14/120000-1.mp4": 0o600,
        "cam/2026-03-14/120000-1.jpg": 0o600,
        "cam/2026-03-14/120000-1.json": 0o600,
    }


def test_a_recovered_clip_is_private(tmp_path: Path, clip_mp4: Path) -> None:
    """A part left world-readable by an older release becomes a clip only the owner reads."""
    day = tmp_path / "clips" / "cam" / "2026-03-14"
    day.mkdir(parents=True, mode=0o755)
    part = day / "120000-1.mp4.part"
    part.write_bytes(clip_mp4.read_bytes())
    part.chmod(0o644)
    store = ClipStore(tmp_path / "clips")
    report = store.load()
    assert report.recovery.recovered == ("cam/2026-03-14/120000-1",)
    assert modes_below(store.root) == {
        ".": 0o700,
        "cam": 0o700,
        "cam/2026-03-14": 0o700,
        "cam/2026-03-14/120000-1.mp4": 0o600,
        "cam/2026-03-14/120000-1.jpg": 0o600,
        "cam/2026-03-14/120000-1.json": 0o600,
    }


def test_load_makes_an_existing_store_private(tmp_path: Path, clip_mp4: Path) -> None:
    """Files and folders an older release left readable are fixed at load, and reported."""
    store = ClipStore(tmp_path / "clips")
    store.load()
    thumbnail = encode_array_jpeg(np.full((60, 80, 3), 120, np.uint8))
    info = record(store, "cam", T0, clip_mp4, thumbnail=thumbnail)
    other = record(store, "porch", T0, clip_mp4)
    for path in [store.root, *store.root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    stranger = store.root / "cam" / "notes.txt"  # not the store's: left as it is
    stranger.write_text("mine")
    stranger.chmod(0o644)

    reloaded = ClipStore(store.root)
    report = reloaded.load()
    fixed = sorted(str(path.relative_to(store.root)) for path in report.made_private)
    assert fixed == sorted(
        [".", "cam", "porch", "cam/2026-03-14", "porch/2026-03-14"]
        + [f"cam/2026-03-14/120000-1{ext}" for ext in (".mp4", ".jpg", ".json")]
        + [f"porch/2026-03-14/120000-1{ext}" for ext in (".mp4", ".json")]
    )
    clip_paths = [reloaded.resolve(info.clip_id, kind) for kind in ClipFile]
    clip_paths.append(reloaded.resolve(other.clip_id))
    for path in [store.root, *clip_paths, *(p.parent for p in clip_paths)]:
        assert mode(path) == private(path), path
    assert mode(stranger) == 0o644
    assert reloaded.get(info.clip_id) == store.get(info.clip_id)
    assert ClipStore(store.root).load().made_private == ()  # nothing left to fix
