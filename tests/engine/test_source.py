"""StreamSource against real RTSP (live555) and HTTP camera servers on loopback."""

from collections.abc import Callable, Iterator
import contextlib
from fractions import Fraction
import itertools
import logging
import os
from pathlib import Path
import re
import threading
import time
import traceback

import av
import av.logging
from av.packet import Packet
from av.stream import Stream
import pytest

from custom_components.hearthcam.engine.errors import (
    StopRequestedError,
    StreamError,
    StreamErrorKind,
)
from custom_components.hearthcam.engine.probe import probe
from custom_components.hearthcam.engine.source import (
    QUEUE_PACKETS,
    SourceOptions,
    StreamSource,
)
from custom_components.hearthcam.engine.stream_timeline import PacketTimeline
from devkit import netstat
from devkit.footage import MovingObject, Scene
from devkit.http_server import HttpStreamServer
from devkit.http_stream import AUTH_PASSWORD, AUTH_USER
from devkit.live555 import Live555Server
from devkit.pytest_plugin import Live555Factory, MakeFootage
from tests.engine.conftest import FakeRtspServer
from tests.waiting import wait_until

CLIP = Scene(
    width=320,
    height=240,
    fps=10,
    duration_s=4.0,
    objects=(MovingObject(0.2, 3.8, (0.1, 0.5), (0.9, 0.5)),),
)
SHORT_CLIP = Scene(width=320, height=240, fps=10, duration_s=2.0, seed=2)
AUDIO_CLIP = Scene(width=320, height=240, fps=10, duration_s=3.0, seed=3, audio=True)
STATS_CLIP = Scene(width=320, height=240, fps=10, duration_s=3.0, seed=7)
QUICK = SourceOptions(open_timeout_s=5.0, stall_timeout_s=3.0)


def take(source: StreamSource, count: int) -> list[Packet[Stream]]:
    """The next count packets (fewer only if the stream stops)."""
    return list(itertools.islice(source.packets(), count))


def read_to_failure(source: StreamSource) -> tuple[list[Packet[Stream]], StreamError]:
    """Every packet up to the StreamError that ends the stream."""
    packets: list[Packet[Stream]] = []
    try:
        for packet in source.packets():
            packets.append(packet)  # noqa: PERF402 - keep packets that came before the error
    except StreamError as err:
        return packets, err
    pytest.fail("packets() returned without a StreamError")


def assert_usable_timestamps(packets: list[Packet[Stream]]) -> None:
    """Every packet has pts and dts; per stream dts strictly increases and pts >= dts."""
    last: dict[int, int] = {}
    for packet in packets:
        assert packet.pts is not None
        assert packet.dts is not None
        assert packet.pts >= packet.dts
        index = packet.stream_index  # packet.stream is off limits once the source is closed
        assert packet.dts > last.get(index, packet.dts - 1)
        last[index] = packet.dts


def decoded_frames(source: StreamSource, packets: list[Packet[Stream]]) -> int:
    """Decode the video packets; count the frames."""
    video = source.video_stream
    return sum(len(video.decode(p)) for p in packets if p.stream is video)


def open_error(url: str, options: SourceOptions = QUICK) -> StreamError:
    """The StreamError that opening url raises."""
    with StreamSource(url, options) as source, pytest.raises(StreamError) as failure:
        source.open()
    return failure.value


# --- opening and reading -----------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".264", ".mkv"])
def test_rtsp_over_tcp_gives_info_and_packets(
    rtsp_server: Live555Server, make_footage: MakeFootage, suffix: str
) -> None:
    """H.264 over RTSP/TCP: info from the stream, usable timestamps, frames that decode."""
    url = rtsp_server.url(make_footage(CLIP, suffix).name)
    udp_before = {s.inode for s in netstat.process_sockets(os.getpid(), "udp")}
    with StreamSource(url, QUICK) as source:
        info = source.open()
        packets = take(source, 12)
        udp = {s.inode for s in netstat.process_sockets(os.getpid(), "udp")} - udp_before
        tcp = netstat.connections_to(rtsp_server.port, pid=os.getpid())
        frames = decoded_frames(source, packets)
        stats = source.stats
        video_index = source.video_stream.index
    assert (info.video_codec, info.width, info.height) == ("h264", 320, 240)
    assert info.fps == pytest.approx(10.0)
    assert (info.audio_codec, info.container_format) == (None, "rtsp")
    assert len(packets) == 12
    assert all(p.stream_index == video_index for p in packets)
    assert packets[0].is_keyframe
    assert packets[0].pts == 0  # RTSP's first packet has no timestamp; it is filled in.
    assert_usable_timestamps(packets)
    assert frames >= 10
    assert len(tcp) == 1
    assert not udp  # Interleaved in the RTSP connection: no RTP sockets of our own.
    assert stats.packets >= 12
    assert stats.opened_at is not None
    assert stats.last_packet_at is not None
    assert stats.last_packet_at >= stats.opened_at


