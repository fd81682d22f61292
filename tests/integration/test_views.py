"""Playing clips through the authenticated view: signed URLs, ranges, thumbnails, refusals."""

from datetime import UTC, datetime
import io
from pathlib import Path

import av
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.hearthcam.engine.clip_info import ClipInfo
from custom_components.hearthcam.engine.clips import ClipStore

from .librarykit import add_clip, camera_entry, clip_mp4, load_library, thumbnail

__all__ = ["clip_mp4", "thumbnail"]

START = datetime(2026, 3, 14, 20, 15, 30, tzinfo=UTC)


@pytest.fixture
async def library(
    hass: HomeAssistant, tmp_path: Path, clip_mp4: Path, thumbnail: bytes
) -> tuple[ClipStore, ClipInfo, str]:
    """A loaded library with one clip (and thumbnail) of the Front door camera."""
    store = await load_library(hass, tmp_path / "media")
    front = camera_entry(hass, "Front door")
    info = await add_clip(hass, store, front, START, clip_mp4, thumbnail=thumbnail)
    return store, info, front


@pytest.fixture
def clip_bytes(clip_mp4: Path) -> bytes:
    """What the library's clip holds."""
    return clip_mp4.read_bytes()


async def test_browse_resolve_and_play_the_signed_url(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    hass_client_no_auth: ClientSessionGenerator,
    library: tuple[ClipStore, ClipInfo, str],
    clip_bytes: bytes,
) -> None:
    """The media browser's path: browse and resolve over WebSocket, seek and play the URL."""
    _, info, front = library
    ws = await hass_ws_client(hass)
    day_id = f"media-source://hearthcam/{front}/2026-03-14"
    await ws.send_json_auto_id({"type": "media_source/browse_media", "media_content_id": day_id})
    reply = await ws.receive_json()
    assert reply["success"], reply
    clip = reply["result"]["children"][0]
    assert clip["media_content_id"] == f"media-source://hearthcam/{info.clip_id}"
    await ws.send_json_auto_id(
        {"type": "media_source/resolve_media", "media_content_id": clip["media_content_id"]}
    )
    reply = await ws.receive_json()
    assert reply["success"], reply
    url = reply["result"]["url"]
    assert reply["result"]["mime_type"] == "video/mp4"
    assert url.startswith(f"/api/hearthcam/clips/{info.clip_id}.mp4?authSig=")

    client = await hass_client_no_auth()  # the signature is the only credential
    response = await client.get(url, headers={"Range": "bytes=100-1099"})
    assert response.status == 206
    assert response.headers["Content-Range"] == f"bytes 100-1099/{len(clip_bytes)}"
    assert response.headers["Content-Type"] == "video/mp4"
    assert await response.read() == clip_bytes[100:1100]
    full = await client.get(url)
    assert full.status == 200
    body = await full.read()
    assert body == clip_bytes
    with av.open(io.BytesIO(body), "r") as container:
        assert container.streams.audio  # audio is stream-copied too
        frames = sum(1 for _ in container.decode(video=0))
    assert frames >= 28  # 2 s at 15 fps

    await ws.send_json_auto_id(
        {"type": "media_source/resolve_media", "media_content_id": f"{day_id}/../.."}
    )
    reply = await ws.receive_json()
    assert not reply["success"]
    assert reply["error"]["code"] == "resolve_media_failed"


async def test_ranges_and_conditional_requests(
    hass_client: ClientSessionGenerator,
    library: tuple[ClipStore, ClipInfo, str],
    clip_bytes: bytes,
) -> None:
    """Suffix and open ranges, unsatisfiable ones, HEAD, and If-Range as RFC 9110 has them."""
    url = f"/api/hearthcam/clips/{library[1].clip_id}.mp4"
    size = len(clip_bytes)
    client = await hass_client()
    tail = await client.get(url, headers={"Range": "bytes=-500"})
    assert tail.status == 206
    assert await tail.read() == clip_bytes[-500:]
    rest = await client.get(url, headers={"Range": f"bytes={size - 10}-"})
    assert rest.headers["Content-Range"] == f"bytes {size - 10}-{size - 1}/{size}"
    assert await rest.read() == clip_bytes[-10:]
    past_end = await client.get(url, headers={"Range": f"bytes={size - 10}-{size + 99}"})
    assert await past_end.read() == clip_bytes[-10:]
    for bad in (f"bytes={size}-", "bytes=5-1", "bytes=0-1,4-5", "bytes=x"):
        beyond = await client.get(url, headers={"Range": bad})
        assert beyond.status == 416, bad
        assert beyond.headers["Content-Range"] == f"bytes */{size}"
    other_unit = await client.get(url, headers={"Range": "items=0-1"})
    assert other_unit.status == 200  # a unit we do not know is ignored
    assert await other_unit.read() == clip_bytes
    head = await client.head(url)
    assert head.status == 200
    assert head.headers["Content-Length"] == str(size)
    assert head.headers["Accept-Ranges"] == "bytes"
    # Footage is never kept by a browser or proxy cache: full, partial and refused answers.
    for answer in (head, tail, rest, beyond):
        assert answer.headers["Cache-Control"] == "no-store"
    assert await head.read() == b""
    stale = await client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"other"'})
    assert stale.status == 200  # the client's copy is another version: all of it
    assert await stale.read() == clip_bytes
    same = await client.get(url, headers={"Range": "bytes=0-9", "If-Range": head.headers["ETag"]})
    assert same.status == 206
    assert await same.read() == clip_bytes[:10]


