"""Synthetic footage: deterministic, ground truth matches pixels, encoded as configured."""

from pathlib import Path

import av
import numpy as np
import pytest

from devkit.footage import (
    LightChange,
    MovingObject,
    Scene,
    background,
    footage_path,
    motion_intervals,
    object_box,
    render_frames,
    write_footage,
)
from devkit.pytest_plugin import MakeFootage

WALKER = MovingObject(
    start_s=0.5, end_s=1.5, start_xy=(0.2, 0.5), end_xy=(0.8, 0.5), size=(0.2, 0.4), color=230
)
CLIP = Scene(width=320, height=240, fps=10, duration_s=2.0, seed=7, objects=(WALKER,))


def decode_rgb(path: Path) -> list[np.ndarray]:
    """Every video frame of a file as H x W x 3 RGB."""
    with av.open(path) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def test_render_is_deterministic_per_seed() -> None:
    """The same seed renders the same frames; another seed renders another scene."""
    scene = Scene(width=320, height=240, duration_s=0.4, seed=1)
    first, again = list(render_frames(scene)), list(render_frames(scene))
    other = list(render_frames(Scene(width=320, height=240, duration_s=0.4, seed=2)))
    assert len(first) == scene.frame_count == 6
    assert first[0].shape == (240, 320, 3)
    assert first[0].dtype == np.uint8
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0], other[0])
    # Sensor noise changes every frame of a static scene, by about sigma.
    step = np.abs(first[1].astype(float) - first[0].astype(float)).mean()
    assert 0.5 < step < 2 * scene.noise_sigma


def test_background_has_structure() -> None:
    """The backdrop is textured, not flat, so detectors see edges and gradients."""
    luma = background(CLIP).mean(axis=2)
    assert luma.std() > 10
    assert np.abs(np.diff(luma, axis=1)).mean() > 1


def test_decoded_footage_is_deterministic(tmp_path: Path) -> None:
    """Encoding a scene twice gives identical files and frames; another seed does not."""
    scene = Scene(width=320, height=240, duration_s=1.0, seed=3, objects=(WALKER,))
    a = write_footage(scene, tmp_path / "a.mkv")
    b = write_footage(scene, tmp_path / "b.mkv")
    c = write_footage(Scene(width=320, height=240, duration_s=1.0, seed=4), tmp_path / "c.mkv")
    assert a.read_bytes() == b.read_bytes()
    frames_a, frames_b, frames_c = decode_rgb(a), decode_rgb(b), decode_rgb(c)
    assert len(frames_a) == scene.frame_count
    assert all(np.array_equal(x, y) for x, y in zip(frames_a, frames_b, strict=True))
    assert not np.array_equal(frames_a[0], frames_c[0])


def test_object_appears_where_and_when_expected(make_footage: MakeFootage) -> None:
    """In decoded frames the object covers its ground-truth box and nothing else changes."""
    backdrop = background(CLIP)
    frames = decode_rgb(make_footage(CLIP, ".mkv"))
    assert len(frames) == CLIP.frame_count
    seen = 0
    for index, frame in enumerate(frames):
        diff = np.abs(frame.astype(np.float32) - backdrop).mean(axis=2)
        box = object_box(CLIP, WALKER, CLIP.frame_time(index))
        outside = np.ones(diff.shape, dtype=bool)
        if box is not None:
            x0, y0, x1, y1 = box
            assert diff[y0:y1, x0:x1].mean() > 40, f"object missing in frame {index}"
            outside[y0:y1, x0:x1] = False
            seen += 1
        assert diff[outside].mean() < 6, f"unexpected change in frame {index}"
    assert seen == 10  # 0.5 s .. 1.5 s at 10 fps
    assert motion_intervals(CLIP) == [(0.5, 1.5)]


def test_object_moves_linearly() -> None:
    """The box centre goes from start_xy to end_xy over the object's interval."""
    start = object_box(CLIP, WALKER, 0.5)
    middle = object_box(CLIP, WALKER, 1.0)
    assert start is not None
    assert middle is not None
    assert (start[0] + start[2]) / 2 == pytest.approx(0.2 * 320, abs=1)
    assert (middle[0] + middle[2]) / 2 == pytest.approx(0.5 * 320, abs=1)
    assert (middle[1] + middle[3]) / 2 == pytest.approx(0.5 * 240, abs=1)
    assert object_box(CLIP, WALKER, 0.49) is None
    assert object_box(CLIP, WALKER, 1.5) is None


