"""The options-flow step that marks a camera's latest clips as false alarms or correct."""

from typing import Any, Final

from homeassistant.config_entries import ConfigFlowResult, OptionsFlow
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.selector import (
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
from homeassistant.util import dt as dt_util
import probatio

from .data import DATA_CLIP_STORE
from .engine.clip_info import ClipInfo
from .identifiers import camera_key_for
from .library import Texts, async_texts, clip_title, latest_clips
from .services import ATTR_VERDICT, VERDICTS, async_mark_clip

# How many of the camera's newest clips the step lists.
LISTED_CLIPS: Final = 20
CONF_CLIP: Final = "clip"


def _label(texts: Texts, clip: ClipInfo) -> str:
    """Return the local date, then the clip's media browser title (time, length, where)."""
    return f"{dt_util.as_local(clip.start).date().isoformat()} {clip_title(texts, clip)}"


class ClipFeedbackSteps(OptionsFlow):
    """Mixin for the camera's options flow: pick one of the latest clips and say what it was."""

    async def async_step_clips(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """List the latest clips with a verdict to choose; store it with the chosen clip."""
        store = self.hass.data.get(DATA_CLIP_STORE)
        camera_key = camera_key_for(self.config_entry.entry_id)
        clips = (
            []
            if store is None
            else await self.hass.async_add_executor_job(
                latest_clips, store, camera_key, LISTED_CLIPS
            )
        )
        if store is None or not clips:
            return self.async_abort(reason="no_clips")
        texts = await async_texts(self.hass)
        errors: dict[str, str] = {}
        if user_input is not None:
            clip_id = user_input[CONF_CLIP]
            verdict = user_input[ATTR_VERDICT]
            if clip_id not in {clip.clip_id for clip in clips} or verdict not in VERDICTS:
                errors["base"] = "clip_not_found"
            else:
                try:
                    await async_mark_clip(self.hass, store, clip_id, VERDICTS[verdict])
                except ServiceValidationError:
                    errors["base"] = "clip_not_found"  # deleted since the form was shown
                except HomeAssistantError:
                    errors["base"] = "clip_not_marked"
                else:
                    marked = next(clip for clip in clips if clip.clip_id == clip_id)
                    return self.async_abort(
                        reason=f"clip_marked_{verdict}",
                        description_placeholders={"clip": _label(texts, marked)},
                    )
        options = [SelectOptionDict(value=c.clip_id, label=_label(texts, c)) for c in clips]
        schema = probatio.Schema(
            {
                probatio.Required(CONF_CLIP, default=clips[0].clip_id): SelectSelector(
                    SelectSelectorConfig(options=options, mode=SelectSelectorMode.DROPDOWN)
                ),
                probatio.Required(ATTR_VERDICT): SelectSelector(
                    SelectSelectorConfig(
                        options=list(VERDICTS),
                        mode=SelectSelectorMode.LIST,
                        translation_key=ATTR_VERDICT,
                    )
                ),
            }
        )
        return self.async_show_form(step_id="clips", data_schema=schema, errors=errors)
