"""Motion detection on small grey frames: a background model that tells objects from light.

docs/detection.md explains the method and the evidence for each guard. In short, per analysed
frame: average the frame down to about 160 pixels wide; compare it with a running background
after compensating the light globally (one gain for the frame) and locally (one gain per cell
of 4 x 4 pixels); a pixel changed when both differences exceed its own learned noise; a cell
moved when enough of its pixels changed; cells that keep flickering (foliage, water) and lone
cells (rain, snow) do not count; a change over most of the frame is a lighting event that
recalibrates instead of firing. Hysteresis turns the moving area into on/off decisions.
"""

from dataclasses import dataclass, field, replace
import math
from typing import Final, Protocol

import numpy as np

from .regions import Regions

type Box = tuple[float, float, float, float]  # x0, y0, x1, y1, normalised to 0..1

SENSITIVITY_MIN: Final = 1
SENSITIVITY_MAX: Final = 10
SENSITIVITY_DEFAULT: Final = 5
# Light divides out as a gain; this offset keeps near-black cells from producing huge gains.
_GAIN_OFFSET: Final = 1.0
# Time steps outside this range (first frame, pauses, stream restarts) are clamped.
_MIN_STEP_S: Final = 1 / 30
_MAX_STEP_S: Final = 1.0
_CLIPPED: Final = 250.0  # grey level from which a pixel counts as saturated
_DEFAULT_MIN_AREA: Final = 0.002
_DEFAULT_PIXEL_DELTA: Final = 8.0


@dataclass(frozen=True, slots=True)
class MotionResult:
    """The detector's verdict on one analysed frame."""

    score: float  # fraction of the analysed picture that moved, 0..1
    motion: bool  # the decision after hysteresis (start frames, off delay)
    box: Box | None  # bounding box of the moving region, if any


class Detector(Protocol):
    """Turns a stream of small grey frames into motion results."""

    def analyse(self, frame: np.ndarray, timestamp_s: float) -> MotionResult:
        """Analyse one H x W uint8 grey frame taken at timestamp_s (stream seconds).

        The frame may be a view into the decoded picture, valid during the call only.
        """
        ...

    def reset(self) -> None:
        """Forget the background and any motion in progress (the stream restarted)."""
        ...


