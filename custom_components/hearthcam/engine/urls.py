"""Stream URL validation, identity and credential redaction by the URL's structure.

Cameras carry secrets in many places of a URL: the user info (`rtsp://user:pass@host/`), query
values (`?usr=admin&pwd=...`, `?loginuse=...&loginpas=...`, `?authbasic=...`), key=value pairs
inside path segments (`/user=admin&password=...&channel=1&stream=0.sdp`,
`/user=admin_password=..._channel=1_stream=0.sdp`) and opaque tokens as path segments
(`rtsps://host:7441/<token>`). Redaction follows that structure rather than a list of known
URLs, so it holds for cameras nobody listed.
"""

from dataclasses import dataclass
import hashlib
import re
from typing import Final
from urllib.parse import parse_qsl, quote, unquote, unquote_plus, urlencode, urlsplit

from .errors import InvalidStreamURLError

STREAM_SCHEMES: Final = frozenset({"rtsp", "rtsps", "http", "https"})
DEFAULT_PORTS: Final = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443}
REDACTED: Final = "***"
# Keys whose value is a credential, compared in lower case without "-", "_" and ".".
CREDENTIAL_KEYS: Final = frozenset(
    {
        "u",
        "p",
        "pw",
        "pas",
        "usr",
        "sid",
        "sig",
        "sign",
        "key",
        "pin",
        "jwt",
        "hash",
        "hmac",
        "account",
        "passwort",
        "kennwort",
        "loginuse",
        "loginpas",
    }
)
# Parts of key names that mark a credential wherever they appear (user_name, x-auth-token...).
CREDENTIAL_KEY_PARTS: Final = (
    "user",
    "pass",
    "pwd",
    "psw",
    "login",
    "token",
    "secret",
    "auth",
    "credential",
    "signature",
    "session",
    "bearer",
)
# An opaque token: this long without separators and not made of words (camelCase, digits last).
_TOKEN_MIN_LENGTH: Final = 16
_WORDLIKE: Final = re.compile(r"[A-Za-z]?[a-z]*(?:[A-Z][a-z]+)*[0-9]*")
_HEX_TOKEN: Final = re.compile(r"[0-9A-Fa-f]{32,}")  # UUIDs and digests, once "-" are gone
_BASE64URL_TOKEN: Final = re.compile(r"[A-Za-z0-9_-]{24,}")  # with digits and both cases
_TOKEN_PARTS: Final = re.compile(r"[^A-Za-z0-9]+")
# Where a key=value pair may start: query pairs are joined by & or ;, pairs inside a path
# segment also by _ or , (Xiongmai: user=admin_password=..._channel=1).
_QUERY_SEPARATORS: Final = "&;"
_PATH_SEPARATORS: Final = "&;_,"
# Secrets shorter than this are replaced in free text only where they stand alone: a two
# letter password must not turn every word holding those letters into stars.
_WHOLE_WORD_BELOW: Final = 4
_IDENTITY_HASH_CHARS: Final = 16


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


@dataclass(frozen=True, slots=True)
class _Split:
    """A URL cut into its parts as written (nothing decoded); None where a part is absent."""

    scheme: str
    userinfo: str | None
    hostport: str
    path: str
    query: str | None
    fragment: str | None

    @property
    def ambiguous(self) -> bool:
        """An "@" after the host: the user info might end there instead (a "/" in a password)."""
        return "@" in self.path + (self.query or "") + (self.fragment or "")


