"""An export bundle: one zip with the redacted clip, `manifest.json` and a short `README.txt`.

The manifest says what the clip is (camera name, never its address), who exported it, why and
until when, what was left out, and the sha256 of every other file in the zip. The zip is built in
a temporary file of the export folder and renamed into place only when complete.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
import hashlib
import json
import os
from pathlib import Path
import threading
from typing import IO, Final
import zipfile

from .clip_info import ClipInfo, utc
from .errors import ExportCancelledError
from .export_folder import BUNDLE_SUFFIX, ExportFolder
from .redact import (
    RedactedVideo,
    RedactMethod,
    RedactOptions,
    redact_clip,
)

MANIFEST_FORMAT: Final = "hearthcam-export"
MANIFEST_VERSION: Final = 1
VIDEO_NAME: Final = "clip.mp4"
MANIFEST_NAME: Final = "manifest.json"
README_NAME: Final = "README.txt"
_HASH_CHUNK: Final = 1024 * 1024


class Redaction:
    """Names of what an export leaves out or changes (the bundle's `redactions`)."""

    AUDIO_REMOVED: Final = "audio_removed"
    METADATA_REMOVED: Final = "metadata_removed"
    PRIVACY_MASKS: Final = "privacy_masks_blacked_out"
    TRIMMED: Final = "trimmed"


@dataclass(frozen=True, slots=True, kw_only=True)
class BundleDetails:
    """What the manifest says about the export besides the video itself."""

    export_id: str
    camera_name: str
    clip: ClipInfo
    reason: str
    user_id: str
    user_name: str
    created_at: datetime
    expires_at: datetime
    masks_configured: int  # privacy masks the camera has, applied or not
    detection_settings: Mapping[str, object] = field(default_factory=dict)
    software: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Bundle:
    """A finished bundle in the export folder."""

    export_id: str
    path: Path
    sha256: str
    size_bytes: int
    redactions: tuple[str, ...]
    video: RedactedVideo
    files: Mapping[str, str]  # sha256 of each file in the zip but the manifest


def build_bundle(
    source: IO[bytes] | Path,
    folder: ExportFolder,
    details: BundleDetails,
    options: RedactOptions,
    cancel: threading.Event,
) -> Bundle:
    """Build the bundle of a clip in the export folder (blocking; nothing is left on failure).

    Raises ExportCancelledError when cancel is set before the bundle is complete,
    UnreadableClipError for a clip that cannot be read, StorageError or OSError when the
    folder cannot take it.
    """
    video_temp = folder.temp_path(details.export_id)
    zip_temp = folder.temp_path(details.export_id)
    try:
        video = redact_clip(source, video_temp, options, cancel)
        redactions = _redactions(video, options)
        files = {VIDEO_NAME: _sha256(video_temp)}
        readme = readme_text(details, video, redactions).encode()
        files[README_NAME] = hashlib.sha256(readme).hexdigest()
        manifest = manifest_data(details, video, options, redactions, files)
        _write_zip(zip_temp, details.created_at, video_temp, manifest, readme)
        folder.discard(video_temp)
        digest = _sha256(zip_temp)
        if cancel.is_set():
            # Checked once more before the commit: after it the bundle exists.
            msg = "the export was cancelled"
            raise ExportCancelledError(msg)
        size = folder.commit(zip_temp, details.export_id)
    finally:
        folder.discard(video_temp)
        folder.discard(zip_temp)
    return Bundle(
        export_id=details.export_id,
        path=folder.path / f"{details.export_id}{BUNDLE_SUFFIX}",
        sha256=digest,
        size_bytes=size,
        redactions=redactions,
        video=video,
        files=files,
    )


def _redactions(video: RedactedVideo, options: RedactOptions) -> tuple[str, ...]:
    redactions = [Redaction.METADATA_REMOVED]
    if video.audio_removed:
        redactions.append(Redaction.AUDIO_REMOVED)
    if options.masks:
        redactions.append(Redaction.PRIVACY_MASKS)
    if options.trimmed:
        redactions.append(Redaction.TRIMMED)
    return tuple(redactions)


def manifest_data(
    details: BundleDetails,
    video: RedactedVideo,
    options: RedactOptions,
    redactions: Sequence[str],
    files: Mapping[str, str],
) -> dict[str, object]:
    """Return the manifest's content."""
    clip = details.clip
    end_s = video.start_s + video.duration_s
    return {
        "format": MANIFEST_FORMAT,
        "format_version": MANIFEST_VERSION,
        "export_id": details.export_id,
        "created_at": utc(details.created_at).isoformat(),
        "expires_at": utc(details.expires_at).isoformat(),
        "exported_by": {"user_id": details.user_id, "name": details.user_name},
        "reason": details.reason,
        "camera": {"name": details.camera_name},
        "clip": {
            "clip_id": clip.clip_id,
            "start": clip.start.isoformat(),
            "end": clip.end.isoformat(),
            "duration_s": round(clip.duration_s, 3),
            "trigger": clip.trigger.value,
            "peak_score": clip.peak_score,
            "motion_offset_s": clip.motion_offset_s,
        },
        "export": {
            "start_offset_s": round(video.start_s, 3),
            "end_offset_s": round(end_s, 3),
            "duration_s": round(video.duration_s, 3),
            "method": video.method.value,
            "video": {
                "file": VIDEO_NAME,
                "codec": video.video_codec,
                "width": video.width,
                "height": video.height,
                "frames": video.frames,
                "damaged_frames_left_out": video.damaged_frames,
            },
            "audio": None if video.audio_codec is None else {"codec": video.audio_codec},
        },
        # Offsets from the start of the exported video, for the part the export covers.
        "motion_timeline": [
            [round(offset - video.start_s, 3), score]
            for offset, score in clip.motion_timeline
            if video.start_s <= offset <= end_s
        ],
        "redactions": list(redactions),
        "privacy_masks": {
            "configured": details.masks_configured,
            "applied": bool(options.masks),
            "polygons": [[list(point) for point in polygon] for polygon in options.masks],
        },
        "detection_settings": dict(details.detection_settings),
        "software": dict(details.software),
        "files": {name: {"sha256": digest} for name, digest in files.items()},
    }


def readme_text(details: BundleDetails, video: RedactedVideo, redactions: Sequence[str]) -> str:
    """Return the bundle's note for people: what this is and what was left out."""
    clip = details.clip
    left_out = {
        Redaction.METADATA_REMOVED: "metadata of the file and the camera's embedded text",
        Redaction.AUDIO_REMOVED: "the sound",
        Redaction.PRIVACY_MASKS: "the areas under the camera's privacy masks (blacked out)",
        Redaction.TRIMMED: "the parts of the clip before and after the exported window",
    }
    lines = [
        "HearthCam troubleshooting export",
        "",
        f"Camera:       {details.camera_name}",
        f"Clip:         {clip.clip_id}, recorded {clip.start:%Y-%m-%d %H:%M:%S} UTC",
        (
            f"Exported:     {video.duration_s:.1f} s from {video.start_s:.1f} s into the clip "
            f"({'stream copy' if video.method is RedactMethod.STREAM_COPY else 're-encoded'})"
        ),
        f"Exported by:  {details.user_name}, {utc(details.created_at):%Y-%m-%d %H:%M} UTC",
        f"Reason:       {details.reason}",
        f"Expires:      {utc(details.expires_at):%Y-%m-%d %H:%M} UTC",
        "",
        "Left out: " + "; ".join(left_out[name] for name in redactions) + ".",
        "",
        f"{MANIFEST_NAME} lists the details and the sha256 of every other file here.",
        "This clip was shared by its owner for troubleshooting only. Please delete it when you",
        "are done, and do not pass it on, publish it or use it to train anything.",
        "",
    ]
    return "\n".join(lines)


def _write_zip(
    path: Path, created_at: datetime, video: Path, manifest: Mapping[str, object], readme: bytes
) -> None:
    """Write the zip: the video stored as it is (it is compressed already), text deflated."""
    moment = utc(created_at)
    stamp = (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
    # Private from the first byte: the folder is too, but a copied-out file keeps its mode.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w") as bundle:
        info = zipfile.ZipInfo(VIDEO_NAME, date_time=stamp)
        info.compress_type = zipfile.ZIP_STORED
        with video.open("rb") as source, bundle.open(info, "w", force_zip64=True) as target:
            while chunk := source.read(_HASH_CHUNK):
                target.write(chunk)
        text = json.dumps(manifest, indent=2, allow_nan=False).encode() + b"\n"
        for name, data in ((MANIFEST_NAME, text), (README_NAME, readme)):
            entry = zipfile.ZipInfo(name, date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(entry, data)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
