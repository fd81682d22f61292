"""Config entries saved by older versions, brought up to date before they load."""

import logging

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback

from .config_flow import HearthCamConfigFlow
from .const import CONF_STREAM_URL, DOMAIN
from .engine.errors import InvalidStreamURLError
from .engine.urls import stream_identity

_LOGGER = logging.getLogger(__name__)


@callback
def async_migrate(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Migrate entry in place; False for an entry of a newer version than this one."""
    if entry.version > HearthCamConfigFlow.VERSION:
        return False
    if entry.minor_version < 2:
        hass.config_entries.async_update_entry(
            entry, unique_id=secret_free_unique_id(hass, entry), minor_version=2
        )
        _LOGGER.debug("Camera %s: unique id rebuilt without secrets", entry.title)
    return True


@callback
def secret_free_unique_id(hass: HomeAssistant, entry: ConfigEntry) -> str | None:
    """Return the unique id for entry: its stream's identity, which holds no secret.

    Older versions left fewer kinds of credentials out of the identity, so two entries of the
    same camera may meet under the same identity now: the later one is told apart by its
    entry id. A stored URL that no longer parses gets no unique id until it is reconfigured.
    """
    try:
        identity = stream_identity(str(entry.data.get(CONF_STREAM_URL, "")))
    except InvalidStreamURLError:
        return None
    other = hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, identity)
    if other is not None and other.entry_id != entry.entry_id:
        return f"{identity}#{entry.entry_id}"
    return identity
