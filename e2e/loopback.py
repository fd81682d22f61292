"""Keeping the demo instance on 127.0.0.1: its login is demo / demo.

Home Assistant 2026.10+ moves `http:` settings from YAML into its storage on the first start
(as a pending config that reverts after 5 minutes unless confirmed) and ignores YAML later.
So the first start gets a package binding 127.0.0.1, the setting is confirmed once running,
and the package is removed so later starts do not warn about YAML that is ignored.
"""

from pathlib import Path

from e2e.ha_rest import ApiError
from e2e.ha_ws import HomeAssistantWebSocket

LOOPBACK = "127.0.0.1"
_PACKAGE = """\
# Written by scripts/develop for the first start only (see configuration.yaml).
http:
  server_host: 127.0.0.1
  server_port: 8123
"""


def _package(config: Path) -> Path:
    """Return the path of the package file."""
    return config / "packages" / "develop_http.yaml"


def stage(config: Path) -> None:
    """Before starting hass: bind loopback through YAML unless HTTP settings are stored."""
    package = _package(config)
    package.parent.mkdir(exist_ok=True)
    if not (config / ".storage" / "http").exists():
        package.write_text(_PACKAGE)


async def confirm(ws: HomeAssistantWebSocket, config: Path) -> None:
    """Once running: confirm a pending loopback setting, and insist that it is in force."""
    settings = await ws.call("http/config")
    active = settings["stable"]
    if settings["active_config_type"] == "pending":
        active = settings["pending"]
        await ws.call("http/config/promote")
    _package(config).unlink(missing_ok=True)
    hosts = active.get("server_host")
    if hosts != [LOOPBACK]:
        msg = (
            f"Home Assistant listens on {hosts or 'every interface'}, not only {LOOPBACK}, "
            "and the demo login is demo / demo. Delete config/.storage to start afresh."
        )
        raise ApiError(msg)
