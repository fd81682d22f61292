"""Pytest fixtures: cached synthetic footage and real loopback RTSP and HTTP stream servers."""

from collections.abc import Iterator
import os
from pathlib import Path
from typing import Protocol

import pytest

from devkit.footage import Scene, footage_path
from devkit.http_server import HttpStreamServer
from devkit.live555 import Live555Server


class MakeFootage(Protocol):
    """Type of the make_footage fixture."""

    def __call__(self, scene: Scene, suffix: str = ".mkv") -> Path:
        """Path of the scene's cached file with this suffix, encoded on first use."""


class Live555Factory(Protocol):
    """Type of the live555_factory fixture."""

    def __call__(
        self, media_dir: Path | None = None, *, start_timeout_s: float = 5.0
    ) -> Live555Server:
        """Start a live555 server on media_dir (default footage_dir); stopped after the test."""


# live555MediaServer cannot be told a port: it takes 554, else 8554, so at most two run per
# network namespace. Tests that start one are pinned to a single xdist worker (run with
# --dist loadgroup); otherwise two workers, each with a session server plus a private one,
# would need four ports and fail at random.
LIVE555_GROUP = "live555"
_LIVE555_FIXTURES = frozenset({"rtsp_server", "live555_factory"})


def pytest_configure(config: pytest.Config) -> None:
    """Declare xdist_group, so --strict-markers passes even without pytest-xdist."""
    config.addinivalue_line("markers", "xdist_group(name): run the group on one xdist worker")


# tryfirst: xdist reads the group marks in its own hook of this name, so ours must run before.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put every test that uses a live555 server in the one live555 xdist group."""
    for item in items:
        if _LIVE555_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.xdist_group(LIVE555_GROUP))


@pytest.fixture(scope="session")
def footage_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Directory of cached footage, shared by all xdist workers of a run."""
    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker's basetemp is a subdirectory of one per-run directory; files
    # are written atomically under a lock, so workers can share a cache there.
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    directory = base / "devkit-footage"
    directory.mkdir(exist_ok=True)
    return directory


@pytest.fixture(scope="session")
def make_footage(footage_dir: Path) -> MakeFootage:
    """Return make(scene, suffix=".mkv") -> path of the scene's cached file in footage_dir."""

    def make(scene: Scene, suffix: str = ".mkv") -> Path:
        return footage_path(scene, footage_dir, suffix)

    return make


@pytest.fixture(scope="session")
def rtsp_server(footage_dir: Path) -> Iterator[Live555Server]:
    """Yield a session-wide live555 server on footage_dir; url(name) gives a file's URL."""
    with Live555Server(footage_dir) as server:
        yield server


@pytest.fixture(scope="session")
def http_stream_server(footage_dir: Path) -> Iterator[HttpStreamServer]:
    """Yield the session-wide HTTP camera simulator serving footage_dir."""
    with HttpStreamServer(footage_dir) as server:
        yield server


@pytest.fixture
def live555_factory(footage_dir: Path) -> Iterator[Live555Factory]:
    """Yield start(media_dir=footage_dir) -> a private live555 server, free to kill."""
    servers: list[Live555Server] = []

    def start(media_dir: Path | None = None, *, start_timeout_s: float = 5.0) -> Live555Server:
        server = Live555Server(media_dir or footage_dir, start_timeout_s=start_timeout_s)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()
