"""Constants shared across HearthCam's Home Assistant side."""

from typing import Final

DOMAIN: Final = "hearthcam"

# Config entry data (the camera connection; changed through reconfigure).
CONF_STREAM_URL: Final = "stream_url"
CONF_DETECT_STREAM_URL: Final = "detect_stream_url"
