"""Entity registry entries and states of every platform, as syrupy snapshots.

A change to an entity's id, name, translation key, category, device class, unit or initial
state then shows up as a snapshot diff in review: entity ids and unique ids are public (the
README's "What you get per camera"; automations and dashboards name them).
The camera points at a closed port, so every state is the deterministic "not connected" one.
"""

from collections.abc import Iterator
from pathlib import Path
from unittest.mock import PropertyMock, patch

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity import Entity
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from custom_components.hearthcam.const import CONF_STREAM_URL, DOMAIN

from .camkit import QUICK_OPTIONS, use_media_dir

ENTRY_ID = "01JSNAPSHOTFRONTDOOR000000"


@pytest.fixture
def ha_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots serialised as Home Assistant's own tests do (ids and times left out)."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture
def all_entities_enabled() -> Iterator[None]:
    """Create every entity enabled, the diagnostic ones disabled by default included."""
    with patch.object(
        Entity, "entity_registry_enabled_default", new_callable=PropertyMock, return_value=True
    ):
        yield


@pytest.fixture
def camera_entry(hass: HomeAssistant, tmp_path: Path, unused_port: int) -> MockConfigEntry:
    """A camera entry with a fixed id whose stream URL points at a closed port."""
    use_media_dir(hass, tmp_path / "media")
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Front door",
        entry_id=ENTRY_ID,
        data={CONF_STREAM_URL: f"rtsp://user:secret@127.0.0.1:{unused_port}/stream"},
        options=QUICK_OPTIONS,
    )
    entry.add_to_hass(hass)
    return entry


async def _set_up_only(hass: HomeAssistant, entry: MockConfigEntry, platform: Platform) -> None:
    with patch("custom_components.hearthcam.PLATFORMS", [platform]):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()


@pytest.mark.usefixtures("all_entities_enabled")
@pytest.mark.parametrize(
    "platform", [Platform.BINARY_SENSOR, Platform.EVENT, Platform.SENSOR, Platform.SWITCH]
)
async def test_entities_match_snapshot(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    ha_snapshot: SnapshotAssertion,
    camera_entry: MockConfigEntry,
    platform: Platform,
) -> None:
    """Each platform's registry entries and first states match the stored snapshot."""
    await _set_up_only(hass, camera_entry, platform)
    await snapshot_platform(hass, entity_registry, ha_snapshot, camera_entry.entry_id)
    assert await hass.config_entries.async_unload(camera_entry.entry_id)


async def test_camera_registry_entry_matches_snapshot(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    ha_snapshot: SnapshotAssertion,
    camera_entry: MockConfigEntry,
) -> None:
    """The camera's registry entry (its state carries a rotating access token, so not that)."""
    await _set_up_only(hass, camera_entry, Platform.CAMERA)
    (camera,) = er.async_entries_for_config_entry(entity_registry, camera_entry.entry_id)
    assert camera == ha_snapshot
    assert await hass.config_entries.async_unload(camera_entry.entry_id)
