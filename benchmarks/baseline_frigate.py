"""A Frigate-style motion detector, written from the public description of Frigate's detector.

Frigate's defaults: luma plane, downscaled to 100 px high (nearest neighbour); contrast
stretched between the 4th and 96th percentile, averaged over the last 50 frames; a 3x3
Gaussian blur (sigma 1); absolute difference against a running average; threshold 30; one 3x3
dilation; external contours with an area above 10 px are motion boxes. A changed share above
0.8 (lightning) recalibrates: the average then learns at 0.2 instead of 0.01 until the share
drops below 5 % with at most 4 boxes. The average learns a frame only while there is no
motion, or after 10 consecutive motion frames (so lasting changes are absorbed). Frigate runs
this at 5 fps on the detect stream; its motion sensor stays on until 30 s without boxes.

No OpenCV here: contours are replaced by 8-connected components, and a contour's enclosed
area by the component's pixel count less half its boundary pixels, less one (exact for
rectangles: a w x h block encloses (w - 1) x (h - 1)).
"""

from collections import deque
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from benchmarks.common import Interval, hold_events
from custom_components.hearthcam.engine.analysis import FramePacer, grey_thumbnail


@dataclass(frozen=True, slots=True)
class FrigateSettings:
    """Frigate's motion defaults."""

    frame_height: int = 100
    threshold: int = 30
    contour_area: int = 10
    frame_alpha: float = 0.01
    calibrating_alpha: float = 0.2
    lightning_threshold: float = 0.8
    improve_contrast: bool = True  # Frigate's default; False is its documented alternative
    contrast_frames: int = 50
    absorb_frames: int = 10
    detect_fps: float = 5.0
    off_delay_s: float = 30.0  # mqtt_off_delay


_BLUR = np.exp(-0.5 * np.arange(-1, 2) ** 2)
_BLUR /= _BLUR.sum()  # 3-tap Gaussian, sigma 1, radius 1


def _blur(image: np.ndarray) -> np.ndarray:
    """Separable 3x3 Gaussian with mirrored edges, rounded back to grey levels."""
    padded = np.pad(image.astype(np.float32), 1, mode="symmetric")
    rows = padded[:-2] * _BLUR[0] + padded[1:-1] * _BLUR[1] + padded[2:] * _BLUR[2]
    out = rows[:, :-2] * _BLUR[0] + rows[:, 1:-1] * _BLUR[1] + rows[:, 2:] * _BLUR[2]
    return np.asarray(np.round(out), np.float32)


def _dilate(mask: np.ndarray) -> np.ndarray:
    """One dilation with a 3x3 square."""
    padded = np.pad(mask, 1)
    h, w = mask.shape
    out = np.zeros_like(mask)
    for dy in range(3):
        for dx in range(3):
            out |= padded[dy : dy + h, dx : dx + w]
    return out


def _find(parent: list[int], i: int) -> int:
    """Root of i in a union-find forest, halving paths on the way."""
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def component_areas(mask: np.ndarray) -> list[float]:
    """Enclosed area of every 8-connected component of a boolean mask (see module notes)."""
    edges = np.diff(np.pad(mask.astype(np.int8), ((0, 0), (1, 1))), axis=1)
    rows, starts = np.nonzero(edges == 1)
    _, ends = np.nonzero(edges == -1)  # exclusive; row-major order pairs them with starts
    if rows.size == 0:
        return []
    # Boundary pixels: in the mask with a 4-neighbour outside it (or outside the image).
    inner = np.pad(mask, 1)
    interior = inner[:-2, 1:-1] & inner[2:, 1:-1] & inner[1:-1, :-2] & inner[1:-1, 2:]
    boundary = np.cumsum(np.pad(mask & ~interior, ((0, 0), (1, 0))), axis=1)
    parent = list(range(rows.size))
    row_list, start_list, end_list = rows.tolist(), starts.tolist(), ends.tolist()
    previous: list[int] = []  # runs of the row above
    current: list[int] = []
    for run in range(rows.size):
        if run == 0 or row_list[run] != row_list[run - 1]:
            adjacent = run > 0 and row_list[run] == row_list[run - 1] + 1
            previous, current, first = (current if adjacent else []), [], 0
        # Runs are sorted, so skip those above that end before this one starts; 8-connected
        # runs touch when they overlap or meet diagonally.
        while first < len(previous) and end_list[previous[first]] < start_list[run]:
            first += 1
        other = first
        while other < len(previous) and start_list[previous[other]] <= end_list[run]:
            a, b = _find(parent, run), _find(parent, previous[other])
            if a != b:
                parent[a] = b
            other += 1
        current.append(run)
    roots = np.array([_find(parent, i) for i in range(rows.size)])
    pixels = np.bincount(roots, weights=ends - starts, minlength=rows.size)
    border = np.bincount(
        roots, weights=boundary[rows, ends] - boundary[rows, starts], minlength=rows.size
    )
    keep = pixels > 0
    return [max(0.0, float(p - b / 2 - 1)) for p, b in zip(pixels[keep], border[keep], strict=True)]


