"""Seeded scenario suite for motion-detection accuracy: labelled negatives and positives.

Scenarios are rendered from a name, a seed and a canvas, never committed as binaries. Light is
multiplicative on reflectance (a light change keeps the scene's texture), objects occlude (they
replace it), rain and snow are blended in front, and sensor noise is added to every frame before
libx264 re-encodes it, so the codec adds its own artefacts. Nothing true happens before
WARMUP_S; weather, foliage and noise run from the first frame.

Run `python -m devkit.scenarios [--seeds N] [--dir DIR]` to render the suite and list it.
"""

import argparse
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
import dataclasses
from dataclasses import dataclass, field
import fcntl
import hashlib
import json
import math
import os
from pathlib import Path
import sys
import time
import zlib

import numpy as np

from devkit.footage import encode_frames

# Bump when rendering or encoding changes, so cached files named by hash go stale.
GENERATOR_VERSION = 3
WARMUP_S = 3.0  # no true event starts earlier: detectors learn the background first
KEYFRAME_INTERVAL_S = 1.0  # the GOP every rendering is encoded with
# An object counts as in view while at least this fraction of the frame shows it, so a sliver
# of one pixel at the frame edge does not start the ground truth.
ONSET_AREA = 0.002
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)

type LightField = float | np.ndarray  # a gain, or an H x W map of gains
type Interval = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Canvas:
    """Frame size, rate and length of a rendering; duration None keeps the scenario's own."""

    width: int = 640
    height: int = 360
    fps: int = 15
    duration_s: float | None = None

    def __post_init__(self) -> None:
        """Reject sizes the encoder cannot take."""
        if min(self.width, self.height) < 32 or self.width % 2 or self.height % 2 or self.fps < 1:
            msg = f"need even sizes >= 32 and fps >= 1, got {self}"
            raise ValueError(msg)

    @property
    def scale(self) -> float:
        """Pixel lengths are given at 640 wide; this scales them to the canvas."""
        return self.width / 640


@dataclass(frozen=True, slots=True)
class Sprite:
    """An occluding object: animation frames (RGB reflectance, alpha) moved along key points."""

    frames: tuple[tuple[np.ndarray, np.ndarray], ...]
    keys: tuple[tuple[float, float, float], ...]  # (t, x, y) of the top-left corner, pixels
    stride_px: float = 0.0  # path length per animation cycle (0: not animated)

    def pose(self, t: float) -> tuple[int, int, np.ndarray, np.ndarray] | None:
        """Top-left corner, RGB and alpha at t, or None outside the key times."""
        ts = [k[0] for k in self.keys]
        if not ts[0] <= t <= ts[-1]:
            return None
        x = float(np.interp(t, ts, [k[1] for k in self.keys]))
        y = float(np.interp(t, ts, [k[2] for k in self.keys]))
        index = 0
        if self.stride_px > 0:
            steps = np.hypot(np.diff([k[1] for k in self.keys]), np.diff([k[2] for k in self.keys]))
            travelled = float(np.interp(t, ts, np.concatenate([[0.0], np.cumsum(steps)])))
            index = int(travelled / self.stride_px * len(self.frames)) % len(self.frames)
        rgb, alpha = self.frames[index]
        return round(x), round(y), rgb, alpha

    def paint(self, reflectance: np.ndarray, t: float) -> float:
        """Occlude reflectance with the sprite at t; return its visible area in pixels."""
        pose = self.pose(t)
        if pose is None:
            return 0.0
        x, y, rgb, alpha = pose
        clipped = _clip(reflectance.shape, x, y, alpha.shape)
        if clipped is None:
            return 0.0
        target, source = clipped
        a = alpha[source][..., None]
        reflectance[target] += a * (rgb[source] - reflectance[target])
        return float(a.sum())

    def visible_px(self, shape: tuple[int, ...], t: float) -> float:
        """Area in pixels of the sprite inside a frame of this shape at t."""
        pose = self.pose(t)
        if pose is None:
            return 0.0
        x, y, _, alpha = pose
        clipped = _clip(shape, x, y, alpha.shape)
        return 0.0 if clipped is None else float(alpha[clipped[1]].sum())


type Slices = tuple[slice, slice]


def _clip(
    shape: tuple[int, ...], x: int, y: int, size: tuple[int, ...]
) -> tuple[Slices, Slices] | None:
    """Slices of the frame and of a patch at (x, y) where they overlap, or None."""
    height, width = shape[0], shape[1]
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(width, x + size[1]), min(height, y + size[0])
    if x0 >= x1 or y0 >= y1:
        return None
    frame = (slice(y0, y1), slice(x0, x1))
    patch = (slice(y0 - y, y1 - y), slice(x0 - x, x1 - x))
    return frame, patch


@dataclass(frozen=True, slots=True)
class Foliage:
    """A canopy whose leaves sway by a few pixels, with slow gusts; drawn over the backdrop."""

    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in the frame
    layer: np.ndarray  # leaf RGB reflectance and cover (4 channels), box plus a margin
    margin: int
    phase: np.ndarray  # per-pixel phase of the sway (clusters move out of step), radians
    weight: np.ndarray  # per-pixel share of the sway (the top moves more than the base)
    amplitude_px: float
    sway_hz: float
    gust_hz: tuple[float, float]
    gust_phase: tuple[float, float]

    def amplitude(self, t: float) -> float:
        """Sway amplitude at t: the base amplitude, modulated by two slow gust waves."""
        gust = sum(
            math.sin(2 * math.pi * hz * t + ph)
            for hz, ph in zip(self.gust_hz, self.gust_phase, strict=True)
        )
        return self.amplitude_px * (0.55 + 0.45 * gust / 2)

    def paint(self, reflectance: np.ndarray, t: float) -> None:
        """Draw the leaves displaced for time t (bilinear resampling of the leaf layer)."""
        x0, y0, x1, y1 = self.box
        h, w = y1 - y0, x1 - x0
        wave = self.amplitude(t) * self.weight * np.sin(2 * math.pi * self.sway_hz * t + self.phase)
        flutter = (
            0.35 * self.amplitude(t) * self.weight * np.cos(3.1 * self.sway_hz * t + self.phase)
        )
        src_x = np.arange(w, dtype=np.float32)[None, :] + self.margin - wave
        src_y = np.arange(h, dtype=np.float32)[:, None] + self.margin - flutter
        ix, iy = np.floor(src_x).astype(np.intp), np.floor(src_y).astype(np.intp)
        fx, fy = (src_x - ix)[..., None], (src_y - iy)[..., None]
        layer = self.layer
        top = layer[iy, ix] * (1 - fx) + layer[iy, ix + 1] * fx
        bottom = layer[iy + 1, ix] * (1 - fx) + layer[iy + 1, ix + 1] * fx
        sample = top * (1 - fy) + bottom * fy
        a = sample[..., 3:]
        target = reflectance[y0:y1, x0:x1]
        target += a * (sample[..., :3] - target)


