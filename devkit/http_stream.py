"""HTTP camera simulator: MJPEG, paced MPEG-TS, corrupted and stalled streams, basic auth.

Run as ``python -m devkit.http_stream --root DIR [--port 0]``; prints ``PORT <n>`` first.
"""

import argparse
import base64
from collections.abc import Callable, Iterator
import contextlib
from dataclasses import dataclass
import hmac
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import io
from pathlib import Path
import random
import select
import sys
import time
from typing import ClassVar, Self
from urllib.parse import parse_qs, unquote, urlsplit

import av
from PIL import Image

AUTH_USER = "user"
AUTH_PASSWORD = "secret"  # noqa: S105 - a published test credential, not a secret
BOUNDARY = "hearthcamframe"
_TS_PACKET = 188
_CHUNK = 7 * _TS_PACKET  # What one RTP/UDP datagram of TS usually carries.
_FALLBACK_FPS = 15.0
_JPEG_QUALITY = 80
_GARBAGE_EVERY = 16384  # Mean clean bytes between two garbage runs.
_STALL_HOLD_S = 300.0  # Give up on a stalled client eventually, so threads don't pile up.


def _flag(value: str) -> bool:
    """Read a query flag: "0", "false" and "no" mean False."""
    return value.lower() not in {"0", "false", "no"}


@dataclass(frozen=True, slots=True)
class StreamOptions:
    """Query parameters: ?loop=0 (MJPEG once), ?pace=0 (TS at once), ?seed=, ?every=, ?hold=."""

    loop: bool = True
    pace: bool = True
    seed: int = 0
    every: int = _GARBAGE_EVERY
    hold_s: float = _STALL_HOLD_S

    @classmethod
    def from_query(cls, query: str) -> Self:
        """Parse a query string; ValueError on malformed numbers."""
        values = {name: found[-1] for name, found in parse_qs(query).items()}
        return cls(
            loop=_flag(values.get("loop", "1")),
            pace=_flag(values.get("pace", "1")),
            seed=int(values.get("seed", 0)),
            # Runs closer than two TS packets would leave nothing intact to decode.
            every=max(2 * _TS_PACKET, int(values.get("every", _GARBAGE_EVERY))),
            hold_s=float(values.get("hold", _STALL_HOLD_S)),
        )


def _byte_rate(path: Path, size: int) -> float | None:
    """Bytes per second that play the file in real time, if its duration is known."""
    try:
        with av.open(path) as container:
            duration = container.duration
    except av.error.FFmpegError:
        return None  # Not media FFmpeg knows: send it unpaced.
    return size * av.time_base / duration if duration else None


def _jpeg_frames(path: Path) -> tuple[float, Iterator[bytes]]:
    """Return the frame rate of a video file and an iterator over its frames as JPEG."""
    container = av.open(path)
    stream = container.streams.video[0]
    # Raw .264 files report 25 fps on average_rate; guessed_rate reads the stream's timing.
    rate = stream.guessed_rate or stream.average_rate
    fps = float(rate) if rate else _FALLBACK_FPS

    def frames() -> Iterator[bytes]:
        with container:
            for frame in container.decode(stream):
                buffer = io.BytesIO()
                image = Image.fromarray(frame.to_ndarray(format="rgb24"))
                image.save(buffer, "JPEG", quality=_JPEG_QUALITY)
                yield buffer.getvalue()

    return fps, frames()


def _multipart(jpeg: bytes) -> bytes:
    """One part of a multipart/x-mixed-replace body."""
    header = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
    return header.encode() + jpeg + b"\r\n"


