"""HTTP camera simulator: TS and MJPEG streams, auth, 404s, garbage and stalls."""

from collections.abc import Iterator
import itertools
from pathlib import Path
import time

import av
from av.container import InputContainer
import pytest

from devkit.footage import MovingObject, Scene
from devkit.http_server import HttpStreamServer
from devkit.http_stream import AUTH_PASSWORD, AUTH_USER, corrupt
from devkit.pytest_plugin import MakeFootage

CLIP = Scene(
    width=320,
    height=240,
    fps=10,
    duration_s=2.0,
    objects=(MovingObject(0.2, 1.8, (0.1, 0.5), (0.9, 0.5)),),
)
# One pass of a paced stream takes its duration, so those tests use a short clip.
SHORT_CLIP = Scene(width=320, height=240, fps=10, duration_s=1.0, seed=5)
# Don't let FFmpeg spend a paced stream's real time on probing.
QUICK_PROBE = {"analyzeduration": "0", "probesize": "32"}


def count_frames(container: InputContainer) -> int:
    """Decode every video frame to the end of the stream."""
    return sum(1 for _ in container.decode(video=0))


def collect(frames: Iterator[av.VideoFrame], into: list[av.VideoFrame]) -> None:
    """Append frames as they come, so the caller keeps them if the stream fails."""
    for frame in frames:
        into.append(frame)  # noqa: PERF402 - extend() would hide the per-frame progress


@pytest.fixture
def ts_name(make_footage: MakeFootage) -> str:
    """File name of the clip as MPEG-TS in footage_dir."""
    return make_footage(CLIP, ".ts").name


def test_ts_endpoint_streams_the_whole_clip(
    http_stream_server: HttpStreamServer, ts_name: str
) -> None:
    """?pace=0 sends the file at once: every frame, then a clean end of stream."""
    with av.open(http_stream_server.url(f"ts/{ts_name}?pace=0"), timeout=5) as container:
        assert container.format.name == "mpegts"
        assert container.streams.video[0].codec_context.name == "h264"
        assert count_frames(container) == CLIP.frame_count


def test_ts_endpoint_is_paced_in_real_time(
    http_stream_server: HttpStreamServer, make_footage: MakeFootage
) -> None:
    """Without pace=0 a clip cannot arrive much faster than it plays."""
    started = time.monotonic()
    url = http_stream_server.url(f"ts/{make_footage(SHORT_CLIP, '.ts').name}")
    with av.open(url, options=QUICK_PROBE, timeout=5) as container:
        frames = count_frames(container)
    elapsed = time.monotonic() - started
    assert frames == SHORT_CLIP.frame_count
    assert elapsed > 0.7 * SHORT_CLIP.duration_s  # a busy machine can only make it later


def test_mjpeg_endpoint_loops_at_the_frame_rate(
    http_stream_server: HttpStreamServer, make_footage: MakeFootage
) -> None:
    """MJPEG parts arrive at the clip's rate, and the clip repeats past its end."""
    name = make_footage(SHORT_CLIP, ".mkv").name
    wanted = SHORT_CLIP.frame_count + 3  # More than one pass holds.
    started = time.monotonic()
    with av.open(http_stream_server.url(f"mjpeg/{name}"), timeout=5) as container:
        assert container.format.name == "mpjpeg"
        assert container.streams.video[0].codec_context.name == "mjpeg"
        frames = list(itertools.islice(container.decode(video=0), wanted))
    elapsed = time.monotonic() - started
    assert len(frames) == wanted
    assert (frames[0].width, frames[0].height) == (320, 240)
    assert elapsed > 0.8 * (wanted - 1) / SHORT_CLIP.fps


def test_mjpeg_endpoint_plays_once_with_loop_0(
    http_stream_server: HttpStreamServer, make_footage: MakeFootage
) -> None:
    """?loop=0 ends after one pass of the clip."""
    name = make_footage(SHORT_CLIP, ".mkv").name
    with av.open(http_stream_server.url(f"mjpeg/{name}?loop=0"), timeout=5) as container:
        assert count_frames(container) == SHORT_CLIP.frame_count


def test_auth_endpoint_needs_the_test_credentials(
    http_stream_server: HttpStreamServer, ts_name: str
) -> None:
    """/auth/... answers 401 without or with wrong credentials, and streams with the right ones."""
    path = f"auth/ts/{ts_name}?pace=0"
    with pytest.raises(av.error.HTTPUnauthorizedError):
        av.open(http_stream_server.url(path), timeout=5)
    with pytest.raises(av.error.HTTPUnauthorizedError):
        av.open(http_stream_server.url(path, credentials=(AUTH_USER, "wrong")), timeout=5)
    url = http_stream_server.url(path, credentials=(AUTH_USER, AUTH_PASSWORD))
    with av.open(url, timeout=5) as container:
        assert count_frames(container) == CLIP.frame_count


