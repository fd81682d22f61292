"""Finding a clip in the media browser tree over WebSocket, as the frontend browses it."""

from e2e.ha_rest import ApiError, Json
from e2e.ha_ws import HomeAssistantWebSocket

ROOT_ID = "media-source://hearthcam"


async def find_clip(ws: HomeAssistantWebSocket, media_content_id: str) -> list[Json]:
    """Browse down from HearthCam's root to the clip; returns the nodes from the root to it."""
    path = await _search(ws, await _browse(ws, ROOT_ID), media_content_id, depth=4)
    if path is None:
        msg = f"{media_content_id} is not in the media browser under {ROOT_ID}"
        raise ApiError(msg)
    return path


async def _browse(ws: HomeAssistantWebSocket, media_content_id: str) -> Json:
    """One media_source/browse_media call."""
    node: Json = await ws.call("media_source/browse_media", media_content_id=media_content_id)
    return node


async def _search(
    ws: HomeAssistantWebSocket, node: Json, target: str, depth: int
) -> list[Json] | None:
    """Depth-first search below node (newest first, as listed) for the target id."""
    for child in node.get("children") or []:
        if child["media_content_id"] == target:
            return [node, child]
        if child.get("can_expand") and depth > 0:
            found = await _search(
                ws, await _browse(ws, child["media_content_id"]), target, depth - 1
            )
            if found is not None:
                return [node, *found]
    return None
