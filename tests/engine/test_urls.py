"""Stream URL validation, identity and redaction."""

from urllib.parse import unquote

import pytest

from custom_components.hearthcam.engine.errors import InvalidStreamURLError
from custom_components.hearthcam.engine.urls import (
    REDACTED,
    ambiguous_userinfo,
    is_credential_key,
    is_opaque_token,
    parse_stream_url,
    redact_text,
    redact_url,
    stream_identity,
)
from tests.camera_urls import AMBIGUOUS_URLS, CAMERA_URLS, CameraURL


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


# --- redaction by structure, over real camera URL forms --------------------------------------

HOST = "127.0.0.1:9"


def _url(form: CameraURL) -> str:
    return form.url(HOST, "mjpeg/front.mkv")


@pytest.mark.parametrize("form", CAMERA_URLS, ids=lambda form: form.form)
def test_camera_url_forms_are_accepted_and_unambiguous(form: CameraURL) -> None:
    """Every real form is a valid stream URL that reads only one way."""
    url = _url(form)
    assert parse_stream_url(url) == url
    assert not ambiguous_userinfo(url)


@pytest.mark.parametrize("form", CAMERA_URLS, ids=lambda form: form.form)
def test_redact_url_removes_every_secret_and_keeps_the_rest(form: CameraURL) -> None:
    """No secret survives; host, port and the non-secret path and query stay readable."""
    redacted = redact_url(_url(form))
    assert REDACTED in redacted
    for secret in form.secrets:
        assert secret not in redacted
    assert redacted.startswith(_url(form).split("://")[0] + "://")
    assert HOST in redacted
    for part in form.readable:
        assert part in redacted


@pytest.mark.parametrize("form", CAMERA_URLS, ids=lambda form: form.form)
def test_redact_text_removes_secrets_however_a_message_spells_them(form: CameraURL) -> None:
    """FFmpeg and exceptions quote the URL, parts of it, or its decoded secrets: all go."""
    url = _url(form)
    # Each secret as the URL spells it and decoded (a part of another one stands in for it).
    whole = [s for s in form.secrets if not any(s != o and s in o for o in form.secrets)]
    message = f"Could not open {url} ({url.split('://', 1)[1]}): " + ", ".join(whole)
    cleaned = redact_text(message, url)
    for secret in form.secrets:
        assert secret not in cleaned
    assert HOST in cleaned


@pytest.mark.parametrize("form", CAMERA_URLS, ids=lambda form: form.form)
def test_stream_identity_holds_no_secret(form: CameraURL) -> None:
    """The identity (the config entry's unique id) is free of every secret and keeps the host."""
    identity = stream_identity(_url(form))
    for secret in form.secrets:
        assert secret not in identity
        assert unquote(secret) not in identity
    assert identity.startswith(HOST)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (
            "rtsp://127.0.0.1/user=admin&password=one&channel=1&stream=0.sdp?",
            "rtsp://127.0.0.1/user=root&password=two-2&channel=1&stream=0.sdp?",
        ),
        (
            "rtsp://127.0.0.1/user=admin_password=one_channel=1_stream=0.sdp?real_stream",
            "rtsp://127.0.0.1/user=admin_password=t_w_o_channel=1_stream=0.sdp?real_stream",
        ),
        (
            "http://127.0.0.1/videostream.cgi?loginuse=a&loginpas=one&resolution=32",
            "http://127.0.0.1/videostream.cgi?resolution=32&loginuse=b&loginpas=two",
        ),
        (
            "http://127.0.0.1/mjpg/cam1/video.mjpg?user=a&pw=one",
            "http://127.0.0.1:80/mjpg/cam1/video.mjpg?pw=two&user=a",
        ),
    ],
)
def test_stream_identity_ignores_credentials_wherever_they_are(first: str, second: str) -> None:
    """Another password in the path or query is still the same camera."""
    assert stream_identity(first) == stream_identity(second)


