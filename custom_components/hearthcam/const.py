"""Constants shared across HearthCam's Home Assistant side."""

from typing import Final

from .engine.worker import STOP_TIMEOUT_S as WORKER_STOP_TIMEOUT_S

DOMAIN: Final = "hearthcam"

# Config entry data (the camera connection; changed through reconfigure).
CONF_STREAM_URL: Final = "stream_url"
CONF_DETECT_STREAM_URL: Final = "detect_stream_url"

# Options (entry.options, stored flat; the options flow groups them in sections).
CONF_SENSITIVITY: Final = "sensitivity"  # 1 (least) .. 10 (most sensitive)
CONF_ANALYSIS_FPS: Final = "analysis_fps"  # frames analysed per second
CONF_OFF_DELAY: Final = "off_delay_seconds"  # seconds without motion before motion turns off
CONF_PRE_ROLL: Final = "pre_roll_seconds"
CONF_POST_ROLL: Final = "post_roll_seconds"
CONF_MAX_CLIP: Final = "max_clip_seconds"
CONF_RETAIN_DAYS: Final = "retain_days"
CONF_MAX_STORAGE_GB: Final = "max_storage_gb"  # 0 = no cap
CONF_RTSP_TRANSPORT: Final = "rtsp_transport"  # "tcp" or "udp"
CONF_ALLOW_EXPORTS: Final = "allow_exports"
CONF_EXPORT_EXPIRY_HOURS: Final = "export_expiry_hours"
# Polygons as text, one per line of `x,y` points in 0..1 (engine/regions.py reads them).
CONF_MOTION_ZONES: Final = "motion_zones"
CONF_PRIVACY_MASKS: Final = "privacy_masks"
# Areas left out of motion detection but still shown (a hedge, a flag); the tuner adds to them.
CONF_IGNORE_ZONES: Final = "ignore_zones"
CONF_OUTLINE_MOTION: Final = "outline_motion"  # clip thumbnails outline where motion began
# Quiet scenes: decode keyframes only until something changes (less CPU, later onsets).
CONF_LOW_POWER: Final = "low_power"
# Hand the camera's raw stream (no masks, audio included) to Home Assistant's stream, or not.
CONF_SHARE_RAW_STREAM: Final = "share_raw_stream"

DEFAULT_OPTIONS: Final[dict[str, object]] = {
    CONF_SENSITIVITY: 5,
    CONF_ANALYSIS_FPS: 5.0,
    CONF_OFF_DELAY: 5.0,
    CONF_PRE_ROLL: 5.0,
    CONF_POST_ROLL: 5.0,
    CONF_MAX_CLIP: 300.0,
    CONF_RETAIN_DAYS: 14.0,
    CONF_MAX_STORAGE_GB: 0.0,
    CONF_RTSP_TRANSPORT: "tcp",
    CONF_ALLOW_EXPORTS: False,
    CONF_EXPORT_EXPIRY_HOURS: 24.0,
    CONF_MOTION_ZONES: "",
    CONF_IGNORE_ZONES: "",
    CONF_PRIVACY_MASKS: "",
    CONF_OUTLINE_MOTION: True,
    CONF_LOW_POWER: False,
    CONF_SHARE_RAW_STREAM: False,
}

# The clips' subfolder of the first media folder, when the install chose to keep them there.
MEDIA_SUBFOLDER: Final = "hearthcam"
# How a clip is named in the media browser and in events (the clip id follows it).
MEDIA_SOURCE_PREFIX: Final = f"media-source://{DOMAIN}/"

# Action fields several actions share.
ATTR_CLIP_ID: Final = "clip_id"

# Bus events, and the event types of the cameras' event entities.
EVENT_CLIP_SAVED: Final = "hearthcam_clip_saved"
EVENT_CLIP_EXPORTED: Final = "hearthcam_clip_exported"
EVENT_TYPE_MOTION_STARTED: Final = "motion_started"
EVENT_TYPE_CLIP_SAVED: Final = "clip_saved"

# A blocked FFmpeg read ends only at the stall timeout (docs/engine.md, "Threads and
# callbacks"), and an open gives up at the open timeout: both stay under the stop budget, so an
# unload or shutdown never leaves a thread behind. Export threads get the same budget to stop.
OPEN_TIMEOUT_S: Final = 4.0
STALL_TIMEOUT_S: Final = 4.0
STOP_TIMEOUT_S: Final = WORKER_STOP_TIMEOUT_S  # the engine worker's own budget
