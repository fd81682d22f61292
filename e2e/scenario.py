"""The end-to-end scenario: what a user does with HearthCam, through HA's public APIs only."""

import asyncio
from collections.abc import AsyncIterator
import contextlib
from dataclasses import dataclass
from pathlib import Path
import shutil
import time

import aiohttp

from e2e.browser import UiTarget, check_frontend
from e2e.camera_flow import start_flow, submit
from e2e.consent_check import check_links_and_ui_export
from e2e.dashboard import camera_entities, ensure_dashboard
from e2e.events import state_is, wait_for_event
from e2e.export_check import allow_exports, check_bundle, expect_refusal, export
from e2e.feedback_check import check_feedback
from e2e.ha_rest import ApiError, HomeAssistantRest, Json
from e2e.ha_ws import HomeAssistantWebSocket, websocket
from e2e.library import ROOT_ID, find_clip
from e2e.live_view import LiveTarget, check_live_view
from e2e.media_checks import check_clip, check_jpeg
from e2e.private_store import check_private_store
from e2e.scene import walk_scene, write_scene
from e2e.stack import Stack, StackSettings

INTEGRATION = Path(__file__).resolve().parents[1] / "custom_components" / "hearthcam"
USER = "e2e"
PASSWORD = "e2e-local-only"  # noqa: S105 - throwaway owner of a loopback-only test instance
CAMERA_NAME = "Front door"
# Someone crosses at 8 s and 38 s of every stream session (the second is a spare chance).
SCENE = walk_scene(duration_s=60, first_walk_s=8, every_s=30)
# No http: the run has a network namespace of its own, and Home Assistant 2026.10+ would stage
# YAML HTTP settings as a pending config that restarts it after 5 minutes unless confirmed.
CONFIGURATION_YAML = """\
homeassistant:
  name: HearthCam e2e
  unit_system: metric
  time_zone: UTC
  country: GB
  currency: GBP
frontend:
config:
media_source:
stream:
logger:
  default: warning
  logs:
    custom_components.hearthcam: debug
"""
# Bounds of each wait; generous for a busy 2-core CI machine, but finite.
MOTION_TIMEOUT_S = 120.0
CLIP_TIMEOUT_S = 120.0


@dataclass(frozen=True, slots=True)
class Found:
    """What the scenario learnt along the way."""

    entry_id: str
    camera: str
    motion: str
    dashboard: str