@dataclass(frozen=True, slots=True)
class Particles:
    """Rain streaks or snow flakes in front of the scene, moving every frame."""

    x: np.ndarray  # start positions, pixels
    y: np.ndarray
    vx: np.ndarray  # pixels per second
    vy: np.ndarray
    alpha: np.ndarray  # opacity of each particle
    length: np.ndarray  # streak length in pixels (rain), or flake size (snow)
    drift_px: np.ndarray  # sideways sway (snow), pixels
    drift_hz: np.ndarray
    drift_phase: np.ndarray
    level: float  # grey level particles blend towards
    streaks: bool

    def coverage(self, shape: tuple[int, int], t: float) -> np.ndarray:
        """H x W opacity of the particles at t (at most 0.9)."""
        height, width = shape
        span = height + 2 * self.length.max()
        y = np.mod(self.y + self.vy * t, span) - self.length.max()
        sway = self.drift_px * np.sin(2 * math.pi * self.drift_hz * t + self.drift_phase)
        x = np.mod(self.x + self.vx * t + sway, width)
        if self.streaks:
            count = max(2, math.ceil(float(self.length.max())))  # about one sample per pixel
            samples = np.linspace(0.0, 1.0, count, dtype=np.float32)[None, :]
            slope = (self.vx / self.vy)[:, None]
            ys = y[:, None] + samples * self.length[:, None]
            xs = x[:, None] + (ys - y[:, None]) * slope
            weights = np.broadcast_to((self.alpha * self.length / count)[:, None], ys.shape)
        else:
            offsets = [(dy, dx) for dy in range(4) for dx in range(4)]
            oy = np.array([o[0] for o in offsets], dtype=np.float32)[None, :]
            ox = np.array([o[1] for o in offsets], dtype=np.float32)[None, :]
            size = self.length[:, None]
            inside = (oy < size) & (ox < size)
            # Round flakes: the corners of the larger squares are half covered.
            corner = ((oy == 0) | (oy == size - 1)) & ((ox == 0) | (ox == size - 1)) & (size >= 3)
            ys = y[:, None] + oy
            xs = x[:, None] + ox
            weights = self.alpha[:, None] * inside * np.where(corner, 0.5, 1.0)
        row, col = np.floor(ys).astype(np.intp), np.floor(xs).astype(np.intp) % width
        keep = (row >= 0) & (row < height) & (weights > 0)
        flat = row[keep] * width + col[keep]
        cover = np.bincount(flat, weights=weights[keep], minlength=height * width)
        return np.minimum(cover, 0.9).reshape(height, width).astype(np.float32)


@dataclass(frozen=True, slots=True)
class Infrared:
    """A switch to the night (IR) mode at at_s: grey, IR reflectance, IR lamp, more noise."""

    at_s: float
    light: np.ndarray  # H x W gain of the IR illuminator (a hotspot)
    noise_sigma: float

    @staticmethod
    def reflectance(rgb: np.ndarray) -> np.ndarray:
        """Near-IR grey of a scene: red-ish luma, and vegetation much brighter than in colour."""
        r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
        greenness = np.clip((g - np.maximum(r, b)) * 4, 0, 1)
        return np.asarray(
            np.clip(0.45 * (rgb @ _LUMA) + 0.35 * r + 0.4 * greenness, 0, 1), np.float32
        )


def _constant(value: float) -> Callable[[float], LightField]:
    """Return a light function that never changes."""
    return lambda _t: value


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything needed to render one scenario at one seed on one canvas."""

    canvas: Canvas
    duration_s: float
    backdrop: np.ndarray  # H x W x 3 reflectance, 0..1
    light: Callable[[float], LightField] = field(default=_constant(1.0))
    sprites: tuple[Sprite, ...] = ()
    distractors: tuple[Sprite, ...] = ()  # drawn like sprites, but no true event (insects)
    foliage: Foliage | None = None
    particles: tuple[Particles, ...] = ()
    infrared: Infrared | None = None
    noise_sigma: float = 2.5  # read noise in grey levels
    shot_noise: float = 0.03  # variance per grey level of signal (photon noise)
    crf: int = 23  # libx264 quality (higher: coarser, more artefacts)
    # Camera glitches: the scene time each frame shows (duplicated or dropped frames), and
    # each frame's stamp in 1/fps ticks (timestamp jumps). None: frame i shows i/fps, stamped i.
    shows: Callable[[int], float] | None = None
    stamps: Callable[[int], int] | None = None

    @property
    def frame_count(self) -> int:
        """Number of frames."""
        return max(1, round(self.duration_s * self.canvas.fps))

    def scene_time(self, index: int) -> float:
        """Return the scene time frame `index` shows."""
        return index / self.canvas.fps if self.shows is None else self.shows(index)

    def stream_time(self, index: int) -> float:
        """Return the stream time frame `index` is stamped with."""
        return (index if self.stamps is None else self.stamps(index)) / self.canvas.fps


@dataclass(frozen=True, slots=True)
class Context:
    """What a scenario builder gets: the canvas, its length and seeded randomness."""

    canvas: Canvas
    duration_s: float
    seed: int
    rng: np.random.Generator
    backdrop: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        """Frame height and width."""
        return self.canvas.height, self.canvas.width

    def px(self, length: float) -> float:
        """Scale a length given at 640 wide to this canvas."""
        return length * self.canvas.scale


@dataclass(frozen=True, slots=True)
class ScenarioSpec:
    """A named scenario: whether it is a negative, its length and how to build it.

    A scenario that is not scored has no true event, yet something real moves in it (an insect
    at the lens): benchmarks report what each method does there, apart from the scores.
    """

    name: str
    negative: bool
    duration_s: float
    summary: str
    build: Callable[[Context], Plan]
    scored: bool = True


# -- textures and shapes ------------------------------------------------------------------------


def _value_noise(rng: np.random.Generator, height: int, width: int, cell_px: float) -> np.ndarray:
    """Smooth random field in 0..1 with features about cell_px across."""
    cell_px = max(cell_px, 1.0)
    grid = rng.random((int(height / cell_px) + 2, int(width / cell_px) + 2), dtype=np.float32)
    ys = np.arange(height, dtype=np.float32) / cell_px
    xs = np.arange(width, dtype=np.float32) / cell_px
    y0, x0 = ys.astype(np.intp), xs.astype(np.intp)
    fy, fx = ys - y0, xs - x0
    fy, fx = (fy * fy * (3 - 2 * fy))[:, None], (fx * fx * (3 - 2 * fx))[None, :]
    rows0, rows1 = grid[y0], grid[y0 + 1]
    top = rows0[:, x0] * (1 - fx) + rows0[:, x0 + 1] * fx
    bottom = rows1[:, x0] * (1 - fx) + rows1[:, x0 + 1] * fx
    return np.asarray(top * (1 - fy) + bottom * fy, np.float32)


def _fbm(rng: np.random.Generator, height: int, width: int, cell_px: float) -> np.ndarray:
    """Three octaves of value noise, centred on 0 (about -0.5..0.5)."""
    total = np.zeros((height, width), np.float32)
    for octave, weight in enumerate((0.55, 0.3, 0.15)):
        total += weight * _value_noise(rng, height, width, cell_px / 3**octave)
    return total - 0.5


def _colour(rng: np.random.Generator, luma: float, saturation: float = 0.35) -> np.ndarray:
    """Pick a random colour of roughly this luma (reflectance 0..1)."""
    tint = 1 + saturation * (rng.random(3, dtype=np.float32) - 0.5) * 2
    rgb = tint * luma / float(tint @ _LUMA)
    return np.asarray(np.clip(rgb, 0.01, 0.98), np.float32)


def _textured(
    rng: np.random.Generator, shape: tuple[int, int], rgb: np.ndarray, amount: float, cell: float
) -> np.ndarray:
    """Make an H x W x 3 patch of colour rgb with blotchy texture and grain."""
    blotches = 1 + amount * 2 * _fbm(rng, *shape, cell)
    grain = rng.normal(0, amount * 0.25, shape).astype(np.float32)
    return np.asarray(np.clip(rgb * (blotches + grain)[..., None], 0, 1), np.float32)


def _capsule_distance(
    xx: np.ndarray, yy: np.ndarray, a: tuple[float, float], b: tuple[float, float]
) -> np.ndarray:
    """Distance of every point to the segment a-b."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    length2 = dx * dx + dy * dy or 1.0
    s = np.clip(((xx - a[0]) * dx + (yy - a[1]) * dy) / length2, 0, 1)
    return np.asarray(np.hypot(xx - a[0] - s * dx, yy - a[1] - s * dy), np.float32)


