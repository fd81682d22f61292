"""Telling the household about an export: a persistent notification and the bus event.

The notification is one that every user of this Home Assistant sees; the event
(`hearthcam_clip_exported`) is what automations and the logbook (../logbook.py) read. Neither
holds anything but the camera's name, the clip's id, who exported it, why and until when.
The notification is in English, as logbook entries are: the translations' `common` strings
belong to the clip library's titles.
"""

from datetime import datetime
from typing import Final

from homeassistant.components import persistent_notification
from homeassistant.core import Context, HomeAssistant, callback
from homeassistant.util import dt as dt_util

from ..const import DOMAIN, EVENT_CLIP_EXPORTED
from .audit import ExportEntry

NOTIFICATION_TITLE: Final = "Clip exported from {camera}"
NOTIFICATION_MESSAGE: Final = (
    "A clip from {camera} was exported by {user} for: {reason}. It expires {expires}. "
    "Administrators can list exports with the hearthcam.list_exports action and delete one "
    "sooner with hearthcam.delete_export."
)


def notification_id(export_id: str) -> str:
    """Return the id of the persistent notification about an export."""
    return f"{DOMAIN}_export_{export_id}"


@callback
def async_announce_export(
    hass: HomeAssistant, entry: ExportEntry, context: Context | None = None
) -> None:
    """Fire hearthcam_clip_exported and post the notification everyone sees."""
    hass.bus.async_fire(
        EVENT_CLIP_EXPORTED,
        {
            "export_id": entry["export_id"],
            "clip_id": entry["clip_id"],
            "user_id": entry["user_id"],
            "reason": entry["reason"],
            "camera": entry["camera"],
            "expires_at": entry["expires_at"],
        },
        context=context,
    )
    expires = dt_util.as_local(datetime.fromisoformat(entry["expires_at"]))
    values = {
        "camera": entry["camera"],
        "user": entry["user_name"],
        # One line, so the reason cannot pass for more of the notification's own text.
        "reason": " ".join(entry["reason"].split()),
        "expires": f"{expires:%Y-%m-%d %H:%M}",
    }
    persistent_notification.async_create(
        hass,
        NOTIFICATION_MESSAGE.format(**values),
        title=NOTIFICATION_TITLE.format(**values),
        notification_id=notification_id(entry["export_id"]),
    )
