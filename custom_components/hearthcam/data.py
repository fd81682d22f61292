"""Typed runtime data of a HearthCam config entry."""

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry

from .const import CONF_DETECT_STREAM_URL, CONF_STREAM_URL
from .engine.urls import parse_stream_url, redact_url

type HearthCamConfigEntry = ConfigEntry[HearthCamData]


@dataclass(frozen=True, slots=True)
class CameraSettings:
    """One camera's connection settings, validated."""

    stream_url: str
    detect_stream_url: str | None

    @classmethod
    def from_entry(cls, entry: ConfigEntry) -> CameraSettings:
        """Read and validate the settings stored in a config entry."""
        detect = entry.data.get(CONF_DETECT_STREAM_URL)
        return cls(
            stream_url=parse_stream_url(str(entry.data.get(CONF_STREAM_URL, ""))),
            detect_stream_url=parse_stream_url(detect) if detect else None,
        )

    def __repr__(self) -> str:
        # Dataclass repr would print credentials into any log or traceback that shows us.
        detect = redact_url(self.detect_stream_url) if self.detect_stream_url else None
        return f"CameraSettings(stream_url={redact_url(self.stream_url)!r}, detect={detect!r})"


@dataclass(slots=True)
class HearthCamData:
    """What a loaded camera entry keeps at runtime."""

    settings: CameraSettings