class FrigateStyleDetector:
    """Frigate's improved motion detector, re-implemented from its description."""

    def __init__(self, settings: FrigateSettings | None = None) -> None:
        self.settings = settings or FrigateSettings()
        self._average: np.ndarray | None = None
        self._contrast: deque[tuple[float, float]] = deque(maxlen=self.settings.contrast_frames)
        self._calibrating = True
        self._motion_frames = 0

    def _prepare(self, luma: np.ndarray) -> np.ndarray:
        """Downscale (nearest), stretch contrast with the averaged percentiles, blur."""
        h, w = luma.shape
        height = self.settings.frame_height
        width = max(1, int(w * height / h))
        small = luma[(np.arange(height) * h) // height][:, (np.arange(width) * w) // width]
        low, high = np.percentile(small, [4, 96])
        self._contrast.append((float(low), float(high)))
        low = float(np.mean([c[0] for c in self._contrast]))
        high = float(np.mean([c[1] for c in self._contrast]))
        image = small.astype(np.float32)
        if self.settings.improve_contrast and high > low:
            image = np.round((np.clip(image, low, high) - low) * (255 / (high - low)))
        return _blur(image)

    def detect(self, luma: np.ndarray) -> list[float]:
        """Areas of the motion boxes in one full-resolution luma frame."""
        frame = self._prepare(luma)
        if self._average is None:
            self._average = frame.copy()
        average = self._average
        delta = np.abs(frame - np.round(average))
        mask = _dilate(delta > self.settings.threshold)
        areas = component_areas(mask)
        boxes = [a for a in areas if a > self.settings.contour_area]
        changed = sum(areas) / frame.size
        if self._calibrating and changed < 0.05 and len(boxes) <= 4:
            self._calibrating = False
        if changed > self.settings.lightning_threshold:
            self._calibrating = True
        alpha = self.settings.calibrating_alpha if self._calibrating else self.settings.frame_alpha
        if boxes:
            self._motion_frames += 1
            learn = self._motion_frames >= self.settings.absorb_frames
        else:
            self._motion_frames = 0
            learn = True
        if learn:
            average += alpha * (frame - average)
        return boxes


def frigate_plain_events(path: Path) -> list[Interval]:
    """Frigate-style events with improve_contrast off: fairer on the suite's dim scenes."""
    return frigate_style_events(path, FrigateSettings(improve_contrast=False))


def frigate_style_events(path: Path, settings: FrigateSettings | None = None) -> list[Interval]:
    """Motion events of a Frigate-style motion sensor over the file, at its detect fps."""
    settings = settings or FrigateSettings()
    detector = FrigateStyleDetector(settings)
    pacer = FramePacer(settings.detect_fps)
    times = []
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        for frame in container.decode(video):
            if frame.time is None or not pacer.due(frame.time):
                continue
            if detector.detect(grey_thumbnail(frame, frame.width)):
                times.append(frame.time)
    return hold_events(times, settings.off_delay_s)
