"""Seeded, deterministic synthetic camera footage: frames, encoded files, ground truth."""

from collections.abc import Callable, Iterable, Iterator
import dataclasses
from dataclasses import dataclass
import fcntl
from fractions import Fraction
import hashlib
import json
import math
import os
from pathlib import Path
import tempfile

import av
from av.audio.stream import AudioStream
from av.container import OutputContainer
from av.packet import Packet
from av.video.stream import VideoStream
import numpy as np

type Color = int | tuple[int, int, int]
type Box = tuple[int, int, int, int]

# Bump when rendering or encoding changes, so cached files named by hash go stale.
GENERATOR_VERSION = 1

# Container format per file suffix; ".264" is a raw Annex-B stream, what live555 serves.
CONTAINER_FORMATS: dict[str, str] = {
    ".mkv": "matroska",
    ".mp4": "mp4",
    ".ts": "mpegts",
    ".264": "h264",
}

AUDIO_RATE = 16000
_AUDIO_FRAME_SAMPLES = 1024  # AAC-LC frame size; the encoder wants exactly this.
_TONE_HZ = 440.0
_TONE_AMPLITUDE = 0.05  # About -26 dBFS: present but quiet.
_MIN_SIDE = 16  # libx264 macroblock size; smaller frames are pointless.
_LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True, slots=True)
class MovingObject:
    """A solid box that moves linearly between two centre positions during [start_s, end_s)."""

    start_s: float
    end_s: float
    start_xy: tuple[float, float]
    end_xy: tuple[float, float]
    size: tuple[float, float] = (0.15, 0.3)
    color: Color = (200, 40, 40)

    def __post_init__(self) -> None:
        """Reject intervals and sizes that cannot be rendered."""
        if not self.end_s > self.start_s >= 0:
            msg = f"need 0 <= start_s < end_s, got {self.start_s}..{self.end_s}"
            raise ValueError(msg)
        if min(self.size) <= 0:
            msg = f"size must be positive, got {self.size}"
            raise ValueError(msg)
        _rgb(self.color)


@dataclass(frozen=True, slots=True)
class LightChange:
    """A brightness change at at_s, ramped over ramp_s; to_grey models an IR day/night switch."""

    at_s: float
    gain: float = 1.0
    ramp_s: float = 0.0
    to_grey: bool = False

    def __post_init__(self) -> None:
        """Reject negative times and gains."""
        if self.at_s < 0 or self.ramp_s < 0 or self.gain < 0:
            msg = f"at_s, ramp_s and gain must be >= 0: {self}"
            raise ValueError(msg)

    def progress(self, t: float) -> float:
        """How far (0..1) this change has gone at time t."""
        if t < self.at_s:
            return 0.0
        if self.ramp_s == 0:
            return 1.0
        return min(1.0, (t - self.at_s) / self.ramp_s)


@dataclass(frozen=True, slots=True)
class Scene:
    """Everything that determines a clip; equal scenes give identical frames and files."""

    width: int = 640
    height: int = 360
    fps: int = 15
    duration_s: float = 6.0
    seed: int = 0
    noise_sigma: float = 2.0
    keyframe_interval_s: float = 1.0
    objects: tuple[MovingObject, ...] = ()
    light_changes: tuple[LightChange, ...] = ()
    audio: bool = False

    def __post_init__(self) -> None:
        """Reject settings the encoder or renderer cannot honour."""
        # yuv420p subsamples chroma 2x2, so odd sizes cannot be encoded.
        if min(self.width, self.height) < _MIN_SIDE or self.width % 2 or self.height % 2:
            msg = (
                f"width and height must be even and >= {_MIN_SIDE}, got {self.width}x{self.height}"
            )
            raise ValueError(msg)
        if self.fps < 1 or self.duration_s <= 0 or self.keyframe_interval_s <= 0:
            msg = "fps, duration_s and keyframe_interval_s must be positive"
            raise ValueError(msg)
        if self.seed < 0 or self.noise_sigma < 0:
            msg = "seed and noise_sigma must be >= 0"
            raise ValueError(msg)

    @property
    def frame_count(self) -> int:
        """Number of frames in the clip."""
        return max(1, round(self.duration_s * self.fps))

    @property
    def gop_size(self) -> int:
        """Frames from one keyframe to the next."""
        return max(1, round(self.keyframe_interval_s * self.fps))

    def frame_time(self, index: int) -> float:
        """Presentation time in seconds of frame `index`."""
        return index / self.fps


