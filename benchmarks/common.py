"""Shared benchmark plumbing: cached footage, file-backed packet sources, CPU and RSS probes."""

import argparse
from collections.abc import Callable, Iterator
import json
from pathlib import Path
import statistics

import av
from av.audio.stream import AudioStream
from av.container import InputContainer
from av.packet import Packet
from av.stream import Stream
from av.video.codeccontext import VideoCodecContext
from av.video.stream import VideoStream

from benchmarks.process_cpu import CpuSample, in_child, measure_here
from devkit.footage import Scene, footage_path

CACHE = Path(__file__).parent / ".cache"


def footage(scene: Scene, suffix: str = ".mkv") -> Path:
    """Return the scene encoded once, cached beside the benchmarks (git-ignored)."""
    CACHE.mkdir(exist_ok=True)
    return footage_path(scene, CACHE, suffix)


class FileSource:
    """A worker PacketSource that reads a file as fast as the consumer takes packets."""

    def __init__(self, path: Path, on_packet: Callable[[float], None] | None = None) -> None:
        self._container: InputContainer = av.open(str(path))
        self._video = self._container.streams.video[0]
        audio = self._container.streams.audio
        self._audio = audio[0] if audio else None
        self._on_packet = on_packet

    @property
    def video_stream(self) -> VideoStream:
        """The file's video stream."""
        return self._video

    @property
    def audio_stream(self) -> AudioStream | None:
        """The file's audio stream, if any."""
        return self._audio

    def packets(self) -> Iterator[Packet[Stream]]:
        """Every packet with a timestamp; on_packet(video time) runs after each is consumed."""
        streams = [self._video] + ([self._audio] if self._audio else [])
        for packet in self._container.demux(*streams):
            if packet.dts is None:  # the demuxer's end-of-stream flush packets
                continue
            yield packet
            if self._on_packet is not None and packet.stream is self._video:
                self._on_packet(float(packet.pts * packet.time_base) if packet.pts else 0.0)

    def close(self) -> None:
        """Close the file."""
        self._container.close()


def media_duration_s(path: Path) -> float:
    """Duration of the video stream, from its frame count and rate."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        frames = sum(1 for packet in container.demux(video) if packet.dts is not None)
        rate = video.guessed_rate or video.average_rate
        if not rate:
            msg = f"{path.name} has no frame rate"
            raise ValueError(msg)
        return frames / float(rate)


def open_decoder(video: VideoStream, *, skip_loop_filter: bool) -> VideoCodecContext:
    """Set the stream's decoder up as the worker does: one thread, loop filter as asked."""
    decoder = video.codec_context
    decoder.thread_count = 1
    if skip_loop_filter:
        decoder.options = {"skip_loop_filter": "all"}  # options apply when the decoder opens
    return decoder


def decode_file(path: Path, *, skip_loop_filter: bool = False) -> int:
    """Demux and decode the video with PyAV alone (the decode floor); return the frame count."""
    frames = 0
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        decoder = open_decoder(video, skip_loop_filter=skip_loop_filter)
        for packet in container.demux(video):
            frames += len(decoder.decode(packet))
    return frames


def decode_cpu_s(path: Path, *, skip_loop_filter: bool = False) -> CpuSample:
    """Process CPU of a plain PyAV decode of the file, in a fresh child process."""
    return in_child(_decode_child, path, skip_loop_filter)


def _decode_child(path: Path, skip_loop_filter: bool) -> CpuSample:  # noqa: FBT001 - pickled
    warm_up(path)
    return measure_here(lambda: decode_file(path, skip_loop_filter=skip_loop_filter))


def warm_up(path: Path) -> None:
    """Load the demuxer and decoder libraries before measuring (the first open costs more)."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        decoder = open_decoder(video, skip_loop_filter=False)
        for index, packet in enumerate(container.demux(video)):
            decoder.decode(packet)
            if index >= 4:
                break


def rss_mb() -> float:
    """Resident set size of this process in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    msg = "no VmRSS in /proc/self/status"
    raise RuntimeError(msg)


def spread(values: list[float]) -> float:
    """Relative spread (max - min) / median of repeated measurements: the machine's noise."""
    return (max(values) - min(values)) / statistics.median(values) if len(values) > 1 else 0.0


type Interval = tuple[float, float]


def hold_events(times: list[float], hold_s: float) -> list[Interval]:
    """Events of a sensor that turns on at each trigger time and off hold_s after the last one."""
    events: list[Interval] = []
    for t in sorted(times):
        if events and t <= events[-1][1]:
            events[-1] = (events[-1][0], t + hold_s)
        else:
            events.append((t, t + hold_s))
    return events


def suite_main[Config, Result](
    argv: list[str],
    name: str,
    run: Callable[[Config], Result],
    table: Callable[[Result], str],
    configs: tuple[Config, Config],
) -> int:
    """Parse --json and --quick, run the suite (full or quick config), print JSON or a table."""
    parser = argparse.ArgumentParser(prog=f"scripts/bench {name}")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="small footage, one repeat (smoke)")
    args = parser.parse_args(argv)
    full, quick = configs
    result = run(quick if args.quick else full)
    print(json.dumps(result, indent=2) if args.json else table(result))
    return 0
