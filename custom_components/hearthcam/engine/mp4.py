"""Fragmented MP4 output: the container every clip is written to, and remuxed into."""

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import av
from av.audio.stream import AudioStream
from av.container import OutputContainer
from av.video.stream import VideoStream

# A fragment per keyframe, and the moov box first: a file cut short (crash, power loss) stays
# playable up to its last complete fragment, and browsers can play it while it grows.
FRAGMENTED_MOVFLAGS: Final = "frag_keyframe+empty_moov+default_base_moof"
COPYABLE_VIDEO_CODECS: Final = frozenset({"h264", "hevc"})
COPYABLE_AUDIO_CODECS: Final = frozenset({"aac"})


@dataclass(slots=True)
class Mp4Output:
    """An open fragmented MP4 with its video and optional audio stream."""

    container: OutputContainer
    video: VideoStream
    audio: AudioStream | None

    def close(self) -> None:
        """Write the last fragment and close the file."""
        self.container.close()


def open_fragmented_mp4(
    path: Path, video_template: VideoStream, audio_template: AudioStream | None = None
) -> Mp4Output:
    """Open `path` for stream copy of the template streams (H.264/HEVC video, AAC audio)."""
    video_codec = video_template.codec_context.name
    if video_codec not in COPYABLE_VIDEO_CODECS:
        msg = f"cannot stream-copy {video_codec} into MP4"
        raise ValueError(msg)
    # flush_packets hands each finished fragment to the OS at once. Without it up to 32 KiB
    # (the moov box and, at low bitrates, whole fragments) wait in FFmpeg's buffer, and a
    # killed process leaves a file that cannot even be opened.
    options = {"movflags": FRAGMENTED_MOVFLAGS, "flush_packets": "1"}
    container = av.open(str(path), mode="w", format="mp4", options=options)
    try:
        video = container.add_stream_from_template(video_template)
        if video_codec == "hevc":
            # Safari and Chrome only play HEVC in MP4 when it is tagged hvc1 (not hev1).
            video.codec_tag = "hvc1"
        audio = None
        if (
            audio_template is not None
            and audio_template.codec_context.name in COPYABLE_AUDIO_CODECS
        ):
            audio = container.add_stream_from_template(audio_template)
    except BaseException:
        container.close()
        raise
    return Mp4Output(container=container, video=video, audio=audio)
