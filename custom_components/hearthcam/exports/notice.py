"""Telling the household about an export: a persistent notification and the bus event.

The notification is one that every user of this Home Assistant sees, in Home Assistant's
language (the `export_notice_*` strings of the translations' `common` section, English where a
language lacks one); the event (`hearthcam_clip_exported`) is what automations and the logbook
(../logbook.py) read. Neither holds anything but the camera's name, the clip's id, who exported
it, why, until when, and what the bundle holds: sound or not, masks applied or not, trimmed or not.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from homeassistant.components import persistent_notification
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util import dt as dt_util

from ..const import DOMAIN, EVENT_CLIP_EXPORTED
from ..engine.bundle import Bundle, Redaction
from .audit import ExportEntry

_PREFIX: Final = f"component.{DOMAIN}.common.export_notice_"
# English texts, used when the translations lack a key (keys of "common" without the prefix).
DEFAULT_TEXTS: Final[Mapping[str, str]] = {
    "title": "Clip exported from {camera}",
    "message": (
        "A clip from {camera} was exported by {user} for: {reason}. It expires {expires}. "
        "{audio} {masks} {trim} Administrators can list exports with the "
        "hearthcam.list_exports action and delete one sooner with hearthcam.delete_export."
    ),
    "audio_included": "The sound is included.",
    "audio_removed": "The sound was removed.",
    "no_audio": "The clip has no sound.",
    "masks_applied": "The areas under the camera's privacy masks are blacked out.",
    "masks_skipped": "The camera's privacy masks were not applied: the areas under them show.",
    "no_masks": "The camera has no privacy masks.",
    "trimmed": "Only the part from {start} s to {end} s of the clip was exported.",
    "whole": "The whole clip was exported.",
}


@dataclass(frozen=True, slots=True)
class ExportContents:
    """What an export's bundle holds, as the notice tells it."""

    audio_included: bool
    audio_removed: bool
    masks_applied: bool
    masks_configured: int
    trim: tuple[float, float] | None  # (start, end) in seconds of the clip, if trimmed

    @classmethod
    def of(cls, bundle: Bundle, masks_configured: int) -> ExportContents:
        """Read what a finished bundle holds."""
        video = bundle.video
        trimmed = Redaction.TRIMMED in bundle.redactions
        return cls(
            audio_included=video.audio_codec is not None,
            audio_removed=video.audio_removed,
            masks_applied=Redaction.PRIVACY_MASKS in bundle.redactions,
            masks_configured=masks_configured,
            trim=(video.start_s, video.start_s + video.duration_s) if trimmed else None,
        )


def notification_id(export_id: str) -> str:
    """Return the id of the persistent notification about an export."""
    return f"{DOMAIN}_export_{export_id}"


async def async_announce_export(
    hass: HomeAssistant,
    entry: ExportEntry,
    contents: ExportContents,
    context: Context | None = None,
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
    translations = await async_get_translations(hass, hass.config.language, "common", [DOMAIN])
    texts = {
        key[len(_PREFIX) :]: text for key, text in translations.items() if key.startswith(_PREFIX)
    }
    title, message = notice_texts(entry, contents, texts)
    persistent_notification.async_create(
        hass, message, title=title, notification_id=notification_id(entry["export_id"])
    )


def notice_texts(
    entry: ExportEntry, contents: ExportContents, texts: Mapping[str, str]
) -> tuple[str, str]:
    """Return the notification's title and message, in the language of texts."""
    expires = dt_util.as_local(datetime.fromisoformat(entry["expires_at"]))

    def text(key: str, **values: object) -> str:
        """Fill the template of key; a missing or broken translation falls back to English."""
        try:
            return texts.get(key, DEFAULT_TEXTS[key]).format(**values)
        except KeyError, IndexError, ValueError:
            return DEFAULT_TEXTS[key].format(**values)

    if contents.audio_included:
        audio = text("audio_included")
    else:
        audio = text("audio_removed" if contents.audio_removed else "no_audio")
    if contents.masks_applied:
        masks = text("masks_applied")
    else:
        masks = text("masks_skipped" if contents.masks_configured else "no_masks")
    if contents.trim is None:
        trim = text("whole")
    else:
        trim = text("trimmed", start=f"{contents.trim[0]:.1f}", end=f"{contents.trim[1]:.1f}")
    values = {
        "camera": entry["camera"],
        "user": entry["user_name"],
        # One line, so the reason cannot pass for more of the notification's own text.
        "reason": " ".join(entry["reason"].split()),
        "expires": f"{expires:%Y-%m-%d %H:%M}",
    }
    return text("title", **values), text("message", **values, audio=audio, masks=masks, trim=trim)
