"""Helpers for tests that drive a camera's options flow."""

from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType


async def open_settings(hass: HomeAssistant, entry: ConfigEntry) -> ConfigFlowResult:
    """Open the options flow and choose the settings from its menu."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    return await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "settings"}
    )


def form_defaults(schema: Any) -> dict[str, dict[str, Any]]:
    """The values the options form shows, by section."""
    return {
        str(name): {str(key): key.default() for key in section.schema.schema}
        for name, section in schema.schema.items()
    }
