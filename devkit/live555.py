"""live555MediaServer as a managed child process serving a directory over RTSP."""

from pathlib import Path
import re
from urllib.parse import quote

from devkit.process import ServerProcess

# live555 takes no port option: as root it binds 554, otherwise (or if 554 is taken) 8554,
# and prints e.g. "rtsp://192.0.2.2:8554/<filename>"; the ":port" is left out for 554.
_BANNER = re.compile(r"rtsp://(?:\[[^\]]*\]|[^\s/:]+)(?::(\d+))?/<filename>")
_DEFAULT_RTSP_PORT = 554


class Live555Server(ServerProcess):
    """Serves every file in media_dir as rtsp://127.0.0.1:<port>/<filename>."""

    def __init__(
        self,
        media_dir: Path | str,
        *,
        executable: str = "live555MediaServer",
        start_timeout_s: float = 5.0,
    ) -> None:
        """Configure; call start() or use as a context manager to run it."""
        super().__init__(start_timeout_s=start_timeout_s)
        self.media_dir = Path(media_dir)
        self.executable = executable

    def _command(self) -> tuple[list[str], Path | None, dict[str, str] | None]:
        """live555 serves its working directory."""
        if not self.media_dir.is_dir():
            msg = f"media directory {self.media_dir} does not exist"
            raise FileNotFoundError(msg)
        return [self.executable], self.media_dir, None

    def _find_port(self, output: str) -> int | None:
        """Port from the first URL in the banner."""
        match = _BANNER.search(output)
        if match is None:
            return None
        return int(match.group(1)) if match.group(1) else _DEFAULT_RTSP_PORT

    def url(self, filename: str) -> str:
        """RTSP URL of a file in media_dir, over IPv4 loopback."""
        return f"rtsp://127.0.0.1:{self.port}/{quote(filename)}"
