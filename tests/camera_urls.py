"""Stream URLs as real cameras and NVRs spell them, each with the secrets it carries.

Shared by the engine's redaction tests and the Home Assistant tests that look for the secrets
in everything HearthCam writes. `{host}` is an address (127.0.0.1 with a port); `{stream}` is
a path the devkit's HTTP camera streams, for the forms a test watches.
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CameraURL:
    """One camera's URL form."""

    form: str
    template: str
    secrets: tuple[str, ...]  # every one must vanish from whatever leaves HearthCam
    readable: tuple[str, ...] = ()  # what must stay in a redacted URL, to debug with
    served: bool = False  # the devkit's HTTP camera answers at {host} (404 unless at {stream})

    @property
    def streams(self) -> bool:
        """Whether the URL leads to a working stream of the devkit's HTTP camera."""
        return self.served and "{stream}" in self.template

    def url(self, host: str, stream: str = "mjpeg/none.mkv") -> str:
        """The URL for a camera at host."""
        return self.template.format(host=host, stream=stream)


CAMERA_URLS: tuple[CameraURL, ...] = (
    CameraURL(
        "hikvision-rtsp",
        "rtsp://admin:Hik-Pa55word@{host}/Streaming/Channels/101",
        ("Hik-Pa55word",),
        ("/Streaming/Channels/101",),
    ),
    CameraURL(
        "hikvision-isapi-auth-query",
        "http://{host}/ISAPI/Streaming/channels/102/httpPreview?auth=YWRtaW46SGlrLVNlY3JldDc=",
        ("YWRtaW46SGlrLVNlY3JldDc=", "YWRtaW46SGlrLVNlY3JldDc"),
        ("/ISAPI/Streaming/channels/102/httpPreview",),
    ),
    CameraURL(
        "dahua-rtsp-encoded-hash",
        "rtsp://admin:Dahua%23Pass1@{host}/cam/realmonitor?channel=1&subtype=0",
        ("Dahua%23Pass1", "Dahua#Pass1"),
        ("/cam/realmonitor", "channel=1", "subtype=0"),
    ),
    CameraURL(
        "dahua-credentials-in-path",
        "rtsp://{host}/user=dhviewer&password=DhPath99x&channel=1&stream=0.sdp?",
        ("DhPath99x", "dhviewer"),
        ("channel=1", "stream=0.sdp"),
    ),
    CameraURL(
        "amcrest-mjpeg-encoded-slash",
        "http://amcview:Amc%2Fr3st-Q@{host}/cgi-bin/mjpg/video.cgi?channel=1&subtype=1",
        ("Amc%2Fr3st-Q", "Amc/r3st-Q", "amcview"),
        ("/cgi-bin/mjpg/video.cgi", "channel=1"),
    ),
    CameraURL(
        "reolink-rtsp-colon",
        "rtsp://admin:Reo:link42Z@{host}/h264Preview_01_main",
        ("Reo:link42Z", "link42Z"),
        ("/h264Preview_01_main",),
    ),
    CameraURL(
        "reolink-flv-encoded-at",
        "http://{host}/flv?port=1935&app=bcs&stream=channel0_main.bcs&user=admin"
        "&password=ReoFlv%4077",
        ("ReoFlv%4077", "ReoFlv@77"),
        ("/flv", "app=bcs", "stream=channel0_main.bcs"),
    ),
    CameraURL(
        "reolink-api-token",
        "http://{host}/cgi-bin/api.cgi?cmd=Snap&channel=0&token=RlnkT0kenAbc9",
        ("RlnkT0kenAbc9",),
        ("cmd=Snap", "channel=0"),
    ),
    CameraURL(
        "xiongmai-underscore-path",
        "rtsp://{host}/user=xmuser_password=XmTl8Jw_pbo6_channel=1_stream=0.sdp?real_stream",
        ("XmTl8Jw_pbo6", "XmTl8Jw", "xmuser"),
        ("channel=1", "stream=0.sdp", "real_stream"),
    ),
    CameraURL(
        "foscam-rtsp-encoded-percent",
        "rtsp://foscam:Fos%25cam77@{host}/videoMain",
        ("Fos%25cam77", "Fos%cam77"),
        ("/videoMain",),
    ),
    CameraURL(
        "foscam-cgi-usr-pwd",
        "http://{host}/cgi-bin/CGIStream.cgi?cmd=GetMJStream&usr=fosuser&pwd=FosCgi-321",
        ("FosCgi-321", "fosuser"),
        ("cmd=GetMJStream",),
    ),
    CameraURL(
        "generic-loginuse-loginpas",
        "http://{host}/videostream.cgi?loginuse=lguser&loginpas=LoginPas777&resolution=32",
        ("LoginPas777", "lguser"),
        ("resolution=32",),
    ),
    CameraURL(
        "generic-authbasic",
        "http://{host}/snapshot.cgi?authbasic=YWRtaW46QXV0aEJhc2ljOQ%3D%3D&chn=0",
        ("YWRtaW46QXV0aEJhc2ljOQ", "YWRtaW46QXV0aEJhc2ljOQ%3D%3D"),
        ("chn=0",),
    ),
    CameraURL(
        "unifi-protect-token",
        "rtsps://{host}/Xq7pR2mZ9vK4tW8s?enableSrtp",
        ("Xq7pR2mZ9vK4tW8s",),
        ("enableSrtp",),
    ),
    CameraURL(
        "blue-iris-user-pw",
        "http://{host}/mjpg/cam1/video.mjpg?user=bluecam&pw=IrisPw-55",
        ("IrisPw-55", "bluecam"),
        ("/mjpg/cam1/video.mjpg",),
    ),
    CameraURL(
        "tapo-unencoded-at",
        "rtsp://tapoadmin:T@po!Pass8@{host}/stream1",
        ("T@po!Pass8", "tapoadmin"),
        ("/stream1",),
    ),
    CameraURL(
        "axis-encoded-colon",
        "rtsp://root:Axis%3APass9@{host}/axis-media/media.amp?videocodec=h264",
        ("Axis%3APass9", "Axis:Pass9"),
        ("/axis-media/media.amp", "videocodec=h264"),
    ),
    CameraURL(
        "unencoded-percent",
        "rtsp://admin:100%pureQ@{host}/live",
        ("100%pureQ",),
        ("/live",),
    ),
    CameraURL(
        "mjpeg-query-credentials",
        "http://{host}/{stream}?user=mjviewer&pwd=Mjpeg%25Q1&fps=15",
        ("Mjpeg%25Q1", "Mjpeg%Q1", "mjviewer"),
        ("fps=15",),
        served=True,
    ),
    CameraURL(
        "http-userinfo-encoded-at-and-hash",
        "http://viewer:Basic%40Au%23th5@{host}/{stream}",
        ("Basic%40Au%23th5", "Basic@Au#th5"),
        served=True,
    ),
    CameraURL(
        "http-credentials-in-path-and-query-404",
        "http://{host}/user=httpcam&password=HttpPath-77&channel=1&stream=0.mjpg"
        "?loginuse=httpcam&loginpas=HttpQuery-88",
        ("HttpPath-77", "HttpQuery-88", "httpcam"),
        ("channel=1", "stream=0.mjpg"),
        served=True,
    ),
)

# Written as users paste them: an "@" after the host, so the user info could end at either.
AMBIGUOUS_URLS: tuple[str, ...] = (
    "rtsp://admin:pa/ss@{host}/stream1",
    "rtsp://admin:12/34@{host}/stream1",
    "rtsp://admin:pa#ss@{host}/stream1",
    "rtsp://admin:pa?ss@{host}/stream1",
    "http://{host}/snapshot.cgi?user=me@example.org&pwd=x",
)
