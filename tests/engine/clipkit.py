"""Helpers for clip store tests: fragmented MP4 copies, recorded clips, decoded frames."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
import functools
import os
from pathlib import Path
import shutil
import threading

import av
from av.stream import Stream
import numpy as np

from custom_components.hearthcam.engine.clip_info import ClipInfo
from custom_components.hearthcam.engine.clips import ClipStore
from custom_components.hearthcam.engine.model import ClipTrigger, RecordedClip
from custom_components.hearthcam.engine.motion import Box
from custom_components.hearthcam.engine.mp4 import open_fragmented_mp4

# A valid clip's details, as a sidecar holds them (tests vary it with dataclasses.replace).
SAMPLE_START = datetime(2026, 3, 14, 12, 0, 0, tzinfo=UTC)
SAMPLE_INFO = ClipInfo(
    clip_id="cam/2026-03-14/120000-1",
    camera_key="cam",
    start=SAMPLE_START,
    end=SAMPLE_START + timedelta(seconds=2),
    duration_s=2.0,
    video_codec="h264",
    audio_codec=None,
    width=160,
    height=120,
    size_bytes=1000,
    trigger=ClipTrigger.MOTION,
    peak_score=0.5,
    motion_timeline=((0.0, 0.5),),
    kept=False,
    has_thumbnail=False,
    notes=(),
)


def write_fragmented(source: Path, target: Path) -> Path:
    """Stream-copy source (video and any AAC audio) into a fragmented MP4, like the recorder."""
    with av.open(str(source)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        output = open_fragmented_mp4(target, video, audio)
        streams: dict[Stream, Stream] = {video: output.video}
        if audio is not None and output.audio is not None:
            streams[audio] = output.audio
        for packet in container.demux(*streams):
            if packet.dts is None:
                continue
            packet.stream = streams[packet.stream]
            output.container.mux(packet)
        output.close()
    return target


@functools.cache
def media_facts(path: Path) -> tuple[str, int, int, str | None, float]:
    """(video codec, width, height, audio codec, duration) of a clip file."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0].codec_context.name if container.streams.audio else None
        duration = (container.duration or 0) / av.time_base
        return video.codec_context.name, video.width, video.height, audio, duration


def record(
    store: ClipStore,
    camera: str,
    start: datetime,
    source: Path,
    *,
    thumbnail: bytes | None = None,
    link: bool = False,
    peak_score: float = 0.0,
    motion_timeline: tuple[tuple[float, float], ...] = (),
    onset_box: Box | None = None,
) -> ClipInfo:
    """Record a clip the way the recorder does: allocate, write the part, finalize."""
    _, part = store.allocate(camera, start)
    if link:
        part.unlink()  # allocate created it empty (owner only); a hard link takes its place
        os.link(source, part)  # cheap when many clips only need to exist
    else:
        shutil.copyfile(source, part)
    video_codec, width, height, audio_codec, duration = media_facts(source)
    recorded = RecordedClip(
        part_path=part,
        start=start,
        duration_s=duration,
        video_codec=video_codec,
        width=width,
        height=height,
        audio_codec=audio_codec,
        trigger=ClipTrigger.MOTION,
        size_bytes=part.stat().st_size,
        thumbnail_jpeg=thumbnail,
        motion_offset_s=0.5,
    )
    return store.finalize(
        recorded,
        peak_score=peak_score,
        motion_timeline=motion_timeline,
        motion_boxes=() if onset_box is None else ((0.5, onset_box),),
        onset_box=onset_box,
    )


def decode_frames(path: Path) -> list[np.ndarray]:
    """Every decoded frame's luma plane."""
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="gray") for frame in container.decode(video=0)]


def box_offsets(data: bytes, box: bytes) -> list[int]:
    """Start offsets of every top-level-looking MP4 box of this type (its size field)."""
    offsets, at = [], data.find(box)
    while at >= 0:
        offsets.append(at - 4)
        at = data.find(box, at + 1)
    return offsets


def run_in_threads(*calls: Callable[[], object]) -> None:
    """Run each call in a thread of its own; re-raise the first error any of them hit."""
    errors: list[BaseException] = []

    def run(call: Callable[[], object]) -> None:
        try:
            call()
        except BaseException as err:  # noqa: BLE001 - handed to the calling test
            errors.append(err)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
