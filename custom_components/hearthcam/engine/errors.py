"""Engine exceptions: classified so callers can react (and translate) without parsing text."""

from enum import StrEnum


class EngineError(Exception):
    """Base of every error the engine raises on purpose."""


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


class StorageError(EngineError):
    """Clips could not be written or read."""


class StorageFullError(StorageError):
    """The disk (or the configured minimum of free space) is exhausted."""


class InvalidClipIdError(EngineError):
    """A clip id that is malformed or would point outside the clip store."""


class ClipNotFoundError(EngineError):
    """A well-formed clip id with no clip behind it."""


class ClipInUseError(EngineError):
    """The clip is being recorded or is held (e.g. an export is being built from it)."""