def test_motion_intervals_merge_overlaps_and_clip_to_duration() -> None:
    """Ground truth merges overlapping objects and stops at the end of the clip."""

    def walker(start: float, end: float) -> MovingObject:
        return MovingObject(start, end, (0.1, 0.5), (0.9, 0.5))

    scene = Scene(
        duration_s=6.0,
        objects=(walker(4.0, 9.0), walker(0.5, 1.5), walker(1.0, 2.0), walker(7.0, 8.0)),
    )
    assert motion_intervals(scene) == [(0.5, 2.0), (4.0, 6.0)]
    assert motion_intervals(Scene()) == []


def test_light_changes_scale_brightness_and_switch_to_grey() -> None:
    """A sudden gain halves brightness; a ramp gets there gradually; IR mode drops colour."""
    base = Scene(width=64, height=48, fps=10, duration_s=3.0, noise_sigma=0)
    dim = Scene(
        width=64,
        height=48,
        fps=10,
        duration_s=3.0,
        noise_sigma=0,
        light_changes=(
            LightChange(at_s=1.0, gain=0.5),
            LightChange(at_s=2.0, ramp_s=0.5, to_grey=True),
        ),
    )
    plain, lit = list(render_frames(base)), list(render_frames(dim))
    assert np.array_equal(plain[9], lit[9])  # 0.9 s: before any change
    assert lit[10].mean() == pytest.approx(plain[10].mean() / 2, rel=0.02)
    chroma = [float(np.ptp(f.astype(int), axis=2).mean()) for f in lit]
    assert chroma[19] > 10  # 1.9 s: still colour
    assert 0 < chroma[22] < chroma[19]  # 2.2 s: fading to grey
    assert chroma[25] < 1  # 2.5 s: grey


def test_keyframes_follow_the_configured_gop(make_footage: MakeFootage) -> None:
    """Keyframes come exactly every keyframe_interval_s, and timestamps are i / fps."""
    scene = Scene(width=320, height=240, fps=10, duration_s=2.0, keyframe_interval_s=0.5)
    with av.open(make_footage(scene, ".mkv")) as container:
        stream = container.streams.video[0]
        packets = [p for p in container.demux(stream) if p.size]
        keyframes = [i for i, p in enumerate(packets) if p.is_keyframe]
        times = [p.pts * p.time_base for p in packets if p.pts is not None]
    assert scene.gop_size == 5
    assert keyframes == [0, 5, 10, 15]
    assert times == pytest.approx([i / 10 for i in range(20)], abs=1e-3)


@pytest.mark.parametrize("suffix", [".mkv", ".mp4", ".ts", ".264"])
@pytest.mark.parametrize("audio", [False, True])
def test_each_container_decodes_with_audio_only_when_asked(
    make_footage: MakeFootage, suffix: str, *, audio: bool
) -> None:
    """Every container holds all frames; a quiet tone is there only if asked (never in .264)."""
    scene = Scene(width=320, height=240, fps=10, duration_s=1.0, audio=audio)
    path = make_footage(scene, suffix)
    with av.open(path) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        has_audio = bool(container.streams.audio)
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == scene.frame_count
    assert has_audio == (audio and suffix != ".264")
    if has_audio:
        with av.open(path) as container:
            assert container.streams.audio[0].codec_context.name == "aac"
            samples = np.concatenate([f.to_ndarray().ravel() for f in container.decode(audio=0)])
        rms = float(np.sqrt(np.mean(samples**2)))
        assert 0.01 < rms < 0.1  # present, but quiet


def test_footage_path_encodes_once_and_leaves_no_partial_files(tmp_path: Path) -> None:
    """The cache names files by scene, encodes only when missing and leaves no temp files."""
    scene = Scene(width=320, height=240, duration_s=0.5)
    first = footage_path(scene, tmp_path, ".ts")
    stamp = first.stat().st_mtime_ns
    again = footage_path(scene, tmp_path, ".ts")
    other = footage_path(Scene(width=320, height=240, duration_s=0.5, seed=1), tmp_path, ".ts")
    assert again == first
    assert again.stat().st_mtime_ns == stamp
    assert other != first
    visible = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))
    assert visible == sorted([first.name, other.name])
    assert not list(tmp_path.glob("*.tmp"))


def test_invalid_scenes_are_rejected() -> None:
    """Odd frame sizes cannot be encoded as yuv420p; objects need a forward interval."""
    with pytest.raises(ValueError, match="even"):
        Scene(width=321)
    with pytest.raises(ValueError, match="start_s"):
        MovingObject(2.0, 1.0, (0, 0), (1, 1))
    with pytest.raises(ValueError, match="suffix"):
        write_footage(Scene(duration_s=0.1), Path("clip.avi"))
