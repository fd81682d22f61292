"""No secret of a real camera URL form reaches anything Home Assistant shows, logs or keeps.

Every form goes through the config flow against a real stream (the devkit's HTTP camera) or a
loopback port nothing listens on, runs as a camera, raises its repair issue when unreachable
and exports a clip; then diagnostics, logs at DEBUG, repair placeholders, states, bus events,
registries, the entry's unique id and title and the export bundle are searched for its secrets.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
import io
import json
import logging
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock, patch
from urllib.parse import urlsplit
import zipfile

from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER, ConfigEntry
from homeassistant.const import CONF_NAME, MATCH_ALL, STATE_ON
from homeassistant.core import Event, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.hearthcam import config_flow
from custom_components.hearthcam.const import (
    CONF_ALLOW_EXPORTS,
    CONF_DETECT_STREAM_URL,
    CONF_EXPORT_EXPIRY_HOURS,
    CONF_STREAM_URL,
    DOMAIN,
)
from custom_components.hearthcam.coordinator import ISSUE_UNREACHABLE, UNREACHABLE_ISSUE_DELAY
from custom_components.hearthcam.engine.urls import stream_identity
from devkit.footage import Scene
from devkit.http_server import HttpStreamServer
from devkit.pytest_plugin import MakeFootage
from tests.camera_urls import AMBIGUOUS_URLS, CAMERA_URLS, CameraURL

from .camkit import QUICK_OPTIONS, use_media_dir, wait_for
from .exportkit import EXPORT_FOLDER, call, export_data, use_config_dir
from .librarykit import add_clip, clip_mp4

__all__ = ["clip_mp4"]

TITLE = "Front door"
STREAM = "binary_sensor.front_door_stream"
EXPORTS_ALLOWED: dict[str, Any] = {
    **QUICK_OPTIONS,
    CONF_ALLOW_EXPORTS: True,
    CONF_EXPORT_EXPIRY_HOURS: 2.0,
}


@pytest.fixture(autouse=True)
def quick_probes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The config flow gives up on a stream sooner."""
    monkeypatch.setattr(config_flow, "PROBE_TIMEOUT_S", 5.0)
    monkeypatch.setattr(config_flow, "PROBE_DEADLINE_S", 10.0)


@pytest.fixture
def mjpeg_stream(make_footage: MakeFootage) -> str:
    """The devkit path of an MJPEG camera stream (served over and over)."""
    return f"mjpeg/{make_footage(Scene(width=160, height=120, duration_s=2.0), '.mkv').name}"


@pytest.fixture
def mock_setup_entry() -> Iterator[AsyncMock]:
    """Entry setup left out: for tests of what the flows and migration save."""
    with patch("custom_components.hearthcam.async_setup_entry", return_value=True) as mock:
        yield mock


def _legacy_unique_id(url: str) -> str:
    """A unique id as versions before 1.2 could make it: the query and path as written."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}{parts.path}" + (f"?{parts.query}" if parts.query else "")


def _secrets_in(text: str, form: CameraURL) -> list[str]:
    return [secret for secret in form.secrets if secret in text]


async def _user_step(hass: HomeAssistant, data: dict[str, str]) -> Any:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    return await hass.config_entries.flow.async_configure(result["flow_id"], data)


async def _camera_entry(
    hass: HomeAssistant, url: str, *, streams: bool
) -> tuple[ConfigEntry, list[str]]:
    """The camera's entry, through the config flow; also the texts the flow showed."""
    result = await _user_step(hass, {CONF_NAME: TITLE, CONF_STREAM_URL: url})
    # What the frontend shows (a created entry's data goes to storage, not to the browser).
    shown = [repr(result.get(key)) for key in ("title", "errors", "description_placeholders")]
    if streams:
        assert result["type"] is FlowResultType.CREATE_ENTRY
        entry: ConfigEntry = result["result"]
        hass.config_entries.async_update_entry(entry, options=EXPORTS_ALLOWED)
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        return entry, shown
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_STREAM_URL: "cannot_connect"}
    # Saved by an older version, before the camera went away: its unique id held secrets.
    legacy = MockConfigEntry(
        domain=DOMAIN,
        title=TITLE,
        data={CONF_STREAM_URL: url},
        options=EXPORTS_ALLOWED,
        unique_id=_legacy_unique_id(url),
        minor_version=1,
    )
    legacy.add_to_hass(hass)
    assert await hass.config_entries.async_setup(legacy.entry_id)
    await hass.async_block_till_done()
    return legacy, shown