def _rgb(color: Color) -> tuple[int, int, int]:
    """Normalise a luma level or RGB triple to an RGB triple, checking the range."""
    rgb = (color, color, color) if isinstance(color, int) else color
    if len(rgb) != 3 or not all(0 <= c <= 255 for c in rgb):
        msg = f"color must be a level 0..255 or an RGB triple of them, got {color!r}"
        raise ValueError(msg)
    return rgb


def _smooth_noise(rng: np.random.Generator, height: int, width: int, cells: int) -> np.ndarray:
    """Bilinearly upsampled random grid in 0..1: blotchy, low-frequency structure."""
    grid_h = max(2, cells * height // width + 1)
    grid = rng.random((grid_h, cells + 1), dtype=np.float32)
    ys = np.linspace(0, grid_h - 1, height, dtype=np.float32)
    xs = np.linspace(0, cells, width, dtype=np.float32)
    y0 = np.minimum(ys.astype(np.int64), grid_h - 2)
    x0 = np.minimum(xs.astype(np.int64), cells - 1)
    fy = (ys - y0)[:, None]
    fx = (xs - x0)[None, :]
    top = grid[y0][:, x0] * (1 - fx) + grid[y0][:, x0 + 1] * fx
    bottom = grid[y0 + 1][:, x0] * (1 - fx) + grid[y0 + 1][:, x0 + 1] * fx
    return np.asarray(top * (1 - fy) + bottom * fy, dtype=np.float32)


def background(scene: Scene) -> np.ndarray:
    """Render the static, noise-free backdrop of a scene as float32 H x W x 3 in 0..255."""
    h, w = scene.height, scene.width
    rng = np.random.default_rng([scene.seed, 0])
    # A wall-to-floor gradient between two seeded colours gives a horizon like a room or yard.
    top, bottom = rng.uniform(60, 170, 3), rng.uniform(40, 140, 3)
    ramp = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    img = (top * (1 - ramp) + bottom * ramp).astype(np.float32) * np.ones((1, w, 1), np.float32)
    # Blotches and fine grain make the image compress and difference like a real scene.
    img += (_smooth_noise(rng, h, w, 8)[..., None] - 0.5) * 50
    img += rng.normal(0, 4, (h, w, 1)).astype(np.float32)
    # Seeded "furniture": edges and flat patches at fixed places.
    for _ in range(6):
        x0, y0 = int(rng.integers(0, w - 8)), int(rng.integers(0, h - 8))
        x1 = min(w, x0 + int(rng.integers(w // 20, w // 4)))
        y1 = min(h, y0 + int(rng.integers(h // 20, h // 3)))
        img[y0:y1, x0:x1] = img[y0:y1, x0:x1] * 0.3 + rng.uniform(20, 235, 3) * 0.7
    return np.clip(img, 0, 255)


def object_box(scene: Scene, obj: MovingObject, t: float) -> Box | None:
    """Pixel box (x0, y0, x1, y1), clipped to the frame, of obj at time t, or None if absent."""
    if not obj.start_s <= t < obj.end_s:
        return None
    f = (t - obj.start_s) / (obj.end_s - obj.start_s)
    cx = obj.start_xy[0] + (obj.end_xy[0] - obj.start_xy[0]) * f
    cy = obj.start_xy[1] + (obj.end_xy[1] - obj.start_xy[1]) * f
    half_w, half_h = obj.size[0] * scene.width / 2, obj.size[1] * scene.height / 2
    x0 = max(0, round(cx * scene.width - half_w))
    x1 = min(scene.width, round(cx * scene.width + half_w))
    y0 = max(0, round(cy * scene.height - half_h))
    y1 = min(scene.height, round(cy * scene.height + half_h))
    if x0 >= x1 or y0 >= y1:
        return None  # Entirely off-screen, e.g. still entering.
    return x0, y0, x1, y1


def lighting(scene: Scene, t: float) -> tuple[float, float]:
    """Brightness gain and grey mix (0 colour .. 1 grey) at time t; a grey switch is sticky."""
    gain, grey = 1.0, 0.0
    for change in scene.light_changes:
        p = change.progress(t)
        gain *= 1 + (change.gain - 1) * p
        if change.to_grey:
            grey = max(grey, p)
    return gain, grey


def render_frames(scene: Scene) -> Iterator[np.ndarray]:
    """Yield every frame of the scene as H x W x 3 uint8 RGB."""
    base = background(scene)
    noise_rng = np.random.default_rng([scene.seed, 1])
    frame = np.empty_like(base)
    for index in range(scene.frame_count):
        t = scene.frame_time(index)
        np.copyto(frame, base)
        for obj in scene.objects:
            if box := object_box(scene, obj, t):
                x0, y0, x1, y1 = box
                frame[y0:y1, x0:x1] = _rgb(obj.color)
        gain, grey = lighting(scene, t)
        if grey > 0:
            luma = frame @ _LUMA_WEIGHTS
            frame *= 1 - grey
            frame += (grey * luma)[..., None]
        if gain != 1:
            frame *= gain
        if scene.noise_sigma > 0:
            # One noise plane for all channels: sigma is then exactly in luma levels.
            noise = noise_rng.standard_normal((scene.height, scene.width), dtype=np.float32)
            frame += (noise * scene.noise_sigma)[..., None]
        frame += 0.5  # Round rather than truncate in the cast below.
        np.clip(frame, 0, 255, out=frame)
        yield frame.astype(np.uint8)


def motion_intervals(scene: Scene) -> list[tuple[float, float]]:
    """Return merged, sorted [start, end) intervals in which any object moves in the clip."""
    spans = sorted(
        (o.start_s, min(o.end_s, scene.duration_s))
        for o in scene.objects
        if o.start_s < scene.duration_s
    )
    merged: list[tuple[float, float]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _add_audio(container: OutputContainer) -> AudioStream:
    """Add a mono AAC stream at AUDIO_RATE."""
    stream = container.add_stream("aac", rate=AUDIO_RATE, layout="mono")
    stream.bit_rate = 32000
    return stream


def _encode_tone(stream: AudioStream, start: int, stop: int) -> list[Packet[AudioStream]]:
    """Encode samples [start, stop) of the sine tone as AAC-sized frames."""
    packets: list[Packet[AudioStream]] = []
    for first in range(start, stop, _AUDIO_FRAME_SAMPLES):
        n = min(_AUDIO_FRAME_SAMPLES, stop - first)
        t = np.arange(first, first + n, dtype=np.float64) / AUDIO_RATE
        samples = (_TONE_AMPLITUDE * np.sin(2 * math.pi * _TONE_HZ * t)).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(samples[None, :], format="fltp", layout="mono")
        frame.sample_rate = AUDIO_RATE
        frame.pts = first
        frame.time_base = Fraction(1, AUDIO_RATE)
        packets += stream.encode(frame)
    return packets


def _add_h264(
    out: OutputContainer,
    size: tuple[int, int],
    fps: int,
    gop_size: int,
    extra_options: dict[str, str] | None = None,
) -> VideoStream:
    """Add a libx264 stream of size (width, height) with a fixed GOP and no B-frames."""
    options = {
        "preset": "fast",
        # Fixed GOP: every keyframe where the caller says, none from scene cuts.
        "x264-params": f"keyint={gop_size}:min-keyint={gop_size}:scenecut=0:bframes=0",
    }
    options.update(extra_options or {})
    video = out.add_stream("libx264", rate=fps, options=options)
    video.width, video.height = size
    video.pix_fmt = "yuv420p"
    video.gop_size, video.max_b_frames = gop_size, 0
    # The muxer may pick its own stream time base (1/1000 for Matroska), so frames are
    # stamped in the encoder's 1/fps, not in whatever video.time_base becomes.
    video.codec_context.time_base = Fraction(1, fps)
    return video


def _encode(scene: Scene, path: Path, container_format: str) -> None:
    """Encode the scene into path with libx264 and, if asked and possible, AAC."""
    # bitexact keeps muxers from writing random IDs or versions: same scene, same bytes.
    with av.open(path, "w", format=container_format, options={"fflags": "+bitexact"}) as out:
        video = _add_h264(out, (scene.width, scene.height), scene.fps, scene.gop_size)
        frame_time_base = Fraction(1, scene.fps)
        # A raw H.264 stream has nowhere to put audio.
        audio = _add_audio(out) if scene.audio and container_format != "h264" else None
        audio_done = 0
        for index, pixels in enumerate(render_frames(scene)):
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts, frame.time_base = index, frame_time_base
            out.mux(video.encode(frame))
            if audio is not None:
                # Keep audio level with video so the muxer can interleave it.
                due = round(scene.frame_time(index + 1) * AUDIO_RATE)
                out.mux(_encode_tone(audio, audio_done, due))
                audio_done = due
        out.mux(video.encode(None))
        if audio is not None:
            out.mux(audio.encode(None))


def _container_format(path: Path) -> str:
    """Return the container format for path's suffix; ValueError for unknown ones."""
    container_format = CONTAINER_FORMATS.get(path.suffix)
    if container_format is None:
        msg = f"unsupported suffix {path.suffix!r}; use one of {sorted(CONTAINER_FORMATS)}"
        raise ValueError(msg)
    return container_format


def _write_atomically(path: Path, encode: Callable[[Path], None]) -> Path:
    """Run encode(temporary path) beside path, then move the complete file into place."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        encode(tmp)
        tmp.chmod(0o644)  # mkstemp makes it private; servers under other users must read it.
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_footage(scene: Scene, path: Path | str) -> Path:
    """Encode the scene to path, container chosen by suffix; the file appears only when complete."""
    path = Path(path)
    container_format = _container_format(path)
    return _write_atomically(path, lambda tmp: _encode(scene, tmp, container_format))


def encode_frames(
    frames: Iterable[np.ndarray],
    path: Path | str,
    *,
    fps: int,
    keyframe_interval_s: float = 1.0,
    crf: int | None = None,
    preset: str = "fast",
    pts: Callable[[int], int] | None = None,
) -> Path:
    """Encode H x W x 3 uint8 RGB frames to path with libx264 (container by suffix), atomically.

    One encoder thread, so x264's output depends only on its input, whatever the machine.
    pts(index) stamps frame index in 1/fps ticks (default: the index); it must increase.
    """
    path = Path(path)
    container_format = _container_format(path)
    gop_size = max(1, round(keyframe_interval_s * fps))
    extra = {"preset": preset} | ({} if crf is None else {"crf": str(crf)})

    def encode(tmp: Path) -> None:
        with av.open(tmp, "w", format=container_format, options={"fflags": "+bitexact"}) as out:
            video: VideoStream | None = None
            for index, pixels in enumerate(frames):
                if video is None:
                    size = (pixels.shape[1], pixels.shape[0])
                    video = _add_h264(out, size, fps, gop_size, extra)
                    video.codec_context.thread_count = 1
                frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
                frame.pts = index if pts is None else pts(index)
                frame.time_base = Fraction(1, fps)
                out.mux(video.encode(frame))
            if video is None:
                msg = "no frames to encode"
                raise ValueError(msg)
            out.mux(video.encode(None))

    return _write_atomically(path, encode)


def scene_key(scene: Scene) -> str:
    """Stable short hash of the scene and generator version, for cache file names."""
    payload = json.dumps(
        {"version": GENERATOR_VERSION, "scene": dataclasses.asdict(scene)}, sort_keys=True
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def footage_path(scene: Scene, directory: Path | str, suffix: str = ".mkv") -> Path:
    """Path of the scene's cached file in directory, encoding it first if it is missing."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"scene-{scene_key(scene)}{suffix}"
    if path.exists():
        return path
    # A lock per file stops parallel test workers from encoding the same clip twice.
    with (directory / f".{path.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            write_footage(scene, path)
    return path