def test_rtsp_audio_and_video(rtsp_server: Live555Server, make_footage: MakeFootage) -> None:
    """The first audio stream comes along, with its own usable timestamps."""
    url = rtsp_server.url(make_footage(AUDIO_CLIP, ".mkv").name)
    with StreamSource(url, QUICK) as source:
        info = source.open()
        audio = source.audio_stream
        assert audio is not None
        assert audio.codec_context.sample_rate == 16000
        indexes = {source.video_stream.index, audio.index}
        packets = take(source, 40)
    assert info.audio_codec == "aac"
    assert {p.stream_index for p in packets} == indexes
    assert_usable_timestamps(packets)


def test_rtsp_hevc_with_b_frames(
    rtsp_server: Live555Server, make_media: Callable[[str], Path]
) -> None:
    """HEVC is supported; its leading B-frames without dts still get usable timestamps."""
    with StreamSource(rtsp_server.url(make_media("hevc.mkv").name), QUICK) as source:
        info = source.open()
        packets = take(source, 15)
        frames = decoded_frames(source, packets)
    assert (info.video_codec, info.width, info.height) == ("hevc", 320, 240)
    assert_usable_timestamps(packets)
    assert frames >= 10


def test_http_mpegts_to_its_end(
    http_stream_server: HttpStreamServer, make_footage: MakeFootage
) -> None:
    """MPEG-TS over HTTP: every frame arrives, then the end of input is StreamError(ENDED)."""
    url = http_stream_server.url(f"ts/{make_footage(CLIP, '.ts').name}?pace=0")
    with StreamSource(url, QUICK) as source:
        info = source.open()
        packets, error = read_to_failure(source)
        frames = decoded_frames(source, packets)
    assert (info.video_codec, info.width, info.height, info.fps) == ("h264", 320, 240, 10.0)
    assert info.container_format == "mpegts"
    assert len(packets) == CLIP.frame_count
    assert_usable_timestamps(packets)
    assert frames >= CLIP.frame_count - 2  # The decoder may hold the last ones back.
    assert error.kind is StreamErrorKind.ENDED


LONG_CLIP = Scene(width=160, height=120, fps=30, duration_s=12.0, seed=5)  # 360 frames


def test_a_lagging_consumer_holds_the_demux_thread_back(
    http_stream_server: HttpStreamServer, make_footage: MakeFootage
) -> None:
    """The queue stops at its bound while nobody reads; then every packet arrives, in order."""
    url = http_stream_server.url(f"ts/{make_footage(LONG_CLIP, '.ts').name}?pace=0")
    with StreamSource(url, QUICK) as source:
        source.open()
        wait_until(lambda: source.stats.packets >= QUEUE_PACKETS, "a full queue")
        time.sleep(0.3)  # time to overrun the bound, if nothing held the demux thread back
        # The demux thread counts a packet before it waits for room to queue it.
        assert source.stats.packets <= QUEUE_PACKETS + 1
        packets, error = read_to_failure(source)
    assert error.kind is StreamErrorKind.ENDED
    assert len(packets) == LONG_CLIP.frame_count
    assert_usable_timestamps(packets)


def test_http_mjpeg_is_stamped_from_arrival(
    http_stream_server: HttpStreamServer, make_footage: MakeFootage
) -> None:
    """MJPEG over HTTP carries no timestamps: they follow the real frame spacing (0.1 s)."""
    url = http_stream_server.url(f"mjpeg/{make_footage(CLIP, '.mkv').name}")
    with StreamSource(url, QUICK) as source:
        info = source.open()
        packets = take(source, 12)
        time_base = source.video_stream.time_base
        frames = decoded_frames(source, packets)
    assert (info.video_codec, info.width, info.height) == ("mjpeg", 320, 240)
    assert (info.fps, info.container_format) == (None, "mpjpeg")
    assert_usable_timestamps(packets)
    assert all(p.time_base == time_base for p in packets)
    # Skip the first few, which arrive together right after opening.
    # The mean step over the span: a busy machine may bunch a few arrivals, which moves single
    # steps (and so their median) but not the span.
    pts = [p.pts or 0 for p in packets[4:]]
    mean_step = float((pts[-1] - pts[0]) * time_base) / (len(pts) - 1)
    assert mean_step == pytest.approx(0.1, abs=0.03)
    assert frames == 12


