"""/proc/net parsing: the socket facts the stream tests rely on."""

from devkit import netstat
from devkit.http_server import HttpStreamServer


def test_kernel_addresses_decode() -> None:
    """IPv4 and IPv6 rows are little-endian words; IPv4-mapped IPv6 reads as IPv4."""
    assert netstat._parse_address("0100007F:1F90") == ("127.0.0.1", 8080)
    assert netstat._parse_address("00000000000000000000000001000000:022A") == ("::1", 554)
    assert netstat._parse_address("0000000000000000FFFF00000100007F:0050") == ("127.0.0.1", 80)


def test_listening_socket_is_attributed_to_its_process(
    http_stream_server: HttpStreamServer,
) -> None:
    """The server's listener shows up under its pid, bound to loopback, and not under others."""
    pid = http_stream_server.pid
    assert pid is not None
    mine = netstat.process_sockets(pid)
    assert any(
        s.state == netstat.LISTEN
        and s.local_port == http_stream_server.port
        and s.local_ip == "127.0.0.1"
        for s in mine
    )
    assert netstat.is_listening(pid, http_stream_server.port)
    assert not netstat.is_listening(pid, http_stream_server.port + 1)
    assert not netstat.is_listening(1, http_stream_server.port)
