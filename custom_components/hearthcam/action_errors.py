"""Where engine errors become Home Assistant errors: one table, used by every action.

Actions run their engine work inside `translated_errors(...)`. An error is matched by its class
against the table (the first match wins, so subclasses come before their bases); bad input is a
ServiceValidationError, a failure a HomeAssistantError, both translated. Any other engine or OS
error becomes the action's own `otherwise` error, with the engine's text (free of credentials)
as `{error}`.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .const import DOMAIN
from .engine.errors import (
    ClipInUseError,
    ClipNotFoundError,
    EngineError,
    ExportCancelledError,
    InvalidClipIdError,
    InvalidExportIdError,
    KeptByAdministratorError,
    RecordingInProgressError,
)
from .options import InvalidOptionsError

# How much of a value the caller gave is repeated in an error message.
MAX_ECHO: Final = 100


@dataclass(frozen=True, slots=True)
class _Translation:
    """An error class and the translated error it becomes."""

    error: type[Exception]
    raise_as: type[HomeAssistantError]
    key: str
    placeholders: tuple[str, ...]


_TRANSLATIONS: Final = (
    _Translation(InvalidClipIdError, ServiceValidationError, "invalid_clip_id", ("clip_id",)),
    _Translation(ClipNotFoundError, ServiceValidationError, "clip_not_found", ("clip_id",)),
    _Translation(ClipInUseError, HomeAssistantError, "clip_in_use", ("clip_id",)),
    _Translation(
        KeptByAdministratorError, ServiceValidationError, "clip_kept_by_admin", ("clip_id",)
    ),
    _Translation(
        RecordingInProgressError, ServiceValidationError, "recording_in_progress", ("camera",)
    ),
    _Translation(ExportCancelledError, HomeAssistantError, "export_cancelled", ("clip_id",)),
    _Translation(InvalidExportIdError, ServiceValidationError, "export_not_found", ("export_id",)),
    _Translation(InvalidOptionsError, ServiceValidationError, "invalid_options", ("error",)),
)
_TRANSLATED: Final[tuple[type[Exception], ...]] = (
    EngineError,
    OSError,
    *(t.error for t in _TRANSLATIONS),
)


def action_error(*, key: str, invalid: bool = True, **placeholders: str) -> HomeAssistantError:
    """Return a translated error: bad input (ServiceValidationError) unless invalid=False."""
    error_class = ServiceValidationError if invalid else HomeAssistantError
    return error_class(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )


def translate(
    err: Exception, *, otherwise: str, clip_id: str = "", export_id: str = "", camera: str = ""
) -> HomeAssistantError:
    """Return the Home Assistant error for an engine (or OS) error, chosen by its class."""
    values = {
        "clip_id": clip_id[:MAX_ECHO],
        "export_id": export_id[:MAX_ECHO],
        "camera": camera,
        "error": str(err),
    }
    for translation in _TRANSLATIONS:
        if isinstance(err, translation.error):
            return translation.raise_as(
                translation_domain=DOMAIN,
                translation_key=translation.key,
                translation_placeholders={key: values[key] for key in translation.placeholders},
            )
    placeholders = {"error": values["error"]}
    placeholders |= {"export_id": values["export_id"]} if export_id else {}
    placeholders |= {"clip_id": values["clip_id"]} if clip_id else {}
    placeholders |= {"camera": values["camera"]} if camera else {}
    return action_error(key=otherwise, invalid=False, **placeholders)


@contextmanager
def translated_errors(
    *, otherwise: str, clip_id: str = "", export_id: str = "", camera: str = ""
) -> Iterator[None]:
    """Raise engine and OS errors from inside as translated Home Assistant errors.

    clip_id, export_id and camera (its name) fill the messages' placeholders; `otherwise` is
    the translation key of any error the table does not name.
    """
    try:
        yield
    except _TRANSLATED as err:
        raise translate(
            err, otherwise=otherwise, clip_id=clip_id, export_id=export_id, camera=camera
        ) from err
