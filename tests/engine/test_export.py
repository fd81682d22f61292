"""Export bundles from real clips: stream copy, masks, trims, audio, metadata, cancel, folder."""

from datetime import UTC, datetime, timedelta
import hashlib
import io
import json
import os
from pathlib import Path
import stat
import threading
import zipfile

import av
import numpy as np
import pytest

from custom_components.hearthcam.engine.bundle import (
    README_NAME,
    VIDEO_NAME,
    BundleDetails,
    build_bundle,
)
from custom_components.hearthcam.engine.clip_info import ClipInfo
from custom_components.hearthcam.engine.clips import ClipStore
from custom_components.hearthcam.engine.errors import (
    ExportCancelledError,
    InvalidExportIdError,
    StorageError,
    UnreadableClipError,
)
from custom_components.hearthcam.engine.export_folder import (
    ExportFolder,
    check_export_id,
    new_export_id,
)
from custom_components.hearthcam.engine.redact import RedactMethod, RedactOptions, redact_clip
from custom_components.hearthcam.engine.regions import parse_polygons
from devkit.footage import MovingObject, Scene
from devkit.pytest_plugin import MakeFootage

from .clipkit import decode_frames, record, write_fragmented

T0 = datetime(2026, 3, 14, 12, 0, 0, tzinfo=UTC)
# 3 s at 15 fps with a keyframe a second, AAC audio, and a bright walker crossing the picture.
SCENE = Scene(
    width=320,
    height=240,
    duration_s=3,
    audio=True,
    seed=5,
    objects=(MovingObject(0.0, 3.0, (0.1, 0.5), (0.9, 0.5), color=(240, 240, 240)),),
)
LEFT_HALF = parse_polygons("0,0 0.5,0 0.5,1 0,1")


