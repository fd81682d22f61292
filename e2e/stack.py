"""The demo stack: live555 serving the demo camera, and Home Assistant reading from it."""

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
import os
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import quote

import aiohttp

from e2e.ha_rest import HomeAssistantRest
from e2e.ha_ws import HomeAssistantWebSocket
from e2e.procs import Child, start_live555

# hass exits with this status to be started again; a supervisor (here: us) must do that.
RESTART_EXIT_CODE = 100


@dataclass(frozen=True, slots=True)
class StackSettings:
    """Where things are: the Python that runs hass, its config dir, footage, logs, its URL."""

    hass_python: str
    config_dir: Path
    footage_dir: Path
    log_dir: Path
    base_url: str = "http://127.0.0.1:8123"
    start_timeout_s: float = 180.0
    # Home Assistant gives each shutdown stage a deadline; this bounds them all.
    stop_timeout_s: float = 60.0
    hass_env: Mapping[str, str] = field(default_factory=dict)  # added to hass's environment


class Stack:
    """Starts live555, then hass; stops hass first so the camera's stream closes cleanly."""

    def __init__(self, settings: StackSettings) -> None:
        """Prepare; nothing runs until start()."""
        self.settings = settings
        self.live555: Child | None = None
        self.rtsp_port = 0
        self.hass: Child | None = None

    def start(self) -> None:
        """Start both processes (Home Assistant is not ready yet: see wait_ready)."""
        s = self.settings
        self.live555, self.rtsp_port = start_live555(s.footage_dir, s.log_dir / "live555.log")
        self.start_hass()

    def start_hass(self) -> None:
        """Start Home Assistant (again, after it asked for a restart)."""
        s = self.settings
        # --skip-pip: every requirement is pinned in the venv; hass must not install into it.
        # In the config dir: `python -m` puts the working directory first on sys.path, and from
        # the repository's root hass would import its custom_components, not the copied ones.
        self.hass = Child(
            "hass",
            [s.hass_python, "-m", "homeassistant", "--config", str(s.config_dir), "--skip-pip"],
            s.log_dir / "hass.log",
            cwd=s.config_dir,
            env={**os.environ, **s.hass_env} if s.hass_env else None,
        )

    def camera_url(self, filename: str) -> str:
        """RTSP URL of a file in the footage directory."""
        return f"rtsp://127.0.0.1:{self.rtsp_port}/{quote(filename)}"

    def restart_requested(self) -> bool:
        """Whether hass exited asking to be restarted (as the UI's Restart does)."""
        return self.hass is not None and self.hass.returncode == RESTART_EXIT_CODE

    def check_alive(self) -> None:
        """Raise ProcessError if either process has died."""
        for child in (self.live555, self.hass):
            if child is not None:
                child.check_alive()

    async def wait_ready(self, rest: HomeAssistantRest) -> None:
        """Wait until Home Assistant's HTTP server answers."""
        await rest.wait_until_up(self.settings.start_timeout_s, alive=self.check_alive)

    async def wait_running(self, session: aiohttp.ClientSession, token: str) -> None:
        """Wait until Home Assistant has finished starting (core state RUNNING)."""
        async with asyncio.timeout(self.settings.start_timeout_s):
            ws = await HomeAssistantWebSocket.connect(session, self.settings.base_url, token)
            try:
                while (await ws.call("get_config"))["state"] != "RUNNING":
                    self.check_alive()
                    await asyncio.sleep(0.5)
            finally:
                await ws.close()

    def stop(self) -> None:
        """Stop Home Assistant (gracefully, bounded), then live555."""
        if self.hass is not None:
            self.hass.stop(self.settings.stop_timeout_s)
        if self.live555 is not None:
            self.live555.stop(5.0)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
