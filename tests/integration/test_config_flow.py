"""The config flow (user and reconfigure steps) and the options flow, against real streams.

Streams come from the devkit's HTTP camera simulator and live555; nothing in the engine is
patched. Entry setup is replaced by a stub, as in Home Assistant's own config flow tests: what
is checked here is what the flows save and that they reload the entry, not the camera runtime.
"""

from collections.abc import Callable, Iterator
from pathlib import Path
import threading
from typing import Any
from unittest.mock import AsyncMock, patch

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState, ConfigFlowResult
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.hearthcam import config_flow
from custom_components.hearthcam.const import (
    CONF_ALLOW_EXPORTS,
    CONF_DETECT_STREAM_URL,
    CONF_IGNORE_ZONES,
    CONF_MAX_CLIP,
    CONF_MOTION_ZONES,
    CONF_PRE_ROLL,
    CONF_PRIVACY_MASKS,
    CONF_RTSP_TRANSPORT,
    CONF_SENSITIVITY,
    CONF_STREAM_URL,
    DEFAULT_OPTIONS,
    DOMAIN,
)
from custom_components.hearthcam.engine.urls import stream_identity
from devkit.footage import Scene
from devkit.http_server import HttpStreamServer
from devkit.live555 import Live555Server
from devkit.pytest_plugin import MakeFootage

from .conftest import TEST_STREAM_URL
from .optionskit import form_defaults, open_settings

SCENE = Scene(width=320, height=240, duration_s=3.0)
CREDENTIALS = ("user", "secret")  # What the simulator's /auth/ endpoints accept.
TRANSLATIONS = Path(config_flow.__file__).parent / "translations" / "en.json"

type UrlFactory = Callable[[], str]


@pytest.fixture(autouse=True)
def quick_probes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Shorter probe timeouts; afterwards, wait for demux threads a timed-out probe left behind.

    The engine leaves a demux thread blocked in FFmpeg to end by itself (within its open
    timeout); Home Assistant's test teardown fails on any thread still alive.
    """
    monkeypatch.setattr(config_flow, "PROBE_TIMEOUT_S", 5.0)
    monkeypatch.setattr(config_flow, "PROBE_DEADLINE_S", 10.0)
    yield
    for thread in threading.enumerate():
        if thread.name.startswith("hearthcam-source"):
            thread.join(10.0)
            assert not thread.is_alive()


@pytest.fixture
def mock_setup_entry() -> Iterator[AsyncMock]:
    """Stand-in for the entry's setup: records which entries were set up, with what data."""
    with patch("custom_components.hearthcam.async_setup_entry", return_value=True) as mock:
        yield mock


@pytest.fixture
def ts_path(make_footage: MakeFootage) -> Path:
    """A short H.264 MPEG-TS file, served by both stream servers."""
    return make_footage(SCENE, ".ts")


@pytest.fixture
def http_url(http_stream_server: HttpStreamServer, ts_path: Path) -> str:
    """A paced live MPEG-TS stream over HTTP, as many cameras serve one."""
    return http_stream_server.url(f"ts/{ts_path.name}")


@pytest.fixture
def auth_url(http_stream_server: HttpStreamServer, ts_path: Path) -> str:
    """The same stream behind basic authentication, with the right credentials."""
    return http_stream_server.url(f"auth/ts/{ts_path.name}", credentials=CREDENTIALS)


@pytest.fixture
def rtsp_url(rtsp_server: Live555Server, ts_path: Path) -> str:
    """The same footage over RTSP, from live555."""
    return rtsp_server.url(ts_path.name)


async def _start(hass: HomeAssistant) -> str:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    return str(result["flow_id"])


async def _assert_created(
    hass: HomeAssistant, result: ConfigFlowResult, mock_setup_entry: AsyncMock
) -> None:
    """The flow created an entry, and Home Assistant set it up once."""
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert mock_setup_entry.call_count == 1


# --- user step ---------------------------------------------------------------------------


