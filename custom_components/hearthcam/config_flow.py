"""Config flow: add a camera by its stream URLs."""

from typing import Any

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_NAME
from homeassistant.helpers.selector import TextSelector, TextSelectorConfig, TextSelectorType
import probatio

from .const import CONF_DETECT_STREAM_URL, CONF_STREAM_URL, DOMAIN
from .engine.urls import InvalidStreamURLError, parse_stream_url, stream_identity

_URL_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))


def _user_schema(defaults: dict[str, Any]) -> probatio.Schema:
    return probatio.Schema(
        {
            probatio.Required(CONF_NAME, default=defaults.get(CONF_NAME, "")): str,
            probatio.Required(
                CONF_STREAM_URL, default=defaults.get(CONF_STREAM_URL, "")
            ): _URL_SELECTOR,
            probatio.Optional(
                CONF_DETECT_STREAM_URL,
                description={"suggested_value": defaults.get(CONF_DETECT_STREAM_URL)},
            ): _URL_SELECTOR,
        }
    )


def _validate_urls(user_input: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """Return the cleaned URLs and the per-field errors."""
    cleaned: dict[str, str] = {}
    errors: dict[str, str] = {}
    for key in (CONF_STREAM_URL, CONF_DETECT_STREAM_URL):
        value = str(user_input.get(key) or "").strip()
        if not value:
            continue
        try:
            cleaned[key] = parse_stream_url(value)
        except InvalidStreamURLError:
            errors[key] = "invalid_url"
    if CONF_STREAM_URL not in cleaned and CONF_STREAM_URL not in errors:
        errors[CONF_STREAM_URL] = "invalid_url"
    return cleaned, errors


class HearthCamConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add one camera per config entry."""

    VERSION = 1
    MINOR_VERSION = 1

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the camera's name and stream URLs."""
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
                return self.async_create_entry(title=name, data=urls)
        return self.async_show_form(
            step_id="user",
            data_schema=_user_schema(user_input or {}),
            errors=errors,
        )
