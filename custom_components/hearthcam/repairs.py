"""Repair flows: a tuner suggestion is applied or declined by a person, and only then."""

from datetime import timedelta
from typing import Any, Final

from aiohttp import web
from homeassistant.components.http.auth import async_sign_path
from homeassistant.components.repairs import RepairsFlow, RepairsFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.helpers.http import HomeAssistantView
from homeassistant.helpers.selector import (
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
import probatio

from .const import CONF_IGNORE_ZONES, CONF_SENSITIVITY
from .engine.regions import format_polygons
from .library import async_texts
from .options import CameraOptions, InvalidOptionsError
from .tuning import DATA_TUNER, Proposal

CONF_CHOICE: Final = "choice"
CHOICES: Final = ["apply", "decline"]
CHOICE_SELECTOR: Final = "tuner_choice"  # its options' texts in strings.json
PICTURE_URL: Final = "/api/hearthcam/tuner/{entry_id}.jpg"
PICTURE_LINK_LIFETIME: Final = timedelta(hours=1)


class TunerPictureView(HomeAssistantView):
    """Serve the picture of a camera's open suggestion to authenticated users."""

    url = PICTURE_URL
    name = "api:hearthcam:tuner_picture"

    def __init__(self, hass: HomeAssistant) -> None:
        """Serve from this instance's tuner."""
        self.hass = hass

    async def get(self, request: web.Request, entry_id: str) -> web.Response:
        """Return the JPEG, or 404 when there is no open suggestion with a picture."""
        tuner = self.hass.data.get(DATA_TUNER)
        proposal = None if tuner is None else tuner.proposals.get(entry_id)
        if proposal is None or proposal.picture is None:
            raise web.HTTPNotFound
        return web.Response(
            body=proposal.picture,
            content_type="image/jpeg",
            headers={"Cache-Control": "no-store"},
        )


def suggested_options(options: dict[str, Any], proposal: Proposal) -> dict[str, Any]:
    """Return the camera's options with the suggestion applied; raises InvalidOptionsError."""
    suggestion = proposal.suggestion
    changed = dict(options)
    if (polygon := suggestion.ignore_polygon) is not None:
        existing = str(changed.get(CONF_IGNORE_ZONES) or "").strip()
        added = format_polygons((polygon,))
        changed[CONF_IGNORE_ZONES] = f"{existing}\n{added}" if existing else added
    if suggestion.sensitivity != suggestion.current_sensitivity:
        changed[CONF_SENSITIVITY] = suggestion.sensitivity
    CameraOptions.from_mapping(changed)
    return changed


class TunerSuggestionFlow(RepairsFlow):
    """Show what the tuner found and its picture; apply the change or decline it."""

    def __init__(self, entry_id: str) -> None:
        """Handle the suggestion of this camera."""
        self.entry_id = entry_id

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> RepairsFlowResult:
        """Go straight to the choice."""
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """Apply or decline; the camera reloads with its new options when applied."""
        tuner = self.hass.data[DATA_TUNER]
        proposal = tuner.proposals.get(self.entry_id)
        entry = self.hass.config_entries.async_get_entry(self.entry_id)
        if proposal is None or entry is None:
            return self.async_abort(reason="suggestion_gone")
        suggestion = proposal.suggestion
        if user_input is not None:
            if user_input[CONF_CHOICE] == "apply":
                try:
                    options = suggested_options(dict(entry.options), proposal)
                except InvalidOptionsError as err:
                    return self.async_abort(
                        reason="cannot_apply", description_placeholders={"error": err.detail}
                    )
                self.hass.config_entries.async_update_entry(entry, options=options)
                await tuner.log.async_add(proposal.camera_key, "applied", suggestion)
                tuner.proposals.pop(self.entry_id, None)
                self.hass.config_entries.async_schedule_reload(entry.entry_id)
            else:
                await tuner.log.async_decline(proposal.camera_key, suggestion)
                await tuner.log.async_add(proposal.camera_key, "declined", suggestion)
                tuner.proposals.pop(self.entry_id, None)
            return self.async_create_entry(data={})
        texts = await async_texts(self.hass)
        picture = ""
        if proposal.picture is not None:
            url = async_sign_path(
                self.hass, PICTURE_URL.format(entry_id=self.entry_id), PICTURE_LINK_LIFETIME
            )
            picture = f"![]({url})"
        return self.async_show_form(
            step_id="confirm",
            data_schema=probatio.Schema(
                {
                    probatio.Required(CONF_CHOICE, default="apply"): SelectSelector(
                        SelectSelectorConfig(
                            options=CHOICES,
                            mode=SelectSelectorMode.LIST,
                            translation_key=CHOICE_SELECTOR,
                        )
                    )
                }
            ),
            description_placeholders={
                "camera": entry.title,
                "flagged": str(suggestion.flagged),
                "from_area": str(suggestion.from_area),
                "area": texts.format(f"area_{suggestion.area}") if suggestion.area else "",
                "avoided": str(suggestion.avoided),
                "others": str(suggestion.others),
                "sensitivity": str(suggestion.sensitivity),
                "current_sensitivity": str(suggestion.current_sensitivity),
                "picture": picture,
            },
        )


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """Create the flow of a tuner suggestion (the only fixable issue HearthCam raises)."""
    entry_id = str((data or {}).get("entry_id", ""))
    return TunerSuggestionFlow(entry_id)