async def test_user_step_opens_both_streams_and_creates_entry(
    hass: HomeAssistant, mock_setup_entry: AsyncMock, auth_url: str, rtsp_url: str
) -> None:
    """Both streams open: an entry titled by the name, URLs trimmed, default options."""
    flow_id = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        {
            CONF_NAME: " Front door ",
            CONF_STREAM_URL: f" {auth_url} ",
            CONF_DETECT_STREAM_URL: rtsp_url,
        },
    )
    await _assert_created(hass, result, mock_setup_entry)
    assert result["title"] == "Front door"
    assert result["data"] == {CONF_STREAM_URL: auth_url, CONF_DETECT_STREAM_URL: rtsp_url}
    entry = result["result"]
    assert entry.options == DEFAULT_OPTIONS
    # The unique id leaves the credentials out.
    assert entry.unique_id == stream_identity(auth_url)
    assert "secret" not in entry.unique_id


async def test_user_step_without_detect_stream(
    hass: HomeAssistant, mock_setup_entry: AsyncMock, rtsp_url: str
) -> None:
    """The detection stream is optional: only the main stream is stored."""
    flow_id = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_NAME: "Garden", CONF_STREAM_URL: rtsp_url}
    )
    await _assert_created(hass, result, mock_setup_entry)
    assert result["data"] == {CONF_STREAM_URL: rtsp_url}


@pytest.mark.parametrize(
    ("user_input", "errors"),
    [
        ({CONF_STREAM_URL: "ftp://192.0.2.10/x"}, {CONF_STREAM_URL: "invalid_url"}),
        ({CONF_STREAM_URL: "rtsp://"}, {CONF_STREAM_URL: "invalid_url"}),
        ({CONF_STREAM_URL: "  "}, {CONF_STREAM_URL: "invalid_url"}),
        ({CONF_DETECT_STREAM_URL: "x"}, {CONF_DETECT_STREAM_URL: "invalid_url"}),
        ({CONF_NAME: "  "}, {CONF_NAME: "name_required"}),
    ],
)
async def test_user_step_rejects_bad_input(
    hass: HomeAssistant,
    mock_setup_entry: AsyncMock,
    rtsp_url: str,
    user_input: dict[str, str],
    errors: dict[str, str],
) -> None:
    """Bad input shows a translated error, opens nothing, and the user can fix it."""
    flow_id = await _start(hass)
    fixed = {CONF_NAME: "Cam", CONF_STREAM_URL: rtsp_url}
    result = await hass.config_entries.flow.async_configure(flow_id, {**fixed, **user_input})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    assert hass.config_entries.async_entries(DOMAIN) == []

    result = await hass.config_entries.flow.async_configure(flow_id, fixed)
    await _assert_created(hass, result, mock_setup_entry)


def _bad_urls(
    request: pytest.FixtureRequest,
) -> dict[str, UrlFactory]:
    """URLs that fail to probe, each built from the fixtures it needs, by case name."""

    def server() -> HttpStreamServer:
        server: HttpStreamServer = request.getfixturevalue("http_stream_server")
        return server

    def media(name: str) -> str:
        path: Path = request.getfixturevalue("make_media")(name)
        return server().url(f"ts/{path.name}?pace=0")

    def footage() -> Path:
        path: Path = request.getfixturevalue("ts_path")
        return path

    return {
        "no_credentials": lambda: server().url(f"auth/ts/{footage().name}"),
        "refused": lambda: f"rtsp://127.0.0.1:{request.getfixturevalue('unused_port')}/live",
        "not_found": lambda: server().url("ts/no-such-camera.ts"),
        "silent": lambda: f"http://127.0.0.1:{request.getfixturevalue('silent_port')}/video",
        "audio_only": lambda: media("audio-only.ts"),
        "mpeg4": lambda: media("mpeg4.ts"),
    }


PROBE_CASES = [
    pytest.param("no_credentials", "invalid_auth", id="invalid_auth"),
    pytest.param("refused", "cannot_connect", id="cannot_connect-refused"),
    pytest.param("not_found", "cannot_connect", id="cannot_connect-404"),
    pytest.param("silent", "timeout", id="timeout"),
    pytest.param("audio_only", "no_video", id="no_video"),
    pytest.param("mpeg4", "unsupported_codec", id="unsupported_codec"),
]