@pytest.fixture
def hls_url(
    http_stream_server: HttpStreamServer, make_footage: MakeFootage, footage_dir: Path
) -> str:
    """URL of an HLS playlist (VOD, 1 s segments of CLIP) served by the HTTP server."""
    prefix = f"hls-{os.getpid()}"  # Private to this worker: segments are written in place.
    with av.open(make_footage(CLIP, ".mkv")) as clip:
        video = clip.streams.video[0]
        options = {
            "hls_time": "1",
            "hls_list_size": "0",
            "hls_playlist_type": "vod",
            "hls_segment_filename": str(footage_dir / f"{prefix}-%d.ts"),
        }
        with av.open(footage_dir / f"{prefix}.m3u8", "w", format="hls", options=options) as out:
            copy = out.add_stream_from_template(video)
            for packet in clip.demux(video):
                if packet.dts is not None:
                    packet.stream = copy
                    out.mux(packet)
    # Absolute segment URLs, so that they too are sent at once (?pace=0).
    playlist = (footage_dir / f"{prefix}.m3u8").read_text()
    base = http_stream_server.url("ts/")
    playlist = re.sub(rf"^({prefix}-\d+\.ts)$", rf"{base}\1?pace=0", playlist, flags=re.MULTILINE)
    (footage_dir / f"{prefix}-absolute.m3u8").write_text(playlist)
    return http_stream_server.url(f"ts/{prefix}-absolute.m3u8?pace=0")


def test_http_hls_to_its_end(hls_url: str) -> None:
    """HLS: the segments are read in turn; the end of a VOD playlist is ENDED."""
    with StreamSource(hls_url, QUICK) as source:
        info = source.open()
        packets, error = read_to_failure(source)
    assert (info.container_format, info.video_codec, info.width) == ("hls", "h264", 320)
    assert len(packets) == CLIP.frame_count
    assert_usable_timestamps(packets)
    assert error.kind is StreamErrorKind.ENDED


def test_open_does_not_wait_for_frame_rate_probing(
    rtsp_server: Live555Server, make_footage: MakeFootage
) -> None:
    """open() is done before a default FFmpeg open of the same live stream, started first.

    FFmpeg's default probing reads about 2 s of a paced stream to estimate the frame rate;
    open() skips that, so it finishes first however busy the machine is.
    """
    url = rtsp_server.url(make_footage(CLIP, ".264").name)
    finished: list[str] = []

    def default_open() -> None:
        with av.open(url, options={"rtsp_transport": "tcp"}, timeout=30.0):
            finished.append("default")

    baseline = threading.Thread(target=default_open)
    baseline.start()
    with StreamSource(url, QUICK) as source:
        source.open()
        finished.append("hearthcam")
    baseline.join()
    assert finished == ["hearthcam", "default"]


def test_http_basic_auth_with_the_right_credentials(
    http_stream_server: HttpStreamServer, make_footage: MakeFootage
) -> None:
    """Credentials in the URL are sent when the camera asks for them."""
    name = make_footage(SHORT_CLIP, ".ts").name
    url = http_stream_server.url(f"auth/ts/{name}?pace=0", credentials=(AUTH_USER, AUTH_PASSWORD))
    with StreamSource(url, QUICK) as source:
        assert source.open().video_codec == "h264"
        assert len(take(source, 5)) == 5


def assert_probe_is_quick(url: str, codec: str) -> None:
    """probe() opens url, decodes a frame and closes within the open timeout (its deadline)."""
    info = probe(url, QUICK)  # StreamError(TIMEOUT) had it taken longer
    assert (info.video_codec, info.width, info.height) == (codec, 320, 240)


def test_probe_rtsp(rtsp_server: Live555Server, make_footage: MakeFootage) -> None:
    """probe() over RTSP."""
    assert_probe_is_quick(rtsp_server.url(make_footage(CLIP, ".264").name), "h264")


@pytest.mark.parametrize(
    ("endpoint", "suffix", "codec"), [("ts", ".ts", "h264"), ("mjpeg", ".mkv", "mjpeg")]
)
def test_probe_http(
    http_stream_server: HttpStreamServer,
    make_footage: MakeFootage,
    endpoint: str,
    suffix: str,
    codec: str,
) -> None:
    """probe() of paced HTTP streams (MPEG-TS, MJPEG)."""
    url = http_stream_server.url(f"{endpoint}/{make_footage(CLIP, suffix).name}")
    assert_probe_is_quick(url, codec)


