"""A dashboard for the demo camera, made through the WebSocket API like the UI's editor does.

Home Assistant's default overview groups devices by area, so a new camera is a few clicks
away; this dashboard shows its view, motion and clips at once.
"""

from e2e.ha_rest import ApiError, HomeAssistantRest, Json
from e2e.ha_ws import HomeAssistantWebSocket

URL_PATH = "hearthcam-demo"  # Home Assistant wants a hyphen in a dashboard's path.
_ROWS = ("motion", "stream", "recording", "last_clip", "activity")


async def camera_entities(
    rest: HomeAssistantRest, ws: HomeAssistantWebSocket, entry_id: str
) -> dict[str, str]:
    """Map roles (camera, motion, stream, recording, last_clip, activity) to entity ids."""
    registry: list[Json] = await ws.call("config/entity_registry/list")
    mine = {e["entity_id"] for e in registry if e.get("config_entry_id") == entry_id}
    states: list[Json] = await rest.get("/api/states")
    roles: dict[str, str] = {}
    for state in states:
        entity_id: str = state["entity_id"]
        if entity_id not in mine:
            continue
        domain = entity_id.split(".", 1)[0]
        device_class = state["attributes"].get("device_class")
        role = {
            ("camera", None): "camera",
            ("binary_sensor", "motion"): "motion",
            ("binary_sensor", "connectivity"): "stream",
            ("switch", None): "recording",
            ("sensor", "timestamp"): "last_clip",
            ("event", None): "activity",
        }.get((domain, device_class if domain in {"binary_sensor", "sensor"} else None))
        if role is not None:
            roles.setdefault(role, entity_id)
    if "camera" not in roles or "motion" not in roles:
        msg = f"the entry {entry_id} lacks a camera or motion entity: {sorted(mine)}"
        raise ApiError(msg)
    return roles


async def ensure_dashboard(ws: HomeAssistantWebSocket, title: str, roles: dict[str, str]) -> str:
    """Create (or replace the content of) the demo dashboard; returns its path."""
    dashboards: list[Json] = await ws.call("lovelace/dashboards/list")
    if not any(d["url_path"] == URL_PATH for d in dashboards):
        await ws.call(
            "lovelace/dashboards/create",
            url_path=URL_PATH,
            title="HearthCam",
            icon="mdi:cctv",
            mode="storage",
            show_in_sidebar=True,
            require_admin=False,
        )
    rows = [roles[r] for r in _ROWS if r in roles]
    cards: list[Json] = [
        {
            "type": "picture-entity",
            "entity": roles["camera"],
            # The latest still, refreshed; a tap opens the live stream (works in any browser).
            "camera_view": "auto",
            "show_state": False,
        },
        {"type": "entities", "title": title, "entities": rows},
    ]
    view: Json = {"title": title, "path": "camera", "cards": cards}
    await ws.call("lovelace/config/save", url_path=URL_PATH, config={"views": [view]})
    return f"/{URL_PATH}/camera"
