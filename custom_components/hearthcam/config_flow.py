"""Config flow: add a camera by its stream URLs once they open; change them; options."""

import asyncio
from collections.abc import Mapping
import logging
import threading
from typing import Any

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_NAME, UnitOfInformation, UnitOfTime
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import probatio

from .const import (
    CONF_ALLOW_EXPORTS,
    CONF_ANALYSIS_FPS,
    CONF_DETECT_STREAM_URL,
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
    CONF_STREAM_URL,
    DEFAULT_OPTIONS,
    DOMAIN,
)
from .engine.errors import (
    InvalidStreamURLError,
    StopRequestedError,
    StreamError,
    StreamErrorKind,
)
from .engine.probe import probe
from .engine.source import SourceOptions
from .engine.urls import ambiguous_userinfo, parse_stream_url, redact_url, stream_identity
from .exports.flow import SUBENTRY_TYPE_EXPORT, ExportClipFlow
from .feedback_flow import ClipFeedbackSteps
from .options import CameraOptions, InvalidOptionsError

_LOGGER = logging.getLogger(__name__)

# How long the engine may take to open one stream and decode a frame (its own timeout), and how
# long the flow waits for it at most, whatever happens inside FFmpeg. Tests shorten both.
PROBE_TIMEOUT_S = 10.0
PROBE_DEADLINE_S = 15.0

# Why a stream did not open -> the form error shown on its field.
PROBE_ERRORS: dict[StreamErrorKind, str] = {
    StreamErrorKind.UNAUTHORIZED: "invalid_auth",
    StreamErrorKind.NOT_FOUND: "cannot_connect",
    StreamErrorKind.CONNECTION: "cannot_connect",
    StreamErrorKind.INVALID_DATA: "cannot_connect",
    StreamErrorKind.ENDED: "cannot_connect",
    StreamErrorKind.STALLED: "cannot_connect",
    StreamErrorKind.TIMEOUT: "timeout",
    StreamErrorKind.NO_VIDEO: "no_video",
    StreamErrorKind.UNSUPPORTED_CODEC: "unsupported_codec",
}

_URL_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))
_URL_KEYS = (CONF_STREAM_URL, CONF_DETECT_STREAM_URL)
_DEFAULT_TRANSPORT = str(DEFAULT_OPTIONS[CONF_RTSP_TRANSPORT])


def _url_fields(defaults: Mapping[str, Any]) -> dict[probatio.Marker, Any]:
    return {
        probatio.Required(
            CONF_STREAM_URL, default=defaults.get(CONF_STREAM_URL, "")
        ): _URL_SELECTOR,
        probatio.Optional(
            CONF_DETECT_STREAM_URL,
            description={"suggested_value": defaults.get(CONF_DETECT_STREAM_URL)},
        ): _URL_SELECTOR,
    }


def _user_schema(defaults: Mapping[str, Any]) -> probatio.Schema:
    name = probatio.Required(CONF_NAME, default=defaults.get(CONF_NAME, ""))
    return probatio.Schema({name: str, **_url_fields(defaults)})


