"""The export audit log and the list of live exports, kept in `.storage` (bounded, private).

Every export, deletion and expiry appends a record: who (user id and name; none for an expiry),
when, which clip of which camera, why, what was redacted and the bundle's sha256. Only the newest
MAX_RECORDS records are kept, since every save rewrites the whole file. Nothing here ever holds a
stream address or credential: records are built from the camera's name and the clip's id.
"""

from enum import StrEnum
from typing import Final, NotRequired, TypedDict, cast

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from ..const import DOMAIN

STORAGE_KEY: Final = f"{DOMAIN}.exports"
STORAGE_VERSION: Final = 1
MAX_RECORDS: Final = 1000


class AuditAction(StrEnum):
    """What happened to an export."""

    EXPORTED = "exported"
    DELETED = "deleted"
    EXPIRED = "expired"
    MISSING = "missing"  # the bundle was gone (removed outside HearthCam) at start-up


class ExportEntry(TypedDict):
    """A bundle that exists (or existed): what its export record says."""

    export_id: str
    clip_id: str
    camera: str  # the camera's name when it was exported
    user_id: str
    user_name: str
    reason: str
    created_at: str  # ISO 8601, UTC
    expires_at: str
    sha256: str
    size_bytes: int
    redactions: list[str]


class AuditRecord(ExportEntry):
    """One line of the audit log: an export, or what later happened to it."""

    action: str  # an AuditAction
    at: str  # when it happened, ISO 8601, UTC
    # Who deleted the export (the exporter's id and name stay in user_id and user_name).
    by_user_id: NotRequired[str | None]
    by_user_name: NotRequired[str | None]


class _Data(TypedDict):
    exports: list[ExportEntry]
    log: list[AuditRecord]


class AuditLog:
    """Live exports and the audit log, loaded once and saved after every change."""

    def __init__(self, hass: HomeAssistant) -> None:
        # Private (0600) and written atomically: the log is the household's record.
        self._store = Store[_Data](
            hass, STORAGE_VERSION, STORAGE_KEY, private=True, atomic_writes=True
        )
        self._data: _Data = {"exports": [], "log": []}

    async def async_load(self) -> None:
        """Read the log from `.storage` (empty the first time)."""
        if (data := await self._store.async_load()) is not None:
            self._data = {"exports": list(data["exports"]), "log": list(data["log"])}

    @property
    def exports(self) -> list[ExportEntry]:
        """The bundles that should exist, oldest first."""
        return list(self._data["exports"])

    @property
    def log(self) -> list[AuditRecord]:
        """Every record kept, oldest first."""
        return list(self._data["log"])

    def get(self, export_id: str) -> ExportEntry | None:
        """Return the live export with this id, if there is one."""
        return next((e for e in self._data["exports"] if e["export_id"] == export_id), None)

    async def async_add(self, entry: ExportEntry, at: str) -> None:
        """Record a new bundle."""
        self._data["exports"].append(entry)
        self._append(_record(entry, AuditAction.EXPORTED, at))
        await self._store.async_save(self._data)

    async def async_end(
        self,
        export_id: str,
        action: AuditAction,
        at: str,
        by: tuple[str, str] | None = None,
    ) -> ExportEntry | None:
        """Record that a bundle was deleted (by user id and name) or expired; None if unknown."""
        entry = self.get(export_id)
        if entry is None:
            return None
        self._data["exports"].remove(entry)
        record = _record(entry, action, at)
        if by is not None:
            record["by_user_id"], record["by_user_name"] = by
        self._append(record)
        await self._store.async_save(self._data)
        return entry

    def _append(self, record: AuditRecord) -> None:
        log = self._data["log"]
        log.append(record)
        del log[:-MAX_RECORDS]


def _record(entry: ExportEntry, action: AuditAction, at: str) -> AuditRecord:
    """Return the audit record of something that happened to an export."""
    record = cast("AuditRecord", dict(entry))
    record["action"], record["at"] = action.value, at
    return record
