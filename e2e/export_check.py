"""The consent-gated export, as an administrator meets it: refused, allowed, then a bundle."""

import asyncio
import hashlib
import json
from pathlib import Path
import zipfile

from e2e.ha_rest import ApiError, HomeAssistantRest, Json
from e2e.ha_ws import CommandError, HomeAssistantWebSocket
from e2e.media_checks import ClipFacts, check_clip

OPTIONS_FLOW = "/api/config/config_entries/options/flow"


async def _export_clip(ws: HomeAssistantWebSocket, data: Json) -> Json:
    """Call hearthcam.export_clip with data over the WebSocket API; return its response."""
    result: Json = await ws.call(
        "call_service",
        domain="hearthcam",
        service="export_clip",
        service_data=data,
        return_response=True,
    )
    return result


async def expect_refusal(
    ws: HomeAssistantWebSocket, data: Json, translation_key: str, texts: dict[str, str]
) -> str:
    """Call export_clip expecting a refusal with translation_key; return its English text."""
    try:
        await _export_clip(ws, data)
    except CommandError as err:
        error = err.error
        if error.get("translation_key") != translation_key:
            msg = f"export_clip refused with {error}, expected {translation_key}"
            raise ApiError(msg) from err
        key = f"component.hearthcam.exceptions.{translation_key}.message"
        if not texts.get(key):
            msg = f"the refusal {translation_key} has no English text ({key})"
            raise ApiError(msg) from err
        return str(error.get("message"))
    msg = f"export_clip with {data} was not refused ({translation_key} expected)"
    raise ApiError(msg)


async def allow_exports(rest: HomeAssistantRest, entry_id: str) -> None:
    """Turn on "allow exports" in the camera's options, through the options flow."""
    form: Json = await rest.post(OPTIONS_FLOW, {"handler": entry_id})
    if form.get("type") == "menu":  # the options open on a menu: settings, or marking clips
        form = await rest.post(f"{OPTIONS_FLOW}/{form['flow_id']}", {"next_step_id": "settings"})
    # Submit every section with the values the form shows, changing only allow_exports.
    user_input: Json = {}
    for field in form["data_schema"]:
        user_input[field["name"]] = {f["name"]: f.get("default") for f in field["schema"]}
    if "allow_exports" not in user_input.get("privacy", {}):
        msg = f"the options form has no privacy/allow_exports field: {list(user_input)}"
        raise ApiError(msg)
    user_input["privacy"]["allow_exports"] = True
    result: Json = await rest.post(f"{OPTIONS_FLOW}/{form['flow_id']}", user_input)
    if result.get("type") != "create_entry":
        msg = f"saving the options failed: {result}"
        raise ApiError(msg)


async def export(ws: HomeAssistantWebSocket, data: Json, timeout_s: float = 60) -> Json:
    """Call export_clip and return its response; waits out the reload saving options causes."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        try:
            result = await _export_clip(ws, data)
        except CommandError as err:
            reloading = err.error.get("translation_key") == "not_loaded"
            if not reloading or asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)
            continue
        response: Json = result["response"]
        return response


def check_bundle(path: Path, response: Json) -> ClipFacts:
    """Check the zip against the response's sha256 and size and its manifest's file hashes."""
    body = path.read_bytes()
    if hashlib.sha256(body).hexdigest() != response["sha256"]:
        msg = "the bundle's sha256 differs from the one export_clip returned"
        raise ApiError(msg)
    if len(body) != response["size_bytes"]:
        msg = f"the bundle has {len(body)} bytes, export_clip said {response['size_bytes']}"
        raise ApiError(msg)
    with zipfile.ZipFile(path) as bundle:
        manifest = json.loads(bundle.read("manifest.json"))
        for name, entry in manifest["files"].items():
            if hashlib.sha256(bundle.read(name)).hexdigest() != entry["sha256"]:
                msg = f"{name} in the bundle does not match its sha256 in manifest.json"
                raise ApiError(msg)
        if "clip.mp4" not in manifest["files"]:
            msg = f"the bundle holds no clip.mp4: {sorted(manifest['files'])}"
            raise ApiError(msg)
        clip = path.with_name("export-clip.mp4")
        clip.write_bytes(bundle.read("clip.mp4"))
    return check_clip(clip, 3.0)
