"""Event-loop stalls while four cameras record: how long HearthCam ever holds the loop.

Runs Home Assistant in this process (the test harness's instance, as the integration tests use)
with asyncio's debug mode on and `slow_callback_duration` at 10 ms, so asyncio logs every
callback or task step that held the loop longer. Four cameras stream paced MPEG-TS from the
devkit HTTP camera, real H.264 in which someone walks by every few seconds, so each records
clips (and reconnects when its file ends); meanwhile the media browser lists the library and the
sensors follow the storage figures. A stall is HearthCam's when the callback or task that held
the loop is HearthCam code or was scheduled by it (debug mode records where each was created).

The report: the longest stall attributable to HearthCam (target: under 50 ms), the longest of
all (Home Assistant's own included), how many of each, and the clips saved.
"""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
import logging
from pathlib import Path
import tempfile
import time

from homeassistant import loader
from homeassistant.components import media_source
from homeassistant.core import Event, HomeAssistant
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_test_home_assistant,
)

from benchmarks.common import CACHE, footage, suite_main
from custom_components.hearthcam.const import (
    CONF_OFF_DELAY,
    CONF_POST_ROLL,
    CONF_PRE_ROLL,
    CONF_SENSITIVITY,
    CONF_STREAM_URL,
    DOMAIN,
    EVENT_CLIP_SAVED,
)
from devkit.footage import MovingObject, Scene
from devkit.http_server import HttpStreamServer

CAMERAS = 4
SLOW_CALLBACK_S = 0.01
TARGET_MS = 50.0
BROWSE_EVERY_S = 1.0
OPTIONS = {CONF_PRE_ROLL: 1.0, CONF_POST_ROLL: 1.0, CONF_OFF_DELAY: 1.0, CONF_SENSITIVITY: 7}


@dataclass(frozen=True)
class Config:
    """How long the cameras record, and what they film."""

    seconds: float
    width: int
    height: int


FULL = Config(seconds=60.0, width=1280, height=720)
QUICK = Config(seconds=15.0, width=640, height=360)


def _scene(config: Config, seed: int) -> Scene:
    """Return a yard someone crosses twice in 20 s (each camera its own noise and timing)."""
    walks = (2.0 + seed % 3, 11.0 + seed % 3)
    return Scene(
        width=config.width,
        height=config.height,
        fps=15,
        duration_s=20.0,
        seed=seed,
        keyframe_interval_s=2.0,
        objects=tuple(
            MovingObject(start, start + 5.0, (0.1, 0.6), (0.9, 0.5), size=(0.08, 0.25))
            for start in walks
        ),
    )


@dataclass(frozen=True, slots=True)
class Stall:
    """One callback or task step that held the loop for at least SLOW_CALLBACK_S."""

    seconds: float
    what: str

    @property
    def ours(self) -> bool:
        """Whether HearthCam's code ran, or scheduled what ran (debug mode names both)."""
        return "hearthcam" in self.what.lower()


class _StallLog(logging.Handler):
    """Collects asyncio's "Executing <handle> took <seconds> seconds" warnings."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.stalls: list[Stall] = []
        self.recording = False

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        if (
            self.recording
            and str(record.msg).startswith("Executing")
            and isinstance(args, tuple)
            and len(args) == 2
            and isinstance(args[1], float)
        ):
            self.stalls.append(Stall(args[1], str(args[0])))


@contextmanager
def _stall_log() -> Iterator[_StallLog]:
    """Listen to asyncio's slow-callback warnings while the block runs."""
    handler = _StallLog()
    asyncio_logger = logging.getLogger("asyncio")
    asyncio_logger.addHandler(handler)
    try:
        yield handler
    finally:
        asyncio_logger.removeHandler(handler)


