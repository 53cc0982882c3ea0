"""A tiny reverse proxy for the end-to-end tests: what a tunnel or a proxy in front of a studio does.

    with forwarding_proxy(studio_port, "203.0.113.9") as url:
        page.goto(url)   # the studio, with X-Forwarded-For: 203.0.113.9 on each connection's request

It listens on a free loopback port and relays each connection to `target_port` on 127.0.0.1, adding
`X-Forwarded-For` to the first request the connection carries, then passes the bytes through both
ways untouched (so a WebSocket upgrade works, and its handshake, the request Streamlit reads
`st.context.headers` from, carries the header). Later requests on a kept-alive connection pass
unchanged. A browser's own extra headers are no substitute: Chromium 150 with Playwright 1.65 sends
`page.set_extra_http_headers` on page loads but not on the WebSocket handshake.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

HEAD_LIMIT = 64 * 1024  # a request head longer than this is refused (the connection is closed)


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    """Copy bytes from src to dst until either side closes; then close both."""
    try:
        while chunk := src.recv(65536):
            dst.sendall(chunk)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


def _read_head(conn: socket.socket) -> bytes | None:
    """The bytes up to and including the first request's blank line (and whatever came with them)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk or len(data) > HEAD_LIMIT:
            return None
        data += chunk
    return data


def with_header(data: bytes, name: str, value: str) -> bytes:
    """`data` (a request head, perhaps followed by a body) with `name: value` after its request line."""
    line_end = data.index(b"\r\n")
    return data[:line_end + 2] + f"{name}: {value}\r\n".encode("latin-1") + data[line_end + 2:]


def _relay(conn: socket.socket, target_port: int, client_ip: str) -> None:
    try:
        data = _read_head(conn)
        if data is None:
            conn.close()
            return
        upstream = socket.create_connection(("127.0.0.1", target_port))
        upstream.sendall(with_header(data, "X-Forwarded-For", client_ip))
    except OSError:
        conn.close()
        return
    threading.Thread(target=_pipe, args=(upstream, conn), daemon=True).start()
    _pipe(conn, upstream)


@contextlib.contextmanager
def forwarding_proxy(target_port: int, client_ip: str) -> Iterator[str]:
    """A proxy to 127.0.0.1:`target_port` that says each connection came from `client_ip`; its URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:  # the listener was closed: the proxy is done
                return
            threading.Thread(target=_relay, args=(conn, target_port, client_ip), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        listener.close()