def _validate_urls(user_input: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """Return the cleaned URLs and the per-field errors."""
    cleaned: dict[str, str] = {}
    errors: dict[str, str] = {}
    for key in _URL_KEYS:
        value = str(user_input.get(key) or "").strip()
        if not value:
            continue
        # Where the password ends decides what is secret: a URL read two ways is refused.
        if ambiguous_userinfo(value):
            errors[key] = "ambiguous_url"
            continue
        try:
            cleaned[key] = parse_stream_url(value)
        except InvalidStreamURLError:
            errors[key] = "invalid_url"
    if CONF_STREAM_URL not in cleaned and CONF_STREAM_URL not in errors:
        errors[CONF_STREAM_URL] = "invalid_url"
    return cleaned, errors


async def _async_probe_one(hass: HomeAssistant, url: str, transport: str) -> str | None:
    """Open url and decode a frame in the executor; None if it worked, else the form error."""
    options = SourceOptions(
        open_timeout_s=PROBE_TIMEOUT_S,
        stall_timeout_s=PROBE_TIMEOUT_S,
        rtsp_transport="udp" if transport == "udp" else "tcp",
    )
    stop = threading.Event()
    try:
        async with asyncio.timeout(PROBE_DEADLINE_S):
            await hass.async_add_executor_job(probe, url, options, stop)
    except StreamError as err:
        _LOGGER.debug("Cannot use %s: %s", redact_url(url), err)
        return PROBE_ERRORS[err.kind]
    except TimeoutError, StopRequestedError:
        _LOGGER.debug("No usable video from %s within %s s", redact_url(url), PROBE_DEADLINE_S)
        return "timeout"
    finally:
        stop.set()  # Ends a probe still running after the deadline.
    return None


async def _async_probe(
    hass: HomeAssistant, urls: Mapping[str, str], transport: str
) -> dict[str, str]:
    """Probe every URL at once; return the errors by field."""
    keys = [key for key in _URL_KEYS if key in urls]
    results = await asyncio.gather(*(_async_probe_one(hass, urls[key], transport) for key in keys))
    return {key: error for key, error in zip(keys, results, strict=True) if error is not None}


class HearthCamConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add one camera per config entry."""

    VERSION = 1
    MINOR_VERSION = 2  # 1.2: the unique id holds no secret

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> HearthCamOptionsFlow:
        """Create the flow for one camera's detection, recording and privacy settings."""
        return HearthCamOptionsFlow()

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls,
        config_entry: ConfigEntry,  # noqa: ARG003 - every camera offers the same
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Offer "Export a clip" on each camera: an administrator's export from the UI."""
        return {SUBENTRY_TYPE_EXPORT: ExportClipFlow}

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the camera's name and stream URLs; save them once the streams open."""
        errors: dict[str, str] = {}
        if user_input is not None:
            urls, errors = _validate_urls(user_input)
            name = str(user_input.get(CONF_NAME, "")).strip()
            if not name:
                errors[CONF_NAME] = "name_required"
            if not errors:
                # Credentials are left out of the identity, so changing a password or the
                # user does not let the same camera be added twice.
                await self.async_set_unique_id(stream_identity(urls[CONF_STREAM_URL]))
                self._abort_if_unique_id_configured()
                errors = await _async_probe(self.hass, urls, _DEFAULT_TRANSPORT)
                if not errors:
                    return self.async_create_entry(
                        title=name, data=urls, options=dict(DEFAULT_OPTIONS)
                    )
        return self.async_show_form(
            step_id="user",
            data_schema=_user_schema(user_input or {}),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the stream URLs (address, user name, password) of this camera."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            urls, errors = _validate_urls(user_input)
            if not errors:
                unique_id = stream_identity(urls[CONF_STREAM_URL])
                # Another host or path is fine, as long as it is not another camera's.
                other = self.hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, unique_id)
                if other is not None and other.entry_id != entry.entry_id:
                    return self.async_abort(reason="already_configured")
                transport = entry.options.get(CONF_RTSP_TRANSPORT, _DEFAULT_TRANSPORT)
                errors = await _async_probe(self.hass, urls, str(transport))
                if not errors:
                    return self.async_update_reload_and_abort(entry, unique_id=unique_id, data=urls)
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=probatio.Schema(_url_fields(user_input or entry.data)),
            errors=errors,
            description_placeholders={CONF_NAME: entry.title},
        )


# --- options ---------------------------------------------------------------------------------


def _number(
    low: float,
    high: float,
    unit: str | None = None,
    *,
    step: float = 1,
    slider: bool = True,
) -> NumberSelector:
    config = NumberSelectorConfig(
        min=low,
        max=high,
        step=step,
        mode=NumberSelectorMode.SLIDER if slider else NumberSelectorMode.BOX,
    )
    if unit is not None:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


