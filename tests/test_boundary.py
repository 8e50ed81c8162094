"""seismo.boundary: one failing unit is logged, counted and left behind; the rest goes on."""

from __future__ import annotations

import logging

import pytest

from seismo.boundary import boundary, failure_counts, where_text
from seismo.errors import FeedError

log = logging.getLogger("tests.boundary")


def _count(what: str) -> int:
    return failure_counts().get(what, 0)


def test_each_unit_fails_alone(caplog: pytest.LogCaptureFixture) -> None:
    before = _count("unit test processing")
    done, failed = [], {}
    with caplog.at_level(logging.DEBUG, logger="tests.boundary"):
        for sid in ("SZ.A", "SZ.B", "SZ.C", "SZ.D"):
            with boundary("unit test processing", logger=log, station=sid) as failure:
                if sid == "SZ.B":
                    raise FeedError("no answer within 10 s")
                if sid == "SZ.C":
                    raise ZeroDivisionError("division by zero")
                done.append(sid)
            if failure:
                failed[sid] = failure.reason
    assert done == ["SZ.A", "SZ.D"]
    assert failed == {"SZ.B": "no answer within 10 s",
                      "SZ.C": "ZeroDivisionError: division by zero"}
    assert _count("unit test processing") == before + 2
    expected, unexpected = caplog.records
    # an expected failure: a warning without traceback, naming the station
    assert (expected.levelno, expected.exc_info) == (logging.WARNING, None)
    assert expected.getMessage() == ("station SZ.B: unit test processing failed: "
                                     "no answer within 10 s")
    # anything else is a bug or a surprise: an error with its traceback
    assert unexpected.levelno == logging.ERROR and unexpected.exc_info is not None
    assert unexpected.getMessage().startswith("station SZ.C: unit test processing failed: "
                                              "ZeroDivisionError")


def test_a_unit_that_succeeds_leaves_a_falsy_failure() -> None:
    with boundary("unit test quiet") as failure:
        pass
    assert not failure and failure.reason == "" and failure.typed_reason == ""


def test_level_none_leaves_the_report_to_the_caller(caplog: pytest.LogCaptureFixture) -> None:
    before = _count("unit test delivery")
    with caplog.at_level(logging.DEBUG), boundary(
        "unit test delivery", expected=(Exception,), level=None, delivery="id-1",
        channel="webhook",
    ) as failure:
        raise ConnectionRefusedError("refused")
    assert failure.expected and failure.where == "delivery id-1, channel webhook"
    assert failure.typed_reason == "ConnectionRefusedError: refused"
    assert "Traceback" in failure.traceback and caplog.records == []
    assert _count("unit test delivery") == before + 1


def test_stopping_the_process_is_never_caught() -> None:
    with pytest.raises(KeyboardInterrupt), boundary("unit test interrupted"):
        raise KeyboardInterrupt
    assert _count("unit test interrupted") == 0


def test_where_text_leaves_out_what_is_unknown() -> None:
    assert where_text(station="SZ.A", window=None, delivery_id="x") == "station SZ.A, delivery id x"
