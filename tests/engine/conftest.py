"""Fixtures for engine tests: odd media files and tiny misbehaving servers on loopback.

The servers here are Python sockets, which Home Assistant's test plugin blocks (pytest-socket)
unless a test asks for them: their fixtures depend on pytest-socket's socket_enabled.
"""

from collections.abc import Callable, Iterator
import contextlib
from fractions import Fraction
import os
from pathlib import Path
import re
import socket
import subprocess
import tempfile
import threading

import av
from av.audio.stream import AudioStream
from av.video.stream import VideoStream
import numpy as np
import pytest

from devkit.footage import Scene, render_frames

# Bump when make_media's output changes, so files cached in footage_dir go stale.
_MEDIA_VERSION = 1
_MEDIA_SCENE = Scene(width=320, height=240, fps=10, duration_s=3.0, seed=11)
_AUDIO_RATE = 16000


def _encode(path: Path, fmt: str, video_codec: str | None, audio_codec: str | None) -> None:
    """Write _MEDIA_SCENE to path with the given codecs; either may be None."""
    scene = _MEDIA_SCENE
    with av.open(path, "w", format=fmt) as out:
        video: VideoStream | None = None
        if video_codec is not None:
            options = (
                {"x265-params": "log-level=error:keyint=10"} if video_codec == "libx265" else {}
            )
            added = out.add_stream(video_codec, rate=scene.fps, options=options)
            assert isinstance(added, VideoStream)
            video = added
            video.width, video.height, video.pix_fmt = scene.width, scene.height, "yuv420p"
        audio: AudioStream | None = None
        if audio_codec is not None:
            sound = out.add_stream(audio_codec, rate=_AUDIO_RATE, layout="mono")
            assert isinstance(sound, AudioStream)
            audio = sound
        samples_done = 0
        for index, rgb in enumerate(render_frames(scene)):
            if video is not None:
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                frame.pts, frame.time_base = index, Fraction(1, scene.fps)
                out.mux(video.encode(frame))
            if audio is not None:
                size = audio.codec_context.frame_size or 1024  # 0 until the encoder opens
                due = (index + 1) * _AUDIO_RATE // scene.fps
                while samples_done + size <= due:
                    tone = np.sin(np.arange(samples_done, samples_done + size) * 0.17) * 0.05
                    chunk = av.AudioFrame.from_ndarray(
                        tone.astype(np.float32)[None, :], format="fltp", layout="mono"
                    )
                    chunk.sample_rate, chunk.pts = _AUDIO_RATE, samples_done
                    chunk.time_base = Fraction(1, _AUDIO_RATE)
                    out.mux(audio.encode(chunk))
                    samples_done += size
        for stream in (video, audio):
            if stream is not None:
                out.mux(stream.encode(None))


MEDIA: dict[str, tuple[str, str | None, str | None]] = {
    # name: (container format, video encoder, audio encoder)
    "hevc.mkv": ("matroska", "libx265", None),
    "audio-only.ts": ("mpegts", None, "aac"),
    "audio-only.mkv": ("matroska", None, "aac"),
    "mpeg4.ts": ("mpegts", "mpeg4", None),
    "vp8.webm": ("webm", "libvpx", None),
}


@pytest.fixture(scope="session")
def make_media(footage_dir: Path) -> Callable[[str], Path]:
    """Return make(name) -> path in footage_dir of one of MEDIA, or of "not-media.ts" (text)."""

    def make(name: str) -> Path:
        path = footage_dir / f"media{_MEDIA_VERSION}-{name}"
        if path.exists():
            return path
        # Written aside and renamed: parallel workers may both write, but never half a file.
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=path.suffix, dir=footage_dir
        )
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            if name == "not-media.ts":
                tmp.write_text("this is a camera's error page, not a video stream\n" * 400)
            else:
                _encode(tmp, *MEDIA[name])
            tmp.chmod(0o644)
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    return make


class FakeRtspServer:
    """Answers OPTIONS with 200 and every other RTSP request with a fixed status line."""

    def __init__(self, status: str) -> None:
        self.status = status
        self.requests: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._connections: list[socket.socket] = []
        self._threads = [threading.Thread(target=self._accept)]
        self._threads[0].start()

    def url(self, userinfo: str = "", query: str = "") -> str:
        """URL of the fake stream, e.g. userinfo="user:pass@", query="?token=x"."""
        return f"rtsp://{userinfo}127.0.0.1:{self.port}/stream{query}"

    def _accept(self) -> None:
        with contextlib.suppress(OSError):  # Until close() shuts the listener down.
            while True:
                connection, _ = self._listener.accept()
                self._connections.append(connection)
                thread = threading.Thread(target=self._serve, args=(connection,))
                self._threads.append(thread)
                thread.start()

    def _serve(self, connection: socket.socket) -> None:
        buffer = b""
        with contextlib.suppress(OSError), connection:
            while data := connection.recv(4096):
                buffer += data
                while b"\r\n\r\n" in buffer:
                    head, buffer = buffer.split(b"\r\n\r\n", 1)
                    request = head.decode(errors="replace")
                    self.requests.append(request)
                    connection.sendall(self._reply(request).encode())

    def _reply(self, request: str) -> str:
        match = re.search(r"^CSeq:\s*(\d+)", request, re.MULTILINE | re.IGNORECASE)
        cseq = f"CSeq: {match.group(1) if match else 0}\r\n"
        if request.startswith("OPTIONS"):
            return f"RTSP/1.0 200 OK\r\n{cseq}Public: DESCRIBE, SETUP, PLAY, TEARDOWN\r\n\r\n"
        challenge = 'WWW-Authenticate: Basic realm="camera"\r\n' if "401" in self.status else ""
        return f"RTSP/1.0 {self.status}\r\n{cseq}{challenge}\r\n"

    def close(self) -> None:
        """Stop listening, drop the connections and join the threads."""
        # shutdown() wakes a thread blocked in accept() or recv(); close() alone may not.
        for sock in (self._listener, *self._connections):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._threads[0].join()  # The acceptor: no new threads after this.
        for thread in self._threads[1:]:
            thread.join()


@pytest.fixture
def fake_rtsp(socket_enabled: None) -> Iterator[Callable[[str], FakeRtspServer]]:  # noqa: ARG001
    """Yield start(status) -> a FakeRtspServer answering DESCRIBE with that status line."""
    servers: list[FakeRtspServer] = []

    def start(status: str) -> FakeRtspServer:
        servers.append(FakeRtspServer(status))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def silent_port(socket_enabled: None) -> Iterator[int]:  # noqa: ARG001
    """Port of a listener that accepts connections and never says a word."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


@pytest.fixture
def unused_port(socket_enabled: None) -> int:  # noqa: ARG001
    """A loopback port nothing listens on (bound once, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Mount small tmpfs disks (size like "1m") for disk-full tests; unmounted afterwards.

    Tests run as root in their own mount namespace (scripts/test), so a mount is private to
    the run; elsewhere the test is skipped rather than failed.
    """
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (scripts/test runs tests as root)")
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        directory = tmp_path / f"disk-{len(mounted)}"
        directory.mkdir()
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)], check=True
        )
        mounted.append(directory)
        return directory

    yield mount
    for directory in mounted:
        subprocess.run(["umount", "-l", str(directory)], check=True)
