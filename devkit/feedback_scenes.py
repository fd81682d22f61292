"""Seeded "days" of clips from cameras with a persistent false-alarm source, and real walkers.

Each scene is one camera view (its backdrop and its nuisance stay put from day to day): a flag
that flaps in gusts, a hedge that sways in gusts, or car lights whose reflection slides along a
wall. A day holds false alarms (the nuisance acts, nobody comes) and walkers (a person crosses;
the nuisance may act at the same time). Frames come from devkit/scenarios.py's renderer, so
light, noise and the encoder behave as in the accuracy suite.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
import fcntl
import hashlib
import json
import math
from pathlib import Path
import zlib

import numpy as np

from devkit.footage import encode_frames
from devkit.scenarios import (
    Canvas,
    Context,
    LightField,
    Plan,
    Sprite,
    _foliage_layer,
    _render,
    _walker_sprite,
    backdrop,
)

SCENE_VERSION = 1  # bump when rendering changes, so cached clips go stale
CLIP_S = 12.0  # a clip as the recorder saves it: pre-roll, the event, post-roll
CANVAS = Canvas(width=320, height=180, fps=10, duration_s=CLIP_S)

type Envelope = Callable[[float], float]  # strength of the nuisance at t, 0..1
type Nuisance = Callable[[Plan, float, float], Plan]  # (plan, t, strength) -> frame's plan


@dataclass(frozen=True, slots=True)
class FeedbackClip:
    """One clip of a scene's day: whether a person walks through, and when."""

    scene: str
    day: int
    index: int
    walker: bool

    @property
    def seed(self) -> int:
        """The clip's own randomness (gust timing, the walker)."""
        return zlib.crc32(f"{self.scene}/{self.day}/{self.index}".encode())


def _smooth_envelope(start: float, length: float, peak: float) -> Envelope:
    """Rises within 0.4 s at start, holds peak, falls within 0.8 s after length."""

    def strength(t: float) -> float:
        rise = min(1.0, max(0.0, (t - start) / 0.4))
        fall = min(1.0, max(0.0, (start + length + 0.8 - t) / 0.8))
        return peak * min(rise, fall)

    return strength


