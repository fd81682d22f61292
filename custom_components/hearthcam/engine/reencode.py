"""Re-encoding for the one input browsers cannot play in MP4: MJPEG frames to H.264 packets."""

from typing import Any

import av
from av.packet import Packet
from av.video.reformatter import VideoReformatter
from av.video.stream import VideoStream

from .recording_input import RecordingInput


class Reencoder:
    """MJPEG frames in, H.264 packets out: browsers cannot play MJPEG."""

    def __init__(self, source: RecordingInput, video: VideoStream) -> None:
        self._decoder = source.decoder()
        self.damaged = 0  # frames left out because they did not decode
        self._reformatter = VideoReformatter()  # keeps its scaler between frames
        self._source = source
        self._video = video

    def encode(self, packet: Packet[Any], pts: int) -> list[Packet[VideoStream]]:
        """Decode a packet and encode its frame at pts (clip time); [] for a damaged one."""
        try:
            frames = self._decoder.decode(packet)
        except av.FFmpegError:
            self.damaged += 1  # A damaged JPEG: leave it out, the next one is whole again.
            return []
        source = self._source
        packets: list[Packet[VideoStream]] = []
        for frame in frames:
            image = self._reformatter.reformat(
                frame, width=source.width, height=source.height, format="yuv420p"
            )
            image.pts, image.time_base = pts, source.video_time_base
            packets += self._video.encode(image)
        return packets

    def flush(self) -> list[Packet[VideoStream]]:
        """Packets the encoder still holds."""
        return self._video.encode(None)
