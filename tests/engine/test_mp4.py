"""Fragmented MP4 output by stream copy."""

from fractions import Fraction
from pathlib import Path

import av
from av.video.frame import VideoFrame
from av.video.stream import VideoStream
import numpy as np
import pytest

from custom_components.hearthcam.engine.mp4 import open_fragmented_mp4
from devkit.footage import Scene
from devkit.pytest_plugin import MakeFootage

from .clipkit import write_fragmented


def _encode(path: Path, codec: str, frames: int = 12) -> Path:
    """Write a tiny clip with the given encoder (for codecs the devkit does not produce)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=10)
        assert isinstance(stream, VideoStream)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        if codec == "libx265":
            stream.options = {"x265-params": "log-level=error:bframes=0"}
        for index in range(frames):
            image = np.full((48, 64, 3), index * 20 % 256, np.uint8)
            frame = VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, 10)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def test_h264_and_aac_are_copied_into_a_fragmented_mp4(
    make_footage: MakeFootage, tmp_path: Path
) -> None:
    """Video and AAC audio survive the copy and the file is fragmented (moof boxes)."""
    source = make_footage(Scene(width=160, height=120, duration_s=2, audio=True))
    target = tmp_path / "clip.mp4"
    write_fragmented(source, target)
    with av.open(str(target)) as clip:
        assert [s.type for s in clip.streams] == ["video", "audio"]
        assert clip.streams.audio[0].codec_context.name == "aac"
        assert sum(1 for _ in clip.decode(video=0)) == 30
    data = target.read_bytes()
    assert data.count(b"moof") >= 2  # one fragment per keyframe (GOP 1 s)


def test_hevc_is_tagged_hvc1_for_browsers(tmp_path: Path) -> None:
    """HEVC gets the hvc1 tag that browsers require."""
    target = tmp_path / "clip.mp4"
    write_fragmented(_encode(tmp_path / "hevc.mkv", "libx265"), target)
    with av.open(str(target)) as clip:
        assert clip.streams.video[0].codec_tag == "hvc1"
        assert sum(1 for _ in clip.decode(video=0)) == 12


def test_codecs_that_mp4_browsers_cannot_play_are_refused(tmp_path: Path) -> None:
    """MPEG-4 part 2 (or MJPEG) is not stream-copied: the caller must re-encode."""
    source = _encode(tmp_path / "m4v.mkv", "mpeg4")
    with av.open(str(source)) as container, pytest.raises(ValueError, match="mpeg4"):
        open_fragmented_mp4(tmp_path / "clip.mp4", container.streams.video[0])
