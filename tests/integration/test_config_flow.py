"""The config flow's user step."""

from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.hearthcam.const import CONF_DETECT_STREAM_URL, CONF_STREAM_URL, DOMAIN


async def _start(hass: HomeAssistant) -> str:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    return str(result["flow_id"])


async def test_user_step_creates_entry(hass: HomeAssistant) -> None:
    """Valid URLs create an entry titled by the name, with blanks trimmed."""
    flow_id = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        {
            CONF_NAME: " Front door ",
            CONF_STREAM_URL: " rtsp://u:p@192.0.2.10/main ",
            CONF_DETECT_STREAM_URL: "rtsp://u:p@192.0.2.10/sub",
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Front door"
    assert result["data"] == {
        CONF_STREAM_URL: "rtsp://u:p@192.0.2.10/main",
        CONF_DETECT_STREAM_URL: "rtsp://u:p@192.0.2.10/sub",
    }
    assert result["result"].unique_id == "192.0.2.10:554/main"


@pytest.mark.parametrize(
    ("user_input", "errors"),
    [
        (
            {CONF_NAME: "Cam", CONF_STREAM_URL: "ftp://192.0.2.10/x"},
            {CONF_STREAM_URL: "invalid_url"},
        ),
        (
            {CONF_NAME: "Cam", CONF_STREAM_URL: "rtsp://"},
            {CONF_STREAM_URL: "invalid_url"},
        ),
        (
            {CONF_NAME: "Cam", CONF_STREAM_URL: "rtsp://192.0.2.10/x", CONF_DETECT_STREAM_URL: "x"},
            {CONF_DETECT_STREAM_URL: "invalid_url"},
        ),
        (
            {CONF_NAME: "  ", CONF_STREAM_URL: "rtsp://192.0.2.10/x"},
            {CONF_NAME: "name_required"},
        ),
    ],
)
async def test_user_step_rejects_bad_input(
    hass: HomeAssistant, user_input: dict[str, str], errors: dict[str, str]
) -> None:
    """Bad input shows a translated error, keeps what was typed and creates nothing."""
    flow_id = await _start(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    assert hass.config_entries.async_entries(DOMAIN) == []

    # The user can correct the field and finish the same flow.
    fixed = {CONF_NAME: "Cam", CONF_STREAM_URL: "rtsp://192.0.2.10/x"}
    result = await hass.config_entries.flow.async_configure(flow_id, fixed)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_same_stream_with_other_credentials_aborts(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """The unique id ignores credentials, so the camera cannot be added twice."""
    mock_config_entry.add_to_hass(hass)
    flow_id = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        {CONF_NAME: "Again", CONF_STREAM_URL: "rtsp://admin:other@192.0.2.10/stream1"},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