@dataclass(frozen=True, slots=True)
class MotionSettings:
    """Tunables of the detector; each default is the sensitivity-5 value."""

    # Picture
    work_width: int = 160  # px: frames are averaged down to about this width
    cell_px: int = 4  # px of the working frame per side of a cell, the unit of area
    # Pixels
    noise_factor: float = 3.0  # a pixel changed when it differs by this many noise units
    min_pixel_delta: float = _DEFAULT_PIXEL_DELTA  # grey levels: the threshold's floor
    # Cells and area
    cell_fill: float = 0.3  # fraction of a cell's pixels that must change for it to move
    min_area: float = _DEFAULT_MIN_AREA  # fraction of the analysed picture that must move
    instant_area: float = 0.02  # this much movement starts motion at once, without start_frames
    global_change: float = 0.5  # a change over this fraction of the picture is light, not motion
    light_jump: float = 0.15  # so is the whole picture's brightness changing by this (0.15 = 15 %)
    # Repetitive motion: cells that toggled in this fraction of recent frames are ignored
    flicker_limit: float = 0.3
    flicker_s: float = 4.0  # s: memory of the toggle rate
    # Learning (time constants in seconds)
    background_s: float = 2.0  # how fast still parts of the picture follow slow light changes
    absorb_s: float = 30.0  # how fast a change that keeps changing becomes background
    settle_after_s: float = 1.0  # a change that stopped changing this long (a ghost, a parked
    settle_s: float = 1.0  # car) becomes background this fast
    noise_rise_s: float = 2.0  # how fast a pixel's noise level rises (leaves start to sway)
    noise_fall_s: float = 10.0  # and falls again: slowly, so gusts find it still raised
    warmup_s: float = 2.0  # s after a (re)start when the detector learns and never fires
    calibration_s: float = 1.0  # s after a lighting event when nothing new starts
    # Hysteresis
    start_frames: int = 2  # consecutive frames with enough movement needed to start
    off_delay_s: float = 5.0  # s without movement before motion ends
    regions: Regions = field(default_factory=Regions)

    def __post_init__(self) -> None:
        checks = {
            "work_width": self.work_width >= 16,
            "cell_px": 1 <= self.cell_px <= 16,
            "noise_factor": self.noise_factor > 0,
            "min_pixel_delta": 0 < self.min_pixel_delta < 255,
            "cell_fill": 0 < self.cell_fill <= 1,
            "min_area": 0 < self.min_area <= 1,
            "instant_area": self.min_area <= self.instant_area <= 1,
            "global_change": 0 < self.global_change <= 1,
            "light_jump": self.light_jump > 0,
            "flicker_limit": 0 < self.flicker_limit <= 1,
            "start_frames": self.start_frames >= 1,
            "off_delay_s": self.off_delay_s >= 0,
        }
        times = (
            "flicker_s",
            "background_s",
            "absorb_s",
            "settle_s",
            "noise_rise_s",
            "noise_fall_s",
        )
        checks |= {name: getattr(self, name) > 0 for name in times}
        checks |= {
            name: getattr(self, name) >= 0
            for name in ("warmup_s", "calibration_s", "settle_after_s")
        }
        if bad := [name for name, ok in checks.items() if not ok]:
            msg = f"invalid motion settings: {', '.join(bad)}"
            raise ValueError(msg)

    @classmethod
    def for_sensitivity(cls, sensitivity: int, **overrides: object) -> MotionSettings:
        """Build the settings for a user-facing sensitivity, 1 (least) .. 10 (most sensitive).

        Sensitivity moves the area that must move log-linearly (2 % of the picture at 1, 0.2 %
        at 5, 0.08 % at 10) and the pixel threshold's floor linearly (14, 8 and 5 grey levels).
        """
        level = min(SENSITIVITY_MAX, max(SENSITIVITY_MIN, int(sensitivity)))
        position = (level - SENSITIVITY_MIN) / (SENSITIVITY_MAX - SENSITIVITY_MIN)
        middle = (SENSITIVITY_DEFAULT - SENSITIVITY_MIN) / (SENSITIVITY_MAX - SENSITIVITY_MIN)
        # Piecewise through the defaults, so level 5 is exactly the defaults.
        min_area = _through(position, middle, (0.02, _DEFAULT_MIN_AREA, 0.0008), log=True)
        delta = _through(position, middle, (14.0, _DEFAULT_PIXEL_DELTA, 5.0), log=False)
        settings = cls(min_area=min_area, min_pixel_delta=round(delta, 1))
        return replace(settings, **overrides)  # type: ignore[arg-type]


class MotionDetector:
    """Background model with noise-adaptive thresholds, light compensation and hysteresis."""

    def __init__(self, settings: MotionSettings | None = None) -> None:
        self.settings = settings or MotionSettings()
        self._model: _Model | None = None
        self._calm_after_s = -math.inf
        self._last_s = 0.0
        self._streak = 0
        self._active = False
        self._last_motion_s = -math.inf

    @property
    def calibrating(self) -> bool:
        """Whether the detector is still learning (after a start or a lighting event)."""
        return self._model is None or self._last_s < self._calm_after_s

    def reset(self) -> None:
        """Forget the background and end any motion (the stream restarted)."""
        self._model = None
        self._streak = 0
        self._active = False

    def analyse(self, frame: np.ndarray, timestamp_s: float) -> MotionResult:
        """Score one grey frame against the background and apply hysteresis."""
        model = self._model
        if model is None or not model.fits(frame):
            self._model = _Model(frame, self.settings)
            self._calm_after_s = timestamp_s + self.settings.warmup_s
            self._last_s = timestamp_s
            return MotionResult(0.0, self._active, None)
        step = min(_MAX_STEP_S, max(_MIN_STEP_S, timestamp_s - self._last_s))
        self._last_s = timestamp_s
        learning = timestamp_s < self._calm_after_s
        moving, lighting = model.update(frame, step, learning=learning)
        if lighting:
            self._calm_after_s = timestamp_s + self.settings.calibration_s
            learning = True
        area = float(np.count_nonzero(moving)) / model.analysed_cells
        box = model.box(moving) if area else None
        return MotionResult(area, self._decide(area, timestamp_s, learning=learning), box)

    def _decide(self, area: float, timestamp_s: float, *, learning: bool) -> bool:
        """Hysteresis: start_frames (or one frame of a large area) to start, off_delay to end."""
        settings = self.settings
        qualifies = not learning and area >= settings.min_area
        self._streak = self._streak + 1 if qualifies else 0
        if qualifies and (self._streak >= settings.start_frames or area >= settings.instant_area):
            self._active = True
        if qualifies:
            self._last_motion_s = timestamp_s
        elif self._active and timestamp_s - self._last_motion_s >= settings.off_delay_s:
            self._active = False
        return self._active