@pytest.mark.parametrize(("case", "error"), PROBE_CASES)
async def test_user_step_maps_stream_failures(
    hass: HomeAssistant,
    *,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    mock_setup_entry: AsyncMock,
    rtsp_url: str,
    case: str,
    error: str,
) -> None:
    """A stream that does not open is not saved; its error names why; a fix finishes the flow."""
    if error == "timeout":
        monkeypatch.setattr(config_flow, "PROBE_TIMEOUT_S", 1.0)
    bad_url = _bad_urls(request)[case]()
    flow_id = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_NAME: "Porch", CONF_STREAM_URL: bad_url}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_STREAM_URL: error}
    assert hass.config_entries.async_entries(DOMAIN) == []

    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_NAME: "Porch", CONF_STREAM_URL: rtsp_url}
    )
    await _assert_created(hass, result, mock_setup_entry)


async def test_detect_stream_errors_show_on_its_field(
    hass: HomeAssistant, http_stream_server: HttpStreamServer, rtsp_url: str
) -> None:
    """A good main stream with a broken detection stream: the error is on the detection field."""
    flow_id = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        {
            CONF_NAME: "Drive",
            CONF_STREAM_URL: rtsp_url,
            CONF_DETECT_STREAM_URL: http_stream_server.url("ts/no-such-sub-stream.ts"),
        },
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_DETECT_STREAM_URL: "cannot_connect"}


async def test_flow_stops_waiting_at_its_deadline(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch, silent_port: int
) -> None:
    """If the engine has not answered by the flow's own deadline, the form says timeout."""
    monkeypatch.setattr(config_flow, "PROBE_TIMEOUT_S", 2.0)
    monkeypatch.setattr(config_flow, "PROBE_DEADLINE_S", 0.3)
    flow_id = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_NAME: "Shed", CONF_STREAM_URL: f"http://127.0.0.1:{silent_port}/video"}
    )
    assert result["errors"] == {CONF_STREAM_URL: "timeout"}


async def test_same_stream_with_other_credentials_aborts(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """The unique id ignores credentials, so the camera cannot be added twice (nothing opened)."""
    mock_config_entry.add_to_hass(hass)
    flow_id = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        {CONF_NAME: "Again", CONF_STREAM_URL: "rtsp://admin:other@192.0.2.10/stream1"},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


# --- reconfigure step --------------------------------------------------------------------


def _camera_entry(hass: HomeAssistant, url: str, **data: str) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Front door",
        data={CONF_STREAM_URL: url, **data},
        options=dict(DEFAULT_OPTIONS),
        unique_id=stream_identity(url),
    )
    entry.add_to_hass(hass)
    return entry


async def test_reconfigure_new_credentials_and_no_detect_stream(
    hass: HomeAssistant,
    *,
    mock_setup_entry: AsyncMock,
    http_stream_server: HttpStreamServer,
    ts_path: Path,
    auth_url: str,
    rtsp_url: str,
) -> None:
    """A wrong password is refused, the right one saved; the entry is reloaded with it."""
    old = http_stream_server.url(f"auth/ts/{ts_path.name}", credentials=("user", "old"))
    entry = _camera_entry(hass, old, **{CONF_DETECT_STREAM_URL: rtsp_url})
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert result["description_placeholders"] == {CONF_NAME: "Front door"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_STREAM_URL: old}
    )
    assert result["errors"] == {CONF_STREAM_URL: "invalid_auth"}
    assert entry.data[CONF_STREAM_URL] == old

    # Clearing the detection stream's field removes it.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_STREAM_URL: auth_url}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert dict(entry.data) == {CONF_STREAM_URL: auth_url}
    assert entry.unique_id == stream_identity(old)  # The same camera.
    assert entry.title == "Front door"
    assert entry.options == DEFAULT_OPTIONS
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    mock_setup_entry.assert_called_once_with(hass, entry)


