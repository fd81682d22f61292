"""Diagnostics: options, redacted stream URLs and the worker's state; never a credential."""

import dataclasses
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import DeviceEntry

from .data import HearthCamConfigEntry
from .engine.urls import redact_text, redact_url
from .identifiers import camera_key_for
from .tuning import DATA_TUNER


def _scrub(value: Any, urls: tuple[str, ...]) -> Any:  # noqa: ANN401 - any JSON value
    """Redact the camera's URLs and credentials in every string of a JSON-like value."""
    if isinstance(value, str):
        return redact_text(value, *urls)
    if isinstance(value, dict):
        return {key: _scrub(item, urls) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(item, urls) for item in value]
    return value


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant,
    entry: HearthCamConfigEntry,
) -> dict[str, Any]:
    """Return what helps to debug one camera."""
    settings = entry.runtime_data.settings
    coordinator = entry.runtime_data.coordinator
    urls = tuple(url for url in (settings.stream_url, settings.detect_stream_url) if url)
    diagnostics = {
        "entry": {
            "title": entry.title,
            "version": f"{entry.version}.{entry.minor_version}",
            "data": {key: redact_url(str(value)) for key, value in entry.data.items()},
        },
        "options": dataclasses.asdict(entry.runtime_data.options),
        "clip_store": str(coordinator.store.root),
        "runtime": coordinator.diagnostics(),
        # What the tuner proposed for this camera and what became of it (all local).
        "tuner": tuner.log.entries(camera_key_for(entry.entry_id))
        if (tuner := hass.data.get(DATA_TUNER))
        else [],
    }
    # Belt and braces: the engine's texts are already free of credentials.
    scrubbed: dict[str, Any] = _scrub(diagnostics, urls)
    return scrubbed


async def async_get_device_diagnostics(
    hass: HomeAssistant, entry: HearthCamConfigEntry, device: DeviceEntry
) -> dict[str, Any]:
    """Return the camera's diagnostics: a device is one camera."""
    return {
        "device": {"name": device.name, "model": device.model},
        **await async_get_config_entry_diagnostics(hass, entry),
    }
