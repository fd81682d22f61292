"""Engine exceptions: classified so callers can react (and translate) without parsing text.

Every error the engine raises on purpose derives from EngineError. Input the engine refuses
derives from InvalidInputError, which is also a ValueError: nothing was changed.
"""

from enum import StrEnum


class EngineError(Exception):
    """Base of every error the engine raises on purpose."""


class InvalidInputError(EngineError, ValueError):
    """Input the engine refuses (malformed or out of range); nothing was changed."""


class InvalidStreamURLError(InvalidInputError):
    """The text is not a usable camera stream URL."""


class InvalidPolygonError(InvalidInputError):
    """A polygon's text is not a list of at least three 0..1 `x,y` points."""


class InvalidClipIdError(InvalidInputError):
    """A clip id that is malformed or would point outside the clip store."""


class InvalidExportIdError(InvalidInputError):
    """Not an export id (which also means: no such export)."""


class StreamErrorKind(StrEnum):
    """Why a stream could not be opened or read."""

    UNAUTHORIZED = "unauthorized"
    NOT_FOUND = "not_found"
    CONNECTION = "connection"
    TIMEOUT = "timeout"
    NO_VIDEO = "no_video"
    UNSUPPORTED_CODEC = "unsupported_codec"
    INVALID_DATA = "invalid_data"
    STALLED = "stalled"
    ENDED = "ended"


class StreamError(EngineError):
    """A stream failed; `detail` is already free of credentials."""

    def __init__(self, kind: StreamErrorKind, detail: str) -> None:
        super().__init__(f"{kind.value}: {detail}")
        self.kind = kind
        self.detail = detail


class StopRequestedError(EngineError):
    """Opening or probing a stream gave up because the stop event was set."""


class StorageError(EngineError):
    """Clips could not be written or read."""


class StorageFullError(StorageError):
    """The disk (or the configured minimum of free space) is exhausted."""


class ClipNotFoundError(EngineError):
    """A well-formed clip id with no clip behind it."""


class ClipInUseError(EngineError):
    """The clip is being recorded or is held (e.g. an export is being built from it)."""


class KeptByAdministratorError(EngineError):
    """An administrator kept the clip: only an administrator may release it."""


class RecordingInProgressError(EngineError):
    """A manual recording of the camera is running already."""


class UnreadableClipError(EngineError):
    """The clip's file cannot be read, or holds no video in the chosen window."""


class ExportCancelledError(EngineError):
    """The export was cancelled (Home Assistant is stopping); nothing of it is kept."""
