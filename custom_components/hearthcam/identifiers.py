"""Names of things in the clip library: camera keys, media-source identifiers, clip ids.

A camera's key in the clip store is its config entry id as a slug (camera_key_for).

`media-source://hearthcam/<identifier>`, where the identifier is one of:

- empty: the list of cameras;
- `<camera_key>`: one camera's days;
- `<camera_key>/<YYYY-MM-DD>`: the newest clips of a day in Home Assistant's time zone, and
  `<camera_key>/<YYYY-MM-DD>/page/<n>` (n >= 2) for older ones;
- `<camera_key>/<YYYY-MM-DD>/<HHMMSS>-<n>`: one clip; the identifier IS the clip id (its day
  is a UTC day), so the `media_content_id` of `hearthcam_clip_saved` plays as it is.

Every identifier has exactly one spelling: parse(str(x)) == x, and str(parse(s)) == s.
"""

from dataclasses import dataclass
from datetime import date
import re
from typing import Final

from .const import MEDIA_SOURCE_PREFIX
from .engine.clip_info import ClipName, check_camera_key, check_day
from .engine.errors import InvalidClipIdError

_PAGE_RE: Final = re.compile(r"[2-9]|[1-9][0-9]{1,5}")


@dataclass(frozen=True, slots=True)
class LibraryRoot:
    """The list of cameras."""

    def __str__(self) -> str:
        return ""


@dataclass(frozen=True, slots=True)
class CameraFolder:
    """One camera's days with clips."""

    camera_key: str

    def __str__(self) -> str:
        return self.camera_key


@dataclass(frozen=True, slots=True)
class DayFolder:
    """One page of a camera's clips of one local day, newest first; page 1 is the newest."""

    camera_key: str
    day: date
    page: int = 1

    def __str__(self) -> str:
        base = f"{self.camera_key}/{self.day.isoformat()}"
        return base if self.page == 1 else f"{base}/page/{self.page}"


@dataclass(frozen=True, slots=True)
class ClipItem:
    """One clip."""

    clip_id: str

    def __str__(self) -> str:
        return self.clip_id


type LibraryIdentifier = LibraryRoot | CameraFolder | DayFolder | ClipItem


def parse_identifier(identifier: str | None) -> LibraryIdentifier:
    """Parse a media-source identifier (the part after `media-source://hearthcam/`).

    Raises InvalidClipIdError for anything that is not one of the canonical shapes.
    """
    if not identifier:
        return LibraryRoot()
    parts = identifier.split("/")
    match parts:
        case [camera]:
            return CameraFolder(check_camera_key(camera))
        case [camera, day]:
            return DayFolder(check_camera_key(camera), date.fromisoformat(check_day(day)))
        case [camera, day, "page", page] if _PAGE_RE.fullmatch(page):
            return DayFolder(
                check_camera_key(camera), date.fromisoformat(check_day(day)), int(page)
            )
        case [_, _, _]:
            return ClipItem(ClipName.parse(identifier).clip_id)
    msg = f"not a HearthCam media identifier: {identifier[:100]!r}"
    raise InvalidClipIdError(msg)


def clip_id_from_user(value: object) -> str:
    """Return the clip id in a clip id or in a HearthCam media-source id of a clip.

    Raises InvalidClipIdError for anything else (folders, other sources, malformed ids).
    """
    if not isinstance(value, str):
        msg = "a clip id is a string"
        raise InvalidClipIdError(msg)
    text = value.strip()
    if text.startswith(MEDIA_SOURCE_PREFIX):
        text = text.removeprefix(MEDIA_SOURCE_PREFIX)
    return ClipName.parse(text).clip_id


def camera_key_for(entry_id: str) -> str:
    """Return the clip-store key of a camera: its config entry id as a lowercase slug."""
    return re.sub(r"[^a-z0-9_-]", "_", entry_id.lower())[:64] or "camera"


def media_content_id(clip_id: str) -> str:
    """Return the media-source id that plays a clip."""
    return f"{MEDIA_SOURCE_PREFIX}{clip_id}"