def test_stats_follow_a_paced_stream(
    http_stream_server: HttpStreamServer, make_footage: MakeFootage
) -> None:
    """Counters match what was read; fps and bitrate are measured; polling from a thread is safe."""
    path = make_footage(STATS_CLIP, ".ts")
    snapshots = []
    done = threading.Event()
    with StreamSource(http_stream_server.url(f"ts/{path.name}"), QUICK) as source:
        source.open()

        def poll() -> None:
            while not done.wait(0.02):
                snapshots.append(source.stats)

        poller = threading.Thread(target=poll)
        poller.start()
        try:
            packets, error = read_to_failure(source)
        finally:
            done.set()
            poller.join()
        stats = source.stats
    assert error.kind is StreamErrorKind.ENDED
    assert stats.packets == len(packets) == 30
    assert stats.bytes == sum(p.size for p in packets)
    assert stats.corrupt_packets == stats.demux_errors == 0
    assert stats.fps is not None
    assert 7 < stats.fps < 15  # 10 fps, measured over a short and bursty start.
    assert stats.bitrate_bps is not None
    file_bps = 8 * path.stat().st_size / 3.0
    assert 0.4 * file_bps < stats.bitrate_bps < 1.5 * file_bps
    counts = [s.packets for s in snapshots]
    assert len(counts) > 50
    assert counts == sorted(counts)


# --- failures ----------------------------------------------------------------------------


def test_http_401_without_or_with_wrong_credentials(
    http_stream_server: HttpStreamServer, make_footage: MakeFootage
) -> None:
    """HTTP 401 is UNAUTHORIZED, whether credentials are missing or wrong."""
    path = f"auth/ts/{make_footage(SHORT_CLIP, '.ts').name}"
    assert open_error(http_stream_server.url(path)).kind is StreamErrorKind.UNAUTHORIZED
    wrong = http_stream_server.url(path, credentials=(AUTH_USER, "wrong"))
    assert open_error(wrong).kind is StreamErrorKind.UNAUTHORIZED


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        ("401 Unauthorized", StreamErrorKind.UNAUTHORIZED),
        ("403 Forbidden", StreamErrorKind.UNAUTHORIZED),
        ("404 Not Found", StreamErrorKind.NOT_FOUND),
        ("503 Service Unavailable", StreamErrorKind.CONNECTION),
    ],
)
def test_rtsp_statuses(
    fake_rtsp: Callable[[str], FakeRtspServer], status: str, kind: StreamErrorKind
) -> None:
    """RTSP DESCRIBE answers map like their HTTP namesakes; credentials are tried on 401."""
    server = fake_rtsp(status)
    error = open_error(server.url("admin:pw@"))
    assert error.kind is kind
    if kind is StreamErrorKind.UNAUTHORIZED and status.startswith("401"):
        assert any("Authorization: Basic" in r for r in server.requests)


def test_not_found_on_rtsp_and_http(
    rtsp_server: Live555Server, http_stream_server: HttpStreamServer
) -> None:
    """A missing stream is NOT_FOUND over RTSP (live555's 404) and HTTP."""
    assert open_error(rtsp_server.url("missing.264")).kind is StreamErrorKind.NOT_FOUND
    assert open_error(http_stream_server.url("ts/missing.ts")).kind is StreamErrorKind.NOT_FOUND


@pytest.mark.parametrize("scheme", ["rtsp", "http"])
def test_connection_refused(unused_port: int, scheme: str) -> None:
    """Nothing listening is a CONNECTION error, at once: not a TIMEOUT after waiting."""
    patient = SourceOptions(open_timeout_s=60.0, stall_timeout_s=60.0)
    error = open_error(f"{scheme}://127.0.0.1:{unused_port}/stream", patient)
    assert error.kind is StreamErrorKind.CONNECTION
    assert "refused" in error.detail.lower()


def test_unresolvable_host_is_a_connection_error() -> None:
    """A name that cannot resolve (.invalid never does) is a CONNECTION error."""
    assert open_error("rtsp://camera.invalid/stream").kind is StreamErrorKind.CONNECTION


@pytest.mark.parametrize("scheme", ["rtsp", "http"])
def test_open_timeout_on_a_silent_server(silent_port: int, scheme: str) -> None:
    """A server that accepts and never answers is a TIMEOUT, not before open_timeout_s."""
    options = SourceOptions(open_timeout_s=1.0, stall_timeout_s=60.0)
    started = time.monotonic()
    error = open_error(f"{scheme}://127.0.0.1:{silent_port}/stream", options)
    elapsed = time.monotonic() - started
    assert error.kind is StreamErrorKind.TIMEOUT
    assert "no answer within 1 s" in error.detail  # the open timeout, not the read timeout
    assert elapsed >= 1.0  # a busy machine can only make it later


