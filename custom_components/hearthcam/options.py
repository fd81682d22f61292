"""One camera's options, typed: read once from its config entry, with one set of rules.

entry.options is stored flat and may come from an older version or a hand-edited file, so every
value is checked here and nowhere else: a number stored as something else (text, a boolean)
falls back to its default; limits that are off are None; polygons are parsed; options the engine
cannot honour raise InvalidOptionsError.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
import math
from typing import TYPE_CHECKING, Literal, Self, cast

from homeassistant.config_entries import ConfigEntry

from .const import (
    CONF_ALLOW_EXPORTS,
    CONF_ANALYSIS_FPS,
    CONF_EXPORT_EXPIRY_HOURS,
    CONF_IGNORE_ZONES,
    CONF_LOW_POWER,
    CONF_MAX_CLIP,
    CONF_MAX_STORAGE_GB,
    CONF_MOTION_ZONES,
    CONF_OFF_DELAY,
    CONF_OUTLINE_MOTION,
    CONF_POST_ROLL,
    CONF_PRE_ROLL,
    CONF_PRIVACY_MASKS,
    CONF_RETAIN_DAYS,
    CONF_RTSP_TRANSPORT,
    CONF_SENSITIVITY,
    CONF_SHARE_RAW_STREAM,
    DEFAULT_OPTIONS,
    OPEN_TIMEOUT_S,
    STALL_TIMEOUT_S,
)
from .engine.clip_retention import RetentionPolicy
from .engine.errors import InvalidPolygonError
from .engine.motion import MotionSettings
from .engine.recorder import RecorderOptions
from .engine.regions import Polygon, Regions, parse_polygons
from .engine.source import SourceOptions
from .engine.worker import WorkerSettings

if TYPE_CHECKING:
    from .data import CameraSettings

BYTES_PER_GB = 1_000_000_000  # the options' GB are decimal, as Home Assistant shows them


class InvalidOptionsError(ValueError):
    """Options the engine cannot honour; `key` names the option at fault."""

    def __init__(self, key: str, detail: str) -> None:
        super().__init__(f"{key}: {detail}")
        self.key = key
        self.detail = detail


@dataclass(frozen=True, slots=True, kw_only=True)
class CameraOptions:
    """What a camera's options say, with defaults filled in and every value checked."""

    sensitivity: int
    analysis_fps: float
    off_delay_s: float
    motion_zones: tuple[Polygon, ...]
    pre_roll_s: float
    post_roll_s: float
    max_clip_s: float
    retain_days: float | None  # None: clips are kept whatever their age
    max_storage_bytes: int | None  # None: no size limit
    rtsp_transport: Literal["tcp", "udp"]
    allow_exports: bool
    export_expiry_hours: float
    privacy_masks: tuple[Polygon, ...]
    outline_motion: bool
    ignore_zones: tuple[Polygon, ...] = ()  # left out of detection, still shown
    low_power: bool = False  # keyframes only while the scene is quiet
    share_raw_stream: bool = False  # the raw stream goes to Home Assistant's stream

    def __post_init__(self) -> None:
        """Refuse what the engine cannot honour."""
        if not (math.isfinite(self.analysis_fps) and self.analysis_fps > 0):
            raise InvalidOptionsError(
                CONF_ANALYSIS_FPS, f"must be positive, not {self.analysis_fps}"
            )
        for key, seconds in ((CONF_PRE_ROLL, self.pre_roll_s), (CONF_POST_ROLL, self.post_roll_s)):
            if not (math.isfinite(seconds) and seconds >= 0):
                raise InvalidOptionsError(key, f"must be 0 or more, not {seconds}")
        # A clip starts with its pre-roll, so it must be allowed to run longer than that.
        if not (math.isfinite(self.max_clip_s) and self.max_clip_s > self.pre_roll_s):
            detail = f"{self.max_clip_s:g} s must exceed the pre-roll of {self.pre_roll_s:g} s"
            raise InvalidOptionsError(CONF_MAX_CLIP, detail)
        try:  # what the engine's own settings refuse besides
            _ = (self.recorder, self.source, self.detector)
        except ValueError as err:
            raise InvalidOptionsError(key="options", detail=str(err)) from err

    @classmethod
    def from_entry(cls, entry: ConfigEntry) -> Self:
        """Read the options of a config entry; raises InvalidOptionsError."""
        return cls.from_mapping(entry.options)

    @classmethod
    def from_mapping(cls, options: Mapping[str, object]) -> Self:
        """Read flat options (missing keys take their defaults); raises InvalidOptionsError."""
        values = {**DEFAULT_OPTIONS, **options}

        def number(key: str) -> float:
            value = values[key]
            if isinstance(value, bool) or not isinstance(value, int | float):
                value = cast("float", DEFAULT_OPTIONS[key])
            return float(value)

        def positive(key: str) -> float | None:
            value = number(key)
            return value if value > 0 else None

        def polygons(key: str) -> tuple[Polygon, ...]:
            try:
                return parse_polygons(str(values[key]))
            except InvalidPolygonError as err:
                raise InvalidOptionsError(key, str(err)) from err

        gigabytes = positive(CONF_MAX_STORAGE_GB)
        return cls(
            sensitivity=round(number(CONF_SENSITIVITY)),
            analysis_fps=number(CONF_ANALYSIS_FPS),
            off_delay_s=max(0.0, number(CONF_OFF_DELAY)),
            motion_zones=polygons(CONF_MOTION_ZONES),
            pre_roll_s=number(CONF_PRE_ROLL),
            post_roll_s=number(CONF_POST_ROLL),
            max_clip_s=number(CONF_MAX_CLIP),
            retain_days=positive(CONF_RETAIN_DAYS),
            max_storage_bytes=None if gigabytes is None else int(gigabytes * BYTES_PER_GB),
            rtsp_transport="udp" if values[CONF_RTSP_TRANSPORT] == "udp" else "tcp",
            # Exports stay off unless switched on with `true` itself.
            allow_exports=values[CONF_ALLOW_EXPORTS] is True,
            export_expiry_hours=positive(CONF_EXPORT_EXPIRY_HOURS)
            or float(cast("float", DEFAULT_OPTIONS[CONF_EXPORT_EXPIRY_HOURS])),
            privacy_masks=polygons(CONF_PRIVACY_MASKS),
            ignore_zones=polygons(CONF_IGNORE_ZONES),
            # On unless switched off with `false` itself.
            outline_motion=values[CONF_OUTLINE_MOTION] is not False,
            # Off unless switched on with `true` itself.
            low_power=values[CONF_LOW_POWER] is True,
            # Like exports, the raw stream is shared only when switched on with `true` itself.
            share_raw_stream=values[CONF_SHARE_RAW_STREAM] is True,
        )

    @property
    def export_lifetime(self) -> timedelta:
        """How long the camera's export bundles live."""
        return timedelta(hours=self.export_expiry_hours)

    @property
    def source(self) -> SourceOptions:
        """How the camera's streams are opened and watched."""
        return SourceOptions(
            open_timeout_s=OPEN_TIMEOUT_S,
            stall_timeout_s=STALL_TIMEOUT_S,
            rtsp_transport=self.rtsp_transport,
        )

    @property
    def detector(self) -> MotionSettings:
        """The motion detector's settings."""
        return MotionSettings.for_sensitivity(
            self.sensitivity,
            off_delay_s=self.off_delay_s,
            regions=Regions(
                zones=self.motion_zones, masks=self.privacy_masks, ignored=self.ignore_zones
            ),
        )

    @property
    def retention(self) -> RetentionPolicy:
        """The camera's age and size limits."""
        return RetentionPolicy(
            max_age_days=self.retain_days, max_total_bytes=self.max_storage_bytes
        )

    @property
    def recorder(self) -> RecorderOptions:
        """How much the recorder keeps around motion."""
        return RecorderOptions(
            pre_roll_s=self.pre_roll_s, post_roll_s=self.post_roll_s, max_clip_s=self.max_clip_s
        )

    def worker(self, camera_key: str, settings: CameraSettings) -> WorkerSettings:
        """Return the worker's settings for this camera and its stream URLs."""
        return WorkerSettings(
            camera_key=camera_key,
            stream_url=settings.stream_url,
            detect_stream_url=settings.detect_stream_url,
            source=self.source,
            recorder=self.recorder,
            analysis_fps=self.analysis_fps,
            privacy_masks=self.privacy_masks,
            outline_motion=self.outline_motion,
            low_power=self.low_power,
        )
