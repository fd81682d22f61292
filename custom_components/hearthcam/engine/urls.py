"""Stream URL validation, identity and credential redaction."""

from typing import Final
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from .errors import InvalidStreamURLError

STREAM_SCHEMES: Final = frozenset({"rtsp", "rtsps", "http", "https"})
DEFAULT_PORTS: Final = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443}
REDACTED: Final = "***"
# Query parameters that cameras commonly use to carry credentials (Hikvision, Dahua, Reolink...).
CREDENTIAL_QUERY_KEYS: Final = frozenset(
    {
        "user",
        "username",
        "usr",
        "login",
        "pass",
        "password",
        "passwd",
        "pwd",
        "auth",
        "token",
        "access_token",
        "key",
        "apikey",
        "api_key",
    }
)


def parse_stream_url(url: str) -> str:
    """Return the URL stripped of surrounding blanks, or raise InvalidStreamURLError."""
    url = url.strip()
    if not url or any(ch.isspace() or ord(ch) < 32 for ch in url):  # C0 control characters
        msg = "the URL is empty or contains blanks or control characters"
        raise InvalidStreamURLError(msg)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:
        msg = "the URL cannot be parsed"
        raise InvalidStreamURLError(msg) from err
    if parts.scheme.lower() not in STREAM_SCHEMES:
        msg = f"the scheme must be one of {', '.join(sorted(STREAM_SCHEMES))}"
        raise InvalidStreamURLError(msg)
    if not parts.hostname:
        msg = "the URL has no host"
        raise InvalidStreamURLError(msg)
    if port == 0:
        msg = "the port must be between 1 and 65535"
        raise InvalidStreamURLError(msg)
    return url


def _is_credential_key(key: str) -> bool:
    return key.lower() in CREDENTIAL_QUERY_KEYS


def redact_url(url: str) -> str:
    """Return the URL with its user, password and credential query values replaced."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return REDACTED
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literals need their brackets back
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    if parts.username is not None or parts.password is not None:
        netloc = f"{REDACTED}:{REDACTED}@{netloc}"
    query = urlencode(
        [
            (key, REDACTED if _is_credential_key(key) else value)
            for key, value in parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe="*",
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _secrets(url: str) -> set[str]:
    """Every spelling of the credentials in a URL that could appear in a message."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return set()
    raw = [parts.username, parts.password]
    raw += [value for key, value in parse_qsl(parts.query) if _is_credential_key(key)]
    found: set[str] = set()
    for value in raw:
        if value:
            found.update({value, unquote(value), quote(unquote(value), safe="")})
    return found


def redact_text(text: str, *urls: str) -> str:
    """Return text (a log line, an FFmpeg error) with the given URLs and their secrets redacted."""
    for url in urls:
        if url:
            text = text.replace(url, redact_url(url))
    # Longest first, so a secret that contains another is replaced whole.
    for secret in sorted({s for url in urls for s in _secrets(url)}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def stream_identity(url: str) -> str:
    """Return a credential-free identity of a stream: host, port, path and non-secret query."""
    parts = urlsplit(parse_stream_url(url))
    scheme = parts.scheme.lower()
    port = parts.port or DEFAULT_PORTS[scheme]
    host = (parts.hostname or "").lower()
    query = urlencode(
        sorted(
            (key, value)
            for key, value in parse_qsl(parts.query, keep_blank_values=True)
            if not _is_credential_key(key)
        )
    )
    path = parts.path or "/"
    return f"{host}:{port}{path}" + (f"?{query}" if query else "")
