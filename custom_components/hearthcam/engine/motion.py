"""Motion detection on small grey frames: the detector interface and a frame-difference detector."""

from dataclasses import dataclass
from typing import Protocol

import numpy as np

type Box = tuple[float, float, float, float]  # x0, y0, x1, y1, normalised to 0..1


@dataclass(frozen=True, slots=True)
class MotionResult:
    """The detector's verdict on one analysed frame."""

    score: float  # fraction of analysed pixels that changed, 0..1
    motion: bool  # the decision after hysteresis (start frames, off delay)
    box: Box | None  # bounding box of the changed pixels, if any


class Detector(Protocol):
    """Turns a stream of small grey frames into motion results."""

    def analyse(self, frame: np.ndarray, timestamp_s: float) -> MotionResult:
        """Analyse one H x W uint8 grey frame taken at timestamp_s (stream seconds)."""
        ...

    def reset(self) -> None:
        """Forget the background and any motion in progress (the stream restarted)."""
        ...


@dataclass(frozen=True, slots=True)
class FrameDifferenceSettings:
    """Tunables of the frame-difference detector, with units."""

    pixel_threshold: int = 25  # grey levels a pixel must change by to count
    min_area: float = 0.002  # fraction of the frame that must change to count as motion
    start_frames: int = 2  # consecutive motion frames needed to start
    off_delay_s: float = 2.0  # seconds without motion before motion ends


class FrameDifferenceDetector:
    """Compares each frame to the previous one; simple, cheap, and fooled by light changes."""

    def __init__(self, settings: FrameDifferenceSettings | None = None) -> None:
        self.settings = settings or FrameDifferenceSettings()
        self._previous: np.ndarray | None = None
        self._streak = 0
        self._active = False
        self._last_motion_s = 0.0

    def reset(self) -> None:
        """Forget the previous frame and end any motion."""
        self._previous = None
        self._streak = 0
        self._active = False

    def analyse(self, frame: np.ndarray, timestamp_s: float) -> MotionResult:
        """Score the change against the previous frame and apply hysteresis."""
        previous, self._previous = self._previous, frame
        if previous is None or previous.shape != frame.shape:
            return MotionResult(0.0, self._active, None)
        # uint8 subtraction wraps, so compare in a wider type; int16 is enough and cheap.
        changed = np.abs(frame.astype(np.int16) - previous) > self.settings.pixel_threshold
        score = float(np.count_nonzero(changed)) / changed.size
        moving = score >= self.settings.min_area
        self._streak = self._streak + 1 if moving else 0
        if self._streak >= self.settings.start_frames:
            self._active = True
        if moving and self._active:
            self._last_motion_s = timestamp_s
        elif self._active and timestamp_s - self._last_motion_s >= self.settings.off_delay_s:
            self._active = False
        return MotionResult(score, self._active, _bounding_box(changed) if moving else None)


def _bounding_box(mask: np.ndarray) -> Box:
    """Normalised bounding box of the true pixels of a non-empty mask."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    height, width = mask.shape
    return (
        cols[0] / width,
        rows[0] / height,
        (cols[-1] + 1) / width,
        (rows[-1] + 1) / height,
    )