# Section -> field -> selector. The form groups the options; entry.options stores them flat.
OPTION_SECTIONS: dict[str, dict[str, Any]] = {
    "detection": {
        CONF_SENSITIVITY: _number(1, 10),
        CONF_ANALYSIS_FPS: _number(1, 15, "fps"),
        CONF_OFF_DELAY: _number(1, 600, UnitOfTime.SECONDS, slider=False),
        CONF_MOTION_ZONES: TextSelector(TextSelectorConfig(multiline=True)),
        CONF_IGNORE_ZONES: TextSelector(TextSelectorConfig(multiline=True)),
        CONF_LOW_POWER: BooleanSelector(),
    },
    "recording": {
        CONF_PRE_ROLL: _number(0, 30, UnitOfTime.SECONDS),
        CONF_POST_ROLL: _number(0, 60, UnitOfTime.SECONDS),
        CONF_MAX_CLIP: _number(30, 3600, UnitOfTime.SECONDS, slider=False),
        CONF_RETAIN_DAYS: _number(1, 365, UnitOfTime.DAYS, slider=False),
        CONF_MAX_STORAGE_GB: _number(0, 100000, UnitOfInformation.GIGABYTES, slider=False),
        CONF_OUTLINE_MOTION: BooleanSelector(),
    },
    "connection": {
        CONF_RTSP_TRANSPORT: SelectSelector(
            SelectSelectorConfig(
                options=["tcp", "udp"],
                mode=SelectSelectorMode.LIST,
                translation_key=CONF_RTSP_TRANSPORT,
            )
        ),
    },
    "privacy": {
        CONF_ALLOW_EXPORTS: BooleanSelector(),
        CONF_EXPORT_EXPIRY_HOURS: _number(1, 168, UnitOfTime.HOURS, slider=False),
        CONF_PRIVACY_MASKS: TextSelector(TextSelectorConfig(multiline=True)),
        CONF_SHARE_RAW_STREAM: BooleanSelector(),
    },
}


def _options_schema(current: Mapping[str, Any]) -> probatio.Schema:
    return probatio.Schema(
        {
            probatio.Required(name): section(
                probatio.Schema(
                    {
                        probatio.Required(key, default=current[key]): selector
                        for key, selector in fields.items()
                    }
                )
            )
            for name, fields in OPTION_SECTIONS.items()
        }
    )


def _flatten(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """Turn the sectioned form input into flat options, each of its default's type.

    Number selectors give floats; sensitivity, a whole number by default, is stored as an int.
    """
    flat: dict[str, Any] = {}
    for name, fields in OPTION_SECTIONS.items():
        for key in fields:
            value = user_input[name][key]
            flat[key] = int(value) if type(DEFAULT_OPTIONS[key]) is int else value
    return flat


# Option at fault -> the form error shown; other options the form cannot get wrong.
OPTION_ERRORS: dict[str, str] = {
    CONF_MAX_CLIP: "clip_shorter_than_pre_roll",
    CONF_MOTION_ZONES: "invalid_motion_zones",
    CONF_IGNORE_ZONES: "invalid_ignore_zones",
    CONF_PRIVACY_MASKS: "invalid_privacy_masks",
}


class HearthCamOptionsFlow(ClipFeedbackSteps, OptionsFlowWithReload):
    """A menu: the grouped settings (saving reloads the camera), or marking recent clips."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Offer the settings or the camera's latest clips."""
        return self.async_show_menu(step_id="init", menu_options=["settings", "clips"])

    async def async_step_settings(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the settings with their current values; save them flat."""
        current = {**DEFAULT_OPTIONS, **self.config_entry.options}
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            options: dict[str, Any] = {**current, **_flatten(user_input)}
            try:
                CameraOptions.from_mapping(options)
            except InvalidOptionsError as err:
                errors = {"base": OPTION_ERRORS.get(err.key, "invalid_options")}
                placeholders = {"error": err.detail}
            else:
                # Keys this form does not show (added by later versions) are kept.
                return self.async_create_entry(data=options)
            current = options
        return self.async_show_form(
            step_id="settings",
            data_schema=_options_schema(current),
            errors=errors,
            description_placeholders=placeholders,
        )