async def test_thumbnails_are_served(
    hass_client: ClientSessionGenerator,
    library: tuple[ClipStore, ClipInfo, str],
    thumbnail: bytes,
) -> None:
    """The thumbnail the media browser shows comes from the same view."""
    client = await hass_client()
    response = await client.get(f"/api/hearthcam/clips/{library[1].clip_id}.jpg")
    assert response.status == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.headers["Cache-Control"] == "no-store"
    assert await response.read() == thumbnail


async def test_requests_without_credentials_are_refused(
    hass_client_no_auth: ClientSessionGenerator,
    library: tuple[ClipStore, ClipInfo, str],
) -> None:
    """No token and no signature: 401 for the clip and its thumbnail."""
    _, info, _ = library
    client = await hass_client_no_auth()
    for suffix in (".mp4", ".jpg"):
        response = await client.get(f"/api/hearthcam/clips/{info.clip_id}{suffix}")
        assert response.status == 401
    forged = await client.get(f"/api/hearthcam/clips/{info.clip_id}.mp4?authSig=forged")
    assert forged.status == 401


async def test_paths_outside_the_store_are_never_served(
    hass: HomeAssistant,
    tmp_path: Path,
    hass_client: ClientSessionGenerator,
    library: tuple[ClipStore, ClipInfo, str],
    clip_mp4: Path,
) -> None:
    """Traversal, other cameras' paths, odd names and planted symlinks: 404, never the file."""
    store, info, front = library
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    await add_clip(hass, store, "yard", START.replace(hour=21), clip_mp4)
    day = store.root / front / "2026-03-14"
    # A link planted in place of an indexed clip's thumbnail, and a linked day directory.
    (day / "201530-1.jpg").unlink()
    (day / "201530-1.jpg").symlink_to(secret)
    (store.root / front / "2026-03-15").symlink_to(tmp_path)
    (tmp_path / "120000-1.mp4").write_text("private")

    client = await hass_client()
    assert (await client.get(f"/api/hearthcam/clips/{info.clip_id}.mp4")).status == 200
    paths = [
        f"/api/hearthcam/clips/{info.clip_id}.jpg",  # the planted link
        f"/api/hearthcam/clips/{front}/2026-03-15/120000-1.mp4",  # through the linked day
        f"/api/hearthcam/clips/{front}/2026-03-14/211530-1.mp4",  # the yard's clip
        "/api/hearthcam/clips/yard/2026-03-14/211530-1.json",  # sidecars are not served
        "/api/hearthcam/clips/yard/2026-03-14/211530-1.mp4.part",
        "/api/hearthcam/clips/yard/2026-03-14/..%2F..%2F..%2Fsecret.txt",
        "/api/hearthcam/clips/yard/..%2F..%2F/211530-1.mp4",
        "/api/hearthcam/clips/%2E%2E/2026-03-14/211530-1.mp4",
        "/api/hearthcam/clips/yard/2026-03-14/%2Fetc%2Fpasswd",
        "/api/hearthcam/clips/Yard/2026-03-14/211530-1.mp4",
        "/api/hearthcam/clips/yard/2026-02-30/211530-1.mp4",
        "/api/hearthcam/clips/yard/2026-03-14/211530-01.mp4",
    ]
    for path in paths:
        response = await client.get(path)
        # 400: Home Assistant's request filter stops some traversal attempts before us.
        assert response.status in (400, 404), path
        assert b"private" not in await response.read()
    assert (await client.get("/api/hearthcam/clips/yard/2026-03-14/211530-1.mp4")).status == 200
    traversal = await client.get("/api/hearthcam/clips/../../../etc/passwd")
    assert traversal.status == 404
    assert secret.read_text() == "private"
