"""seismo.durable: atomic writes (checked on writers killed mid-write) and quarantine."""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from seismo.durable import (
    append_durable,
    json_object,
    load_json,
    quarantine,
    read_json,
    remove_stale_tmp,
    write_atomic,
    write_json,
)
from seismo.errors import DataError, StateFileError

ROOT = Path(__file__).resolve().parent.parent

#: A writer that stops for good inside its first fsync: the new content is in the
#: temporary file, not yet renamed into place. It says so on stdout, then waits.
_STOPS_IN_FSYNC = """
import os, sys, time
from pathlib import Path
from seismo import durable

target = Path(sys.argv[1])
real = os.fsync
def fsync_then_stop(fd):
    real(fd)
    print("inside the write", flush=True)
    time.sleep(60)
durable.os.fsync = fsync_then_stop
durable.write_atomic(target, b"new" * 1_000_000)
"""

#: A writer that replaces the file with one of two payloads, over and over.
_WRITES_FOREVER = """
import sys
from pathlib import Path
from seismo.durable import write_atomic

target = Path(sys.argv[1])
payloads = [b"A" * 2_000_000, b"B" * 3_000_000]
write_atomic(target, payloads[1])
print("writing", flush=True)
i = 0
while True:
    write_atomic(target, payloads[i % 2])
    i += 1
"""


def _writer(script: str, target: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", script, str(target)], env=env,
                            stdout=subprocess.PIPE, text=True)


def _kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.stdout is not None
    proc.stdout.close()


def test_write_replaces_and_creates_only_new(tmp_path: Path) -> None:
    p = tmp_path / "state.json"
    assert write_json(p, {"a": 1})
    assert write_json(p, {"a": 2}, indent=1)
    assert json.loads(p.read_text()) == {"a": 2}
    assert write_atomic(p, b"other", new=True) is False  # exists: untouched
    assert json.loads(p.read_text()) == {"a": 2}
    assert write_atomic(tmp_path / "fresh", b"x", new=True)
    assert (tmp_path / "fresh").read_bytes() == b"x"
    assert sorted(f.name for f in tmp_path.iterdir()) == ["fresh", "state.json"]  # no temporaries


def test_a_failed_write_leaves_the_target_and_no_temporary(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        write_atomic(tmp_path / "missing-dir" / "f.json", b"{}")
    target = tmp_path / "f.json"
    target.write_bytes(b"old")
    with pytest.raises(TypeError):
        write_atomic(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old" and [f.name for f in tmp_path.iterdir()] == ["f.json"]


def test_writer_killed_inside_the_write_leaves_the_old_content(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    write_json(target, {"version": "old"})
    proc = _writer(_STOPS_IN_FSYNC, target)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "inside the write\n"
    finally:
        _kill(proc)
    leftovers = [f for f in tmp_path.iterdir() if f != target]
    assert [f.suffix for f in leftovers] == [".tmp"]  # the new content never reached the name
    assert leftovers[0].stat().st_size == 3_000_000
    assert read_json(target, json_object) == {"version": "old"}
    assert remove_stale_tmp(tmp_path, 3600.0) == []  # too young to be called stale
    assert remove_stale_tmp(tmp_path, -1.0) == leftovers
    assert [f.name for f in tmp_path.iterdir()] == ["state.json"]


def test_writer_killed_at_random_moments_never_leaves_a_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "state.bin"
    rng = random.Random(21)
    for _ in range(5):
        proc = _writer(_WRITES_FOREVER, target)
        try:
            assert proc.stdout is not None and proc.stdout.readline() == "writing\n"
            time.sleep(rng.uniform(0.05, 0.25))
        finally:
            _kill(proc)
        data = target.read_bytes()
        assert data in (b"A" * 2_000_000, b"B" * 3_000_000)
    remove_stale_tmp(tmp_path, -1.0)
    assert [f.name for f in tmp_path.iterdir()] == ["state.bin"]


def _shaped(data: Any) -> dict[str, Any]:
    """A state file that must be ``{"format": 1, "items": [...]}``."""
    if data["format"] != 1 or not isinstance(data["items"], list):
        raise ValueError("not format 1 with a list of items")
    return data


def test_valid_json_of_the_wrong_shape_is_quarantined(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    p = tmp_path / "state.json"
    for body, reason in (
        ('["format", 1]', "TypeError"),  # valid JSON, a list
        ('{"format": 1, "items": {}}', "not format 1"),  # valid JSON, wrong field type
        ('{"items": []}', "KeyError"),
    ):
        p.write_text(body)
        with caplog.at_level(logging.ERROR, logger="seismo.durable"):
            assert load_json(p, _shaped, what="test state file", advice="starting afresh") is None
        assert not p.exists() and (tmp_path / "state.json.bad").read_text() == body
        msg = caplog.records[-1].getMessage()
        assert "test state file" in msg and str(p) in msg and reason in msg
        assert "starting afresh" in msg
    p.write_text('{"format": 1, "items": [1]}')
    assert load_json(p, _shaped) == {"format": 1, "items": [1]} and p.exists()


def test_undecodable_files_are_quarantined_into_a_directory(tmp_path: Path) -> None:
    aside = tmp_path / "quarantine"
    for name, raw, reason in (("a.json", b"\xff\xfe{}", "not valid UTF-8 at byte 0"),
                              ("b.json", b'{"truncated": ', "not valid JSON")):
        p = tmp_path / name
        p.write_bytes(raw)
        with pytest.raises(StateFileError, match=reason) as err:
            read_json(p, json_object)
        assert err.value.bad_content and p.exists()  # read_json only says so
        assert load_json(p, json_object, into=aside) is None
        assert (aside / name).read_bytes() == raw and not p.exists()


def test_a_file_that_cannot_be_read_is_reported_and_left_in_place(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    p = tmp_path / "state.json"
    p.mkdir()  # exists, but reading it fails with an OSError
    with pytest.raises(DataError, match="cannot be read") as err:
        read_json(p, json_object, what="health state file")
    assert isinstance(err.value, StateFileError) and not err.value.bad_content
    with caplog.at_level(logging.ERROR, logger="seismo.durable"):
        assert load_json(p, json_object) is None
    assert p.is_dir() and "cannot be read" in caplog.text
    assert read_json(tmp_path / "missing.json", json_object) is None


def test_quarantine_of_a_vanished_file_is_quiet(tmp_path: Path) -> None:
    assert quarantine(tmp_path / "gone.json", "whatever") is None


def test_append_is_durable_and_keeps_earlier_records(tmp_path: Path) -> None:
    p = tmp_path / "rejected.log"
    append_durable(p, b"one\n")
    append_durable(p, b"two\n")
    assert p.read_bytes() == b"one\ntwo\n"
