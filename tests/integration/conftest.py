"""Home Assistant fixtures for HearthCam."""

from dataclasses import replace

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

# Importing our package before the hass fixture runs is what lets HA's loader find it.
from custom_components.hearthcam.const import CONF_STREAM_URL, DOMAIN
from custom_components.hearthcam.engine.urls import stream_identity

# Odd media files and misbehaving loopback servers, shared with the engine tests (the config
# flow opens real streams, so its error tests need them too).
from devkit.http_server import HttpStreamServer
from devkit.pytest_plugin import MakeFootage
from tests.engine.conftest import make_media, silent_port, tmpfs, unused_port  # noqa: F401

from .camkit import SMALL

TEST_STREAM_URL = "rtsp://viewer:hunter2@192.0.2.10:554/stream1"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load integrations from custom_components/."""


@pytest.fixture
def mock_config_entry() -> MockConfigEntry:
    """A camera entry as the config flow creates it."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Front door",
        data={CONF_STREAM_URL: TEST_STREAM_URL},
        unique_id=stream_identity(TEST_STREAM_URL),
    )


@pytest.fixture
def hass_config_dir(hass_tmp_config_dir: str) -> str:
    """Give every test its own config folder (exports and .storage go there, not site-packages)."""
    return hass_tmp_config_dir


@pytest.fixture
def quiet_url(make_footage: MakeFootage, http_stream_server: HttpStreamServer) -> str:
    """A stream without motion that keeps flowing for the length of a test."""
    scene = replace(SMALL, duration_s=30.0, seed=41)
    return http_stream_server.url(f"ts/{make_footage(scene, '.ts').name}")
