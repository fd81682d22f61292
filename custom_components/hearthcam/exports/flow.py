"""Exporting a clip from Home Assistant's UI: the camera entry's "Export a clip" flow.

An administrator picks one of the camera's recent clips and what to leave out, sees what will
leave (camera, clip time and length, sound, masks, trim, expiry, who will be told), ticks the
consent box and gives a reason; the last step shows a single-use download link to that
administrator alone, in the flow's own answer (never in a notification). The export itself is
export_clip's, with every check it makes.

The flow never creates a subentry: it ends with an abort that says the export is done. Flows do
not carry their user, so each step reads it from the HTTP request that runs the step (Home
Assistant's flow views only let administrators in); a step run by anyone else, or by no request
at all (another integration starting the flow), is refused, and so is a step run by a different
administrator than the one who started the flow.
"""

from collections.abc import Callable
from datetime import timedelta
from typing import Any, Final

from homeassistant.auth.models import User
from homeassistant.components.http.const import KEY_HASS_USER
from homeassistant.config_entries import ConfigSubentryFlow, SubentryFlowResult
from homeassistant.const import UnitOfTime
from homeassistant.core import Context
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.http import current_request
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
)
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util import dt as dt_util
import probatio

from ..const import ATTR_CLIP_ID, DOMAIN
from ..data import DATA_CLIP_STORE, camera_options
from ..engine.clip_info import ClipInfo
from ..identifiers import camera_key_for
from ..options import CameraOptions, InvalidOptionsError
from .actions import (
    ATTR_APPLY_PRIVACY_MASKS,
    ATTR_CONSENT,
    ATTR_END_OFFSET,
    ATTR_INCLUDE_AUDIO,
    ATTR_REASON,
    ATTR_START_OFFSET,
    EXPORT_SCHEMA,
    MAX_REASON_LENGTH,
    async_export,
    redact_options,
)

SUBENTRY_TYPE_EXPORT: Final = "export"
# How many of the camera's newest clips the first step offers, and from how far back.
RECENT_CLIPS: Final = 30
RECENT_DAYS: Final = 14
# Export refusals the consent step shows as its own errors; any other as export_failed.
FORM_ERRORS: Final = frozenset(
    {"consent_required", "reason_required", "reason_too_long", "invalid_trim"}
)