@pytest.fixture(scope="session")
def clip_mp4(make_footage: MakeFootage, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fragmented MP4 (H.264 with x264's SEI, AAC) as the recorder writes them."""
    target = tmp_path_factory.mktemp("export-source") / "clip.mp4"
    return write_fragmented(make_footage(SCENE, ".mp4"), target)


@pytest.fixture
def folder(tmp_path: Path) -> ExportFolder:
    """A prepared, empty export folder."""
    export_folder = ExportFolder(tmp_path / "exports")
    export_folder.prepare()
    return export_folder


@pytest.fixture
def clip(tmp_path: Path, clip_mp4: Path) -> tuple[ClipStore, ClipInfo]:
    """A store with the clip in it, with a motion timeline."""
    store = ClipStore(tmp_path / "clips")
    store.load()
    timeline = ((0.5, 0.01), (1.5, 0.03), (2.5, 0.02))
    return store, record(store, "front", T0, clip_mp4, motion_timeline=timeline)


def _details(info: ClipInfo, export_id: str) -> BundleDetails:
    return BundleDetails(
        export_id=export_id,
        camera_name="Front door",
        clip=info,
        reason="the hedge sets it off",
        user_id="abc123",
        user_name="Alice",
        created_at=T0,
        expires_at=T0 + timedelta(hours=24),
        masks_configured=1,
        detection_settings={"sensitivity_area": 0.002},
        software={"hearthcam": "0.1.0"},
    )


def _streams(path: Path) -> list[str]:
    with av.open(str(path)) as container:
        return [stream.type for stream in container.streams]


def test_stream_copy_keeps_every_frame_and_drops_audio_sei_and_tags(
    tmp_path: Path, clip_mp4: Path
) -> None:
    """Without masks or trim the pictures are the clip's own; sound, SEI and tags are gone."""
    target = tmp_path / "out.mp4"
    result = redact_clip(clip_mp4, target, RedactOptions(), threading.Event())
    assert result.method is RedactMethod.STREAM_COPY
    assert result.audio_removed
    assert result.audio_codec is None
    assert _streams(target) == ["video"]
    original, exported = decode_frames(clip_mp4), decode_frames(target)
    assert len(exported) == len(original) == result.frames == 45
    assert all(np.array_equal(a, b) for a, b in zip(original, exported, strict=True))
    data = target.read_bytes()
    assert b"x264" in clip_mp4.read_bytes()  # the encoder's SEI text is in the clip...
    assert b"x264" not in data  # ...and not in the export
    assert b"Lavf" not in data  # nor FFmpeg's version
    with av.open(str(target)) as container:
        assert "encoder" not in container.metadata
        assert "creation_time" not in container.metadata
        assert "creation_time" not in container.streams.video[0].metadata


def test_audio_is_copied_when_asked(tmp_path: Path, clip_mp4: Path) -> None:
    """include_audio keeps the AAC track as it is."""
    target = tmp_path / "out.mp4"
    result = redact_clip(clip_mp4, target, RedactOptions(include_audio=True), threading.Event())
    assert result.audio_codec == "aac"
    assert not result.audio_removed
    assert _streams(target) == ["video", "audio"]
    with av.open(str(target)) as container:
        samples = sum(frame.samples for frame in container.decode(audio=0))
    assert samples == pytest.approx(3 * 16000, rel=0.05)


def test_masks_are_black_in_every_decoded_frame(tmp_path: Path, clip_mp4: Path) -> None:
    """The masked half is black in every frame, even while the walker crosses it."""
    target = tmp_path / "out.mp4"
    options = RedactOptions(masks=LEFT_HALF)
    result = redact_clip(clip_mp4, target, options, threading.Event())
    assert result.method is RedactMethod.RE_ENCODED
    assert result.video_codec == "h264"
    original, exported = decode_frames(clip_mp4), decode_frames(target)
    assert len(exported) == len(original)
    for before, after in zip(original, exported, strict=True):
        assert after[:, :156].max() <= 8  # black, give or take the encoder's ringing
        assert abs(float(after[:, 164:].mean()) - float(before[:, 164:].mean())) < 3
    # The walker was really there on the left before the export.
    assert original[5][:, :156].max() > 200


def test_a_trim_cuts_exactly_and_keeps_sound_in_step(tmp_path: Path, clip_mp4: Path) -> None:
    """A window between keyframes is cut to the frame, audio with it, times from the window."""
    with av.open(str(clip_mp4)) as container:
        times = [frame.time for frame in container.decode(video=0)]
    inside = [i for i, t in enumerate(times) if t is not None and 0.4 <= t < 1.6]
    target = tmp_path / "out.mp4"
    options = RedactOptions(include_audio=True, start_s=0.4, end_s=1.6)
    result = redact_clip(clip_mp4, target, options, threading.Event())
    assert result.method is RedactMethod.RE_ENCODED
    assert result.frames == len(inside) == 18  # 1.2 s at 15 fps
    assert result.start_s == 0.4
    assert result.duration_s == pytest.approx(1.2, abs=0.01)
    with av.open(str(target)) as container:
        video = [frame.time for frame in container.decode(video=0)]
        container.seek(0)
        audio = [frame.time for frame in container.decode(audio=0)]
    # Every timestamp moved back by exactly the trim start: picture and sound stay in step.
    expected = [t - 0.4 for t in times if t is not None and 0.4 <= t < 1.6]
    assert video == pytest.approx(expected, abs=1e-3)
    assert audio[0] is not None
    assert audio[-1] is not None
    assert 0 <= audio[0] < 0.065  # the first AAC frame (64 ms) that starts in the window
    assert audio[-1] < 1.2
    # The exported frames are the clip's (re-encoded, so nearly equal).
    original = decode_frames(clip_mp4)
    for index, after in zip(inside, decode_frames(target), strict=True):
        assert float(np.abs(original[index].astype(int) - after.astype(int)).mean()) < 3


def test_a_window_without_frames_and_unreadable_clips_fail(tmp_path: Path, clip_mp4: Path) -> None:
    """Nothing to export is an error, not an empty file."""
    with pytest.raises(UnreadableClipError):
        redact_clip(
            clip_mp4, tmp_path / "a.mp4", RedactOptions(start_s=10, end_s=12), threading.Event()
        )
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(os.urandom(4096))
    with pytest.raises(UnreadableClipError):
        redact_clip(garbage, tmp_path / "b.mp4", RedactOptions(), threading.Event())
    with pytest.raises(ValueError, match="end_s"):
        RedactOptions(start_s=2, end_s=1)
    with pytest.raises(ValueError, match="start_s"):
        RedactOptions(start_s=-1)


def test_bundle_holds_clip_manifest_and_readme_with_their_hashes(
    folder: ExportFolder, clip: tuple[ClipStore, ClipInfo]
) -> None:
    """Every file's sha256 is in the manifest, the bundle's own is returned, nothing else left."""
    store, info = clip
    export_id = new_export_id(T0)
    options = RedactOptions(masks=LEFT_HALF, start_s=1.0)
    with store.open_file(info.clip_id) as source:
        bundle = build_bundle(source, folder, _details(info, export_id), options, threading.Event())
    assert [p.name for p in folder.path.iterdir()] == [f"{export_id}.zip"]
    assert stat.S_IMODE(bundle.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.path.stat().st_mode) == 0o700
    data = bundle.path.read_bytes()
    assert bundle.sha256 == hashlib.sha256(data).hexdigest()
    assert bundle.size_bytes == len(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert sorted(archive.namelist()) == sorted([VIDEO_NAME, "manifest.json", README_NAME])
        manifest = json.loads(archive.read("manifest.json"))
        for name in (VIDEO_NAME, README_NAME):
            digest = hashlib.sha256(archive.read(name)).hexdigest()
            assert manifest["files"][name]["sha256"] == digest == bundle.files[name]
        readme = archive.read(README_NAME).decode()
    assert manifest["camera"] == {"name": "Front door"}
    assert manifest["exported_by"] == {"user_id": "abc123", "name": "Alice"}
    assert manifest["reason"] == "the hedge sets it off"
    assert manifest["expires_at"] == "2026-03-15T12:00:00+00:00"
    assert manifest["clip"]["clip_id"] == info.clip_id
    assert manifest["export"]["method"] == "re_encoded"
    assert manifest["export"]["start_offset_s"] == 1.0
    assert manifest["export"]["audio"] is None
    # Only the timeline inside the window, from the start of the exported video.
    assert manifest["motion_timeline"] == [[0.5, 0.03], [1.5, 0.02]]
    assert manifest["redactions"] == list(bundle.redactions)
    assert set(bundle.redactions) == {
        "metadata_removed",
        "audio_removed",
        "privacy_masks_blacked_out",
        "trimmed",
    }
    assert manifest["privacy_masks"]["applied"] is True
    assert manifest["detection_settings"] == {"sensitivity_area": 0.002}
    assert "Front door" in readme
    assert "the hedge sets it off" in readme
    assert "the sound" in readme


def test_cancel_leaves_nothing_behind(
    folder: ExportFolder, clip: tuple[ClipStore, ClipInfo]
) -> None:
    """A cancelled export raises and removes its temporary files; no bundle appears."""
    store, info = clip
    cancel = threading.Event()
    cancel.set()
    for options in (RedactOptions(), RedactOptions(masks=LEFT_HALF)):
        with store.open_file(info.clip_id) as source, pytest.raises(ExportCancelledError):
            build_bundle(source, folder, _details(info, new_export_id(T0)), options, cancel)
    assert [p.name for p in folder.path.iterdir()] == []


def test_a_failed_export_leaves_nothing_behind(
    folder: ExportFolder, clip: tuple[ClipStore, ClipInfo], tmp_path: Path
) -> None:
    """An unreadable clip raises; the folder stays empty."""
    _, info = clip
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\0" * 1000)
    with pytest.raises(UnreadableClipError):
        build_bundle(
            garbage,
            folder,
            _details(info, new_export_id(T0)),
            RedactOptions(),
            threading.Event(),
        )
    assert [p.name for p in folder.path.iterdir()] == []


def test_folder_maps_only_well_formed_ids_and_follows_no_links(tmp_path: Path) -> None:
    """Ids are checked by pattern; links planted in the folder are not followed; leftovers go."""
    folder = ExportFolder(tmp_path / "exports")
    folder.prepare()
    export_id = new_export_id(T0)
    assert check_export_id(export_id) == export_id
    assert export_id.startswith("20260314T120000Z-")
    for bad in ("../../etc/passwd", "", "20260314T120000Z-zzzzzzzz", f"{export_id}.zip", 7):
        with pytest.raises(InvalidExportIdError):
            check_export_id(bad)
        with pytest.raises(InvalidExportIdError):
            folder.open(bad)  # type: ignore[arg-type]
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours")
    other = new_export_id(T0)
    (folder.path / f"{other}.zip").symlink_to(secret)
    with pytest.raises(OSError):  # noqa: PT011 - ELOOP: the link is never followed
        folder.open(other)
    assert folder.bundle_ids() == []  # a link is not a bundle
    leftover = folder.temp_path(export_id)
    leftover.write_bytes(b"half a zip")
    assert folder.prepare() == [leftover.name]
    assert not folder.remove(export_id)
    with pytest.raises(StorageError):
        folder.commit(tmp_path / "elsewhere.tmp", export_id)
    linked = ExportFolder(tmp_path / "linked")
    linked.path.symlink_to(tmp_path / "exports")
    with pytest.raises(StorageError):
        linked.prepare()
