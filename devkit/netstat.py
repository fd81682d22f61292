"""Socket tables from /proc/net, so tests can inspect connections without opening sockets."""

from dataclasses import dataclass
import ipaddress
from pathlib import Path

# Kernel TCP state codes (include/net/tcp_states.h) for the states we look for.
ESTABLISHED = "01"
LISTEN = "0A"

_PROC_NET = Path("/proc/net")


@dataclass(frozen=True, slots=True)
class SocketEntry:
    """One row of /proc/net/{tcp,tcp6,udp,udp6}."""

    protocol: str  # "tcp" or "udp"
    local_ip: str
    local_port: int
    remote_ip: str
    remote_port: int
    state: str  # Hex state code as the kernel prints it, e.g. LISTEN.
    inode: int


def _parse_address(text: str) -> tuple[str, int]:
    """Decode a kernel hex "ADDR:PORT"; ADDR is 32-bit words in host (little-endian) order."""
    addr_hex, port_hex = text.split(":")
    raw = bytes.fromhex(addr_hex)
    packed = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    ip = ipaddress.ip_address(packed)
    # Dual-stack sockets show IPv4 peers as ::ffff:a.b.c.d; report them as plain IPv4.
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip), int(port_hex, 16)


def sockets(protocol: str = "tcp") -> list[SocketEntry]:
    """All IPv4 and IPv6 sockets of a protocol in this network namespace."""
    entries: list[SocketEntry] = []
    for table in (protocol, f"{protocol}6"):
        try:
            lines = (_PROC_NET / table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue  # No IPv6 in this kernel or namespace.
        for line in lines:
            fields = line.split()
            local_ip, local_port = _parse_address(fields[1])
            remote_ip, remote_port = _parse_address(fields[2])
            state, inode = fields[3], int(fields[9])
            entries.append(
                SocketEntry(protocol, local_ip, local_port, remote_ip, remote_port, state, inode)
            )
    return entries


def socket_inodes(pid: int) -> set[int]:
    """Inodes of the sockets a process holds open; empty if it is gone."""
    inodes: set[int] = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    try:
        links = list(fd_dir.iterdir())
    except FileNotFoundError:
        return inodes
    for link in links:
        try:
            target = str(link.readlink())
        except OSError:
            continue  # Closed while we looked.
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def process_sockets(pid: int, protocol: str = "tcp") -> list[SocketEntry]:
    """Return the sockets of a protocol that a process holds."""
    inodes = socket_inodes(pid)
    return [s for s in sockets(protocol) if s.inode in inodes]


def is_listening(pid: int, port: int) -> bool:
    """Whether the process has a TCP socket listening on port."""
    return any(s.state == LISTEN and s.local_port == port for s in process_sockets(pid))


def connections_to(port: int, pid: int | None = None) -> list[SocketEntry]:
    """Return ESTABLISHED TCP connections to remote port, optionally only those of pid."""
    candidates = sockets("tcp") if pid is None else process_sockets(pid, "tcp")
    return [s for s in candidates if s.state == ESTABLISHED and s.remote_port == port]
