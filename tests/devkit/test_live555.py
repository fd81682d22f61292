"""live555 fixtures: PyAV reads H.264 over RTSP-over-TCP, and a killed server ends the read."""

from collections.abc import Iterator
import itertools
import os
from pathlib import Path

import av
from av.container import InputContainer
import av.logging
import pytest

from devkit import netstat
from devkit.footage import MovingObject, Scene
from devkit.live555 import Live555Server
from devkit.process import ServerStartError
from devkit.pytest_plugin import Live555Factory, MakeFootage

CLIP = Scene(
    width=320,
    height=240,
    fps=15,
    duration_s=4.0,
    objects=(MovingObject(0.5, 3.5, (0.1, 0.5), (0.9, 0.5)),),
)
# Tiny probe: live555 puts SPS/PPS in the SDP, so there is nothing to wait for in real time.
RTSP_OPTIONS = {"rtsp_transport": "tcp", "analyzeduration": "0", "probesize": "32"}


@pytest.fixture
def trace_logs() -> Iterator[list[tuple[int, str, str]]]:
    """FFmpeg's log lines at trace level, captured on this thread during the test."""
    previous = av.logging.get_level()
    av.logging.set_level(av.logging.TRACE)
    try:
        with av.logging.Capture() as logs:
            yield logs
    finally:
        av.logging.set_level(previous)


def read_to_end(container: InputContainer) -> tuple[int, Exception | None]:
    """Decode video until the stream ends; frame count and any error."""
    frames = 0
    try:
        for _ in container.decode(video=0):
            frames += 1
    except av.error.FFmpegError as err:
        return frames, err
    return frames, None


def test_server_listens_on_the_port_its_banner_names(rtsp_server: Live555Server) -> None:
    """The port comes from live555's banner (554 as root, else 8554) and is really ours."""
    assert rtsp_server.port in {554, 8554}
    assert rtsp_server.pid is not None
    assert netstat.is_listening(rtsp_server.pid, rtsp_server.port)
    banner = rtsp_server.output()
    assert "LIVE555 Media Server" in banner
    assert (f":{rtsp_server.port}/<filename>" in banner) == (rtsp_server.port != 554)
    assert rtsp_server.url("clip name.264") == (
        f"rtsp://127.0.0.1:{rtsp_server.port}/clip%20name.264"
    )


def test_pyav_reads_h264_over_rtsp_tcp(
    rtsp_server: Live555Server,
    make_footage: MakeFootage,
    trace_logs: list[tuple[int, str, str]],
) -> None:
    """Frames arrive, interleaved in the RTSP TCP connection: no UDP socket, TCP transport."""
    path = make_footage(CLIP, ".264")
    me = os.getpid()
    udp_before = {s.inode for s in netstat.process_sockets(me, "udp")}
    with av.open(rtsp_server.url(path.name), options=RTSP_OPTIONS, timeout=5) as container:
        frames = list(itertools.islice(container.decode(video=0), 5))
        codec = container.streams.video[0].codec_context.name
        connections = netstat.connections_to(rtsp_server.port, pid=me)
        udp_during = {s.inode for s in netstat.process_sockets(me, "udp")} - udp_before
    assert codec == "h264"
    assert [(f.width, f.height) for f in frames] == [(320, 240)] * 5
    assert [(c.local_ip, c.remote_ip) for c in connections] == [("127.0.0.1", "127.0.0.1")]
    assert not udp_during  # RTP over UDP would need sockets of our own.
    # The server's SETUP reply, as FFmpeg logged it, agrees to interleave RTP in TCP.
    replies = [m for _, _, m in trace_logs if m.startswith("line='Transport:")]
    assert replies
    assert all("RTP/AVP/TCP" in m and "interleaved=" in m for m in replies)


def test_killing_the_server_ends_the_read(
    live555_factory: Live555Factory, make_footage: MakeFootage
) -> None:
    """A server killed mid-stream ends the read, not the reader's timeout after it hangs."""
    server = live555_factory()
    path = make_footage(CLIP, ".264")
    # A read timeout (ExitError) far longer than the clip: only a hang would reach it.
    timeout = (3.0, 60.0)
    with av.open(server.url(path.name), options=RTSP_OPTIONS, timeout=timeout) as container:
        before = list(itertools.islice(container.decode(video=0), 3))
        server.kill()
        after, error = read_to_end(container)
    assert not isinstance(error, av.error.ExitError)
    assert len(before) == 3
    assert not server.running
    assert server.returncode == -9
    # Only frames already in flight can follow; the clip itself runs for 4 s.
    assert len(before) + after < CLIP.frame_count // 2
    assert not netstat.connections_to(server.port, pid=os.getpid())


def test_restart_serves_the_same_directory_again(
    live555_factory: Live555Factory, make_footage: MakeFootage
) -> None:
    """stop() is idempotent, and restart() brings up a new process that streams again."""
    server = live555_factory()
    path = make_footage(CLIP, ".264")
    first_pid = server.pid
    server.stop()
    server.stop()
    assert not server.running
    assert server.returncode == -15  # SIGTERM sufficed
    server.restart()
    assert server.pid != first_pid
    assert server.pid is not None
    assert netstat.is_listening(server.pid, server.port)
    with av.open(server.url(path.name), options=RTSP_OPTIONS, timeout=5) as container:
        assert len(list(itertools.islice(container.decode(video=0), 2))) == 2


def test_a_third_server_fails_clearly(
    rtsp_server: Live555Server, live555_factory: Live555Factory
) -> None:
    """With 554 and 8554 taken, start() reports live555's own complaint, not a timeout."""
    second = live555_factory()
    assert {rtsp_server.port, second.port} == {554, 8554}
    with pytest.raises(
        ServerStartError, match=r"exited with status 1(.|\n)*Address already in use"
    ):
        live555_factory()


@pytest.mark.parametrize(
    ("script", "complaint"),
    [
        ("echo 'Failed to create RTSP server: test'; exit 1", "exited with status 1"),
        # Announces a port, but never listens on it: must not be taken as started.
        ("echo 'rtsp://192.0.2.2:8554/<filename>'; exec sleep 30", "not listening after 0.5 s"),
    ],
    ids=["exits", "announces-but-never-listens"],
)
def test_start_fails_clearly_without_a_listener(
    tmp_path: Path, script: str, complaint: str
) -> None:
    """A server that exits, or announces a port it does not listen on, fails start()."""
    fake = tmp_path / "fake-live555"
    fake.write_text(f"#!/bin/sh\n{script}\n")
    fake.chmod(0o755)
    server = Live555Server(tmp_path, executable=str(fake), start_timeout_s=0.5)
    with pytest.raises(ServerStartError, match=complaint) as failure:
        server.start()
    assert "rtsp://" in str(failure.value) or "Failed" in str(failure.value)
    assert not server.running  # A silent server is killed, not left behind.