async def _async_measure(config: Config, urls: list[str], media: Path) -> dict[str, object]:
    """Set up the cameras in a fresh Home Assistant, then record and watch the loop."""
    loop = asyncio.get_running_loop()
    loop.set_debug(True)
    loop.slow_callback_duration = SLOW_CALLBACK_S
    with _stall_log() as log:
        async with async_test_home_assistant(config_dir=str(media.parent)) as hass:
            hass.data.pop(loader.DATA_CUSTOM_COMPONENTS)  # let HA load custom_components/
            hass.config.media_dirs = {"local": str(media)}
            clips: list[Event] = []
            hass.bus.async_listen(EVENT_CLIP_SAVED, clips.append)
            await _async_add_cameras(hass, urls)
            log.recording = True
            # A deliberate stall first: it must be seen, or the figures below mean nothing.
            loop.call_soon(_probe_stall)
            await asyncio.sleep(0)
            started = time.monotonic()
            browses = 0
            while time.monotonic() - started < config.seconds:
                await media_source.async_browse_media(hass, f"media-source://{DOMAIN}")
                browses += 1
                await asyncio.sleep(BROWSE_EVERY_S)
            log.recording = False
            await hass.async_stop()
    probes = [s for s in log.stalls if _probe_stall.__name__ in s.what]
    if not probes:
        msg = "asyncio did not report the probe's stall: slow-callback logging is not working"
        raise RuntimeError(msg)
    stalls = [s for s in log.stalls if s not in probes]
    ours = [s for s in stalls if s.ours]
    worst_ours = max(ours, key=lambda s: s.seconds, default=None)
    worst = max(stalls, key=lambda s: s.seconds, default=None)
    longest_ours_ms = round(worst_ours.seconds * 1000, 1) if worst_ours else 0.0
    return {
        "cameras": len(urls),
        "input": f"{config.width}x{config.height}@15",
        "seconds": config.seconds,
        "clips_saved": len(clips),
        "browses": browses,
        "slow_callback_ms": SLOW_CALLBACK_S * 1000,
        "stalls_hearthcam": len(ours),
        "longest_stall_hearthcam_ms": longest_ours_ms,
        "longest_stall_hearthcam": worst_ours.what[:300] if worst_ours else None,
        "stalls_all": len(stalls),
        "longest_stall_all_ms": round(worst.seconds * 1000, 1) if worst else 0.0,
        "longest_stall_all": worst.what[:300] if worst else None,
        "targets": {"longest_stall_hearthcam_ms": TARGET_MS},
        "meets_targets": {"longest_stall_hearthcam_ms": longest_ours_ms < TARGET_MS},
    }


def _probe_stall() -> None:
    """Hold the loop for three times the threshold (blocking on purpose)."""
    time.sleep(3 * SLOW_CALLBACK_S)


async def _async_add_cameras(hass: HomeAssistant, urls: list[str]) -> None:
    """Add and set up one camera entry per stream URL."""
    for number, url in enumerate(urls, start=1):
        entry = MockConfigEntry(
            domain=DOMAIN, title=f"Camera {number}", data={CONF_STREAM_URL: url}, options=OPTIONS
        )
        entry.add_to_hass(hass)
        if not await hass.config_entries.async_setup(entry.entry_id):
            msg = f"camera {number} did not set up"
            raise RuntimeError(msg)
    await hass.async_block_till_done()


def run(config: Config) -> dict[str, object]:
    """Serve the footage, run Home Assistant with four cameras, and report the stalls."""
    paths = [footage(_scene(config, seed), ".ts") for seed in range(1, CAMERAS + 1)]
    with (
        HttpStreamServer(CACHE) as server,
        tempfile.TemporaryDirectory(prefix="hearthcam-loop-") as root,
    ):
        urls = [server.url(f"ts/{path.name}") for path in paths]
        media = Path(root) / "media"
        media.mkdir()
        return asyncio.run(_async_measure(config, urls, media))


def _table(figures: dict[str, object]) -> str:
    """Format the figures for people."""
    over = f"over {figures['slow_callback_ms']:g} ms"
    return "\n".join(
        [
            (
                f"Event loop under {figures['cameras']} recording cameras ({figures['input']}, "
                f"{figures['seconds']} s, {figures['clips_saved']} clips saved, "
                f"{figures['browses']} library browses)"
            ),
            (
                f"  HearthCam: longest stall {figures['longest_stall_hearthcam_ms']} ms "
                f"(target < {TARGET_MS:g} ms), {figures['stalls_hearthcam']} {over}"
            ),
            f"    {figures['longest_stall_hearthcam']}",
            (
                f"  Everything: longest stall {figures['longest_stall_all_ms']} ms, "
                f"{figures['stalls_all']} {over}"
            ),
            f"    {figures['longest_stall_all']}",
        ]
    )


def main(argv: list[str]) -> int:
    """Run the loop-stall benchmark and print a table, or one JSON object with --json."""
    return suite_main(argv, "loop_stall", run, _table, (FULL, QUICK))