def prepare_config(run_dir: Path) -> Path:
    """Make a fresh config dir with HearthCam copied in alone, as HACS installs it."""
    shutil.rmtree(run_dir, ignore_errors=True)
    config = run_dir / "config"
    (config / "custom_components").mkdir(parents=True)
    (config / "configuration.yaml").write_text(CONFIGURATION_YAML)
    shutil.copytree(
        INTEGRATION,
        config / "custom_components" / "hearthcam",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    return config


@contextlib.asynccontextmanager
async def step(name: str) -> AsyncIterator[None]:
    """Print a step's name, then how long it took (or that it failed)."""
    print(f"[e2e] {name} ...", flush=True)
    started = time.monotonic()
    try:
        yield
    except BaseException:
        print(f"[e2e] {name}: FAILED after {time.monotonic() - started:.1f} s", flush=True)
        raise
    print(f"[e2e] {name}: ok ({time.monotonic() - started:.1f} s)", flush=True)


async def run(hass_python: str, artifacts: Path) -> None:
    """Start the stack in artifacts/run and walk through the scenario."""
    run_dir = artifacts / "run"
    config = prepare_config(run_dir)
    footage = write_scene(SCENE, run_dir / "camera")
    settings = StackSettings(
        hass_python=hass_python, config_dir=config, footage_dir=footage.parent, log_dir=run_dir
    )
    with Stack(settings) as stack:
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            rest = HomeAssistantRest(session, settings.base_url)
            await _scenario(stack, rest, session, footage, artifacts)


async def _scenario(
    stack: Stack,
    rest: HomeAssistantRest,
    session: aiohttp.ClientSession,
    footage: Path,
    artifacts: Path,
) -> None:
    """Every step, in the order a user meets them."""
    async with step("Home Assistant starts and is onboarded"):
        await stack.wait_ready(rest)
        if not await rest.onboarding_pending():
            msg = "a fresh config dir should start with onboarding"
            raise ApiError(msg)
        await rest.onboard("E2E", USER, PASSWORD)
        assert rest.token is not None  # noqa: S101 - onboard() sets it
        await stack.wait_running(session, rest.token)
    async with websocket(session, stack.settings.base_url, rest.token) as ws:
        states = await ws.subscribe("subscribe_events", event_type="state_changed")
        clips = await ws.subscribe("subscribe_events", event_type="hearthcam_clip_saved")
        found = await _add_camera(stack, rest, ws, footage)
        async with step("motion turns on, then off"):
            await wait_for_event(
                states,
                state_is(found.motion, "on"),
                MOTION_TIMEOUT_S,
                f"{found.motion} on",
                alive=stack.check_alive,
            )
            await wait_for_event(
                states,
                state_is(found.motion, "off"),
                MOTION_TIMEOUT_S,
                f"{found.motion} off",
                alive=stack.check_alive,
            )
        async with step("hearthcam_clip_saved is fired"):
            saved = await wait_for_event(
                clips,
                lambda e: e["data"]["entry_id"] == found.entry_id,
                CLIP_TIMEOUT_S,
                "hearthcam_clip_saved",
                alive=stack.check_alive,
            )
        path = await _check_clip(rest, ws, saved["data"], artifacts)
        async with step("clips are private: My media neither lists nor serves them"):
            seen = await check_private_store(rest, ws, saved["data"], stack.settings.config_dir)
            print(f"[e2e]   {seen}")
        await _check_still(rest, found.camera)
        await _check_export(rest, ws, saved["data"], artifacts)
        await check_links_and_ui_export(rest, ws, saved["data"], artifacts, step)
        async with step("mark_clip: a false alarm shows in the media browser, then is cleared"):
            print(f"[e2e]   {await check_feedback(ws, saved['data'])}")
    async with step("the frontend in chromium: login, config flow dialog, media browser"):
        shots = await check_frontend(
            UiTarget(
                base_url=stack.settings.base_url,
                username=USER,
                password=PASSWORD,
                library_path=[(n["media_content_type"], n["media_content_id"]) for n in path[1:-1]],
                clip_title=path[-1]["title"],
                dashboard=found.dashboard,
                screenshots=artifacts / "screenshots",
            )
        )
        print(f"[e2e] screenshots: {', '.join(str(s) for s in shots)}")
    async with step("live view: masked MJPEG in chromium; the raw stream only when shared"):
        await check_live_view(
            rest,
            session,
            LiveTarget(
                stack.settings.base_url,
                USER,
                PASSWORD,
                found.entry_id,
                found.camera,
                found.dashboard,
                artifacts / "screenshots",
            ),
        )


async def _add_camera(
    stack: Stack, rest: HomeAssistantRest, ws: HomeAssistantWebSocket, footage: Path
) -> Found:
    """Run the config flow: a bad URL gets a translated error, the good one adds the camera."""
    async with step("config flow: a bad stream URL is refused with a translated error"):
        form = await start_flow(rest)
        bad = stack.camera_url("no-such-camera.mkv")
        result = await submit(rest, form["flow_id"], {"name": CAMERA_NAME, "stream_url": bad})
        errors: dict[str, str] = result.get("errors") or {}
        if result.get("type") != "form" or not errors:
            msg = f"{bad} was not refused: {result}"
            raise ApiError(msg)
        texts = (
            await ws.call(
                "frontend/get_translations",
                language="en",
                category="config",
                integration=["hearthcam"],
            )
        )["resources"]
        for error in errors.values():
            key = f"component.hearthcam.config.error.{error}"
            if not texts.get(key):
                msg = f"error {error!r} has no English text ({key})"
                raise ApiError(msg)
            print(f"[e2e]   {error}: {texts[key]}")
    async with step("config flow: the demo camera is added"):
        url = stack.camera_url(footage.name)
        result = await submit(rest, form["flow_id"], {"name": CAMERA_NAME, "stream_url": url})
        if result.get("type") != "create_entry":
            msg = f"adding {url} failed: {result}"
            raise ApiError(msg)
        entry_id: str = result["result"]["entry_id"]
        roles = await camera_entities(rest, ws, entry_id)
        print(f"[e2e]   entities: {', '.join(f'{k}={v}' for k, v in sorted(roles.items()))}")
        dashboard = await ensure_dashboard(ws, CAMERA_NAME, roles)
    return Found(entry_id, roles["camera"], roles["motion"], dashboard)


async def _check_clip(
    rest: HomeAssistantRest, ws: HomeAssistantWebSocket, saved: Json, artifacts: Path
) -> list[Json]:
    """Browse to the clip, resolve it, download it through the signed URL and decode it."""
    async with step(f"media browser: {ROOT_ID} lists the clip; it resolves and plays"):
        path = await find_clip(ws, saved["media_content_id"])
        resolved = await ws.call(
            "media_source/resolve_media", media_content_id=saved["media_content_id"], expires=600
        )
        if resolved.get("mime_type") != "video/mp4" or "authSig=" not in resolved["url"]:
            msg = f"unexpected resolution: {resolved}"
            raise ApiError(msg)
        status, content_type, body = await rest.get_bytes(resolved["url"])
        if status != 200 or content_type != "video/mp4":
            msg = f"the signed clip URL answered HTTP {status} {content_type}"
            raise ApiError(msg)
        clip = artifacts / "clip.mp4"
        clip.write_bytes(body)
        facts = await asyncio.to_thread(check_clip, clip, 3.0)
        print(f"[e2e]   {' / '.join(n['title'] for n in path)}: {facts}")
    return path


async def _check_still(rest: HomeAssistantRest, camera: str) -> None:
    """Check that the camera proxy serves the latest analysed frame as a JPEG."""
    async with step(f"/api/camera_proxy/{camera} returns a JPEG"):
        status, content_type, body = await rest.get_bytes(f"/api/camera_proxy/{camera}")
        if status != 200:
            msg = f"camera proxy answered HTTP {status}"
            raise ApiError(msg)
        check_jpeg(content_type, body)


async def _check_export(
    rest: HomeAssistantRest, ws: HomeAssistantWebSocket, saved: Json, artifacts: Path
) -> None:
    """hearthcam.export_clip: refused without consent and while not allowed, then a bundle."""
    texts = (
        await ws.call(
            "frontend/get_translations",
            language="en",
            category="exceptions",
            integration=["hearthcam"],
        )
    )["resources"]
    data = {"clip_id": saved["clip_id"], "reason": "e2e: checking the export", "consent": False}
    async with step("export: refused without consent"):
        text = await expect_refusal(ws, data, "consent_required", texts)
        print(f"[e2e]   {text}")
    async with step("export: refused while the camera's options do not allow exports"):
        text = await expect_refusal(ws, {**data, "consent": True}, "exports_not_allowed", texts)
        print(f"[e2e]   {text}")
    async with step("export: allowed in the options, performed with consent, bundle checked"):
        await allow_exports(rest, saved["entry_id"])
        response = await export(ws, {**data, "consent": True})
        status, _, body = await rest.get_bytes(response["download_url"])
        if status != 200:
            msg = f"the export's download URL answered HTTP {status}"
            raise ApiError(msg)
        bundle = artifacts / "export.zip"
        bundle.write_bytes(body)
        facts = await asyncio.to_thread(check_bundle, bundle, response)
        print(f"[e2e]   {response['export_id']}: {len(body)} bytes, clip {facts}")