async def test_reconfigure_to_a_new_address(
    hass: HomeAssistant, mock_setup_entry: AsyncMock, http_url: str, rtsp_url: str
) -> None:
    """A camera that moved (another host, port or path) takes its new unique id along.

    The stream is opened with the camera's own RTSP transport option (UDP here).
    """
    entry = _camera_entry(hass, http_url)
    udp = {**entry.options, CONF_RTSP_TRANSPORT: "udp"}
    hass.config_entries.async_update_entry(entry, options=udp)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_STREAM_URL: rtsp_url, CONF_DETECT_STREAM_URL: http_url}
    )
    assert result["reason"] == "reconfigure_successful"
    assert dict(entry.data) == {CONF_STREAM_URL: rtsp_url, CONF_DETECT_STREAM_URL: http_url}
    assert entry.unique_id == stream_identity(rtsp_url)
    await hass.async_block_till_done()
    assert mock_setup_entry.call_count == 1


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("ftp://camera/x", "invalid_url"),
        ("rtsp://127.0.0.1:{unused_port}/none", "cannot_connect"),
    ],
)
async def test_reconfigure_errors_change_nothing(
    hass: HomeAssistant,
    *,
    mock_setup_entry: AsyncMock,
    unused_port: int,
    http_url: str,
    url: str,
    error: str,
) -> None:
    """Invalid or unreachable URLs keep the entry as it was."""
    entry = _camera_entry(hass, http_url)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_STREAM_URL: url.format(unused_port=unused_port)}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_STREAM_URL: error}
    assert dict(entry.data) == {CONF_STREAM_URL: http_url}
    await hass.async_block_till_done()
    mock_setup_entry.assert_not_called()


async def test_reconfigure_to_another_cameras_stream_aborts(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, http_url: str
) -> None:
    """A camera cannot take over another camera's stream, whatever the credentials."""
    mock_config_entry.add_to_hass(hass)
    entry = _camera_entry(hass, http_url)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_STREAM_URL: TEST_STREAM_URL.replace("hunter2", "other")}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert dict(entry.data) == {CONF_STREAM_URL: http_url}


# --- options flow ------------------------------------------------------------------------