def test_no_video(
    rtsp_server: Live555Server,
    http_stream_server: HttpStreamServer,
    make_media: Callable[[str], Path],
) -> None:
    """Audio-only streams are NO_VIDEO, over RTSP and HTTP."""
    rtsp_url = rtsp_server.url(make_media("audio-only.mkv").name)
    http_url = http_stream_server.url(f"ts/{make_media('audio-only.ts').name}?pace=0")
    assert open_error(rtsp_url).kind is StreamErrorKind.NO_VIDEO
    assert open_error(http_url).kind is StreamErrorKind.NO_VIDEO


def test_unsupported_codec(
    rtsp_server: Live555Server,
    http_stream_server: HttpStreamServer,
    make_media: Callable[[str], Path],
) -> None:
    """VP8 (RTSP) and MPEG-4 part 2 (HTTP TS) video are UNSUPPORTED_CODEC, named in detail."""
    vp8 = open_error(rtsp_server.url(make_media("vp8.webm").name))
    mpeg4 = open_error(http_stream_server.url(f"ts/{make_media('mpeg4.ts').name}?pace=0"))
    assert (vp8.kind, mpeg4.kind) == (StreamErrorKind.UNSUPPORTED_CODEC,) * 2
    assert "vp8" in vp8.detail
    assert "mpeg4" in mpeg4.detail


def test_invalid_data(
    http_stream_server: HttpStreamServer, make_media: Callable[[str], Path]
) -> None:
    """A body that is no media at all is INVALID_DATA."""
    url = http_stream_server.url(f"ts/{make_media('not-media.ts').name}?pace=0")
    assert open_error(url).kind is StreamErrorKind.INVALID_DATA


def test_stall_is_detected(http_stream_server: HttpStreamServer, make_footage: MakeFootage) -> None:
    """/stall/ sends about a second, then holds the connection: STALLED after stall_timeout_s."""
    url = http_stream_server.url(f"stall/{make_footage(CLIP, '.ts').name}")
    with StreamSource(url, SourceOptions(stall_timeout_s=1.0)) as source:
        source.open()
        packets, error = read_to_failure(source)
    # The detail names the timer that fired; the clock is not asked, since packets buffered
    # during open() may start the stall timer just before open() returns.
    assert error.kind is StreamErrorKind.STALLED
    assert "no packet for 1 s" in error.detail
    assert 5 <= len(packets) < CLIP.frame_count


def test_killed_server_ends_the_stream(
    live555_factory: Live555Factory, make_footage: MakeFootage
) -> None:
    """live555 killed mid-stream ends the read (ENDED, or STALLED by the stall timeout)."""
    server = live555_factory()
    with StreamSource(server.url(make_footage(CLIP, ".264").name), QUICK) as source:
        source.open()
        assert len(take(source, 5)) == 5
        server.kill()
        _packets, error = read_to_failure(source)
    assert error.kind in {StreamErrorKind.ENDED, StreamErrorKind.STALLED}


def test_http_server_killed_mid_stream(footage_dir: Path, make_footage: MakeFootage) -> None:
    """An HTTP camera that dies mid-stream is ENDED (connection lost), then stays failed."""
    name = make_footage(CLIP, ".mkv").name
    with HttpStreamServer(footage_dir) as server:
        source = StreamSource(server.url(f"mjpeg/{name}"), QUICK)
        source.open()
        assert len(take(source, 5)) == 5
        server.kill()
        _packets, error = read_to_failure(source)
        with pytest.raises(StreamError) as again:
            next(source.packets())
        source.close()
    assert error.kind is StreamErrorKind.ENDED
    assert "connection lost" in error.detail
    assert again.value is error


def test_garbage_is_counted_and_survived(
    http_stream_server: HttpStreamServer, make_footage: MakeFootage
) -> None:
    """Damaged TS: corrupt packets are counted, decoding goes on, the stream ends normally."""
    url = http_stream_server.url(f"garbage/{make_footage(CLIP, '.ts').name}?pace=0&every=2000")
    with StreamSource(url, QUICK) as source:
        source.open()
        packets, error = read_to_failure(source)
        video = source.video_stream
        frames_after_damage = 0
        damaged = False
        for packet in packets:
            damaged = damaged or packet.is_corrupt
            try:
                frames = len(video.decode(packet))
            except av.error.InvalidDataError:
                continue
            frames_after_damage += frames if damaged else 0
        stats = source.stats
    assert error.kind is StreamErrorKind.ENDED
    assert stats.corrupt_packets > 0
    assert len(packets) > CLIP.frame_count // 2
    assert frames_after_damage > 5
    assert_usable_timestamps(packets)