def _supersampled(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates on a 2x grid, for anti-aliased silhouettes."""
    ys = (np.arange(2 * height, dtype=np.float32) + 0.5) / 2
    xs = (np.arange(2 * width, dtype=np.float32) + 0.5) / 2
    return xs[None, :], ys[:, None]


def _downsample(mask: np.ndarray) -> np.ndarray:
    """Average 2x2 blocks of a boolean 2x mask: an anti-aliased alpha."""
    h, w = mask.shape[0] // 2, mask.shape[1] // 2
    return np.asarray(mask.reshape(h, 2, w, 2).mean(axis=(1, 3)), np.float32)


def _person_alpha(height: int, width: int, phase: float) -> np.ndarray:
    """Alpha of a walking person filling a height x width box, legs and arms at phase 0..1."""
    xx, yy = _supersampled(height, width)
    cx, h = width / 2, float(height)
    swing = 0.38 * math.sin(2 * math.pi * phase)
    hip, shoulder = 0.52 * h, 0.2 * h
    leg = 0.46 * h
    body = np.hypot(xx - cx, yy - 0.075 * h) < 0.068 * h  # head
    body |= _capsule_distance(xx, yy, (cx, 0.2 * h), (cx, 0.5 * h)) < 0.115 * h  # torso
    for side in (-1, 1):
        foot = (cx + side * 0.03 * h + side * leg * math.sin(swing), hip + leg * math.cos(swing))
        body |= _capsule_distance(xx, yy, (cx + side * 0.045 * h, hip), foot) < 0.048 * h
        hand = (cx + side * 0.1 * h - side * 0.3 * h * math.sin(0.8 * swing), shoulder + 0.3 * h)
        body |= _capsule_distance(xx, yy, (cx + side * 0.1 * h, shoulder), hand) < 0.032 * h
    return _downsample(body)


def _car_alpha(height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Alpha of a side-on car in a height x width box, and masks of its windows and tyres."""
    xx, yy = _supersampled(height, width)
    w, h = float(width), float(height)
    # A rounded box for the body, a trapezoid cabin on top, wheels below.
    rx, ry = (xx - w / 2) / (0.49 * w), (yy - 0.6 * h) / (0.25 * h)
    body = rx**6 + ry**6 < 1
    cabin_half = 0.2 * w + (yy - 0.06 * h) / (0.32 * h) * 0.09 * w
    cabin = (yy > 0.06 * h) & (yy < 0.4 * h) & (np.abs(xx - 0.47 * w) < cabin_half)
    windows = cabin & (yy > 0.11 * h) & (np.abs(xx - 0.47 * w) < cabin_half - 0.03 * w)
    windows &= np.abs(xx - 0.47 * w) > 0.012 * w  # the pillar between the windows
    tyres = np.zeros_like(body)
    for centre in (0.2 * w, 0.79 * w):
        tyres |= np.hypot(xx - centre, yy - 0.8 * h) < 0.19 * h
    return _downsample(body | cabin | tyres), _downsample(windows), _downsample(tyres)


def _contrast(rng: np.random.Generator, background: float) -> float:
    """Pick a reflectance that stands out from the background as real objects do, not maximally."""
    darker = background * float(rng.uniform(0.4, 0.68))
    lighter = background * float(rng.uniform(1.45, 1.9))
    if lighter > 0.92 or (darker > 0.08 and rng.random() < 0.5):
        return max(darker, 0.04)
    return lighter


def _band_luma(backdrop: np.ndarray, y0: float, y1: float) -> float:
    """Mean luma reflectance of the backdrop rows y0..y1 (where an object walks)."""
    rows = backdrop[max(0, int(y0)) : max(int(y0) + 1, int(y1))]
    return float((rows @ _LUMA).mean())


# -- objects ------------------------------------------------------------------------------------


def person(
    ctx: Context, height_px: float, background: float
) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Animation frames (rgb, alpha) of a walking person, clothes contrasting with background."""
    rng = ctx.rng
    h = max(8, round(height_px))
    w = max(4, round(h * 0.46))
    head = _colour(rng, float(rng.uniform(0.25, 0.6)), 0.3)
    top = _colour(rng, _contrast(rng, background), 0.6)
    legs = _colour(rng, _contrast(rng, background), 0.4)
    rows = np.arange(h)[:, None, None]
    base = np.where(rows < 0.15 * h, head, np.where(rows < 0.54 * h, top, legs))
    # Folds and shading: blotchy texture, lighter on top as if lit from above.
    shade = np.linspace(1.08, 0.9, h, dtype=np.float32)[:, None, None]
    rgb = np.clip(base * shade * (1 + 0.5 * _fbm(rng, h, w, h / 8))[..., None], 0, 1)
    rgb = np.asarray(rgb + rng.normal(0, 0.015, (h, w, 1)), np.float32)
    return tuple((rgb, _person_alpha(h, w, i / 8)) for i in range(8))


def car(ctx: Context, width_px: float, background: float) -> tuple[np.ndarray, np.ndarray]:
    """RGB and alpha of a side-on car whose paint contrasts with the background."""
    rng = ctx.rng
    w = max(8, round(width_px))
    h = max(4, round(w * 0.42))
    alpha, windows, tyres = _car_alpha(h, w)
    paint = _textured(rng, (h, w), _colour(rng, _contrast(rng, background), 0.7), 0.15, h / 3)
    # A highlight along the shoulder line, as a glossy body shows.
    paint *= 1 + 0.25 * np.exp(-(((np.arange(h) / h - 0.42) / 0.05) ** 2))[:, None, None]
    glass = _textured(rng, (h, w), _colour(rng, 0.12, 0.2), 0.3, h / 2)
    rubber = np.full((h, w, 3), 0.05, np.float32)
    rgb = paint * (1 - windows - tyres)[..., None] + glass * windows[..., None]
    rgb += rubber * tyres[..., None]
    return np.asarray(np.clip(rgb, 0, 1), np.float32), alpha


def crossing(
    ctx: Context, size: tuple[int, int], start_s: float, cross_s: float, feet_y: float
) -> tuple[tuple[float, float, float], ...]:
    """Keys of an object entering at one side at start_s and leaving the other cross_s later."""
    h, w = size
    width = ctx.canvas.width
    left_to_right = bool(ctx.rng.random() < 0.5)
    x_from, x_to = (-w - 1.0, width + 1.0) if left_to_right else (width + 1.0, -w - 1.0)
    y = feet_y - h
    drift = float(ctx.rng.uniform(-0.04, 0.04)) * ctx.canvas.height
    return ((start_s, x_from, y), (start_s + cross_s, x_to, y + drift))


# -- backdrop -----------------------------------------------------------------------------------


def backdrop(rng: np.random.Generator, canvas: Canvas) -> np.ndarray:
    """Make a yard or room: wall over ground, blotchy texture, windows, posts, rails, bushes."""
    h, w, s = canvas.height, canvas.width, canvas.scale
    horizon = int(h * rng.uniform(0.35, 0.5))
    rows = np.arange(h)[:, None, None]
    wall = _colour(rng, float(rng.uniform(0.35, 0.6)), 0.15)
    ground = _colour(rng, float(rng.uniform(0.2, 0.42)), 0.15)
    img = np.where(rows < horizon, wall, ground) * np.ones((1, w, 1), np.float32)
    img *= (1 + 0.45 * _fbm(rng, h, w, 90 * s) + 0.25 * _fbm(rng, h, w, 12 * s))[..., None]
    for _ in range(int(rng.integers(5, 9))):  # windows, doors, bins, signs
        bw, bh = int(rng.uniform(0.04, 0.16) * w), int(rng.uniform(0.06, 0.3) * h)
        x0, y0 = int(rng.integers(0, w - bw)), int(rng.integers(0, max(1, horizon + h // 6 - bh)))
        patch = _textured(rng, (bh, bw), _colour(rng, float(rng.uniform(0.06, 0.8))), 0.12, bh)
        img[y0 : y0 + bh, x0 : x0 + bw] = patch
        frame = max(1, round(2 * s))  # a frame around it: crisp edges
        img[y0 : y0 + bh, x0 : x0 + frame] *= 0.6
        img[y0 : y0 + frame, x0 : x0 + bw] *= 0.6
    for _ in range(int(rng.integers(2, 5))):  # posts and a rail: thin straight edges
        x = int(rng.integers(0, w - 4))
        img[: int(h * rng.uniform(0.5, 1.0)), x : x + max(1, round(3 * s))] *= 0.5
    rail = int(rng.uniform(0.55, 0.75) * h)
    img[rail : rail + max(1, round(2 * s))] *= 1.5
    for _ in range(int(rng.integers(2, 4))):  # static bushes: green, textured, IR-bright
        bw, bh = int(rng.uniform(0.1, 0.2) * w), int(rng.uniform(0.1, 0.2) * h)
        x0, y0 = int(rng.integers(0, w - bw)), int(rng.integers(horizon - bh // 2, h - bh))
        yy, xx = np.mgrid[0:bh, 0:bw]
        blob = ((yy / bh - 0.5) ** 2 + (xx / bw - 0.5) ** 2 < 0.22) * (
            _value_noise(rng, bh, bw, 4 * s) > 0.3
        )
        leaves = _textured(rng, (bh, bw), np.array([0.12, 0.3, 0.08], np.float32), 0.4, 5 * s)
        region = img[y0 : y0 + bh, x0 : x0 + bw]
        region[blob] = leaves[blob]
    img += rng.normal(0, 0.012, (h, w, 1)).astype(np.float32)  # fine static grain
    return np.asarray(np.clip(img, 0.02, 0.95), np.float32)


# -- rendering ----------------------------------------------------------------------------------


def _render(plan: Plan, t: float, noise_rng: np.random.Generator) -> np.ndarray:
    """One H x W x 3 uint8 frame at time t."""
    reflectance = plan.backdrop.copy()
    if plan.foliage is not None:
        plan.foliage.paint(reflectance, t)
    for sprite in (*plan.sprites, *plan.distractors):
        sprite.paint(reflectance, t)
    sigma = plan.noise_sigma
    infrared = plan.infrared
    if infrared is not None and t >= infrared.at_s:
        grey = Infrared.reflectance(reflectance) * infrared.light * 255
        img = np.repeat(grey[..., None], 3, axis=2)
        sigma = infrared.noise_sigma
    else:
        light = plan.light(t)
        gain = light[..., None] if isinstance(light, np.ndarray) else light
        img = np.asarray(reflectance * (np.float32(255) * gain), np.float32)
    shape = (plan.canvas.height, plan.canvas.width)
    for particles in plan.particles:
        cover = particles.coverage(shape, t)[..., None]
        img += cover * (particles.level - img)
    # Read noise plus photon noise that grows with the signal; one plane for all channels, so
    # sigma is in luma levels, as the detectors see it.
    spread = np.sqrt(sigma * sigma + plan.shot_noise * np.clip(img[..., 1], 0, 255))
    img += (noise_rng.standard_normal(shape, dtype=np.float32) * spread)[..., None]
    img += 0.5  # round rather than truncate in the cast below
    np.clip(img, 0, 255, out=img)
    return img.astype(np.uint8)


def _name_code(name: str) -> int:
    """Map a scenario name to a stable number (Python's hash() is salted per process)."""
    return zlib.crc32(name.encode())


def build_plan(name: str, seed: int, canvas: Canvas | None = None) -> Plan:
    """Build the plan of a scenario; the same name, seed and canvas always give the same plan."""
    spec = SCENARIOS[name]
    canvas = canvas or Canvas()
    duration = canvas.duration_s if canvas.duration_s is not None else spec.duration_s
    rng = np.random.default_rng([seed, _name_code(name), 0])
    ctx = Context(canvas, duration, seed, rng, backdrop(rng, canvas))
    return spec.build(ctx)


def render_frames(name: str, seed: int, canvas: Canvas | None = None) -> Iterator[np.ndarray]:
    """Yield every frame of a scenario as H x W x 3 uint8 RGB."""
    plan = build_plan(name, seed, canvas)
    noise_rng = np.random.default_rng([seed, _name_code(name), 1])
    shown: tuple[float, np.ndarray] | None = None
    for index in range(plan.frame_count):
        t = plan.scene_time(index)
        # A repeated frame is the same picture, noise and all, as a camera's duplicate is.
        if shown is None or shown[0] != t:
            shown = (t, _render(plan, t, noise_rng))
        yield shown[1]


def ground_truth(name: str, seed: int, canvas: Canvas | None = None) -> list[Interval]:
    """Return the true event intervals [start, end) in stream seconds: objects in view."""
    plan = build_plan(name, seed, canvas)
    shape = (plan.canvas.height, plan.canvas.width)
    threshold = ONSET_AREA * shape[0] * shape[1]
    intervals: list[Interval] = []
    start: float | None = None
    for index in range(plan.frame_count + 1):
        t = plan.stream_time(index)
        in_view = index < plan.frame_count and (
            sum(s.visible_px(shape, plan.scene_time(index)) for s in plan.sprites) >= threshold
        )
        if in_view and start is None:
            start = t
        elif not in_view and start is not None:
            intervals.append((round(start, 4), round(t, 4)))
            start = None
    return intervals


def is_negative(name: str) -> bool:
    """Whether a scenario has no true events at all."""
    return SCENARIOS[name].negative


def scenario_key(name: str, seed: int, canvas: Canvas | None = None) -> str:
    """Stable short hash of everything that determines a rendering, for cache file names."""
    payload = json.dumps(
        {
            "version": GENERATOR_VERSION,
            "name": name,
            "seed": seed,
            "canvas": dataclasses.asdict(canvas or Canvas()),
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def render_scenario(
    name: str, seed: int, directory: Path | str, canvas: Canvas | None = None
) -> Path:
    """Path of the scenario's cached H.264 file in directory, rendering it first if missing."""
    if name not in SCENARIOS:
        msg = f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}"
        raise KeyError(msg)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}-s{seed}-{scenario_key(name, seed, canvas)}.mkv"
    if path.exists():
        return path
    # A lock per file stops parallel workers from rendering the same scenario twice.
    with (directory / f".{path.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            plan = build_plan(name, seed, canvas)
            # veryfast: a third of the time of fast, and closer to a camera's own encoder.
            encode_frames(
                render_frames(name, seed, canvas),
                path,
                fps=plan.canvas.fps,
                crf=plan.crf,
                preset="veryfast",
                keyframe_interval_s=KEYFRAME_INTERVAL_S,
                pts=plan.stamps,
            )
    return path


# -- the scenarios ------------------------------------------------------------------------------


def _smoothstep(x: float) -> float:
    """0 below 0, 1 above 1, smooth in between."""
    x = min(1.0, max(0.0, x))
    return x * x * (3 - 2 * x)


def _sensor_noise(ctx: Context) -> Plan:
    """Show a dim scene with heavy noise and a coarse encode: blocky, flickering artefacts."""
    gain = float(ctx.rng.uniform(0.5, 0.7))  # dusk, with the sensor's gain turned up
    sigma = float(ctx.rng.uniform(7.0, 9.0))
    return Plan(
        ctx.canvas,
        ctx.duration_s,
        ctx.backdrop,
        light=_constant(gain),
        noise_sigma=sigma,
        shot_noise=0.15,
        crf=35,
    )


def _exposure_ramp(ctx: Context) -> Plan:
    """Brighten or darken the whole scene by about 40% over 8 s (clouds, auto exposure)."""
    change = float(ctx.rng.uniform(0.35, 0.45)) * (1 if ctx.rng.random() < 0.5 else -1)
    start = WARMUP_S + float(ctx.rng.uniform(0.0, 1.0))

    def light(t: float) -> float:
        return 1.0 + change * _smoothstep((t - start) / 8.0)

    return Plan(ctx.canvas, ctx.duration_s, ctx.backdrop, light=light)


def _ir_hotspot(ctx: Context) -> np.ndarray:
    """Gain of an IR illuminator beside the lens: bright centre, dark corners."""
    h, w = ctx.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = w * float(ctx.rng.uniform(0.4, 0.6)), h * float(ctx.rng.uniform(0.5, 0.7))
    r2 = ((xx - cx) / (0.6 * w)) ** 2 + ((yy - cy) / (0.6 * w)) ** 2
    return np.asarray(0.35 + 1.0 * np.exp(-r2), np.float32)


def _ir_switch(ctx: Context) -> Plan:
    """Switch from dusk to IR: grey, a brightness jump, vegetation brighter, more noise."""
    at = float(ctx.rng.uniform(5.0, 8.0))
    dusk = float(ctx.rng.uniform(0.45, 0.6))
    return Plan(
        ctx.canvas,
        ctx.duration_s,
        ctx.backdrop,
        light=lambda t: dusk * (1 - 0.15 * min(1.0, t / at)),  # light still fading
        infrared=Infrared(at, _ir_hotspot(ctx), noise_sigma=float(ctx.rng.uniform(4.5, 6.0))),
        noise_sigma=3.0,
    )


def _lights_on_off(ctx: Context) -> Plan:
    """Switch a lamp in a dim room on, then off; auto exposure partly compensates."""
    h, w = ctx.shape
    on = float(ctx.rng.uniform(4.5, 6.5))
    off = on + float(ctx.rng.uniform(4.0, 6.0))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    lx, ly = w * float(ctx.rng.uniform(0.1, 0.9)), h * float(ctx.rng.uniform(0.1, 0.5))
    lamp = 1.3 / (1 + (np.hypot(xx - lx, yy - ly) / (0.3 * w)) ** 2)
    ambient = float(ctx.rng.uniform(0.3, 0.4))
    lit_mean = ambient + float(lamp.mean())
    # Exposure aims at a mid level but only corrects half the error (in log), within ~0.7 s.
    target_off, target_on = math.sqrt(0.5 / ambient), math.sqrt(0.5 / lit_mean)

    def exposure(t: float) -> float:
        if t < on:
            return target_off
        if t < off:
            return target_on + (target_off - target_on) * math.exp(-(t - on) / 0.7)
        at_off = target_on + (target_off - target_on) * math.exp(-(off - on) / 0.7)
        return target_off + (at_off - target_off) * math.exp(-(t - off) / 0.7)

    def light(t: float) -> LightField:
        field = ambient + lamp if on <= t < off else np.float32(ambient)
        return np.asarray(field * np.float32(exposure(t)), np.float32)

    return Plan(ctx.canvas, ctx.duration_s, ctx.backdrop, light=light)


def _headlight_sweep(ctx: Context) -> Plan:
    """Sweep soft pools of headlight across the wall and ground, each in about 2 s."""
    h, w = ctx.shape
    sweeps = [float(ctx.rng.uniform(4.0, 6.0)), float(ctx.rng.uniform(9.0, 11.0))]
    directions = [1 if ctx.rng.random() < 0.5 else -1 for _ in sweeps]
    centre_y = h * float(ctx.rng.uniform(0.45, 0.7))
    peak = float(ctx.rng.uniform(0.8, 1.3))
    xs = np.arange(w, dtype=np.float32)
    ys = np.arange(h, dtype=np.float32)
    gy = np.exp(-(((ys - centre_y) / (0.22 * h)) ** 2))[:, None]
    base = float(ctx.rng.uniform(0.45, 0.6))  # dusk: the headlights stand out

    def light(t: float) -> LightField:
        pool = np.zeros((h, w), np.float32)
        for start, direction in zip(sweeps, directions, strict=True):
            f = (t - start) / 2.0
            if 0 <= f <= 1:
                cx = w * (-0.2 + 1.4 * (f if direction > 0 else 1 - f))
                envelope = math.sin(math.pi * f)  # fades in and out as the car turns
                gx = np.exp(-(((xs - cx) / (0.14 * w)) ** 2))[None, :]
                pool += peak * envelope * gy * gx
        return np.asarray(base * (1 + pool), np.float32)

    return Plan(ctx.canvas, ctx.duration_s, ctx.backdrop, light=light)


def _rain(ctx: Context, density: float = 1.0) -> Particles:
    """Thin, fast, faint streaks everywhere; nearer drops are longer and more opaque."""
    rng = ctx.rng
    h, w = ctx.shape
    n = int(450 * density * w * h / (640 * 360))
    depth = rng.random(n).astype(np.float32)  # 0 far .. 1 near
    vy = ctx.px(1.0) * (600 + 700 * depth)
    wind = float(rng.uniform(-0.25, 0.25))
    return Particles(
        x=rng.uniform(0, w, n).astype(np.float32),
        y=rng.uniform(0, h, n).astype(np.float32),
        vx=(vy * wind).astype(np.float32),
        vy=vy.astype(np.float32),
        alpha=(0.1 + 0.2 * depth).astype(np.float32),
        length=(ctx.px(12) + ctx.px(28) * depth).astype(np.float32),
        drift_px=np.zeros(n, np.float32),
        drift_hz=np.zeros(n, np.float32),
        drift_phase=np.zeros(n, np.float32),
        level=float(rng.uniform(190, 225)),
        streaks=True,
    )


def _snow(ctx: Context) -> Particles:
    """Bright flakes 1-4 px across (nearer ones bigger and faster), falling slowly with drift."""
    rng = ctx.rng
    h, w = ctx.shape
    n = int(380 * w * h / (640 * 360))
    depth = rng.random(n).astype(np.float32)
    size = np.clip(np.round(ctx.px(1.0) * (1 + 3 * depth)), 1, 4).astype(np.float32)
    return Particles(
        x=rng.uniform(0, w, n).astype(np.float32),
        y=rng.uniform(0, h, n).astype(np.float32),
        vx=np.full(n, ctx.px(float(rng.uniform(-8, 8))), np.float32),
        vy=(ctx.px(1.0) * (18 + 45 * depth)).astype(np.float32),
        alpha=(0.55 + 0.35 * depth).astype(np.float32),
        length=size,
        drift_px=(ctx.px(1.0) * rng.uniform(3, 12, n)).astype(np.float32),
        drift_hz=rng.uniform(0.2, 0.6, n).astype(np.float32),
        drift_phase=rng.uniform(0, 2 * math.pi, n).astype(np.float32),
        level=float(rng.uniform(225, 245)),
        streaks=False,
    )


def _foliage_layer(ctx: Context) -> Foliage:
    """Grow a tree crown over about a fifth of the frame: leaves with gaps, swaying in gusts."""
    rng = ctx.rng
    h, w = ctx.shape
    area = float(rng.uniform(0.16, 0.24)) * h * w
    bh = min(h - 2, int(math.sqrt(area / 0.75 / 1.1)))
    bw = min(w - 2, int(bh * 1.1))
    x0 = int(rng.uniform(0, w - bw))
    y0 = int(rng.uniform(0, max(1, h * 0.35 - bh * 0.3)))
    y0 = min(y0, h - bh)
    margin = math.ceil(ctx.px(12))
    lh, lw = bh + 2 * margin, bw + 2 * margin
    yy, xx = np.mgrid[0:lh, 0:lw].astype(np.float32)
    crown = np.zeros((lh, lw), np.float32)
    for _ in range(5):  # a crown of overlapping lobes
        cx, cy = lw * float(rng.uniform(0.3, 0.7)), lh * float(rng.uniform(0.3, 0.65))
        r = min(bw, bh) * float(rng.uniform(0.25, 0.38))
        crown = np.maximum(crown, np.clip((r - np.hypot(xx - cx, yy - cy)) / 3, 0, 1))
    leaves = np.clip((_value_noise(rng, lh, lw, ctx.px(3.5)) - 0.3) * 5, 0, 1)
    alpha = np.asarray(crown * leaves, np.float32)
    green = np.array([0.14, 0.34, 0.09], np.float32) * float(rng.uniform(0.8, 1.3))
    rgb = _textured(rng, (lh, lw), green, 0.5, ctx.px(4))
    rgb *= np.linspace(1.25, 0.75, lh, dtype=np.float32)[:, None, None]  # sunlit top
    phase = 2 * math.pi * _value_noise(rng, bh, bw, ctx.px(30)) * 1.5
    weight = np.broadcast_to(np.linspace(1.0, 0.35, bh, dtype=np.float32)[:, None], (bh, bw))
    return Foliage(
        box=(x0, y0, x0 + bw, y0 + bh),
        layer=np.concatenate([np.clip(rgb, 0, 1), alpha[..., None]], axis=2).astype(np.float32),
        margin=margin,
        phase=phase,
        weight=np.ascontiguousarray(weight),
        amplitude_px=ctx.px(float(rng.uniform(2.5, 5.0))),
        sway_hz=float(rng.uniform(0.6, 1.1)),
        gust_hz=(float(rng.uniform(0.06, 0.1)), float(rng.uniform(0.13, 0.2))),
        gust_phase=(float(rng.uniform(0, 2 * math.pi)), float(rng.uniform(0, 2 * math.pi))),
    )


def _foliage(ctx: Context) -> Plan:
    """Sway a tree crown (about a fifth of the frame) in gusty wind the whole time."""
    return Plan(ctx.canvas, ctx.duration_s, ctx.backdrop, foliage=_foliage_layer(ctx))


def _walker_sprite(ctx: Context, height: float, cross_s: float, feet_y: float) -> Sprite:
    """Make a person of this height cross the frame in cross_s, starting after warm-up."""
    start = WARMUP_S + float(ctx.rng.uniform(0.2, 1.5))
    background = _band_luma(ctx.backdrop, feet_y - height, feet_y)
    frames = person(ctx, height, background)
    rgb, _ = frames[0]
    keys = crossing(ctx, rgb.shape[:2], start, cross_s, feet_y)
    return Sprite(frames, keys, stride_px=0.8 * height)


def _walker(ctx: Context) -> Plan:
    """Walk a person close to the camera (about 6% of the frame) across in about 6 s."""
    h = ctx.canvas.height
    height = h * float(ctx.rng.uniform(0.66, 0.74))
    feet = h * float(ctx.rng.uniform(0.9, 0.98))
    sprite = _walker_sprite(ctx, height, float(ctx.rng.uniform(5.5, 6.5)), feet)
    return Plan(ctx.canvas, ctx.duration_s, ctx.backdrop, sprites=(sprite,))


def _small_walker(ctx: Context) -> Plan:
    """Walk a distant person (about 1% of the frame) across in about 8 s."""
    h = ctx.canvas.height
    height = h * float(ctx.rng.uniform(0.27, 0.31))
    feet = h * float(ctx.rng.uniform(0.5, 0.65))
    sprite = _walker_sprite(ctx, height, float(ctx.rng.uniform(7.5, 9.0)), feet)
    return Plan(ctx.canvas, ctx.duration_s, ctx.backdrop, sprites=(sprite,))


def _slow_walker(ctx: Context) -> Plan:
    """Let a person creep in from a side, covering only a fifth of the width in 12 s."""
    h, w = ctx.shape
    height = h * float(ctx.rng.uniform(0.45, 0.55))
    feet = h * float(ctx.rng.uniform(0.8, 0.95))
    frames = person(ctx, height, _band_luma(ctx.backdrop, feet - height, feet))
    pw = frames[0][0].shape[1]
    start = WARMUP_S + float(ctx.rng.uniform(0.2, 1.0))
    travel = 0.2 * w
    x_from, x_to = -pw - 1.0, -pw - 1.0 + travel
    if ctx.rng.random() < 0.5:  # from the right instead
        x_from, x_to = w + 1.0, w + 1.0 - travel
    y = feet - height
    # Then stands where it got to until the end.
    keys = ((start, x_from, y), (start + 12.0, x_to, y), (ctx.duration_s + 1.0, x_to, y))
    sprite = Sprite(frames, keys, stride_px=0.8 * height)
    return Plan(ctx.canvas, ctx.duration_s, ctx.backdrop, sprites=(sprite,))


def _car(ctx: Context) -> Plan:
    """Drive a car, larger than a person, across in about 2.5 s."""
    h, w = ctx.shape
    width = w * float(ctx.rng.uniform(0.42, 0.5))
    feet = h * float(ctx.rng.uniform(0.8, 0.95))
    rgb, alpha = car(ctx, width, _band_luma(ctx.backdrop, feet - width * 0.42, feet))
    start = WARMUP_S + float(ctx.rng.uniform(0.5, 3.0))
    keys = crossing(ctx, rgb.shape[:2], start, float(ctx.rng.uniform(2.3, 2.7)), feet)
    if keys[0][1] > keys[-1][1]:  # driving right to left: face the other way
        rgb, alpha = rgb[:, ::-1].copy(), alpha[:, ::-1].copy()
    return Plan(ctx.canvas, ctx.duration_s, ctx.backdrop, sprites=(Sprite(((rgb, alpha),), keys),))


def _edge_entry(ctx: Context) -> Plan:
    """Step a person in from a side, a third of the way; they stop or turn back."""
    h, w = ctx.shape
    height = h * float(ctx.rng.uniform(0.55, 0.65))
    feet = h * float(ctx.rng.uniform(0.88, 0.98))
    frames = person(ctx, height, _band_luma(ctx.backdrop, feet - height, feet))
    pw = frames[0][0].shape[1]
    start = WARMUP_S + float(ctx.rng.uniform(0.3, 2.0))
    inside = w * float(ctx.rng.uniform(0.25, 0.4))
    walk_s = float(ctx.rng.uniform(2.5, 3.5))
    y = feet - height
    edge, stop = -pw - 1.0, inside - pw / 2
    if ctx.rng.random() < 0.5:
        edge, stop = w + 1.0, w - inside - pw / 2
    keys: list[tuple[float, float, float]] = [(start, edge, y), (start + walk_s, stop, y)]
    pause = float(ctx.rng.uniform(1.5, 3.0))
    if ctx.seed % 2:  # odd seeds turn and walk back out
        keys += [(start + walk_s + pause, stop, y), (start + 2 * walk_s + pause, edge, y)]
    else:  # stays, standing, until the end
        keys.append((ctx.duration_s + 1.0, stop, y))
    sprite = Sprite(frames, tuple(keys), stride_px=0.8 * height)
    return Plan(ctx.canvas, ctx.duration_s, ctx.backdrop, sprites=(sprite,))


def _rain_walker(ctx: Context) -> Plan:
    """Walk a person across while it rains."""
    rain = _rain(ctx, density=1.0)
    plan = _walker(ctx)
    # Rain dims the scene: overcast light.
    return dataclasses.replace(plan, particles=(rain,), light=_constant(0.75))


def _rain_only(ctx: Context) -> Plan:
    """Let rain fall everywhere, in overcast light."""
    return Plan(
        ctx.canvas, ctx.duration_s, ctx.backdrop, particles=(_rain(ctx),), light=_constant(0.75)
    )


def _snow_only(ctx: Context) -> Plan:
    """Let snow fall everywhere."""
    return Plan(ctx.canvas, ctx.duration_s, ctx.backdrop, particles=(_snow(ctx),))


def _exposure_hunting(ctx: Context) -> Plan:
    """Auto exposure steps by 15-30% over 1-2 s, first right after connecting, then again."""
    rng = ctx.rng
    base = float(rng.uniform(0.6, 0.72))
    steps: list[tuple[float, float, float, float]] = []  # start, ramp, from, to
    level, at = 1.0, float(rng.uniform(2.0, 2.6))  # just after a detector's 2 s warm-up
    while at < ctx.duration_s - 1.0:
        change = 1 + float(rng.uniform(0.15, 0.30))
        brighter = level < 1.2 and (level <= 1.0 or rng.random() < 0.5)
        target = level * change if brighter else level / change
        ramp = float(rng.uniform(1.0, 2.0))
        steps.append((at, ramp, level, target))
        level = target
        at += ramp + float(rng.uniform(1.5, 3.0))

    def light(t: float) -> float:
        value = 1.0
        for start, ramp, before, after in steps:
            if t >= start:
                value = before + (after - before) * _smoothstep((t - start) / ramp)
        return base * value

    return Plan(ctx.canvas, ctx.duration_s, ctx.backdrop, light=light)


def _keyframe_pulse(ctx: Context) -> Plan:
    """Low bitrate: each keyframe comes 3-8% brighter and sharper, fading over its GOP."""
    rng = ctx.rng
    fps = ctx.canvas.fps
    gop = round(KEYFRAME_INTERVAL_S * fps)
    jump = float(rng.uniform(0.03, 0.08))
    base = float(rng.uniform(0.55, 0.7))

    def light(t: float) -> float:
        phase = round(t * fps) % gop / gop  # 0 on a keyframe
        return base * (1 + jump * (1 - phase))

    return Plan(
        ctx.canvas,
        ctx.duration_s,
        ctx.backdrop,
        light=light,
        noise_sigma=float(rng.uniform(4.0, 6.0)),
        crf=int(rng.integers(36, 41)),
    )


def _frame_glitches(ctx: Context) -> Plan:
    """Repeat frames, drop runs of them and jump the clock, as glitchy cameras do; a quiet scene."""
    rng = ctx.rng
    fps = ctx.canvas.fps
    count = round(ctx.duration_s * fps)
    repeats = {int(i): int(rng.integers(2, 7)) for i in rng.integers(fps, count, 5)}
    drops = {int(i): int(rng.integers(3, 11)) for i in rng.integers(fps, count, 5)}
    jumps = {int(i): int(rng.integers(fps, 4 * fps)) for i in rng.integers(2 * fps, count, 2)}
    scene: list[int] = []
    stamps: list[int] = []
    shown, stamp = 0, 0
    while len(scene) < count:
        index = len(scene)
        stamp += jumps.get(index, 0)
        for _ in range(repeats.get(index, 1)):  # the same picture, stamped anew
            scene.append(shown)
            stamps.append(stamp)
            stamp += 1
        shown += 1 + drops.get(index, 0)  # frames the camera never sent
    scene, stamps = scene[:count], stamps[:count]
    drift = float(rng.uniform(0.05, 0.1))  # slow light, so a gap shows a step
    period = float(rng.uniform(5.0, 8.0))

    def light(t: float) -> float:
        return 0.8 * (1 + drift * math.sin(2 * math.pi * t / period))

    return Plan(
        ctx.canvas,
        ctx.duration_s,
        ctx.backdrop,
        light=light,
        shows=lambda i: scene[min(i, count - 1)] / fps,
        stamps=lambda i: stamps[i] if i < count else stamps[-1] + i - count + 1,
    )


def _blurred_blob(
    radius: float, level: float, stretch: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Make a bright, out-of-focus shape: an insect or a web thread right at the lens."""
    h, w = round(2 * radius * stretch) | 1, round(2 * radius) | 1
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    distance = np.hypot((xx - w / 2) / radius, (yy - h / 2) / (radius * stretch))
    alpha = np.clip(1.2 * np.exp(-(distance**2) * 2.5), 0, 0.9).astype(np.float32)
    rgb = np.full((h, w, 3), level, np.float32)
    return rgb, alpha


def _erratic_keys(
    ctx: Context, span: tuple[float, float], centre: tuple[float, float], reach: float, hop_s: float
) -> tuple[tuple[float, float, float], ...]:
    """Keys of a jittery path around centre: a new random point every hop_s or so."""
    rng = ctx.rng
    keys: list[tuple[float, float, float]] = []
    t, end = span
    while t <= end:
        x = centre[0] + float(rng.uniform(-reach, reach))
        y = centre[1] + float(rng.uniform(-reach, reach))
        keys.append((t, x, y))
        t += hop_s * float(rng.uniform(0.5, 1.5))
    return tuple(keys)


def _lens_insect(ctx: Context) -> Plan:
    """Night, IR lamp at the lens: a web thread and a moth right in front of it, bright and blurred.

    The web sways a little, all the time; the moth flutters about in front of the lens for a
    few seconds at a time. Both are far out of focus and lit far brighter than the scene.
    """
    rng = ctx.rng
    h, w = ctx.shape
    web_rgb, web_alpha = _blurred_blob(ctx.px(10), 2.5, stretch=float(rng.uniform(4, 7)))
    corner = (w * float(rng.uniform(0.05, 0.25)), h * float(rng.uniform(0.0, 0.3)))
    web = Sprite(
        ((web_rgb, web_alpha),),
        _erratic_keys(ctx, (0.0, ctx.duration_s + 1), corner, ctx.px(3), 0.3),
    )
    moth_rgb, moth_alpha = _blurred_blob(ctx.px(float(rng.uniform(18, 28))), 3.0)
    visits: list[tuple[float, float, float]] = []
    t = float(rng.uniform(2.5, 4.0))
    while t < ctx.duration_s - 1.0:
        stay = float(rng.uniform(1.5, 3.5))
        spot = (w * float(rng.uniform(0.2, 0.7)), h * float(rng.uniform(0.1, 0.6)))
        visits.extend(_erratic_keys(ctx, (t, t + stay), spot, ctx.px(40), 0.12))
        t += stay + float(rng.uniform(1.0, 3.0))
    # Off the picture between visits: a key far outside the frame before each one.
    keys: list[tuple[float, float, float]] = []
    for key in visits:
        if keys and key[0] - keys[-1][0] > 0.5:
            keys += [(keys[-1][0] + 0.01, -10.0 * w, 0.0), (key[0] - 0.01, -10.0 * w, 0.0)]
        keys.append(key)
    moth = Sprite(((moth_rgb, moth_alpha),), tuple(keys))
    return Plan(
        ctx.canvas,
        ctx.duration_s,
        ctx.backdrop,
        distractors=(web, moth),
        infrared=Infrared(0.0, _ir_hotspot(ctx), noise_sigma=float(rng.uniform(4.0, 5.5))),
    )


def _spec(
    name: str,
    duration_s: float,
    build: Callable[[Context], Plan],
    *,
    negative: bool,
    scored: bool = True,
) -> ScenarioSpec:
    """Make a ScenarioSpec whose summary is its builder's docstring."""
    summary = (build.__doc__ or name).strip()
    return ScenarioSpec(name, negative, duration_s, summary, build, scored)


SCENARIOS: dict[str, ScenarioSpec] = {
    spec.name: spec
    for spec in (
        _spec("sensor_noise", 14.0, _sensor_noise, negative=True),
        _spec("exposure_ramp", 16.0, _exposure_ramp, negative=True),
        _spec("ir_switch", 14.0, _ir_switch, negative=True),
        _spec("lights_on_off", 16.0, _lights_on_off, negative=True),
        _spec("headlight_sweep", 14.0, _headlight_sweep, negative=True),
        _spec("rain", 14.0, _rain_only, negative=True),
        _spec("snow", 14.0, _snow_only, negative=True),
        _spec("foliage", 16.0, _foliage, negative=True),
        _spec("exposure_hunting", 16.0, _exposure_hunting, negative=True),
        _spec("keyframe_pulse", 14.0, _keyframe_pulse, negative=True),
        _spec("frame_glitches", 14.0, _frame_glitches, negative=True),
        _spec("lens_insect", 14.0, _lens_insect, negative=True, scored=False),
        _spec("walker", 14.0, _walker, negative=False),
        _spec("small_walker", 15.0, _small_walker, negative=False),
        _spec("slow_walker", 18.0, _slow_walker, negative=False),
        _spec("car", 12.0, _car, negative=False),
        _spec("edge_entry", 15.0, _edge_entry, negative=False),
        _spec("rain_walker", 14.0, _rain_walker, negative=False),
    )
}
NEGATIVES = tuple(name for name, spec in SCENARIOS.items() if spec.negative and spec.scored)
POSITIVES = tuple(name for name, spec in SCENARIOS.items() if not spec.negative)
SCORED = tuple(name for name, spec in SCENARIOS.items() if spec.scored)
NUISANCES = tuple(name for name, spec in SCENARIOS.items() if not spec.scored)


def _render_one(job: tuple[str, int, Path, Canvas | None]) -> Path:
    """Render one (name, seed, directory, canvas) job; a module-level function for processes."""
    return render_scenario(*job)


def render_suite(
    names: Iterable[str],
    seeds: Iterable[int],
    directory: Path | str,
    canvas: Canvas | None = None,
    workers: int | None = None,
) -> dict[tuple[str, int], Path]:
    """Render (or find cached) every name x seed, in parallel processes; map them to paths."""
    jobs = [(name, seed, Path(directory), canvas) for name in names for seed in seeds]
    workers = workers or min(len(jobs), os.cpu_count() or 1)
    if workers <= 1:
        paths = [_render_one(job) for job in jobs]
    else:
        with ProcessPoolExecutor(workers) as pool:
            paths = list(pool.map(_render_one, jobs))
    return {(name, seed): path for (name, seed, _, _), path in zip(jobs, paths, strict=True)}


def main(argv: list[str]) -> int:
    """Render the suite into a directory and print each file with its ground truth."""
    parser = argparse.ArgumentParser(prog="python -m devkit.scenarios")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default 3)")
    parser.add_argument("--dir", type=Path, default=Path("benchmarks/.cache/scenarios"))
    parser.add_argument("names", nargs="*", help="scenarios (default: all)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    paths = render_suite(args.names or SCENARIOS, range(args.seeds), args.dir)
    for (name, seed), path in paths.items():
        sys.stdout.write(f"{name:<16} seed {seed}  {ground_truth(name, seed)!s:<24} {path}\n")
    sys.stderr.write(f"done in {time.monotonic() - started:.1f} s\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
