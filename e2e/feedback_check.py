"""Marking a clip, as a household member does: the verdict shows in the media browser."""

from e2e.ha_rest import ApiError, Json
from e2e.ha_ws import CommandError, HomeAssistantWebSocket
from e2e.library import find_clip

FALSE_ALARM_TEXT = "marked as a false alarm"


async def _mark(ws: HomeAssistantWebSocket, clip_id: str, verdict: str) -> None:
    """Call hearthcam.mark_clip over the WebSocket API."""
    await ws.call(
        "call_service",
        domain="hearthcam",
        service="mark_clip",
        service_data={"clip_id": clip_id, "verdict": verdict},
    )


async def _title(ws: HomeAssistantWebSocket, media_content_id: str) -> str:
    """Return the clip's title, browsed to from HearthCam's root as the frontend does."""
    path = await find_clip(ws, media_content_id)
    return str(path[-1]["title"])


async def check_feedback(ws: HomeAssistantWebSocket, saved: Json) -> str:
    """Flag the clip, see it in the browser, refuse a made-up verdict, clear it; return the title.

    The clip ends as it began (no verdict), so later steps see the title they expect.
    """
    media_id = saved["media_content_id"]
    before = await _title(ws, media_id)
    if FALSE_ALARM_TEXT in before:
        msg = f"a fresh clip is already marked: {before!r}"
        raise ApiError(msg)
    await _mark(ws, saved["clip_id"], "false_alarm")
    flagged = await _title(ws, media_id)
    if flagged != f"{before} · {FALSE_ALARM_TEXT}":
        msg = f"after mark_clip the media browser shows {flagged!r}, not the verdict"
        raise ApiError(msg)
    try:
        await _mark(ws, saved["clip_id"], "maybe")
    except CommandError as err:
        if err.error.get("translation_key") != "invalid_verdict":
            msg = f"mark_clip refused an unknown verdict with {err.error}"
            raise ApiError(msg) from err
    else:
        msg = "mark_clip accepted the verdict 'maybe'"
        raise ApiError(msg)
    if await _title(ws, media_id) != flagged:
        msg = "a refused verdict changed the clip"
        raise ApiError(msg)
    await _mark(ws, saved["clip_id"], "none")
    cleared = await _title(ws, media_id)
    if cleared != before:
        msg = f"clearing the verdict left {cleared!r}, expected {before!r}"
        raise ApiError(msg)
    return flagged