def _split(url: str) -> _Split | None:
    """Cut url the way FFmpeg and urllib both do: the authority ends at the first / ? or #."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep or not scheme:
        return None
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, rest = rest[:end], rest[end:]
    rest, hash_, fragment = rest.partition("#")
    path, question, query = rest.partition("?")
    userinfo, at, hostport = authority.rpartition("@")  # the last "@", as both parsers take
    return _Split(
        scheme=scheme,
        userinfo=userinfo if at else None,
        hostport=hostport,
        path=path,
        query=query if question else None,
        fragment=fragment if hash_ else None,
    )


def ambiguous_userinfo(url: str) -> bool:
    """Whether an "@" after the host leaves it unclear where the user name and password end."""
    split = _split(url)
    return split is not None and split.ambiguous


def is_credential_key(key: str) -> bool:
    """Whether a query or path key names a credential (user, pwd, loginpas, x-auth-token...)."""
    name = re.sub(r"[-_.\s]", "", unquote_plus(key)).lower()
    return (
        name in CREDENTIAL_KEYS
        or name.endswith("key")  # apikey, streamkey, privatekey...
        or any(part in name for part in CREDENTIAL_KEY_PARTS)
    )


def is_opaque_token(text: str) -> bool:
    """Whether text looks like a random token: long, without words (UniFi Protect, JWT, UUID)."""
    value = unquote(text)
    if _HEX_TOKEN.fullmatch(value.replace("-", "")):
        return True
    if _BASE64URL_TOKEN.fullmatch(value) and all(
        any(test(c) for c in value) for test in (str.isdigit, str.islower, str.isupper)
    ):
        return True
    return any(
        len(part) >= _TOKEN_MIN_LENGTH and not _WORDLIKE.fullmatch(part)
        for part in _TOKEN_PARTS.split(value)
    )


@dataclass(frozen=True, slots=True)
class _Pair:
    """One key=value (or bare item) of a query or path segment, as offsets into the text."""

    key_start: int
    value_start: int  # for a bare item: where the item begins (it has no key)
    value_end: int
    credential: bool = False  # the key names a credential

    def secret(self, text: str) -> tuple[int, int, bool] | None:
        """Return the span to hide and whether it is a credential (else a token), or None.

        Hidden are the value of a credential key, a token value, or a token key with its value.
        """
        key = text[self.key_start : max(self.key_start, self.value_start - 1)]
        value = text[self.value_start : self.value_end]
        if key and is_opaque_token(key):
            return self.key_start, self.value_end, False
        if value and self.credential:
            return self.value_start, self.value_end, True
        if value and is_opaque_token(value):
            return self.value_start, self.value_end, False
        return None


def _pairs(text: str, separators: str) -> list[_Pair]:
    """Return the pairs and bare items of text.

    A credential's value runs on to the next separator that starts a new key=, so a password
    holding the separator (`pwd=pa&ss&channel=1`, `password=a_b_channel=1`) stays whole; any
    other value ends at the first separator, as a camera reads it.
    """
    seps = re.escape(separators)
    keys = list(re.finditer(rf"(?:^|(?<=[{seps}]))([^{seps}=]+)=", text))
    # In a path segment "_" joins pairs but also the words of a key (user_name=): a key
    # begins after the last other separator, unless a value stands between (a=b_key=).
    starts = []
    for match in keys:
        before = re.split(r"([&;,=])", text[: match.start()])
        starts.append(
            match.start()
            if len(before) > 1 and before[-2] == "="
            else match.start() - len(before[-1])
        )
    pairs: list[_Pair] = []

    def bare(start: int, end: int) -> None:
        position = start
        for item in re.split(rf"[{seps}]", text[start:end]):
            if item:
                pairs.append(_Pair(position, position, position + len(item)))
            position += len(item) + 1

    bare(0, starts[0] if keys else len(text))
    for index, match in enumerate(keys):
        end = starts[index + 1] - 1 if index + 1 < len(keys) else len(text)
        key = text[starts[index] : match.end() - 1]
        if is_credential_key(match.group(1)) or is_credential_key(key):
            pairs.append(_Pair(starts[index], match.end(), end, credential=True))
            continue
        found = re.search(rf"[{seps}]", text[match.end() : end])
        value_end = end if found is None else match.end() + found.start()
        pairs.append(_Pair(starts[index], match.end(), value_end))
        bare(value_end + 1, end)
    return pairs


def _secret_spans(text: str, separators: str) -> list[tuple[int, int]]:
    """Spans of text (a query or one path segment) that hold a secret."""
    return [(start, end) for start, end, _ in _secrets_of(text, separators)]


def _secrets_of(text: str, separators: str) -> list[tuple[int, int, bool]]:
    """Spans of secrets in text, each with whether it is a credential (else a token)."""
    bare = text.rstrip("=")
    if bare and "=" not in bare and is_opaque_token(bare):
        return [(0, len(text), False)]  # a token, perhaps with base64 padding
    return [found for pair in _pairs(text, separators) if (found := pair.secret(text))]


def _replace_spans(text: str, spans: list[tuple[int, int]], by: str) -> str:
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + by + text[end:]
    return text


def _redact_path(path: str) -> str:
    return "/".join(
        _replace_spans(segment, _secret_spans(segment, _PATH_SEPARATORS), REDACTED)
        for segment in path.split("/")
    )


def redact_url(url: str) -> str:
    """Return the URL with every credential and token in it replaced by ***.

    The user info, credential values of the query and of key=value path segments, opaque
    token segments and the fragment go; scheme, host, port and the rest stay readable. A URL
    that cannot be taken apart unambiguously keeps only its scheme.
    """
    split = _split(url)
    if split is None:
        return REDACTED
    try:
        urlsplit(url.strip()).port  # noqa: B018 - raises for a malformed host or port
    except ValueError:
        return REDACTED
    if split.ambiguous:
        return f"{split.scheme}://{REDACTED}"
    text = f"{split.scheme}://"
    if split.userinfo is not None:
        text += f"{REDACTED}:{REDACTED}@"
    text += split.hostport + _redact_path(split.path)
    if split.query is not None:
        spans = _secret_spans(split.query, _QUERY_SEPARATORS)
        text += "?" + _replace_spans(split.query, spans, REDACTED)
    if split.fragment is not None:
        text += f"#{REDACTED}" if split.fragment else "#"
    return text


def _raw_secrets(url: str) -> list[str]:
    """Return the secrets of url as written: user info and its halves, values, tokens."""
    split = _split(url)
    if split is None:
        return [url.strip()]
    found: list[str] = []
    userinfos = [split.userinfo] if split.userinfo is not None else []
    if split.ambiguous:
        # Either "@" may end the user info: take the longest reading too.
        after_scheme = url.strip().partition("://")[2]
        userinfos.append(after_scheme.rpartition("@")[0])
    for userinfo in userinfos:
        user, _, password = userinfo.partition(":")
        found += [userinfo, user, password]
    for segment in split.path.split("/"):
        found += [segment[a:b] for a, b in _secret_spans(segment, _PATH_SEPARATORS)]
    if split.query:
        found += [split.query[a:b] for a, b in _secret_spans(split.query, _QUERY_SEPARATORS)]
    if split.fragment:
        found.append(split.fragment)
    return [secret for secret in found if secret]


def _secrets(url: str) -> set[str]:
    """Every spelling of the secrets in a URL that could appear in a message."""
    found: set[str] = set()
    for value in _raw_secrets(url):
        found.update({value, unquote(value), unquote_plus(value), quote(unquote(value), safe="")})
    found.discard("")
    return found


def redact_text(text: str, *urls: str) -> str:
    """Return text (a log line, an FFmpeg error) with the given URLs and their secrets redacted."""
    for url in urls:
        if url:
            text = text.replace(url.strip(), redact_url(url))
    # Longest first, so a secret that contains another is replaced whole.
    for secret in sorted({s for url in urls if url for s in _secrets(url)}, key=len, reverse=True):
        if len(secret) >= _WHOLE_WORD_BELOW:
            text = text.replace(secret, REDACTED)
        else:
            text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])", REDACTED, text)
    return text


def _token_digest(token: str) -> str:
    """Return a stand-in for a token in an identity: one digest per token, not reversible."""
    digest = hashlib.sha256(b"hearthcam stream token\0" + unquote(token).encode())
    return "~" + digest.hexdigest()[:_IDENTITY_HASH_CHARS]


def _identity_part(text: str, separators: str) -> str:
    """Text with credential values left out and tokens replaced by their digest."""
    for start, end, credential in sorted(_secrets_of(text, separators), reverse=True):
        stand_in = "" if credential else _token_digest(text[start:end])
        text = text[:start] + stand_in + text[end:]  # from the end: earlier offsets hold
    return text


def stream_identity(url: str) -> str:
    """Return a secret-free identity of a stream: host, port, path and non-secret query.

    Credentials are left out, so the same camera with another password has the same
    identity; opaque tokens, which select the stream (UniFi Protect), are replaced by a digest.
    """
    url = parse_stream_url(url)
    parts = urlsplit(url)
    split = _split(url)
    if split is None or split.ambiguous:
        msg = "the URL has an @ after the host"
        raise InvalidStreamURLError(msg)
    scheme = parts.scheme.lower()
    port = parts.port or DEFAULT_PORTS[scheme]
    host = (parts.hostname or "").lower()
    path = "/".join(_identity_part(part, _PATH_SEPARATORS) for part in split.path.split("/"))
    # The query's pairs in a fixed order; a left-out credential leaves no trace at all.
    pairs = parse_qsl(_identity_part(split.query or "", _QUERY_SEPARATORS), keep_blank_values=True)
    query = urlencode(sorted(pair for pair in pairs if not is_credential_key(pair[0])))
    return f"{host}:{port}{path or '/'}" + (f"?{query}" if query else "")
