"""Logbook entries for exports: the household's history shows each one, next to everything else."""

from collections.abc import Callable
from typing import Any

from homeassistant.components.logbook.const import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.core import Event, HomeAssistant, callback

from .const import DOMAIN, EVENT_CLIP_EXPORTED


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, Any]]], None],
) -> None:
    """Describe hearthcam_clip_exported for the logbook."""

    @callback
    def async_describe_export(event: Event) -> dict[str, Any]:
        """Say which camera's clip was exported and why (the logbook adds who, from the context)."""
        data = event.data
        camera = data.get("camera") or "a camera"
        reason = " ".join(str(data.get("reason", "")).split())
        return {
            LOGBOOK_ENTRY_NAME: "HearthCam",
            LOGBOOK_ENTRY_MESSAGE: (
                f"exported a clip from {camera} for: {reason} (export {data.get('export_id')})"
            ),
        }

    async_describe_event(DOMAIN, EVENT_CLIP_EXPORTED, async_describe_export)
