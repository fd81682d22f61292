"""The consent-gated export, as an administrator meets it: refused, allowed, then a bundle."""

import asyncio
import hashlib
import json
from pathlib import Path
import zipfile

from e2e.ha_rest import ApiError, HomeAssistantRest, Json
from e2e.ha_ws import CommandError, HomeAssistantWebSocket
from e2e.media_checks import ClipFacts, check_clip
from e2e.options_flow import set_option


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
    await set_option(rest, entry_id, "privacy", "allow_exports", True)


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