# --- stopping ----------------------------------------------------------------------------


@contextlib.contextmanager
def stop_when_blocked(
    source: StreamSource, stop: threading.Event, quiet_s: float
) -> Iterator[None]:
    """Set stop from a thread once no packet came for quiet_s."""

    def watch() -> None:
        while not stop.wait(0.05):
            last = source.stats.last_packet_at
            if last is not None and time.monotonic() - last > quiet_s:
                stop.set()

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()


def assert_stop_interrupts_a_blocked_read(url: str) -> None:
    """With FFmpeg blocked waiting for data from url, a stop ends packets() before the stall.

    packets() would raise STALLED at the stall timeout; returning without raising while the
    demux thread is still blocked in FFmpeg shows the stop, not the timeout, ended it.
    """
    stop = threading.Event()
    # A short stall timeout only so that the abandoned read ends soon after the test.
    source = StreamSource(url, SourceOptions(stall_timeout_s=2.0), stop)
    source.open()
    with stop_when_blocked(source, stop, quiet_s=0.5):
        received = sum(1 for _ in source.packets())  # Returns, without raising, on stop.
    source.close()  # waits up to a second for the thread, then leaves it to end by itself
    still_blocked = not source.wait_closed(0)
    assert source.wait_closed(30.0)  # the stall timeout ends the read; only a hang fails
    assert received > 5
    assert still_blocked  # Neither the stop nor close() waited for FFmpeg's blocked read.


def test_stop_interrupts_a_blocked_http_read(
    http_stream_server: HttpStreamServer, make_footage: MakeFootage
) -> None:
    """/stall/ holds the connection after a second of data."""
    assert_stop_interrupts_a_blocked_read(
        http_stream_server.url(f"stall/{make_footage(CLIP, '.ts').name}")
    )


def test_stop_interrupts_a_blocked_rtsp_read(
    rtsp_server: Live555Server, make_footage: MakeFootage
) -> None:
    """live555 falls silent after the end of an MKV file (a .264 file ends with a BYE)."""
    assert_stop_interrupts_a_blocked_read(rtsp_server.url(make_footage(SHORT_CLIP, ".mkv").name))


def test_abandoned_read_releases_the_connection_by_the_stall_timeout(
    http_stream_server: HttpStreamServer, make_footage: MakeFootage
) -> None:
    """After close() on a blocked read, the demux thread lets go within stall_timeout_s."""
    url = http_stream_server.url(f"stall/{make_footage(CLIP, '.ts').name}")
    stop = threading.Event()
    with StreamSource(url, SourceOptions(stall_timeout_s=2.0), stop) as source:
        source.open()
        opened_at = time.monotonic()  # The stream's one second arrives at once.
        with stop_when_blocked(source, stop, quiet_s=0.3):
            sum(1 for _ in source.packets())
    assert netstat.connections_to(http_stream_server.port, pid=os.getpid())
    assert source.wait_closed(30.0)  # only a hang fails this
    released_after = time.monotonic() - opened_at
    assert not netstat.connections_to(http_stream_server.port, pid=os.getpid())
    assert released_after > 1.9  # held until the stall timeout (2 s), not dropped before


def test_stop_while_opening(silent_port: int) -> None:
    """open() gives up on stop, with StopRequestedError rather than the open timeout's error."""
    stop = threading.Event()
    source = StreamSource(f"rtsp://127.0.0.1:{silent_port}/x", SourceOptions(2.0), stop)
    timer = threading.Timer(0.3, stop.set)
    timer.start()
    with pytest.raises(StopRequestedError):  # StreamError(TIMEOUT) had the stop been missed
        source.open()
    source.close()
    timer.join()
    assert source.wait_closed(30.0)  # FFmpeg gives up by itself at the open timeout.


def test_stop_before_opening_and_probe_when_stopped(unused_port: int) -> None:
    """An already set stop event means no connection attempt at all."""
    stop = threading.Event()
    stop.set()
    with pytest.raises(StopRequestedError):
        probe(f"rtsp://127.0.0.1:{unused_port}/x", stop_event=stop)


