"""Raw HTTP clients on loopback that behave badly: they send a request and never read."""

from __future__ import annotations

import socket
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
