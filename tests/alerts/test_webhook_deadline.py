"""A webhook attempt has a total deadline: a trickling receiver cannot hold the sender."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from trickler import Trickler

from seismo.alerts.channels import WebhookChannel
from seismo.alerts.outbox import DeliveryItem
from seismo.errors import AlertError

pytestmark = pytest.mark.network

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


@pytest.fixture
def trickler() -> Iterator[Trickler]:
    t = Trickler(ANSWER, delay_s=0.25, read_request=True)  # the whole answer: ~16 s
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
