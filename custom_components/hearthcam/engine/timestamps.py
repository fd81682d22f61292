"""Stream time: clock-jump limits, float tolerance, and dts repair for the MP4 muxer."""

from fractions import Fraction
import math
from typing import Final

from av.rational import AVRational

# Larger jumps of the video clock are a new timeline (camera restarted its clock, or a
# reconnect nobody reported), not a stall or B-frame reordering.
MAX_BACKWARD_JUMP_S: Final = 2.0
MAX_FORWARD_JUMP_S: Final = 60.0
# Times are ticks times a float time base: a frame exactly at a deadline may come out a hair
# early or late, and must count as at it.
EPSILON_S: Final = 1e-6
# MP4 track timescales are at least 8 kHz (video >= 10 kHz, audio = sample rate), so a
# corrected dts that is 1/8000 s past the previous one stays distinct after the muxer rescales.
_MIN_DTS_STEP_HZ: Final = 8000
# A first packet without dts gets one this many steps before its pts: H.264 and HEVC reorder
# at most 16 frames, so the real dts that follow are always later.
_MISSING_DTS_LEAD: Final = 16


def fraction(value: AVRational | Fraction | None) -> Fraction | None:
    """PyAV's rationals as Fraction; None for unknown (0/0 or missing) ones."""
    if not value or not value.denominator:
        return None
    return Fraction(value.numerator, value.denominator)


class TrackTimestamps:
    """Timestamps of one stream in a clip: dts filled in and made strictly increasing."""

    __slots__ = ("last", "origin", "repaired", "step")

    def __init__(self, time_base: Fraction) -> None:
        # The smallest dts increment that survives the muxer's rescaling, in input ticks.
        self.step = max(
            1, math.ceil(time_base.denominator / (time_base.numerator * _MIN_DTS_STEP_HZ))
        )
        self.origin: int | None = None  # input dts that becomes 0 in the clip
        self.last: int | None = None
        self.repaired = 0  # packets whose dts was missing or out of order

    def stamp(self, pts: int | None, dts: int | None) -> tuple[int, int] | None:
        """Return corrected absolute (pts, dts), or None for a packet to leave out."""
        last = self.last
        if dts is None or (last is not None and dts < last + self.step):
            self.repaired += 1
        if dts is None:
            # Demuxers leave dts unset on the first packets of B-frame streams (Matroska) and
            # on packets without any time; put them just after the previous one.
            if last is not None:
                dts = last + self.step
            elif pts is not None:
                dts = pts - _MISSING_DTS_LEAD * self.step
            else:
                return None
        elif last is not None and dts < last + self.step:
            dts = last + self.step  # FFmpeg refuses dts that do not increase.
        if self.origin is None:
            self.origin = dts
        elif dts < self.origin:
            return None  # Audio from before the clip's first video frame.
        if pts is None or pts < dts:
            pts = dts
        self.last = dts
        return pts, dts