def _sectioned(options: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Options as the form submits them: grouped by section."""
    return {
        name: {key: options[key] for key in fields}
        for name, fields in config_flow.OPTION_SECTIONS.items()
    }


async def test_options_flow_shows_defaults_and_saves_flat(
    hass: HomeAssistant, mock_setup_entry: AsyncMock, mock_config_entry: MockConfigEntry
) -> None:
    """An entry without options shows the defaults; saving stores every option flat, typed."""
    mock_config_entry.add_to_hass(hass)
    result = await open_settings(hass, mock_config_entry)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "settings"
    assert form_defaults(result["data_schema"]) == _sectioned(dict(DEFAULT_OPTIONS))

    changed = {
        **DEFAULT_OPTIONS,
        CONF_SENSITIVITY: 8.0,
        CONF_PRE_ROLL: 10,
        CONF_RTSP_TRANSPORT: "udp",
        CONF_ALLOW_EXPORTS: True,
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], _sectioned(changed)
    )
    await _assert_created(hass, result, mock_setup_entry)  # Changed options reload the camera.
    assert mock_config_entry.options == {**changed, CONF_SENSITIVITY: 8, CONF_PRE_ROLL: 10.0}
    assert type(mock_config_entry.options[CONF_SENSITIVITY]) is int
    assert mock_config_entry.options[CONF_ALLOW_EXPORTS] is True


async def test_options_flow_keeps_options_it_does_not_show(
    hass: HomeAssistant, mock_setup_entry: AsyncMock, http_url: str
) -> None:
    """Options saved by a later version (zones, say) survive a save of this form."""
    entry = _camera_entry(hass, http_url)
    hass.config_entries.async_update_entry(entry, options={**entry.options, "zones": ["x"]})
    result = await open_settings(hass, entry)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], _sectioned(dict(DEFAULT_OPTIONS))
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {**DEFAULT_OPTIONS, "zones": ["x"]}
    mock_setup_entry.assert_not_called()  # Nothing changed, nothing reloaded.


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (CONF_SENSITIVITY, 11),
        (CONF_SENSITIVITY, 0),
        ("analysis_fps", 16),
        (CONF_PRE_ROLL, 31),
        ("post_roll_seconds", -1),
        (CONF_MAX_CLIP, 29),
        ("retain_days", 0),
        ("max_storage_gb", -1),
        (CONF_RTSP_TRANSPORT, "http"),
        ("export_expiry_hours", 169),
    ],
)
async def test_options_flow_rejects_out_of_range_values(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, key: str, value: object
) -> None:
    """Values outside their range are refused by the form; nothing is saved."""
    mock_config_entry.add_to_hass(hass)
    result = await open_settings(hass, mock_config_entry)
    with pytest.raises(InvalidData):
        await hass.config_entries.options.async_configure(
            result["flow_id"], _sectioned({**DEFAULT_OPTIONS, key: value})
        )
    assert mock_config_entry.options == {}


async def test_options_flow_clip_must_outlast_pre_roll(
    hass: HomeAssistant, mock_setup_entry: AsyncMock, mock_config_entry: MockConfigEntry
) -> None:
    """A longest clip no longer than the pre-roll is refused with a message; then fixed."""
    mock_config_entry.add_to_hass(hass)
    result = await open_settings(hass, mock_config_entry)
    bad = {**DEFAULT_OPTIONS, CONF_PRE_ROLL: 30, CONF_MAX_CLIP: 30}
    result = await hass.config_entries.options.async_configure(result["flow_id"], _sectioned(bad))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "clip_shorter_than_pre_roll"}
    assert mock_config_entry.options == {}

    good = {**bad, CONF_MAX_CLIP: 60}
    result = await hass.config_entries.options.async_configure(result["flow_id"], _sectioned(good))
    await _assert_created(hass, result, mock_setup_entry)
    assert mock_config_entry.options[CONF_MAX_CLIP] == 60


@pytest.mark.parametrize(
    ("key", "error"),
    [
        (CONF_MOTION_ZONES, "invalid_motion_zones"),
        (CONF_IGNORE_ZONES, "invalid_ignore_zones"),
        (CONF_PRIVACY_MASKS, "invalid_privacy_masks"),
    ],
)
async def test_options_flow_refuses_unreadable_polygons(
    hass: HomeAssistant,
    mock_setup_entry: AsyncMock,
    mock_config_entry: MockConfigEntry,
    key: str,
    error: str,
) -> None:
    """A zone or mask that does not parse is refused, saying why; a valid one is saved."""
    mock_config_entry.add_to_hass(hass)
    result = await open_settings(hass, mock_config_entry)
    bad = {**DEFAULT_OPTIONS, key: "0,0 1,0 2,1"}
    result = await hass.config_entries.options.async_configure(result["flow_id"], _sectioned(bad))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    placeholders = result["description_placeholders"]
    assert placeholders is not None
    assert "outside 0..1" in placeholders["error"]
    assert mock_config_entry.options == {}

    good = {**bad, key: "0,0 0.5,0 0.5,0.5\n0.5,0.5 1,0.5 1,1"}
    result = await hass.config_entries.options.async_configure(result["flow_id"], _sectioned(good))
    await _assert_created(hass, result, mock_setup_entry)
    assert mock_config_entry.options[key] == good[key]


# --- strings -----------------------------------------------------------------------------


def test_every_field_error_and_section_has_english_text() -> None:
    """Each form field has a label and a help text, and each error the flows use a message."""
    import json  # noqa: PLC0415 - only this test reads the file

    strings = json.loads(TRANSLATIONS.read_text())
    config, options = strings["config"], strings["options"]
    for step, step_fields in (
        ("user", [CONF_NAME, CONF_STREAM_URL, CONF_DETECT_STREAM_URL]),
        ("reconfigure", [CONF_STREAM_URL, CONF_DETECT_STREAM_URL]),
    ):
        texts = config["step"][step]
        assert texts["title"]
        assert texts["description"]
        assert set(texts["data"]) == set(texts["data_description"]) == set(step_fields)
    assert set(config_flow.PROBE_ERRORS.values()) <= set(config["error"])
    assert "reconfigure_successful" in config["abort"]

    menu = options["step"]["init"]
    assert set(menu["menu_options"]) == {"settings", "clips"}
    clips = options["step"]["clips"]
    assert set(clips["data"]) == set(clips["data_description"]) == {"clip", "verdict"}
    assert {"clip_not_found", "clip_not_marked"} <= set(options["error"])
    init = options["step"]["settings"]
    assert init["title"]
    assert init["description"]
    assert set(init["sections"]) == set(config_flow.OPTION_SECTIONS)
    for name, fields in config_flow.OPTION_SECTIONS.items():
        texts = init["sections"][name]
        assert texts["name"]
        assert texts["description"]
        assert set(texts["data"]) == set(texts["data_description"]) == set(fields)
    assert {*config_flow.OPTION_ERRORS.values(), "invalid_options"} <= set(options["error"])
    assert set(strings["selector"][CONF_RTSP_TRANSPORT]["options"]) == {"tcp", "udp"}