@pytest.mark.parametrize(
    "path",
    [
        "ts/missing.ts",
        "ts/",
        "nonsense/{name}",
        "ts/..%2F..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "auth/ts/missing.ts",
    ],
)
def test_unknown_streams_are_404(
    http_stream_server: HttpStreamServer, ts_name: str, path: str
) -> None:
    """Unknown files and modes, and paths leaving the root, are not found."""
    # With credentials, so /auth/... paths get as far as the file lookup.
    url = http_stream_server.url(path.format(name=ts_name), credentials=(AUTH_USER, AUTH_PASSWORD))
    with pytest.raises(av.error.HTTPNotFoundError):
        av.open(url, timeout=5)


def test_corrupt_is_seeded_and_damages_the_data() -> None:
    """Same seed, same damage; another seed, other damage; the start stays clean."""
    data = bytes(range(256)) * 400
    once, twice = corrupt(data, seed=1, every=4096), corrupt(data, seed=1, every=4096)
    assert once == twice
    assert once != data
    assert corrupt(data, seed=2, every=4096) != once
    assert once[:2048] == data[:2048]


def test_garbage_endpoint_is_survivable(http_stream_server: HttpStreamServer, ts_name: str) -> None:
    """Corrupted runs hurt some packets, but decoding goes on and frames keep coming."""
    url = http_stream_server.url(f"garbage/{ts_name}?pace=0&every=4096&seed=1")
    frames = damage = frames_after_damage = 0
    with av.open(url, timeout=5) as container:
        stream = container.streams.video[0]
        for packet in container.demux(stream):
            damaged = packet.is_corrupt
            try:
                decoded = len(stream.decode(packet))
            except av.error.FFmpegError:
                decoded, damaged = 0, True
            damage += damaged
            frames += decoded
            if damage:
                frames_after_damage += decoded
    assert damage > 0
    assert frames_after_damage > 0
    assert 0 < frames < CLIP.frame_count


def test_stall_endpoint_starves_the_reader(
    http_stream_server: HttpStreamServer, ts_name: str
) -> None:
    """About a second of frames arrive, then nothing: a read timeout is the only way out."""
    frames: list[av.VideoFrame] = []
    url = http_stream_server.url(f"stall/{ts_name}")
    with (
        av.open(url, options=QUICK_PROBE, timeout=1) as container,
        pytest.raises(av.error.ExitError),  # PyAV's read timeout interrupts the blocked read
    ):
        collect(container.decode(video=0), frames)
    assert 0 < len(frames) < CLIP.frame_count


def test_killed_http_server_cuts_the_stream(footage_dir: Path, ts_name: str) -> None:
    """A server killed mid-stream leaves the reader with an I/O error, not a clean end."""
    with HttpStreamServer(footage_dir) as server:
        url = server.url(f"ts/{ts_name}")
        with av.open(url, options=QUICK_PROBE, timeout=5) as container:
            frames = container.decode(video=0)
            assert next(frames).width == 320
            server.kill()
            # Content-Length is known, so FFmpeg can tell a cut from the end of the clip.
            with pytest.raises(av.error.OSError, match="Input/output error"):
                collect(frames, [])
        assert not server.running


def test_malformed_requests_are_refused(tmp_path: Path) -> None:
    """A bad number in the query is a 400; a file without video is a 415 for MJPEG."""
    (tmp_path / "notes.txt").write_text("not a video\n")
    with HttpStreamServer(tmp_path) as server:
        with pytest.raises(av.error.HTTPBadRequestError):
            av.open(server.url("garbage/notes.txt?every=lots"), timeout=5)
        with pytest.raises(av.error.HTTPOtherClientError, match="4XX"):
            av.open(server.url("mjpeg/notes.txt"), timeout=5)
        assert "Traceback" not in server.output()


def test_paths_outside_the_root_are_not_served(tmp_path: Path, make_footage: MakeFootage) -> None:
    """A clip beside the root is unreachable by ".." or by a symlink; one inside is served."""
    clip = make_footage(SHORT_CLIP, ".ts").read_bytes()
    root = tmp_path / "root"
    root.mkdir()
    (root / "inside.ts").write_bytes(clip)
    (tmp_path / "outside.ts").write_bytes(clip)
    (root / "link.ts").symlink_to(tmp_path / "outside.ts")
    with HttpStreamServer(root) as server:
        with av.open(server.url("ts/inside.ts?pace=0"), timeout=5) as container:
            assert count_frames(container) == SHORT_CLIP.frame_count
        for path in ("ts/..%2Foutside.ts", "ts/../outside.ts", "ts/link.ts"):
            with pytest.raises(av.error.HTTPNotFoundError):
                av.open(server.url(path), timeout=5)
