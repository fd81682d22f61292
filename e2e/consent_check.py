"""Links and consent, as a household meets them: long-lived clip links, and the UI export path."""

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from e2e.ha_rest import ApiError, HomeAssistantRest, Json
from e2e.ha_ws import HomeAssistantWebSocket

SUBENTRY_FLOW = "/api/config/config_entries/subentries/flow"
TEN_YEARS_S = 10 * 365 * 24 * 3600
Step = Callable[[str], AbstractAsyncContextManager[None]]


async def check_links_and_ui_export(
    rest: HomeAssistantRest,
    ws: HomeAssistantWebSocket,
    saved: Json,
    artifacts: Path,
    step: Step,
) -> None:
    """Run the checks, each as a step of the scenario."""
    async with step("clip links: a ten-year signature is refused, an hour's is accepted"):
        await _check_clip_link_lifetimes(rest, ws, saved["clip_id"])
    async with step("export from the UI: the camera entry's flow, consent, a link used once"):
        await _check_ui_export(rest, ws, saved, artifacts)


async def _check_clip_link_lifetimes(
    rest: HomeAssistantRest, ws: HomeAssistantWebSocket, clip_id: str
) -> None:
    """Sign the clip's path with auth/sign_path, as any user can; only a short one plays."""
    path = f"/api/hearthcam/clips/{clip_id}.mp4"
    for expires, wanted in ((TEN_YEARS_S, 403), (3600, 200)):
        signed = await ws.call("auth/sign_path", path=path, expires=expires)
        status, _, _ = await rest.get_bytes(signed["path"])
        if status != wanted:
            msg = f"a clip link signed for {expires} s answered HTTP {status}, not {wanted}"
            raise ApiError(msg)
    print("[e2e]   10-year link: HTTP 403; 1-hour link: HTTP 200")


async def _check_ui_export(
    rest: HomeAssistantRest, ws: HomeAssistantWebSocket, saved: Json, artifacts: Path
) -> None:
    """Run "Export a clip" through the flow API as the frontend does; download once."""
    form: Json = await rest.post(SUBENTRY_FLOW, {"handler": [saved["entry_id"], "export"]})
    if form.get("step_id") != "user":
        msg = f"the export flow did not start with its clip form: {form}"
        raise ApiError(msg)
    flow = f"{SUBENTRY_FLOW}/{form['flow_id']}"
    field = next(f for f in form["data_schema"] if f["name"] == "clip_id")
    offered = [o["value"] for o in field["selector"]["select"]["options"]]
    if saved["clip_id"] not in offered:
        msg = f"the export flow does not offer clip {saved['clip_id']}: {offered}"
        raise ApiError(msg)
    choice = {"clip_id": saved["clip_id"], "include_audio": False, "apply_privacy_masks": True}
    confirm: Json = await rest.post(flow, choice)
    shown = confirm.get("description_placeholders") or {}
    if confirm.get("step_id") != "confirm" or shown.get("audio") != "left out":
        msg = f"the consent step does not show what will leave: {confirm}"
        raise ApiError(msg)
    refused: Json = await rest.post(flow, {"consent": False, "reason": "e2e: from the UI"})
    if refused.get("errors") != {"base": "consent_required"}:
        msg = f"the consent step went on without consent: {refused}"
        raise ApiError(msg)
    done: Json = await rest.post(flow, {"consent": True, "reason": "e2e: from the UI"})
    link = (done.get("description_placeholders") or {}).get("download_url")
    if done.get("step_id") != "done" or not link:
        msg = f"the export flow did not end with a download link: {done}"
        raise ApiError(msg)
    first, _, body = await rest.get_bytes(link)
    second, _, _ = await rest.get_bytes(link)
    if (first, second) != (200, 404):
        msg = f"the flow's download link answered HTTP {first}, then {second} (200, 404 wanted)"
        raise ApiError(msg)
    (artifacts / "ui-export.zip").write_bytes(body)
    closed: Json = await rest.post(flow, {})
    if closed.get("reason") != "export_finished":
        msg = f"the export flow did not close: {closed}"
        raise ApiError(msg)
    listed = await ws.call(
        "call_service",
        domain="hearthcam",
        service="list_exports",
        service_data={},
        return_response=True,
    )
    if "download_url" in str(listed) or "authSig" in str(listed):
        msg = "list_exports handed out a download link"
        raise ApiError(msg)
    print(f"[e2e]   {len(body)} bytes downloaded once; second GET: HTTP {second}")