def _flag(ctx: Context) -> Nuisance:
    """Hang a striped flag on a pole in the upper right; in a gust it flaps, its folds shading."""
    h, w = ctx.shape
    fw, fh = round(w * 0.13), round(h * 0.12)
    x0 = round(w * float(ctx.rng.uniform(0.72, 0.8)))
    y0 = round(h * float(ctx.rng.uniform(0.06, 0.12)))
    colours = ctx.rng.uniform(0.15, 0.9, (3, 3)).astype(np.float32)
    amplitude = ctx.px(7.0)

    def paint(plan: Plan, t: float, strength: float) -> Plan:
        picture = plan.backdrop.copy()
        picture[y0 : y0 + 3 * fh, x0 - 2 : x0] *= 0.35  # the pole
        for column in range(fw):
            phase = 2 * math.pi * (1.6 * t - column / (0.7 * fw))
            reach = column / fw
            dy = strength * amplitude * reach * math.sin(phase)
            shade = 1 + 0.4 * strength * reach * math.cos(phase)
            top = y0 + round(dy)
            for stripe, colour in enumerate(colours):
                rows = slice(max(0, top + stripe * fh // 3), max(0, top + (stripe + 1) * fh // 3))
                picture[rows, x0 + column] = np.clip(colour * shade, 0, 1)
        return replace(plan, backdrop=picture)

    return paint


def _hedge(ctx: Context) -> Nuisance:
    """Grow a canopy that hangs still between gusts and sways hard in them."""
    foliage = _foliage_layer(ctx)
    calm = replace(foliage, amplitude_px=0.0)

    def paint(plan: Plan, _t: float, strength: float) -> Plan:
        if strength <= 0:
            return replace(plan, foliage=calm)
        return replace(plan, foliage=replace(foliage, amplitude_px=ctx.px(9.0) * strength))

    return paint


def _car_lights(ctx: Context) -> Nuisance:
    """Let passing cars' lights throw a hard-edged bright patch that slides along the wall."""
    h, w = ctx.shape
    top, bottom = round(h * 0.06), round(h * float(ctx.rng.uniform(0.26, 0.3)))
    start_x, end_x = w * 0.04, w * float(ctx.rng.uniform(0.36, 0.42))
    patch_w = w * 0.1
    xs = np.arange(w, dtype=np.float32)[None, :]
    rows = np.zeros((h, 1), np.float32)
    rows[top:bottom] = 1.0
    gain = float(ctx.rng.uniform(0.9, 1.2))

    def paint(plan: Plan, t: float, strength: float) -> Plan:
        if strength <= 0:
            return replace(plan, light=lambda _t: 1.0)
        # The patch crosses while the gust-like envelope holds; strength gives its position.
        position = start_x + (end_x - start_x) * (0.5 + 0.5 * math.sin(2.1 * t))
        # A sheared window shape: edges slant, as a reflection through a window does.
        left = position + (rows - top) * 0.3
        inside = ((xs >= left) & (xs < left + patch_w)).astype(np.float32) * rows
        pool = np.asarray(1 + gain * strength * inside, np.float32)

        def light(_t: float) -> LightField:
            return pool

        return replace(plan, light=light)

    return paint


SCENES: dict[str, Callable[[Context], Nuisance]] = {
    "flag": _flag,
    "hedge": _hedge,
    "car_lights": _car_lights,
}


def _camera(scene: str, canvas: Canvas) -> Context:
    """Return the scene's camera view: the same backdrop and nuisance on every day."""
    rng = np.random.default_rng([zlib.crc32(scene.encode()), 7])
    return Context(canvas, CLIP_S, 0, rng, backdrop(rng, canvas))


def day_clips(scene: str, day: int, false_alarms: int, walkers: int) -> tuple[FeedbackClip, ...]:
    """Return a day's clips: false alarms first, then walkers."""
    kinds = [False] * false_alarms + [True] * walkers
    return tuple(FeedbackClip(scene, day, index, walker) for index, walker in enumerate(kinds))


def _plan(clip: FeedbackClip, canvas: Canvas) -> tuple[Plan, Nuisance, Envelope]:
    """Return the clip's plan (with its walker), its nuisance and the nuisance's envelope."""
    camera = _camera(clip.scene, canvas)
    nuisance = SCENES[clip.scene](camera)
    rng = np.random.default_rng([clip.seed, 1])
    ctx = Context(canvas, CLIP_S, clip.seed, rng, camera.backdrop)
    sprites: tuple[Sprite, ...] = ()
    if clip.walker:
        h = canvas.height
        height = h * float(rng.uniform(0.45, 0.55))
        feet = h * float(rng.uniform(0.86, 0.95))
        sprites = (_walker_sprite(ctx, height, float(rng.uniform(5.0, 6.5)), feet),)
    if clip.walker and rng.random() < 0.5:
        envelope = _smooth_envelope(0.0, 0.0, 0.0)  # a calm moment
    else:
        start = float(rng.uniform(3.5, 5.5))
        peak = float(rng.uniform(0.75, 1.0)) * (0.6 if clip.walker else 1.0)
        envelope = _smooth_envelope(start, float(rng.uniform(3.0, 5.0)), peak)
    plan = Plan(canvas, CLIP_S, camera.backdrop, sprites=sprites)
    return plan, nuisance, envelope


def render_clip_frames(clip: FeedbackClip, canvas: Canvas = CANVAS) -> Iterator[np.ndarray]:
    """Yield the clip's frames as H x W x 3 uint8 RGB."""
    plan, nuisance, envelope = _plan(clip, canvas)
    noise_rng = np.random.default_rng([clip.seed, 2])
    for index in range(plan.frame_count):
        t = index / canvas.fps
        yield _render(nuisance(plan, t, envelope(t)), t, noise_rng)


def walker_interval(clip: FeedbackClip, canvas: Canvas = CANVAS) -> tuple[float, float] | None:
    """When the clip's walker is in view (stream seconds), or None without one."""
    plan, _, _ = _plan(clip, canvas)
    if not plan.sprites:
        return None
    keys = plan.sprites[0].keys
    return keys[0][0], keys[-1][0]


def render_clip(clip: FeedbackClip, directory: Path, canvas: Canvas = CANVAS) -> Path:
    """Path of the clip's cached MP4 in directory, rendered first if missing."""
    key = json.dumps(
        {
            "v": SCENE_VERSION,
            "clip": [clip.scene, clip.day, clip.index, clip.walker],
            "canvas": [canvas.width, canvas.height, canvas.fps],
        }
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{clip.scene}-d{clip.day}-{clip.index}-{digest}.mp4"
    if path.exists():
        return path
    with (directory / f".{path.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            encode_frames(render_clip_frames(clip, canvas), path, fps=canvas.fps, preset="veryfast")
    return path