class _Model:
    """The per-pixel and per-cell state of one stream at one frame size."""

    def __init__(self, frame: np.ndarray, settings: MotionSettings) -> None:
        self.settings = settings
        self.shape = frame.shape
        height, width = frame.shape
        cell = settings.cell_px
        self.block = max(1, width // settings.work_width)
        self.grid = (height // self.block // cell, width // self.block // cell)
        rows, cols = self.grid
        if rows < 1 or cols < 1:
            msg = f"frame {width}x{height} is too small to analyse"
            raise ValueError(msg)
        # The analysed part of the frame: whole cells of whole blocks (a few edge pixels drop).
        self.crop = (rows * cell * self.block, cols * cell * self.block)
        self.scale = (self.crop[0] / height, self.crop[1] / width)
        working_shape = (rows * cell, cols * cell)
        # Block sums of grey levels fit 16 bits up to blocks of 16 x 16 pixels.
        sum_type = np.uint16 if self.block <= 16 else np.uint32
        self._block_rows = np.empty((working_shape[0], self.crop[1]), sum_type)
        self._block_totals = np.empty(working_shape, sum_type)
        # The current frame and the background side by side: one pass measures both.
        self._pair = np.empty((2, *working_shape), np.float32)
        self._cell_rows = np.empty((2, rows, working_shape[1]), np.float32)
        self._cell_pair = np.empty((2, *self.grid), np.float32)
        self._gain = np.empty(self.grid, np.float32)
        # A cell moved when at least this many of its pixels changed: the fill fraction as a
        # count, found with the same float32 arithmetic as the fraction itself.
        fractions = np.arange(cell * cell + 1, dtype=np.uint16) * np.float32(1 / cell**2)
        self.min_changed = int(np.argmax(fractions >= settings.cell_fill))
        # Pixels outside the zones or under a mask never change; a cell counts when at least
        # half of it is analysed.
        self.analysed = settings.regions.analysed(*working_shape)
        self.cell_valid = (
            np.ones(self.grid, bool)
            if self.analysed is None
            else self._changed_count(self.analysed) * 2 >= cell * cell
        )
        self.analysed_cells = max(1, int(np.count_nonzero(self.cell_valid)))
        self.all_cells_valid = self.analysed_cells == self.cell_valid.size
        background = self._working(frame, self._pair[1])
        self.background = background  # always updated in place: it is half of the pair
        self.previous = background.copy()
        # Per-cell gains are spread over the pixels bilinearly: a soft pool of light then leaves
        # no steps at cell borders. Each axis blends two neighbouring cells by gathered weights:
        # element-wise numpy, where matrix products would wake a BLAS thread pool every frame.
        self._spread_rows = _interpolation(rows, cell)
        self._spread_cols = _interpolation(cols, cell)
        self.noise = np.full_like(background, settings.min_pixel_delta / settings.noise_factor)
        self.flicker = np.zeros(self.grid, np.float32)
        self.static_s = np.zeros(self.grid, np.float32)  # how long each moved cell kept still
        self._any_static = False  # whether static_s has any non-zero cell
        self._padded = np.zeros((rows + 2, cols + 2), bool)  # cells with a border, reused
        self.moved = np.zeros(self.grid, bool)
        self._any_moved = False
        # Scratch arrays, written in place every frame: a frame allocates no picture-sized
        # array, so the model's working set stays small and in cache between decodes.
        self._threshold = np.empty_like(background)
        self._scratch = np.empty_like(background)
        self._jitter = np.empty_like(background)
        self._changed = np.empty(working_shape, bool)

    def fits(self, frame: np.ndarray) -> bool:
        """Whether the frame has the size this model was built for."""
        return frame.shape == self.shape

    def _working(self, frame: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Average blocks of the cropped frame into out, the working frame (float32)."""
        cropped = frame[: self.crop[0], : self.crop[1]]
        block = self.block
        if block == 1:
            np.copyto(out, cropped)
            return out
        totals = _block_sums(cropped, block, self._block_rows, self._block_totals)
        np.multiply(totals, np.float32(1 / block**2), out=out)
        return out

    def _cells(self, image: np.ndarray) -> np.ndarray:
        """View a working-size image as (R, c, C, c), to broadcast per-cell values onto it."""
        rows, cols = self.grid
        cell = self.settings.cell_px
        return image.reshape(rows, cell, cols, cell)

    def _smooth(self, per_cell: np.ndarray) -> np.ndarray:
        """Spread one value per cell over the working-size image by bilinear interpolation."""
        # Along the rows of the small grid first, then whole rows: take() gathers fastest so.
        lower, upper, weight = self._spread_cols
        cols = per_cell.take(lower, axis=1)
        cols += (per_cell.take(upper, axis=1) - cols) * weight
        lower, upper, weight = self._spread_rows
        spread: np.ndarray = cols.take(lower, axis=0)
        spread += (cols.take(upper, axis=0) - spread) * weight[:, None]
        return spread

    def _cell_means(self, pair: np.ndarray) -> np.ndarray:
        """Return the mean over each cell of both working-size images of a pair, (2, R, C)."""
        cell = self.settings.cell_px
        out = _block_sums(pair, cell, self._cell_rows, self._cell_pair)
        if cell > 1:
            out *= np.float32(1 / cell**2)
        return out

    def _changed_count(self, mask: np.ndarray) -> np.ndarray:
        """Count the set pixels of each cell of a working-size boolean image."""
        cell = self.settings.cell_px
        if cell == 4 and mask.flags.c_contiguous:
            return _count_4x4(mask)
        rows, cols = self.grid
        counts = np.empty(self.grid, np.uint16)  # at most 16 x 16 pixels a cell
        return _block_sums(
            mask.view(np.uint8), cell, np.empty((rows, cols * cell), np.uint16), counts
        )

    def _mostly_changed(self, mask: np.ndarray) -> np.ndarray:
        """Return the cells in which at least cell_fill of the pixels are set."""
        filled: np.ndarray = self._changed_count(mask) >= self.min_changed
        return filled

    def update(
        self, frame: np.ndarray, step_s: float, *, learning: bool
    ) -> tuple[np.ndarray, bool]:
        """Learn from one frame; return the cells that moved and whether light changed."""
        settings = self.settings
        pair = self._pair
        current = self._working(frame, pair[0])
        background = self.background
        # Clipped pixels carry no evidence: a light pool that saturates erases the texture a
        # gain would otherwise explain, and what lies under it cannot be known. One maximum
        # answers the usual case (nothing clipped) without building a mask.
        unclipped = None if pair.max() < _CLIPPED else pair.max(axis=0) < _CLIPPED
        local_gain = self._local_gain(unclipped)
        # No cell is analysed when the zones are smaller than a cell: nothing can move then.
        valid_gains = local_gain.ravel() if self.all_cells_valid else local_gain[self.cell_valid]
        global_gain = _median(valid_gains) if valid_gains.size else 1.0
        background *= np.float32(global_gain)
        difference = np.subtract(current, background, out=self._scratch)
        np.abs(difference, out=difference)
        threshold = np.multiply(self.noise, np.float32(settings.noise_factor), out=self._threshold)
        np.maximum(threshold, np.float32(settings.min_pixel_delta), out=threshold)
        changed = np.greater(difference, threshold, out=self._changed)
        if unclipped is not None:
            changed &= unclipped
        if self.analysed is not None:
            changed &= self.analysed
        # Much of the picture changing at once (lights, IR switch, exposure): recalibrate.
        changed_cells = np.count_nonzero(self._mostly_changed(changed))
        lighting = abs(math.log(global_gain)) > math.log1p(settings.light_jump) or (
            changed_cells > settings.global_change * self.analysed_cells
        )
        if lighting:
            np.copyto(background, current)
            np.copyto(self.previous, current)
            self.moved[:] = False
            self._any_moved = False
            return np.zeros(self.grid, bool), True
        # A moved cell is a changed one: without changed cells there is nothing to look at.
        moved_cells = (
            self._unexplained_cells(current, changed, local_gain, threshold)
            if changed_cells
            else np.zeros(self.grid, bool)
        )
        any_moved = bool(changed_cells) and bool(moved_cells.any())
        self._learn_flicker(moved_cells, step_s, any_moved=any_moved)
        moving = moved_cells
        if any_moved:
            moving = moved_cells & (self.flicker <= settings.flicker_limit)
            if moving.any():
                moving &= self._has_neighbour(moving)
        self._learn(current, moved_cells, step_s, any_moved=any_moved, learning=learning)
        return moving, False

    def _local_gain(self, unclipped: np.ndarray | None) -> np.ndarray:
        """Light as one gain per cell: the current frame's cell means over the background's."""
        pair = self._pair if unclipped is None else self._pair * unclipped
        means = self._cell_means(pair)
        means += _GAIN_OFFSET
        gain: np.ndarray = np.divide(means[0], means[1], out=self._gain)
        return gain

    def _unexplained_cells(
        self,
        current: np.ndarray,
        changed: np.ndarray,
        local_gain: np.ndarray,
        threshold: np.ndarray,
    ) -> np.ndarray:
        """Return the changed cells a local gain does not explain (as headlights would be)."""
        unexplained = np.multiply(self.background, self._smooth(local_gain), out=self._scratch)
        np.subtract(current, unexplained, out=unexplained)
        np.abs(unexplained, out=unexplained)
        moved = self._mostly_changed(changed & (unexplained > threshold))
        moved &= self.cell_valid
        return moved

    def _learn_flicker(self, moved: np.ndarray, step_s: float, *, any_moved: bool) -> None:
        """Track how often each cell toggles: foliage and water toggle, people move on."""
        rate = _rate(step_s, self.settings.flicker_s)
        if any_moved or self._any_moved:
            toggled = (moved != self.moved).astype(np.float32)
            self.flicker += rate * (toggled - self.flicker)
        else:  # nothing toggled: the same exponential decay, without the zero toggles
            self.flicker -= rate * self.flicker
        self.moved = moved
        self._any_moved = any_moved

    def _learn(
        self,
        current: np.ndarray,
        moved: np.ndarray,
        step_s: float,
        *,
        any_moved: bool,
        learning: bool,
    ) -> None:
        """Update the background and each pixel's noise level."""
        settings = self.settings
        # Noise is how much a pixel changes from frame to frame: sensor noise everywhere, more
        # on swaying leaves and water, little inside an object that stays or creeps. Clamping
        # each step keeps a passing object from teaching its pixels that big jumps are normal.
        jitter = np.subtract(current, self.previous, out=self._jitter)
        np.abs(jitter, out=jitter)
        np.copyto(self.previous, current)  # the pair's half is overwritten by the next frame
        # A moved cell whose pixels have not changed from frame to frame for settle_after_s
        # holds something that stopped, or the ghost of something that left (say, during the
        # warm-up): it settles into the background within seconds. The inside of a passing
        # object keeps still only for a frame or two; a cell that keeps changing is absorbed
        # slowly.
        if any_moved:
            static = moved & (self._changed_count(jitter > self._threshold) < self.min_changed)
            self.static_s = np.where(static, self.static_s + np.float32(step_s), np.float32(0))
            self._any_static = bool(static.any())
        elif self._any_static:
            self.static_s = np.zeros(self.grid, np.float32)
            self._any_static = False
        settled = None  # the cells that settle now, if any
        if self._any_static or settings.settle_after_s <= 0:
            candidates = self.static_s >= settings.settle_after_s
            settled = candidates if candidates.any() else None
        fast = 0.5 if learning else None
        still_rate = np.float32(fast or _rate(step_s, settings.background_s))
        change = np.subtract(current, self.background, out=self._scratch)
        if any_moved or settled is not None:
            rate = np.full(self.grid, still_rate, np.float32)
            rate[moved] = fast or _rate(step_s, settings.absorb_s)
            if settled is not None:
                rate[settled] = fast or _rate(step_s, settings.settle_s)
            per_cell = self._cells(change)  # a view: the product lands in change
            per_cell *= rate[:, None, :, None]
        else:  # one rate for the whole picture: a scalar product, not a per-cell one
            change *= still_rate
        self.background += change
        # While learning, noise rises fast but falls at its usual pace: the warm-up then ends
        # knowing the largest jitter each pixel showed, not just that of the last frames.
        rise = np.float32(fast or _rate(step_s, settings.noise_rise_s))
        fall = np.float32(_rate(step_s, settings.noise_fall_s))
        noise = self.noise
        step = np.multiply(noise, np.float32(3.0), out=self._scratch)
        step += np.float32(1.0)
        np.minimum(jitter, step, out=step)  # the target level, clamped
        step -= noise
        # Rising steps are positive, falling ones negative: with the faster rate the larger
        # weight, the larger (or smaller) of both products picks each pixel's own rate.
        rising = np.multiply(step, rise, out=jitter)
        step *= fall
        (np.maximum if rise >= fall else np.minimum)(rising, step, out=step)
        noise += step

    def _has_neighbour(self, cells: np.ndarray) -> np.ndarray:
        """Cells with at least one of their eight neighbours also set."""
        padded = self._padded
        padded[1:-1, 1:-1] = cells
        rows, cols = cells.shape
        found = np.zeros(cells.shape, bool)
        for dy in range(3):
            for dx in range(3):
                if dy != 1 or dx != 1:
                    found |= padded[dy : dy + rows, dx : dx + cols]
        return found

    def box(self, moving: np.ndarray) -> Box:
        """Normalised bounding box of the moving cells."""
        rows = np.flatnonzero(moving.any(axis=1))
        cols = np.flatnonzero(moving.any(axis=0))
        grid_rows, grid_cols = self.grid
        row_scale, col_scale = self.scale
        return (
            cols[0] / grid_cols * col_scale,
            rows[0] / grid_rows * row_scale,
            (cols[-1] + 1) / grid_cols * col_scale,
            (rows[-1] + 1) / grid_rows * row_scale,
        )


def _through(
    position: float, middle: float, values: tuple[float, float, float], *, log: bool
) -> float:
    """Interpolate low -> middle -> high for a position in 0..1 (log-linearly if log)."""
    low, mid, high = values
    start, end, fraction = (
        (low, mid, position / middle)
        if position <= middle
        else (mid, high, (position - middle) / (1 - middle))
    )
    if log:
        return start * math.pow(end / start, fraction)
    return start + (end - start) * fraction


def _median(values: np.ndarray) -> float:
    """Median of a 1-D array (np.median's general machinery costs 4x more on 900 values)."""
    middle = values.size // 2
    ordered = np.partition(values, (middle - 1, middle) if values.size % 2 == 0 else middle)
    if values.size % 2:
        return float(ordered[middle])
    return float(ordered[middle - 1] + ordered[middle]) / 2


def _rate(step_s: float, time_constant_s: float) -> float:
    """Per-step weight of an exponential average with the given time constant."""
    return 1.0 - math.exp(-step_s / time_constant_s)


def _interpolation(cells: int, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pixel of cells * size: the two cell-centre indices to blend, and the upper's weight."""
    pixels = cells * size
    # Position of each pixel centre in cell-centre units, clamped so the borders stay flat.
    position = np.clip((np.arange(pixels) + 0.5) / size - 0.5, 0, cells - 1)
    lower = np.floor(position).astype(np.intp)
    upper = np.minimum(lower + 1, cells - 1)
    weight = (position - lower).astype(np.float32)
    return lower, upper, weight


def _block_sums(image: np.ndarray, size: int, rows: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Sum each size x size block over image's last two axes into out, in out's dtype.

    rows is scratch for the row sums. Strided slices added in place: far faster than
    reshape-and-sum on arrays this small, and nothing is allocated.
    """
    if size == 1:
        np.copyto(out, image)
        return out
    np.add(image[..., 0::size, :], image[..., 1::size, :], out=rows, dtype=rows.dtype)
    for offset in range(2, size):
        rows += image[..., offset::size, :]
    np.add(rows[..., 0::size], rows[..., 1::size], out=out)
    for offset in range(2, size):
        out += rows[..., offset::size]
    return out


def _count_4x4(mask: np.ndarray) -> np.ndarray:
    """Count the set pixels of each 4 x 4 cell of a contiguous boolean image.

    Each 32-bit word holds one cell row (four pixels, a byte each): adding the four rows of a
    cell leaves at most 4 in each byte, and multiplying by 0x01010101 sums the bytes into the
    top one. Twice as fast as summing strided slices.
    """
    words = mask.view(np.uint32)
    rows = words[0::4] + words[1::4]
    rows += words[2::4]
    rows += words[3::4]
    rows *= np.uint32(0x01010101)
    rows >>= np.uint32(24)
    return rows
