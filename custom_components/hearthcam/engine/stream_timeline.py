"""Timestamps a muxer can use, for packets read from a camera stream.

Every packet a stream source yields has pts and dts in its stream's time base, dts strictly
increasing per stream and pts >= dts. Formats that carry no timestamps (MJPEG over HTTP,
raw H.264/HEVC) are stamped from arrival time, in 1/90000 s if theirs is coarser than 1 ms.
Otherwise a missing dts is derived from pts (just above the previous dts, at most
`_MAX_REORDER_S` below pts), missing pts and dts continue from the previous packet by the
arrival time since, a small step back is clamped to the previous dts + 1 and a jump back of
more than `_JUMP_BACK_S` (a camera's clock reset) is bridged by an offset kept from then on.
Streams are repaired independently, so audio and video may drift apart at such a repair.
"""

from fractions import Fraction

from av.packet import Packet
from av.stream import Stream

_MAX_REORDER_S = 1.0  # Largest pts - dts assumed when dts has to be derived.
_JUMP_BACK_S = 1.0  # A larger step back in dts is a clock reset, bridged by an offset.


class PacketTimeline:
    """Makes one stream's timestamps usable by a muxer (see the module docstring)."""

    def __init__(self, time_base: Fraction, *, from_arrival: bool) -> None:
        self._seconds_per_tick = float(time_base)
        self._from_arrival = from_arrival
        self._offset = 0
        self._origin: float | None = None
        self._last_dts: int | None = None
        self._last_arrival = 0.0

    def _ticks(self, seconds: float) -> int:
        return max(1, round(seconds / self._seconds_per_tick))

    def stamp(self, packet: Packet[Stream], arrival: float) -> None:
        """Set the packet's pts and dts; arrival is when it was read (monotonic)."""
        last = self._last_dts
        step = 1 if last is None else self._ticks(arrival - self._last_arrival)
        pts, dts = self._raw(packet, arrival, last, step)
        if last is not None and dts <= last:
            if last - dts > self._ticks(_JUMP_BACK_S) and not self._from_arrival:
                shift = last + step - dts
                self._offset += shift
                pts, dts = pts + shift, dts + shift
            else:
                dts = last + 1
        packet.dts = dts
        packet.pts = max(pts, dts)
        self._last_dts = dts
        self._last_arrival = arrival

    def _raw(
        self, packet: Packet[Stream], arrival: float, last: int | None, step: int
    ) -> tuple[int, int]:
        """Return the packet's own timestamps (offset applied), filled in where missing."""
        if self._from_arrival:
            if self._origin is None:
                self._origin = arrival
            ticks = round((arrival - self._origin) / self._seconds_per_tick)
            return ticks, ticks
        pts = None if packet.pts is None else packet.pts + self._offset
        dts = None if packet.dts is None else packet.dts + self._offset
        if dts is not None:
            return (dts if pts is None else pts), dts
        if pts is None:
            guess = 0 if last is None else last + step
            return guess, guess
        # No dts yet (B-frames at the start of a stream, before FFmpeg can derive it): stay
        # just above the previous one, as far below pts as reordering could need.
        lowest = pts - self._ticks(_MAX_REORDER_S)
        return pts, lowest if last is None else max(last + 1, lowest)