async def _raise_unreachable_issue(
    hass: HomeAssistant, entry: ConfigEntry, issue_registry: ir.IssueRegistry
) -> None:
    coordinator = entry.runtime_data.coordinator
    await wait_for(hass, lambda: coordinator.last_error is not None, "the connection to fail")
    async_fire_time_changed(hass, dt_util.utcnow() + UNREACHABLE_ISSUE_DELAY + timedelta(seconds=1))
    await hass.async_block_till_done()
    issue_id = f"{ISSUE_UNREACHABLE}_{entry.entry_id}"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None


async def _diagnostics(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, entry: ConfigEntry
) -> str:
    """The diagnostics download, whole (Home Assistant adds the repair issues to it)."""
    assert await async_setup_component(hass, "diagnostics", {})
    client = await hass_client()
    response = await client.get(f"/api/diagnostics/config_entry/{entry.entry_id}")
    assert response.status == HTTPStatus.OK
    text: str = await response.text()
    return text


async def _export_texts(
    hass: HomeAssistant, entry: ConfigEntry, clip: Path, admin: MockUser
) -> str:
    """An exported bundle (zip, every member unpacked), the action's answer and the audit log."""
    coordinator = entry.runtime_data.coordinator
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    info = await add_clip(hass, coordinator.store, coordinator.camera_key, start, clip)
    result = await call(hass, "export_clip", export_data(info.clip_id), admin)
    await hass.async_block_till_done()
    bundle = Path(hass.config.config_dir) / EXPORT_FOLDER / f"{result['export_id']}.zip"
    with zipfile.ZipFile(io.BytesIO(bundle.read_bytes())) as archive:
        members = [archive.read(name).decode("utf-8", "replace") for name in archive.namelist()]
        assert "manifest.json" in archive.namelist()
    audit = await call(hass, "list_exports", {}, admin)
    return "\n".join([*members, repr(result), json.dumps(audit, default=str)])


def _registries(hass: HomeAssistant, entry: ConfigEntry) -> str:
    entities = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    return repr(entities) + repr(devices)


