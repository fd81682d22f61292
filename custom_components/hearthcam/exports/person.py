"""Who is behind an export: a person, asking now.

Consent and download links belong to a person at the moment they ask. Refused are calls with no
user (automations), calls by Home Assistant's system-generated users (the Supervisor user that
add-ons such as Node-RED or AppDaemon act as, the Cloud user of voice assistants), and calls
whose context began more than CONSENT_MAX_AGE ago: a script that delayed or waited acts on a
click that is long past. A person's click reaches the action within milliseconds, and a script
that runs a few steps first within seconds; a minute leaves room for a slow instance while no
delay, wait or timer a script would use to act "later" fits in it. The bundle is built after
this check, so a slow export does not count.
"""

from datetime import timedelta
import time
from typing import Final

from homeassistant.auth.models import User
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import UnknownUser
from homeassistant.util.ulid import ulid_to_bytes_or_none

from ..action_errors import action_error

CONSENT_MAX_AGE: Final = timedelta(minutes=1)
# A ULID starts with its creation time: milliseconds since the epoch, 48 bits big-endian.
_ULID_TIME_BYTES: Final = 6


def context_age(context: Context, now: float | None = None) -> timedelta | None:
    """Return how long ago the context was created (None: its id is not a ULID)."""
    raw = ulid_to_bytes_or_none(context.id)
    if raw is None:
        return None
    created_ms = int.from_bytes(raw[:_ULID_TIME_BYTES], "big")
    return timedelta(seconds=(time.time() if now is None else now) - created_ms / 1000)


async def async_person_behind(hass: HomeAssistant, context: Context) -> User:
    """Return the person behind the call, asking now; a translated error saying why not."""
    if context.user_id is None:
        raise action_error(key="export_needs_user")
    user = await hass.auth.async_get_user(context.user_id)
    if user is None:
        raise UnknownUser(context=context)
    if user.system_generated:
        raise action_error(key="export_system_user", user=user.name or user.id)
    age = context_age(context)
    if age is None or age > CONSENT_MAX_AGE:
        raise action_error(
            key="export_context_too_old",
            age="?" if age is None else str(round(age.total_seconds())),
            maximum=str(round(CONSENT_MAX_AGE.total_seconds())),
        )
    return user
