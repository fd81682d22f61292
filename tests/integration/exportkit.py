"""Helpers for export tests: a camera that allows exports, its clips, and calls of the actions."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from homeassistant.core import Context, HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser

from custom_components.hearthcam.clip_location import EXPORTS_SUBFOLDER, PRIVATE_FOLDER
from custom_components.hearthcam.const import (
    CONF_ALLOW_EXPORTS,
    CONF_EXPORT_EXPIRY_HOURS,
    CONF_PRIVACY_MASKS,
    DOMAIN,
)
from custom_components.hearthcam.engine.clip_info import ClipInfo
from custom_components.hearthcam.engine.clips import ClipStore

from .camkit import QUICK_OPTIONS, setup_camera, use_media_dir
from .librarykit import add_clip

# The camera's credentials and address: none of them may appear in anything an export writes.
PASSWORD = "Hunter2-Export"  # noqa: S105 - the test camera's, searched for
HOST = "127.0.0.1"
SECRET_URL = f"rtsp://viewer:{PASSWORD}@{HOST}:9/front-door-stream"
LEFT_HALF = "0,0 0.5,0 0.5,1 0,1"
# Where bundles go, relative to the config folder.
EXPORT_FOLDER = Path(*PRIVATE_FOLDER, EXPORTS_SUBFOLDER)
EXPORT_OPTIONS: dict[str, Any] = {
    **QUICK_OPTIONS,
    CONF_ALLOW_EXPORTS: True,
    CONF_EXPORT_EXPIRY_HOURS: 2.0,
    CONF_PRIVACY_MASKS: LEFT_HALF,
}


def use_config_dir(hass: HomeAssistant, directory: Path) -> Path:
    """Give hass a config folder of the test's own; return its export folder."""
    directory.mkdir(parents=True, exist_ok=True)
    hass.config.config_dir = str(directory)
    return directory / EXPORT_FOLDER


async def camera_with_clip(
    hass: HomeAssistant,
    tmp_path: Path,
    source: Path,
    options: dict[str, Any] | None = None,
) -> tuple[MockConfigEntry, ClipStore, ClipInfo]:
    """A camera (its stream unreachable) that allows exports, with one clip."""
    use_config_dir(hass, tmp_path / "config")
    use_media_dir(hass, tmp_path / "media")
    entry = await setup_camera(hass, SECRET_URL, options=options or EXPORT_OPTIONS)
    coordinator = entry.runtime_data.coordinator
    # Recorded a minute ago: retention (which runs as cameras are set up) keeps it.
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    info = await add_clip(hass, coordinator.store, coordinator.camera_key, start, source)
    return entry, coordinator.store, info


def export_data(clip_id: str, **extra: Any) -> dict[str, Any]:
    """A complete export_clip call, consent given."""
    return {"clip_id": clip_id, "consent": True, "reason": "false alarms at night"} | extra


async def call(
    hass: HomeAssistant,
    service: str,
    data: dict[str, Any],
    user: MockUser | None = None,
    *,
    response: bool = True,
) -> Any:
    """Call a HearthCam action as user (or with no user), returning its response."""
    context = Context(user_id=user.id) if user is not None else Context()
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, context=context, return_response=response
    )