@pytest.mark.parametrize("form", CAMERA_URLS, ids=lambda form: form.form)
async def test_no_secret_of_a_camera_url_leaves(
    hass: HomeAssistant,
    form: CameraURL,
    *,
    tmp_path: Path,
    clip_mp4: Path,
    http_stream_server: HttpStreamServer,
    mjpeg_stream: str,
    unused_port: int,
    hass_admin_user: MockUser,
    hass_client: ClientSessionGenerator,
    issue_registry: ir.IssueRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Diagnostics, DEBUG logs, repairs, states, events, ids, title and exports: no secret."""
    caplog.set_level(logging.DEBUG, logger="custom_components.hearthcam")
    use_config_dir(hass, tmp_path / "config")
    use_media_dir(hass, tmp_path / "media")
    events: list[Event] = []
    hass.bus.async_listen(MATCH_ALL, events.append)
    port = http_stream_server.port if form.served else unused_port
    url = form.url(f"127.0.0.1:{port}", mjpeg_stream)

    entry, shown = await _camera_entry(hass, url, streams=form.streams)
    assert entry.minor_version == config_flow.HearthCamConfigFlow.MINOR_VERSION
    assert entry.unique_id == stream_identity(url)
    if form.streams:
        await wait_for(hass, lambda: hass.states.is_state(STREAM, STATE_ON), "the stream")
    else:
        await _raise_unreachable_issue(hass, entry, issue_registry)
    exported = await _export_texts(hass, entry, clip_mp4, hass_admin_user)
    diagnostics = await _diagnostics(hass, hass_client, entry)

    issues = [
        repr(issue.translation_placeholders)
        for (domain, _), issue in issue_registry.issues.items()
        if domain == DOMAIN
    ]
    assert issues or form.streams  # an unreachable camera's repair was searched too
    places = {
        "diagnostics": diagnostics,
        "logs": caplog.text + "\n".join(r.getMessage() for r in caplog.records),
        "repairs": "\n".join(issues),
        "states": "\n".join(json.dumps(s.as_dict(), default=str) for s in hass.states.async_all()),
        "events": "\n".join(repr(event.data) for event in events),
        "registries": _registries(hass, entry),
        "unique id and title": f"{entry.unique_id} {entry.title}",
        "config flow": "\n".join(shown),
        "export": exported,
    }
    leaks = {place: found for place, text in places.items() if (found := _secrets_in(text, form))}
    assert not leaks
    # The search found what it looked in: the logs name the (redacted) stream.
    assert f"127.0.0.1:{port}" in places["logs"]


@pytest.mark.parametrize("template", AMBIGUOUS_URLS)
async def test_ambiguous_url_is_refused_and_nothing_saved(
    hass: HomeAssistant, template: str, unused_port: int, mock_setup_entry: AsyncMock
) -> None:
    """An "@" after the host: a translated error on the field, no entry."""
    url = template.format(host=f"127.0.0.1:{unused_port}")
    result = await _user_step(hass, {CONF_NAME: TITLE, CONF_STREAM_URL: url})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_STREAM_URL: "ambiguous_url"}
    # The detection stream is checked the same way.
    good = f"rtsp://viewer:pw@127.0.0.1:{unused_port}/main"
    result = await _user_step(
        hass, {CONF_NAME: TITLE, CONF_STREAM_URL: good, CONF_DETECT_STREAM_URL: url}
    )
    assert result["errors"] == {CONF_DETECT_STREAM_URL: "ambiguous_url"}
    assert hass.config_entries.async_entries(DOMAIN) == []
    mock_setup_entry.assert_not_called()
    strings = json.loads(Path(config_flow.__file__).with_name("strings.json").read_text())
    assert "%40" in strings["config"]["error"]["ambiguous_url"]


@pytest.mark.usefixtures("mock_setup_entry")
async def test_ambiguous_url_is_refused_on_reconfigure(
    hass: HomeAssistant, unused_port: int
) -> None:
    """Reconfiguring to an ambiguous URL shows the error and changes nothing."""
    url = f"rtsp://viewer:pw@127.0.0.1:{unused_port}/main"
    entry = MockConfigEntry(
        domain=DOMAIN, title=TITLE, data={CONF_STREAM_URL: url}, unique_id=stream_identity(url)
    )
    entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    ambiguous = f"rtsp://viewer:new/pw@127.0.0.1:{unused_port}/main"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_STREAM_URL: ambiguous}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_STREAM_URL: "ambiguous_url"}
    assert entry.data == {CONF_STREAM_URL: url}
    assert entry.unique_id == stream_identity(url)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_migration_drops_secrets_from_unique_ids_and_still_finds_duplicates(
    hass: HomeAssistant,
    http_stream_server: HttpStreamServer,
    mjpeg_stream: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Old entries get secret-free unique ids; the same camera again is already configured."""
    base = f"http://127.0.0.1:{http_stream_server.port}/{mjpeg_stream}?user=a&pw="
    first = MockConfigEntry(
        domain=DOMAIN,
        title="Porch",
        data={CONF_STREAM_URL: base + "Old-Secret-1"},
        unique_id=_legacy_unique_id(base + "Old-Secret-1"),
        minor_version=1,
    )
    # The same camera added twice under versions that kept "pw" in the unique id.
    second = MockConfigEntry(
        domain=DOMAIN,
        title="Porch again",
        data={CONF_STREAM_URL: base + "Old-Secret-2"},
        unique_id=_legacy_unique_id(base + "Old-Secret-2"),
        minor_version=1,
    )
    first.add_to_hass(hass)
    second.add_to_hass(hass)
    assert await hass.config_entries.async_setup(first.entry_id)  # sets up both
    await hass.async_block_till_done()

    identity = stream_identity(base + "anything")
    # One keeps the camera's identity; the other is told apart by its entry id.
    assert {first.unique_id, second.unique_id} in (
        {identity, f"{identity}#{second.entry_id}"},
        {identity, f"{identity}#{first.entry_id}"},
    )
    for entry in (first, second):
        assert entry.minor_version == 2
        assert entry.unique_id is not None
        assert "Old-Secret" not in entry.unique_id
    assert "already in use" not in caplog.text  # no unique id collision

    result = await _user_step(hass, {CONF_NAME: "Porch 3", CONF_STREAM_URL: base + "New-Secret-3"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 2


@pytest.mark.usefixtures("mock_setup_entry")
async def test_migration_gives_an_ambiguous_stored_url_no_unique_id(
    hass: HomeAssistant, unused_port: int
) -> None:
    """A URL saved before ambiguous ones were refused: its old unique id goes, none replaces it."""
    url = f"http://127.0.0.1:{unused_port}/snapshot.cgi?user=me@example.org&pwd=Amb-Secret-1"
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=TITLE,
        data={CONF_STREAM_URL: url},
        unique_id=_legacy_unique_id(url),
        minor_version=1,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.minor_version == 2
    assert entry.unique_id is None
    assert entry.data == {CONF_STREAM_URL: url}  # the camera itself keeps working as it did
