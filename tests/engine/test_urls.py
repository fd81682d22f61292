"""Stream URL validation, identity and redaction."""

import pytest

from custom_components.hearthcam.engine.errors import InvalidStreamURLError
from custom_components.hearthcam.engine.urls import (
    REDACTED,
    parse_stream_url,
    redact_text,
    redact_url,
    stream_identity,
)


@pytest.mark.parametrize(
    "url",
    [
        "rtsp://192.0.2.1/stream",
        "rtsps://cam.example:322/live",
        "http://user:pa%40ss@192.0.2.1:8080/video.mjpg",
        "HTTPS://[2001:db8::1]/x.ts",
    ],
)
def test_accepts_stream_urls(url: str) -> None:
    """Every supported scheme, with credentials, ports and IPv6, is accepted as is."""
    assert parse_stream_url(f"  {url}\n") == url


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "ftp://192.0.2.1/x",
        "file:///etc/passwd",
        "rtsp://",
        "rtsp:///path-only",
        "rtsp://192.0.2.1:99999/x",
        "rtsp://192.0.2.1:0/x",
        "rtsp://192.0.2.1/a b",
        "rtsp://192.0.2.1/\x00",
        "192.0.2.1/stream",
    ],
)
def test_rejects_non_stream_urls(url: str) -> None:
    """Anything else is refused with a reason."""
    with pytest.raises(InvalidStreamURLError):
        parse_stream_url(url)


def test_redacts_userinfo_and_credential_query() -> None:
    """User, password and credential query values are replaced; the rest stays readable."""
    url = "rtsp://admin:s3cret@192.0.2.1:8554/cam?channel=1&user=admin&PASSWORD=s3cret"
    redacted = redact_url(url)
    assert (
        redacted
        == f"rtsp://{REDACTED}:{REDACTED}@192.0.2.1:8554/cam?channel=1&user=***&PASSWORD=***"
    )
    assert "s3cret" not in redacted
    assert "admin" not in redacted


def test_redact_keeps_ipv6_brackets_and_survives_garbage() -> None:
    """IPv6 hosts stay valid URLs; unparsable input is redacted whole rather than leaked."""
    assert (
        redact_url("rtsp://u:p@[2001:db8::1]/x") == f"rtsp://{REDACTED}:{REDACTED}@[2001:db8::1]/x"
    )
    assert redact_url("rtsp://u:p@[bad/x") == REDACTED


def test_redact_text_removes_every_spelling_of_secrets() -> None:
    """FFmpeg messages may quote the URL or the decoded password: both are removed."""
    url = "rtsp://admin:p%40ss@192.0.2.1/cam"
    message = f"Error opening {url}: 401 for user admin with p@ss and p%40ss"
    cleaned = redact_text(message, url)
    assert "p@ss" not in cleaned
    assert "p%40ss" not in cleaned
    assert "admin" not in cleaned
    assert "192.0.2.1/cam" in cleaned


def test_stream_identity_ignores_credentials_and_defaults_ports() -> None:
    """Same camera, other password or explicit default port: same identity."""
    a = stream_identity("rtsp://a:b@CAM.local/Live?b=2&a=1&pwd=x")
    b = stream_identity("rtsp://c:d@cam.local:554/Live?a=1&b=2")
    assert a == b == "cam.local:554/Live?a=1&b=2"
    assert stream_identity("rtsp://cam.local/sub") != a
    assert stream_identity("http://cam.local") == "cam.local:80/"