def test_lifecycle(http_stream_server: HttpStreamServer, make_footage: MakeFootage) -> None:
    """Open once; close() is idempotent; the streams are off limits once closed."""
    url = http_stream_server.url(f"ts/{make_footage(SHORT_CLIP, '.ts').name}?pace=0")
    source = StreamSource(url, QUICK)
    with pytest.raises(RuntimeError):
        _ = source.video_stream
    source.open()
    with pytest.raises(RuntimeError):
        source.open()
    assert source.video_stream.width == 320
    source.close()
    source.close()
    with pytest.raises(RuntimeError):
        _ = source.info


# --- options -----------------------------------------------------------------------------


def test_options_are_validated() -> None:
    """Timeouts must be positive and the RTSP transport tcp or udp."""
    with pytest.raises(ValueError, match="positive"):
        SourceOptions(open_timeout_s=0)
    with pytest.raises(ValueError, match="positive"):
        SourceOptions(stall_timeout_s=-1)
    with pytest.raises(ValueError, match="rtsp_transport"):
        SourceOptions(rtsp_transport="http")  # type: ignore[arg-type]


def test_ffmpeg_options_per_scheme() -> None:
    """UDP falls back to TCP; RTSP over TLS is always TCP; HTTP gets no RTSP options."""
    udp = SourceOptions(rtsp_transport="udp")
    assert udp.ffmpeg_options("rtsp://cam/x")["rtsp_transport"] == "udp+tcp"
    assert udp.ffmpeg_options("rtsps://cam/x")["rtsp_transport"] == "tcp"
    assert SourceOptions().ffmpeg_options("RTSP://cam/x")["rtsp_transport"] == "tcp"
    assert "rtsp_transport" not in udp.ffmpeg_options("http://cam/x")


def test_reads_time_out_in_ffmpeg_after_the_stall_timeout() -> None:
    """FFmpeg's own I/O timeouts (microseconds) end blocked reads: RTSP's socket and AVIO's."""
    options = SourceOptions(stall_timeout_s=2.5)
    rtsp = options.ffmpeg_options("rtsp://cam/x")
    assert rtsp["timeout"] == rtsp["rw_timeout"] == "2500000"
    http = options.ffmpeg_options("http://cam/x")
    assert http["rw_timeout"] == "2500000"
    assert "timeout" not in http  # AVIO's rw_timeout covers HTTP reads


@pytest.fixture
def ffmpeg_log() -> Iterator[list[tuple[int, str, str]]]:
    """FFmpeg's log lines at trace level, from every thread, during the test."""
    previous = av.logging.get_level()
    av.logging.set_level(av.logging.TRACE)
    try:
        with av.logging.Capture(local=False) as logs:
            yield logs
    finally:
        av.logging.set_level(previous)


def test_udp_transport_is_requested_and_falls_back_to_tcp(
    rtsp_server: Live555Server, make_footage: MakeFootage, ffmpeg_log: list[tuple[int, str, str]]
) -> None:
    """rtsp_transport="udp" asks for RTP over UDP first.

    The test live555 refuses UDP (461), so this proves only that the request is made and
    that the fallback to TCP interleaving works, not that UDP streaming itself does.
    """
    url = rtsp_server.url(make_footage(SHORT_CLIP, ".264").name)
    with StreamSource(url, SourceOptions(rtsp_transport="udp")) as source:
        source.open()
        assert len(take(source, 3)) == 3
    messages = [message for _, _, message in ffmpeg_log]
    udp_setup = next(i for i, m in enumerate(messages) if "Transport: RTP/AVP/UDP" in m)
    # The status line itself ("RTSP/1.0 461 Unsupported Transport"): the log also carries other
    # components' lines that merely contain the digits (an x264 "size=1461 bytes").
    refused = next(i for i, m in enumerate(messages) if re.search(r"RTSP/1\.0 461\b", m))
    tcp_setup = next(i for i, m in enumerate(messages) if "Transport: RTP/AVP/TCP" in m)
    assert udp_setup < refused < tcp_setup


# --- credentials -------------------------------------------------------------------------

SECRETS = ("s3cret-pw", "tok3n-value", "p@ss:word")


def assert_no_secrets(text: str) -> None:
    """None of SECRETS, nor the percent-encoded form of the last one, appears in text."""
    for secret in (*SECRETS, "p%40ss%3Aword"):
        assert secret not in text


