"""The HTTP camera simulator (devkit.http_stream) as a managed child process."""

import os
from pathlib import Path
import re
import sys
from urllib.parse import quote

from devkit.process import ServerProcess

_PORT_LINE = re.compile(r"^PORT (\d+)$", re.MULTILINE)
# The child imports devkit from wherever this copy lives, whatever its working directory.
_IMPORT_ROOT = str(Path(__file__).resolve().parent.parent)


class HttpStreamServer(ServerProcess):
    """Runs ``python -m devkit.http_stream`` on a media directory, on 127.0.0.1."""

    def __init__(self, root: Path | str, *, start_timeout_s: float = 10.0) -> None:
        """Configure; call start() or use as a context manager to run it."""
        super().__init__(start_timeout_s=start_timeout_s)
        self.root = Path(root)

    def _command(self) -> tuple[list[str], Path | None, dict[str, str] | None]:
        """Run our own interpreter, with devkit importable."""
        python_path = os.pathsep.join(filter(None, [_IMPORT_ROOT, os.environ.get("PYTHONPATH")]))
        env = {**os.environ, "PYTHONPATH": python_path}
        args = [sys.executable, "-m", "devkit.http_stream", "--root", str(self.root)]
        return [*args, "--port", "0"], None, env

    def _find_port(self, output: str) -> int | None:
        """Port from the child's "PORT <n>" line."""
        match = _PORT_LINE.search(output)
        return int(match.group(1)) if match else None

    def url(self, path: str, *, credentials: tuple[str, str] | None = None) -> str:
        """HTTP URL of an endpoint path such as "ts/clip.ts?pace=0", optionally with user:pass@."""
        userinfo = "" if credentials is None else ":".join(map(quote, credentials)) + "@"
        return f"http://{userinfo}127.0.0.1:{self.port}/{path.lstrip('/')}"