def corrupt(data: bytes, seed: int, every: int = _GARBAGE_EVERY) -> bytes:
    """Copy of data with seeded runs of random bytes inserted or overwriting, about every N."""
    rng = random.Random(seed)  # noqa: S311 - reproducible noise, not cryptography
    out = bytearray()
    pos = 0
    while (gap := rng.randint(every // 2, every * 3 // 2)) < len(data) - pos:
        out += data[pos : pos + gap]
        pos += gap
        run = rng.randint(16, 1024)
        out += rng.randbytes(run)
        # Half the runs replace data (lost bytes), half are extra bytes (shifted stream).
        if rng.random() < 0.5:
            pos += run
    out += data[pos:]
    return bytes(out)


class _Pacer:
    """Sleeps so that the nth unit goes out at start + n / rate."""

    def __init__(self, rate: float | None) -> None:
        """Rate in units per second; None means no pacing."""
        self.rate = rate
        self.start = time.monotonic()

    def wait(self, sent: float) -> None:
        """Block until it is time to send unit number `sent`."""
        if self.rate:
            delay = self.start + sent / self.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)


class StreamServer(ThreadingHTTPServer):
    """Threaded HTTP server that remembers the media root."""

    daemon_threads = True  # Endless streams must not block shutdown.

    def __init__(self, address: tuple[str, int], root: Path, *, verbose: bool = False) -> None:
        """Bind and listen on address, serving files under root."""
        super().__init__(address, StreamHandler)
        self.root = root.resolve()
        self.verbose = verbose


class StreamHandler(BaseHTTPRequestHandler):
    """Serves /mjpeg, /ts, /garbage, /stall and /auth/<any of those>."""

    server: StreamServer
    _modes: ClassVar[dict[str, str]] = {
        "mjpeg": "_serve_mjpeg",
        "ts": "_serve_ts",
        "garbage": "_serve_garbage",
        "stall": "_serve_stall",
    }

    def do_GET(self) -> None:
        """Route a request to its endpoint."""
        url = urlsplit(self.path)
        mode, _, rest = unquote(url.path).lstrip("/").partition("/")
        if mode == "auth":
            if not self._authorised():
                self._deny()
                return
            mode, _, rest = rest.partition("/")
        path = self._resolve(rest)
        method = self._modes.get(mode)
        if method is None or path is None:
            self.send_error(HTTPStatus.NOT_FOUND, "no such stream")
            return
        try:
            options = StreamOptions.from_query(url.query)
        except ValueError as err:
            self.send_error(HTTPStatus.BAD_REQUEST, str(err))
            return
        serve: Callable[[Path, StreamOptions], None] = getattr(self, method)
        # A client hanging up is how every endless stream ends.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            serve(path, options)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base signature
        """Log to stderr only when asked; tests don't want the noise."""
        if self.server.verbose:
            super().log_message(format, *args)

    def _resolve(self, name: str) -> Path | None:
        """Map name to a file under root, or None; never to anything outside root."""
        if not name:
            return None
        candidate = (self.server.root / name).resolve()
        # resolve() folds ".." and symlinks, so containment is checked on the real target.
        if not candidate.is_relative_to(self.server.root) or not candidate.is_file():
            return None
        return candidate

    def _authorised(self) -> bool:
        """Whether the request carries the test user's basic credentials."""
        expected = base64.b64encode(f"{AUTH_USER}:{AUTH_PASSWORD}".encode()).decode()
        given = self.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Basic {expected}".encode())

    def _deny(self) -> None:
        """Answer 401 with a basic-auth challenge."""
        body = b"authentication required\n"
        self.send_response(HTTPStatus.UNAUTHORIZED)
        self.send_header("WWW-Authenticate", 'Basic realm="hearthcam-devkit"')
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _start_stream(self, content_type: str, length: int | None) -> None:
        """Send the headers of a one-stream-per-connection response."""
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache")
        # A known length lets a client tell a complete stream from one cut short: FFmpeg
        # reports a close-delimited body ending as EIO ("Stream ends prematurely").
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def _send_paced(self, data: bytes, byte_rate: float | None) -> None:
        """Send data in TS-sized chunks, no faster than byte_rate bytes per second."""
        pacer = _Pacer(byte_rate)
        for offset in range(0, len(data), _CHUNK):
            pacer.wait(offset)
            self.wfile.write(data[offset : offset + _CHUNK])

    def _serve_mjpeg(self, path: Path, options: StreamOptions) -> None:
        """Decode the file and send its frames as multipart JPEG at its frame rate."""
        try:
            rate, frames = _jpeg_frames(path)
        except av.error.FFmpegError, IndexError:
            self.send_error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "no video in this file")
            return
        content_type = f"multipart/x-mixed-replace; boundary={BOUNDARY}"
        pacer = _Pacer(rate)
        if not options.loop:
            # One pass has a known size, so send it with a length like /ts.
            parts = [_multipart(jpeg) for jpeg in frames]
            self._start_stream(content_type, sum(map(len, parts)))
            for sent, part in enumerate(parts):
                pacer.wait(sent)
                self.wfile.write(part)
            return
        self._start_stream(content_type, None)
        sent = 0
        while True:
            for jpeg in frames:
                pacer.wait(sent)
                self.wfile.write(_multipart(jpeg))
                sent += 1
            frames = _jpeg_frames(path)[1]

    def _serve_ts(self, path: Path, options: StreamOptions) -> None:
        """Send the file as a live stream, paced by its duration unless pace is off."""
        data = path.read_bytes()
        byte_rate = _byte_rate(path, len(data)) if options.pace else None
        self._start_stream("video/mp2t", len(data))
        self._send_paced(data, byte_rate)

    def _serve_garbage(self, path: Path, options: StreamOptions) -> None:
        """Like /ts, with seeded runs of garbage about every `every` bytes."""
        clean = path.read_bytes()
        data = corrupt(clean, options.seed, options.every)
        # Pace by the clean file, so the clip still takes its own duration.
        byte_rate = _byte_rate(path, len(clean)) if options.pace else None
        self._start_stream("video/mp2t", len(data))
        self._send_paced(data, byte_rate)

    def _serve_stall(self, path: Path, options: StreamOptions) -> None:
        """Send about one second of the file, then hold the connection open silently."""
        data = path.read_bytes()
        byte_rate = _byte_rate(path, len(data)) or len(data)
        first = max(_TS_PACKET, int(byte_rate) // _TS_PACKET * _TS_PACKET)
        # The full length is announced: the client must wait for bytes that never come.
        self._start_stream("video/mp2t", len(data))
        self.wfile.write(data[:first])
        deadline = time.monotonic() + options.hold_s
        # Wait for the client to hang up (readable with no data) or for the deadline.
        while (left := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([self.connection], [], [], min(left, 0.5))
            if readable and not self.connection.recv(4096):
                return


def main(argv: list[str] | None = None) -> int:
    """Serve until killed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--root", type=Path, required=True, help="directory of media files")
    parser.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind")
    parser.add_argument("--verbose", action="store_true", help="log requests to stderr")
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        parser.error(f"--root {args.root} is not a directory")
    with StreamServer((args.host, args.port), args.root, verbose=args.verbose) as server:
        # The parent learns the port from this line; it must be the first thing on stdout.
        sys.stdout.write(f"PORT {server.server_address[1]}\n")
        sys.stdout.flush()
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