@pytest.fixture
def failing_urls_with_secrets(
    rtsp_server: Live555Server,
    http_stream_server: HttpStreamServer,
    fake_rtsp: Callable[[str], FakeRtspServer],
    silent_port: int,
    unused_port: int,
) -> list[str]:
    """URLs with SECRETS in user info and query that fail in four different ways."""
    userinfo = "admin:s3cret-pw@"
    return [
        http_stream_server.url(
            "auth/ts/x.ts?token=tok3n-value", credentials=("viewer", "s3cret-pw")
        ),
        fake_rtsp("401 Unauthorized").url(userinfo, "?password=tok3n-value"),
        f"rtsp://{userinfo}127.0.0.1:{unused_port}/x?auth=tok3n-value",
        f"http://admin:p%40ss%3Aword@127.0.0.1:{silent_port}/x?pwd=tok3n-value",
        rtsp_server.url("missing.264").replace("rtsp://", f"rtsp://{userinfo}")
        + "?key=tok3n-value",
    ]


def test_credentials_never_leak(
    failing_urls_with_secrets: list[str],
    http_stream_server: HttpStreamServer,
    make_footage: MakeFootage,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No StreamError text, traceback or log record carries user, password or token."""
    caplog.set_level(logging.DEBUG)
    userinfo = "admin:s3cret-pw@"
    options = SourceOptions(open_timeout_s=1.0, stall_timeout_s=1.0)
    kinds = set()
    for url in failing_urls_with_secrets:
        error = open_error(url, options)
        kinds.add(error.kind)
        assert error.__cause__ is None
        assert error.__context__ is None
        assert_no_secrets("".join(traceback.format_exception(error)))
    assert kinds == {
        StreamErrorKind.UNAUTHORIZED,
        StreamErrorKind.CONNECTION,
        StreamErrorKind.TIMEOUT,
        StreamErrorKind.NOT_FOUND,
    }
    # A stream that works, then stalls: the happy path and a read failure log too.
    name = make_footage(SHORT_CLIP, ".ts").name
    stalling = http_stream_server.url(f"stall/{name}?token=tok3n-value").replace(
        "http://", f"http://{userinfo}"
    )
    with StreamSource(stalling, options) as source:
        source.open()
        _packets, error = read_to_failure(source)
    assert error.kind is StreamErrorKind.STALLED
    assert_no_secrets(str(error))
    ours = [r for r in caplog.records if r.name.startswith("custom_components.hearthcam")]
    assert len(ours) >= 6  # Opening, opened and failures were logged, redacted.
    for record in caplog.records:
        assert_no_secrets(record.getMessage())


# --- timestamps on their own -------------------------------------------------------------


def test_timestamp_repair_per_stream_kind() -> None:
    """What FFmpeg hands over, and what the source makes of it (see the module docstring)."""

    def stamp(
        timeline: PacketTimeline, raw: list[tuple[int | None, int | None, float]]
    ) -> list[tuple[int, int]]:
        out = []
        for pts, dts, arrival in raw:
            packet = Packet(b"\0" * 8)
            packet.pts, packet.dts = pts, dts
            timeline.stamp(packet, arrival)
            assert packet.pts is not None
            assert packet.dts is not None
            out.append((packet.pts, packet.dts))
        return out

    def timeline(*, from_arrival: bool = False) -> PacketTimeline:
        return PacketTimeline(Fraction(1, 90000), from_arrival=from_arrival)

    # RTSP: the first packet has no timestamps at all.
    assert stamp(timeline(), [(None, None, 0.0), (9000, 9000, 0.1)]) == [(0, 0), (9000, 9000)]
    # HEVC with B-frames: dts is missing until the parser can derive it; order is kept.
    b_frames = stamp(
        timeline(),
        [(None, None, 0.0), (45000, None, 0.1), (27000, None, 0.2), (9000, 9000, 0.3)],
    )
    assert b_frames == [(0, 0), (45000, 1), (27000, 2), (9000, 9000)]
    # Missing both later: continue by arrival time.
    assert stamp(timeline(), [(0, 0, 5.0), (None, None, 5.2)]) == [(0, 0), (18000, 18000)]
    # A small step back is clamped; a clock reset is bridged and the new clock followed.
    assert stamp(timeline(), [(18000, 18000, 0.0), (17000, 17000, 0.1)])[1] == (18001, 18001)
    reset = stamp(
        timeline(), [(900000, 900000, 0.0), (909000, 909000, 0.1), (0, 0, 0.2), (9000, 9000, 0.3)]
    )
    assert reset[2:] == [(918000, 918000), (927000, 927000)]
    # No timestamps in the format: arrival time, kept strictly increasing.
    arrival = stamp(timeline(from_arrival=True), [(0, 0, 7.0), (1, 1, 7.1), (2, 2, 7.1)])
    assert arrival == [(0, 0), (9000, 9000), (9001, 9001)]
