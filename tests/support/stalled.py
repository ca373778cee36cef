"""Raw HTTP clients on loopback that behave badly: they send a request and never read."""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager


def request_head(
    path: str = "/metrics", headers: Sequence[tuple[str, str]] = (), *, method: str = "GET"
) -> bytes:
    """Return an HTTP/1.1 request head (``headers`` in order, repeats kept as they are)."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


@contextmanager
def stalled(
    port: int, heads: Sequence[bytes], *, rcvbuf: int = 4096
) -> Iterator[list[socket.socket]]:
    """Open one connection per request head, send it, and never read; close them all after."""
    socks: list[socket.socket] = []
    try:
        for head in heads:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            sock.connect(("127.0.0.1", port))
            sock.sendall(head)
            socks.append(sock)
        yield socks
    finally:
        for sock in socks:
            sock.close()


def read_all(sock: socket.socket, *, timeout: float) -> tuple[bytes, bool]:
    """Read until the server closes; return what came and whether it closed within ``timeout``."""
    sock.settimeout(timeout)
    data = bytearray()
    try:
        while chunk := sock.recv(1 << 20):
            data += chunk
    except TimeoutError:
        return bytes(data), False
    except ConnectionResetError:
        pass
    return bytes(data), True


def send_raw(port: int, head: bytes, *, timeout: float = 30.0) -> bytes:
    """Send one request (its head should say ``Connection: close``); return the raw answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        data, _ = read_all(sock, timeout=timeout)
    return data


# The states of /proc/net/tcp's "st" column (include/net/tcp_states.h).
TCP_STATES = {
    "01": "ESTABLISHED",
    "02": "SYN_SENT",
    "03": "SYN_RECV",
    "04": "FIN_WAIT1",
    "05": "FIN_WAIT2",
    "06": "TIME_WAIT",
    "07": "CLOSE",
    "08": "CLOSE_WAIT",
    "09": "LAST_ACK",
    "0A": "LISTEN",
    "0B": "CLOSING",
}


def server_sockets(port: int) -> Counter[str]:
    """Count this machine's TCP sockets on local port ``port`` by state (the kernel's view,
    orphans included), from /proc/net/tcp and tcp6."""
    states: Counter[str] = Counter()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port:
                    states[TCP_STATES.get(fields[3], fields[3])] += 1
    return states
