"""A loopback HTTP server that answers one byte at a time (bounded: one answer per
connection), for tests of total request deadlines: every read gets a byte in time, so
no per-read socket timeout fires."""

from __future__ import annotations

import socket
import threading


class Trickler:
    """Serves ``answer`` one byte every ``delay_s`` on 127.0.0.1 (``port``).

    ``read_request``: read the whole request (headers and a Content-Length body) before
    answering, as a webhook receiver does; else answer at once. ``sent``: bytes sent.
    """

    def __init__(self, answer: bytes, delay_s: float, *, read_request: bool = False) -> None:
        self.answer = answer
        self.delay_s = delay_s
        self.read_request = read_request
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.sent = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                if self.read_request:
                    _read_request(conn)
                for i in range(len(self.answer)):
                    if self.stop.wait(self.delay_s):
                        return
                    try:
                        conn.sendall(self.answer[i : i + 1])
                    except OSError:  # the client gave up
                        break
                    self.sent += 1

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        self.sock.close()


def _read_request(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length"))
    while len(body) < length:
        body += conn.recv(65536)
