"""The set_clip_location action: an administrator's install-wide choice of where clips live.

An action rather than a camera option: the place is one for the whole install (every camera
records into one store), and changing it moves every camera's clips, which happens safely only
before any camera starts, so it applies at the next start (a repair issue says so meanwhile).
"""

import logging
from typing import Final

from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.helpers.service import async_register_admin_service
import probatio

from .clip_location import ClipLocation, async_save_location
from .const import DOMAIN

_LOGGER = logging.getLogger(__name__)

SERVICE_SET_CLIP_LOCATION: Final = "set_clip_location"
ATTR_LOCATION: Final = "location"

_SCHEMA: Final = probatio.Schema(
    {probatio.Required(ATTR_LOCATION): probatio.In([location.value for location in ClipLocation])}
)


def async_setup_location_action(hass: HomeAssistant) -> None:
    """Register hearthcam.set_clip_location (administrators only)."""
    async_register_admin_service(
        hass,
        DOMAIN,
        SERVICE_SET_CLIP_LOCATION,
        _async_set_clip_location,
        schema=_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )


async def _async_set_clip_location(call: ServiceCall) -> ServiceResponse:
    """Store the choice; the clips move at the next start of Home Assistant."""
    location = ClipLocation(call.data[ATTR_LOCATION])
    restart_needed = await async_save_location(call.hass, location)
    _LOGGER.warning(
        "Clip location set to %s by user %s%s",
        location.value,
        call.context.user_id,
        "; clips move when Home Assistant restarts" if restart_needed else "",
    )
    return {ATTR_LOCATION: location.value, "restart_needed": restart_needed}
