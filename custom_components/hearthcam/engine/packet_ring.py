"""The pre-roll ring: the last seconds of demuxed packets, from a video keyframe on."""

from collections import deque
import math
from typing import Any

from av.packet import Packet

from .timestamps import EPSILON_S, MAX_BACKWARD_JUMP_S


class _Gop:
    """A video keyframe and every packet after it up to the next keyframe."""

    __slots__ = ("nbytes", "packets", "time")

    def __init__(self, time: float) -> None:
        self.time = time
        self.packets: list[Packet[Any]] = []
        self.nbytes = 0


class PacketRing:
    """The last pre_roll_s of demuxed packets, always from a video keyframe, capped in bytes.

    It keeps everything from the newest video keyframe at or before (latest time - pre_roll_s),
    so a clip can start there; when over max_bytes it drops the oldest whole GOPs (even the
    only one, then it waits for the next keyframe). Packets are kept, never modified.
    """

    def __init__(self, pre_roll_s: float, max_bytes: int) -> None:
        self._pre_roll_s = pre_roll_s
        self._max_bytes = max_bytes
        self._gops: deque[_Gop] = deque()
        self._nbytes = 0
        self._count = 0
        self._latest = -math.inf

    def add(self, packet: Packet[Any], video_time: float | None) -> None:
        """Append a packet; video_time is its time in seconds for video, None for audio."""
        gops = self._gops
        if video_time is not None:
            if packet.is_keyframe:
                if video_time < self._latest - MAX_BACKWARD_JUMP_S:
                    self.clear()  # The clock restarted: the old packets are another timeline.
                gops.append(_Gop(video_time))
            self._latest = max(self._latest, video_time)
        if not gops:
            return  # Nothing before the first keyframe can start a clip.
        size = packet.size
        gop = gops[-1]
        gop.packets.append(packet)
        gop.nbytes += size
        self._nbytes += size
        self._count += 1
        cutoff = self._latest - self._pre_roll_s + EPSILON_S
        while len(gops) > 1 and gops[1].time <= cutoff:
            self._drop_oldest()
        while self._nbytes > self._max_bytes:
            self._drop_oldest()

    def _drop_oldest(self) -> None:
        gop = self._gops.popleft()
        self._nbytes -= gop.nbytes
        self._count -= len(gop.packets)

    def snapshot(self, since: float | None = None) -> list[Packet[Any]]:
        """Packets from the newest keyframe at or before `since` (default: all kept) on."""
        gops = self._gops
        first = 0
        if since is not None:
            while first + 1 < len(gops) and gops[first + 1].time <= since + EPSILON_S:
                first += 1
        return [
            packet for index, gop in enumerate(gops) if index >= first for packet in gop.packets
        ]

    def clear(self) -> None:
        """Forget everything (the stream restarted)."""
        self._gops.clear()
        self._nbytes = 0
        self._count = 0
        self._latest = -math.inf

    @property
    def nbytes(self) -> int:
        """Bytes of packet data held."""
        return self._nbytes

    @property
    def start_time(self) -> float | None:
        """Time of the oldest keyframe held, if any."""
        return self._gops[0].time if self._gops else None

    def __len__(self) -> int:
        return self._count