def test_stream_identity_tells_tokens_apart_without_holding_them() -> None:
    """UniFi Protect selects the camera by the token: another token is another camera."""
    first = stream_identity("rtsps://127.0.0.1:7441/Xq7pR2mZ9vK4tW8s?enableSrtp")
    second = stream_identity("rtsps://127.0.0.1:7441/Bn3kW8pL2xQ7rT5v?enableSrtp")
    assert first != second
    assert first == stream_identity("rtsps://127.0.0.1:7441/Xq7pR2mZ9vK4tW8s?enableSrtp")
    assert "Xq7pR2mZ9vK4tW8s" not in first
    assert "Bn3kW8pL2xQ7rT5v" not in second


@pytest.mark.parametrize(
    "segment",
    [
        "Xq7pR2mZ9vK4tW8s",
        "d41d8cd98f00b204e9800998ecf8427e",
        "123e4567-e89b-12d3-a456-426614174000",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0",
        "aB3dE5fG7h_J9kL1m2nO-pQ4",
    ],
)
def test_opaque_tokens_are_recognised(segment: str) -> None:
    """Random-looking segments (base62, digests, UUIDs) count as secrets."""
    assert is_opaque_token(segment)
    assert redact_url(f"rtsp://127.0.0.1/live/{segment}/main") == "rtsp://127.0.0.1/live/***/main"


@pytest.mark.parametrize(
    "segment",
    ["Streaming", "realmonitor", "h264Preview_01_main", "MediaProfile00001", "stream1", "0.sdp"],
)
def test_ordinary_path_segments_stay(segment: str) -> None:
    """Words, camel case and numbers are not tokens: the path stays readable."""
    assert not is_opaque_token(segment)


@pytest.mark.parametrize(
    "key", ["pw", "PWD", "loginuse", "LoginPas", "authbasic", "x-auth-token", "api_key", "sig"]
)
def test_credential_keys(key: str) -> None:
    """Credential keys are recognised whatever their case and separators."""
    assert is_credential_key(key)
    assert redact_url(f"http://127.0.0.1/a?{key}=value1&channel=2") == (
        f"http://127.0.0.1/a?{key}=***&channel=2"
    )


@pytest.mark.parametrize("template", AMBIGUOUS_URLS)
def test_ambiguous_urls_are_recognised_and_redacted_whole(template: str) -> None:
    """An "@" after the host: flagged, redacted down to the scheme, and without an identity."""
    url = template.format(host=HOST)
    assert ambiguous_userinfo(url)
    assert redact_url(url) in {"rtsp://***", "http://***", REDACTED}
    with pytest.raises(InvalidStreamURLError):
        stream_identity(url)
    cleaned = redact_text(f"Error opening {url}", url)
    assert url not in cleaned
    for secret in ("pa/ss", "12/34", "pa#ss", "pa?ss", "pwd=x"):
        if secret in url:
            assert secret not in cleaned


def test_short_secrets_are_replaced_only_where_they_stand_alone() -> None:
    """A two-letter password does not turn every word holding those letters into stars."""
    url = "http://127.0.0.1/cgi?user=ab&pwd=xy"
    assert redact_text("xylophone: pwd xy, user ab", url) == "xylophone: pwd ***, user ***"


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        (
            "rtsp://127.0.0.1/user_name=cam&pass_word=Pw-1&channel=1",
            "rtsp://127.0.0.1/user_name=***&pass_word=***&channel=1",
        ),
        (
            "rtsp://127.0.0.1/live;user=cam;pwd=Pw-2/main",
            "rtsp://127.0.0.1/live;user=***;pwd=***/main",
        ),
        (
            "http://127.0.0.1/cgi?pwd=pa&ss&channel=1#frag",
            "http://127.0.0.1/cgi?pwd=***&channel=1#***",
        ),
        ("http://127.0.0.1/cgi?p%77d=Pw-3", "http://127.0.0.1/cgi?p%77d=***"),
    ],
)
def test_redaction_of_unusual_spellings(url: str, redacted: str) -> None:
    """Keys of several words, ";" pairs, "&" in a password, fragments, encoded keys."""
    assert redact_url(url) == redacted
