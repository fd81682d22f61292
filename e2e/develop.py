"""scripts/develop: a demo Home Assistant with one HearthCam camera, until Ctrl-C.

python -m e2e.develop [--config DIR] [--hass-python PYTHON]
"""

import argparse
import asyncio
from pathlib import Path
import signal
import sys

import aiohttp

from e2e import loopback
from e2e.camera_flow import add_camera, hearthcam_entries
from e2e.dashboard import camera_entities, ensure_dashboard
from e2e.ha_rest import ApiError, HomeAssistantRest
from e2e.ha_ws import websocket
from e2e.procs import ProcessError
from e2e.scene import walk_scene, write_scene
from e2e.stack import Stack, StackSettings

# Local-only demo login: the instance listens on 127.0.0.1 and holds nothing but demo footage.
DEMO_USER = "demo"
DEMO_PASSWORD = "demo"  # noqa: S105 - documented demo login of a loopback-only instance
CAMERA_NAME = "Front door"
# Five minutes of footage with someone walking by every minute; live555 ends the stream at
# the end of the file and HearthCam reconnects, which plays it from the start again.
DEMO_SCENE = walk_scene(duration_s=300, first_walk_s=20, every_s=60)


def _say(text: str) -> None:
    """Print a progress line in the style of the scripts."""
    print(f"\033[1m[hearthcam]\033[0m {text}", file=sys.stderr, flush=True)


async def _sign_in(rest: HomeAssistantRest) -> None:
    """Finish onboarding with the demo owner on first start, else log in as it."""
    if await rest.onboarding_pending():
        _say(f"first start: creating the demo owner {DEMO_USER!r} (onboarding)")
        await rest.onboard("Demo", DEMO_USER, DEMO_PASSWORD)
        return
    try:
        await rest.login(DEMO_USER, DEMO_PASSWORD)
    except ApiError as err:
        msg = (
            f"cannot log in as {DEMO_USER}/{DEMO_PASSWORD} ({err}); this config/ was onboarded "
            "differently. Delete config/.storage to start the demo afresh."
        )
        raise ApiError(msg) from None


async def _ensure_camera(rest: HomeAssistantRest, stack: Stack, footage: Path) -> str:
    """Add the demo camera through the config flow unless one exists; returns its entry id."""
    if entries := await hearthcam_entries(rest):
        _say("the demo camera is already configured")
        entry_id: str = entries[0]["entry_id"]
        return entry_id
    url = stack.camera_url(footage.name)
    _say(f"adding the camera {CAMERA_NAME!r} ({url}) through the config flow")
    return await add_camera(rest, CAMERA_NAME, url)


async def _wait_for_stop(stack: Stack) -> None:
    """Return on SIGINT/SIGTERM; raise if a process dies meanwhile."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    while not stop.is_set():
        if stack.restart_requested():
            _say("Home Assistant asked for a restart; starting it again")
            stack.start_hass()
        stack.check_alive()
        try:
            await asyncio.wait_for(stop.wait(), 1.0)
        except TimeoutError:
            continue


async def _run(stack: Stack, footage: Path) -> None:
    """Bring the demo up, then wait for Ctrl-C."""
    base_url = stack.settings.base_url
    async with aiohttp.ClientSession() as session:
        rest = HomeAssistantRest(session, base_url)
        await stack.wait_ready(rest)
        await _sign_in(rest)
        assert rest.token is not None  # noqa: S101 - _sign_in just set it
        await stack.wait_running(session, rest.token)
        async with websocket(session, base_url, rest.token) as ws:
            await loopback.confirm(ws, stack.settings.config_dir)
            entry_id = await _ensure_camera(rest, stack, footage)
            roles = await camera_entities(rest, ws, entry_id)
            dashboard = await ensure_dashboard(ws, CAMERA_NAME, roles)
    _say(f"ready: open {base_url}{dashboard} and log in as {DEMO_USER} / {DEMO_PASSWORD}")
    _say(
        "(local-only demo login). Someone walks by every minute: motion turns on and a clip "
        "appears in Media → HearthCam → Front door. Ctrl-C stops everything."
    )
    await _wait_for_stop(stack)


def main(argv: list[str] | None = None) -> int:
    """Run the demo until interrupted; returns the exit status."""
    parser = argparse.ArgumentParser(prog="scripts/develop")
    parser.add_argument("--config", type=Path, default=Path("config"))
    parser.add_argument("--hass-python", default=sys.executable)
    args = parser.parse_args(argv)
    config: Path = args.config.resolve()
    footage_dir = config / "demo-camera"
    if not footage_dir.is_dir():
        _say("rendering the demo camera's footage (first start only, about a minute)")
    footage = write_scene(DEMO_SCENE, footage_dir)
    settings = StackSettings(
        hass_python=args.hass_python,
        config_dir=config,
        footage_dir=footage_dir,
        log_dir=config / "logs",
    )
    stack = Stack(settings)
    loopback.stage(config)
    try:
        stack.start()
        _say(f"live555 serves the demo camera on port {stack.rtsp_port}; starting Home Assistant")
        asyncio.run(_run(stack, footage))
    except (ApiError, ProcessError) as err:
        _say(f"error: {err}")
        _say(f"logs: {settings.log_dir}")
        return 1
    except KeyboardInterrupt:
        pass  # Ctrl-C before the signal handlers were installed: stop all the same.
    finally:
        _say("stopping Home Assistant and the camera")
        stack.stop()
    _say("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
