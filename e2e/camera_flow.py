"""Adding a HearthCam camera through the real config flow, over REST like the frontend."""

from e2e.ha_rest import ApiError, HomeAssistantRest, Json

FLOW_PATH = "/api/config/config_entries/flow"


async def start_flow(rest: HomeAssistantRest) -> Json:
    """Start HearthCam's config flow; returns its first form."""
    payload = {"handler": "hearthcam", "show_advanced_options": False}
    form: Json = await rest.post(FLOW_PATH, payload)
    if form.get("type") != "form" or form.get("step_id") != "user":
        msg = f"the config flow did not start with the user form: {form}"
        raise ApiError(msg)
    return form


async def submit(rest: HomeAssistantRest, flow_id: str, data: Json) -> Json:
    """Submit the user step and return the flow's answer (a form with errors, or an entry)."""
    result: Json = await rest.post(f"{FLOW_PATH}/{flow_id}", data)
    return result


async def add_camera(rest: HomeAssistantRest, name: str, stream_url: str) -> str:
    """Add a camera; returns its config entry id, or raises with the flow's errors."""
    form = await start_flow(rest)
    result = await submit(rest, form["flow_id"], {"name": name, "stream_url": stream_url})
    if result.get("type") != "create_entry":
        msg = f"adding {name!r} failed: {result.get('errors') or result}"
        raise ApiError(msg)
    entry_id: str = result["result"]["entry_id"]
    return entry_id


async def hearthcam_entries(rest: HomeAssistantRest) -> list[Json]:
    """Return the HearthCam config entries Home Assistant has."""
    entries: list[Json] = await rest.get("/api/config/config_entries/entry?domain=hearthcam")
    return entries