class ExportClipFlow(ConfigSubentryFlow):
    """Export one clip of this camera for the administrator running the flow."""

    def __init__(self) -> None:
        self._user_id: str | None = None
        self._choice: dict[str, Any] = {}
        self._clip: ClipInfo | None = None

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Choose a recent clip and what to leave out."""
        if (refusal := await self._async_refusal()) is not None:
            return refusal
        entry = self._get_entry()
        try:
            options = camera_options(entry)
        except InvalidOptionsError:
            return self.async_abort(reason="invalid_options")
        if not options.allow_exports:
            return self.async_abort(reason="exports_not_allowed")
        clips = await self._async_recent_clips(camera_key_for(entry.entry_id))
        if not clips:
            return self.async_abort(reason="no_clips")
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            clip = next((c for c in clips if c.clip_id == user_input[ATTR_CLIP_ID]), None)
            if clip is None:
                errors[ATTR_CLIP_ID] = "clip_not_found"
            else:
                try:
                    redact_options(_export_data(user_input), options, clip)
                except HomeAssistantError:
                    errors["base"] = "invalid_trim"
                    placeholders = {"duration": f"{clip.duration_s:.1f}"}
                else:
                    self._choice, self._clip = dict(user_input), clip
                    return await self.async_step_confirm()
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                _choice_schema(clips), user_input or {}
            ),
            errors=errors,
            description_placeholders={"camera": entry.title, "duration": "", **placeholders},
        )

    async def async_step_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Show what will leave; export once consent is ticked and a reason given."""
        if (refusal := await self._async_refusal()) is not None:
            return refusal
        entry, clip = self._get_entry(), self._clip
        if clip is None:
            return self.async_abort(reason="no_clips")
        errors: dict[str, str] = {}
        try:
            options = camera_options(entry)
        except InvalidOptionsError:
            return self.async_abort(reason="invalid_options")
        placeholders = await self._async_summary(entry.title, clip, options)
        if user_input is not None:
            data = _export_data(self._choice) | {
                ATTR_CONSENT: user_input.get(ATTR_CONSENT) is True,
                ATTR_REASON: str(user_input.get(ATTR_REASON, "")),
            }
            # A context made now, for the administrator running this step: the consent is
            # theirs, given with this click.
            context = Context(user_id=self._user_id)
            try:
                result = await async_export(self.hass, context, EXPORT_SCHEMA(data))
            except HomeAssistantError as err:
                key = err.translation_key or ""
                errors["base"] = key if key in FORM_ERRORS else "export_failed"
                placeholders["error"] = str(err)
            else:
                return self.async_show_form(
                    step_id="done",
                    data_schema=probatio.Schema({}),
                    description_placeholders={
                        "download_url": result["download_url"],
                        "download_url_expires_at": _local_time(result["download_url_expires_at"]),
                        "export_id": result["export_id"],
                        "sha256": result["sha256"],
                        "expires_at": _local_time(result["expires_at"]),
                    },
                )
        return self.async_show_form(
            step_id="confirm",
            data_schema=self.add_suggested_values_to_schema(
                probatio.Schema(
                    {
                        probatio.Required(ATTR_CONSENT, default=False): BooleanSelector(),
                        probatio.Required(ATTR_REASON): TextSelector(
                            TextSelectorConfig(multiline=True)
                        ),
                    }
                ),
                user_input or {},
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_done(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Close the flow once the administrator has the link (it is not shown again)."""
        return self.async_abort(reason="export_finished")

    async def _async_refusal(self) -> SubentryFlowResult | None:
        """Abort unless an administrator (the one who started the flow) runs this step."""
        user = _request_user()
        if user is None or not user.is_admin or user.system_generated:
            return self.async_abort(reason="admin_required")
        if self._user_id is None:
            self._user_id = user.id
        elif user.id != self._user_id:
            return self.async_abort(reason="admin_required")
        return None

    async def _async_recent_clips(self, camera_key: str) -> list[ClipInfo]:
        """Return the camera's newest clips, newest first."""
        store = self.hass.data.get(DATA_CLIP_STORE)
        if store is None:
            return []
        now = dt_util.utcnow()
        return await self.hass.async_add_executor_job(
            store.clips_between,
            camera_key,
            now - timedelta(days=RECENT_DAYS),
            now + timedelta(minutes=1),
            0,
            RECENT_CLIPS,
        )

    async def _async_summary(
        self, camera: str, clip: ClipInfo, options: CameraOptions
    ) -> dict[str, str]:
        """Describe what will leave, in the administrator's language, for the consent step."""
        texts = await self._async_texts()
        start = self._choice.get(ATTR_START_OFFSET)
        end = self._choice.get(ATTR_END_OFFSET)
        masks = len(options.privacy_masks)
        if not masks:
            mask_text = texts("masks_none")
        elif self._choice.get(ATTR_APPLY_PRIVACY_MASKS, True):
            mask_text = texts("masks_applied").format(count=masks)
        else:
            mask_text = texts("masks_skipped").format(count=masks)
        if start is None and end is None:
            trim_text = texts("trim_none")
        else:
            trim_text = texts("trim").format(
                start=f"{float(start or 0):.1f}",
                end=f"{clip.duration_s if end is None else float(end):.1f}",
            )
        expires = dt_util.now() + options.export_lifetime
        return {
            "camera": camera,
            "clip_time": dt_util.as_local(clip.start).strftime("%Y-%m-%d %H:%M:%S"),
            "length": f"{clip.duration_s:.1f}",
            "audio": texts("audio_on" if self._choice.get(ATTR_INCLUDE_AUDIO) else "audio_off"),
            "masks": mask_text,
            "trim": trim_text,
            "expires_at": expires.strftime("%Y-%m-%d %H:%M"),
            "expiry_hours": f"{options.export_expiry_hours:g}",
            "max_reason": str(MAX_REASON_LENGTH),
            "error": "",
        }

    async def _async_texts(self) -> Callable[[str], str]:
        """Return a lookup of the summary's words in Home Assistant's language.

        They are kept as the options of the `export_summary` selector translation, the one
        place of strings.json a flow can read words from besides its own steps.
        """
        prefix = f"component.{DOMAIN}.selector.export_summary.options."
        translations = await async_get_translations(
            self.hass, self.hass.config.language, "selector", [DOMAIN]
        )

        def text(key: str) -> str:
            return translations.get(prefix + key, key)

        return text


def _request_user() -> User | None:
    """Return the user of the HTTP request running the current flow step, if any."""
    request = current_request.get()
    user = None if request is None else request.get(KEY_HASS_USER)
    return user if isinstance(user, User) else None


def _choice_schema(clips: list[ClipInfo]) -> probatio.Schema:
    """Return the first step's form: a recent clip, sound, masks and an optional trim."""
    choices = [
        SelectOptionDict(
            value=clip.clip_id,
            label=f"{dt_util.as_local(clip.start).strftime('%Y-%m-%d %H:%M:%S')}"
            f" · {clip.duration_s:.1f} s",
        )
        for clip in clips
    ]
    seconds = NumberSelector(
        NumberSelectorConfig(
            min=0,
            max=3600,
            step=0.1,
            unit_of_measurement=UnitOfTime.SECONDS,
            mode=NumberSelectorMode.BOX,
        )
    )
    return probatio.Schema(
        {
            probatio.Required(ATTR_CLIP_ID, default=clips[0].clip_id): SelectSelector(
                SelectSelectorConfig(options=choices, mode=SelectSelectorMode.DROPDOWN)
            ),
            probatio.Required(ATTR_INCLUDE_AUDIO, default=False): BooleanSelector(),
            probatio.Required(ATTR_APPLY_PRIVACY_MASKS, default=True): BooleanSelector(),
            probatio.Optional(ATTR_START_OFFSET): seconds,
            probatio.Optional(ATTR_END_OFFSET): seconds,
        }
    )


def _export_data(choice: dict[str, Any]) -> dict[str, Any]:
    """Return the export_clip fields of the first step's choice."""
    data = {
        ATTR_CLIP_ID: choice[ATTR_CLIP_ID],
        ATTR_INCLUDE_AUDIO: bool(choice.get(ATTR_INCLUDE_AUDIO, False)),
        ATTR_APPLY_PRIVACY_MASKS: bool(choice.get(ATTR_APPLY_PRIVACY_MASKS, True)),
    }
    for key in (ATTR_START_OFFSET, ATTR_END_OFFSET):
        if choice.get(key) is not None:
            data[key] = float(choice[key])
    return data


def _local_time(iso: str) -> str:
    """Format an ISO 8601 time as local date and time, to the minute."""
    return dt_util.as_local(dt_util.parse_datetime(iso) or dt_util.utcnow()).strftime(
        "%Y-%m-%d %H:%M"
    )
