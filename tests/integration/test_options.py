"""CameraOptions: one set of rules for reading a camera's stored options."""

from datetime import timedelta

import pytest

from custom_components.hearthcam.const import (
    CONF_ALLOW_EXPORTS,
    CONF_ANALYSIS_FPS,
    CONF_EXPORT_EXPIRY_HOURS,
    CONF_LOW_POWER,
    CONF_MAX_CLIP,
    CONF_MAX_STORAGE_GB,
    CONF_MOTION_ZONES,
    CONF_OFF_DELAY,
    CONF_PRE_ROLL,
    CONF_PRIVACY_MASKS,
    CONF_RETAIN_DAYS,
    CONF_RTSP_TRANSPORT,
    CONF_SENSITIVITY,
    DEFAULT_OPTIONS,
)
from custom_components.hearthcam.data import CameraSettings
from custom_components.hearthcam.engine.clip_retention import RetentionPolicy
from custom_components.hearthcam.engine.motion import MotionSettings
from custom_components.hearthcam.engine.regions import Regions
from custom_components.hearthcam.options import CameraOptions, InvalidOptionsError

SQUARE = "0,0 0.5,0 0.5,0.5 0,0.5"


def test_defaults_fill_what_is_not_stored() -> None:
    """No stored options: every default, limits as the defaults say."""
    options = CameraOptions.from_mapping({})
    assert options == CameraOptions.from_mapping(DEFAULT_OPTIONS)
    assert options.sensitivity == 5
    assert options.retention == RetentionPolicy(max_age_days=14.0, max_total_bytes=None)
    assert options.export_lifetime == timedelta(hours=24)
    assert options.allow_exports is False
    assert options.detector == MotionSettings.for_sensitivity(5, off_delay_s=5.0)


def test_values_of_the_wrong_type_fall_back_to_their_defaults() -> None:
    """Text, booleans and None where a number belongs give the default, for every reader."""
    stored: dict[str, object] = {
        CONF_SENSITIVITY: "9",
        CONF_ANALYSIS_FPS: True,
        CONF_RETAIN_DAYS: None,
        CONF_MAX_STORAGE_GB: "lots",
        CONF_EXPORT_EXPIRY_HOURS: [],
    }
    assert CameraOptions.from_mapping(stored) == CameraOptions.from_mapping({})


def test_limits_that_are_off_and_values_kept_in_range() -> None:
    """0 days or GB switch a limit off; expiry needs hours; delays are never negative."""
    options = CameraOptions.from_mapping(
        {
            CONF_RETAIN_DAYS: 0,
            CONF_MAX_STORAGE_GB: 2.5,
            CONF_EXPORT_EXPIRY_HOURS: 0,
            CONF_OFF_DELAY: -3,
            CONF_SENSITIVITY: 7.6,
            CONF_RTSP_TRANSPORT: "sctp",
            CONF_ALLOW_EXPORTS: "yes",
        }
    )
    assert options.retention == RetentionPolicy(max_age_days=None, max_total_bytes=2_500_000_000)
    assert options.export_lifetime == timedelta(hours=24)
    assert options.off_delay_s == 0.0
    assert options.sensitivity == 8
    assert options.source.rtsp_transport == "tcp"
    assert options.allow_exports is False  # only `true` itself allows exports


def test_polygons_are_parsed_once_for_the_detector_and_the_worker() -> None:
    """Zones and masks reach the detector; masks also the worker (stills, thumbnails)."""
    options = CameraOptions.from_mapping({CONF_MOTION_ZONES: SQUARE, CONF_PRIVACY_MASKS: SQUARE})
    square = ((0.0, 0.0), (0.5, 0.0), (0.5, 0.5), (0.0, 0.5))
    assert options.detector.regions == Regions(zones=(square,), masks=(square,))
    worker = options.worker("front", CameraSettings("rtsp://192.0.2.1/s", None))
    assert worker.privacy_masks == (square,)
    assert worker.camera_key == "front"


@pytest.mark.parametrize(("stored", "low_power"), [(True, True), (False, False), ("yes", False)])
def test_low_power_reaches_the_worker_only_when_switched_on(
    stored: object,
    low_power: bool,  # noqa: FBT001 - parametrised
) -> None:
    """Low power is off unless stored as true itself: a stray value never slows detection."""
    options = CameraOptions.from_mapping({CONF_LOW_POWER: stored})
    worker = options.worker("front", CameraSettings("rtsp://192.0.2.1/s", None))
    assert worker.low_power is low_power


@pytest.mark.parametrize(
    ("stored", "key"),
    [
        ({CONF_MOTION_ZONES: "0,0 1,0 2,1"}, CONF_MOTION_ZONES),
        ({CONF_PRIVACY_MASKS: "0,0 1,1"}, CONF_PRIVACY_MASKS),
        ({CONF_MAX_CLIP: 5.0, CONF_PRE_ROLL: 5.0}, CONF_MAX_CLIP),
        ({CONF_ANALYSIS_FPS: 0}, CONF_ANALYSIS_FPS),
        ({CONF_PRE_ROLL: -1.0}, CONF_PRE_ROLL),
    ],
)
def test_options_the_engine_cannot_honour_name_the_option(
    stored: dict[str, object], key: str
) -> None:
    """Refused with the option at fault, so the options form can show the right message."""
    with pytest.raises(InvalidOptionsError) as refused:
        CameraOptions.from_mapping(stored)
    assert refused.value.key == key
    assert isinstance(refused.value, ValueError)
