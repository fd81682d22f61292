"""Clips stay private: My media neither lists nor serves them; HearthCam's own source does."""

from pathlib import Path

from e2e.ha_rest import ApiError, HomeAssistantRest, Json
from e2e.ha_ws import CommandError, HomeAssistantWebSocket

LOCAL_ROOT = "media-source://media_source/local/"
CLIP_FOLDER = Path(".cache", "hearthcam", "clips")  # below the config folder
MAX_DEPTH = 4


async def check_private_store(
    rest: HomeAssistantRest, ws: HomeAssistantWebSocket, saved: Json, config_dir: Path
) -> str:
    """Run every check; return a one-line summary of what was seen."""
    clip_file = config_dir / CLIP_FOLDER / f"{saved['clip_id']}.mp4"
    if not clip_file.is_file():
        msg = f"the clip is not in the private folder: {clip_file} is missing"
        raise ApiError(msg)
    # Home Assistant puts every media folder (and <config>/www) in the allowlist by default.
    config: Json = await ws.call("get_config")
    allowed = [Path(folder) for folder in config["allowlist_external_dirs"]]
    for folder in allowed:
        if clip_file.resolve().is_relative_to(folder.resolve()):
            msg = f"the clip folder is inside {folder}, a media folder or allowed folder"
            raise ApiError(msg)
    in_media = [str(p) for folder in allowed if folder.is_dir() for p in folder.rglob("*.mp4")]
    if in_media:
        msg = f"clips in a media or allowed folder: {in_media}"
        raise ApiError(msg)
    # The default media folder of a Core install, made if missing: My media answers an error,
    # not a listing, for a media folder that does not exist.
    (config_dir / "media").mkdir(exist_ok=True)
    listed = await _local_videos(ws, LOCAL_ROOT, MAX_DEPTH)
    if listed:
        msg = f"My media lists videos: {listed}"
        raise ApiError(msg)
    old_place = f"{LOCAL_ROOT}hearthcam/{saved['clip_id']}.mp4"
    local_status = await _local_status(rest, ws, old_place)
    if local_status == 200:
        msg = f"My media served {old_place}"
        raise ApiError(msg)
    resolved = await ws.call(
        "media_source/resolve_media", media_content_id=saved["media_content_id"], expires=600
    )
    status, content_type, body = await rest.get_bytes(resolved["url"])
    if status != 200 or content_type != "video/mp4" or body != clip_file.read_bytes():
        msg = f"HearthCam's source answered HTTP {status} {content_type} ({len(body)} bytes)"
        raise ApiError(msg)
    return (
        f"{clip_file.relative_to(config_dir)} ({len(body)} bytes); not in "
        f"{', '.join(map(str, allowed))}; My media: nothing listed, "
        f"{old_place} -> {local_status}; media-source://hearthcam -> 200 video/mp4"
    )


async def _local_videos(ws: HomeAssistantWebSocket, media_content_id: str, depth: int) -> list[str]:
    """Every video or HearthCam folder My media lists below media_content_id."""
    node: Json = await ws.call("media_source/browse_media", media_content_id=media_content_id)
    found: list[str] = []
    for child in node.get("children") or []:
        if child.get("media_class") == "video" or "hearthcam" in child["media_content_id"]:
            found.append(child["media_content_id"])
        elif child.get("can_expand") and depth > 0:
            found += await _local_videos(ws, child["media_content_id"], depth - 1)
    return found


async def _local_status(rest: HomeAssistantRest, ws: HomeAssistantWebSocket, uri: str) -> str | int:
    """Return what My media does with the clip's old address: a refusal, or the HTTP status."""
    try:
        resolved = await ws.call("media_source/resolve_media", media_content_id=uri, expires=600)
    except CommandError as err:
        return f"refused ({err.error.get('code')})"
    status, _, _ = await rest.get_bytes(resolved["url"])
    return status
