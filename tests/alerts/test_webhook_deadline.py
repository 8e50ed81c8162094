"""A webhook attempt has a total deadline: a trickling receiver cannot hold the sender."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from seismo.alerts.channels import WebhookChannel
from seismo.alerts.outbox import DeliveryItem
from seismo.errors import AlertError

pytestmark = pytest.mark.network

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


class Trickler:
    """Loopback HTTP server answering 200 one byte every ``delay_s`` (bounded: one answer)."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
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
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length"))
                while len(body) < length:
                    body += conn.recv(65536)
                for i in range(len(ANSWER)):
                    if self.stop.wait(self.delay_s):
                        return
                    try:
                        conn.sendall(ANSWER[i:i + 1])
                    except OSError:  # the client gave up: good
                        break
                    self.sent += 1

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        self.sock.close()


@pytest.fixture
def trickler() -> Iterator[Trickler]:
    t = Trickler(delay_s=0.25)  # the whole answer would take ~16 s
    yield t
    t.close()


def _item() -> DeliveryItem:
    return DeliveryItem(
        key="k", message_key="m", channel="hook", identifier="seismo.ev.oncall.v1",
        sender="s@x", sent="2026-01-01T00:00:00+00:00", msg_type="Alert", group="oncall",
        subject="M3", text="M3", xml="<alert/>", created=0.0, attempts=0, next_attempt=0.0,
    )


def test_trickled_answer_is_cut_at_the_deadline(trickler: Trickler) -> None:
    ch = WebhookChannel("hook", f"http://127.0.0.1:{trickler.port}/cap", timeout_s=1.0)
    with pytest.raises(AlertError, match=r"no complete answer within the 1 s deadline"):
        ch.send(_item())
    assert trickler.sent < len(ANSWER)  # the sender left before the answer was complete


def test_prompt_answer_within_the_deadline_is_a_delivery(trickler: Trickler) -> None:
    trickler.delay_s = 0.0
    ch = WebhookChannel("hook", f"http://127.0.0.1:{trickler.port}/cap", timeout_s=5.0)
    ch.send(_item())
    deadline = time.monotonic() + 5
    while trickler.sent < len(ANSWER) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert trickler.sent == len(ANSWER)
