"""``seismo events`` and ``seismo event``: errors and exit codes without a store (the
listing from a real InfluxDB: tests/io/store/test_store_influx.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from seismo.cli.main import main
from seismo.io.store.server import free_port


@pytest.fixture
def down_store(tmp_path: Path) -> list[str]:
    """Options that point the store at a loopback port nothing listens on."""
    ov = tmp_path / "down.toml"
    ov.write_text(f'[store]\nurl = "http://127.0.0.1:{free_port()}"\napi = "v1"\n'
                  f'timeout_s = 2.0\nspool_dir = "{tmp_path / "spool"}"\n', encoding="utf-8")
    return ["--overlay", str(ov)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday-ish"], "--since: not an ISO 8601 time: 'yesterday-ish'"),
        (["--until", "2026-02-30T00:00:00"], "--until: not an ISO 8601 time"),
        (["--region", "22,23,113"], "--region: need lat_min,lat_max,lon_min,lon_max"),
        (["--region", "23,22,113,115"], "need lat_min < lat_max"),
    ],
)
def test_bad_options_are_named_before_the_store_is_asked(
    args: list[str], message: str, down_store: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*down_store, "events", *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith("seismo events: error: ") and message in err
    assert "unreachable" not in err


def test_store_down_is_one_clear_error(
    down_store: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in (["events"], ["event", "show", "sz2026abcd"]):
        assert main([*down_store, *argv]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"seismo {argv[0]}: error: InfluxDB at http://127.0.0.1:")
        assert "unreachable" in err and err.count("\n") == 1, err


def test_event_needs_an_action_and_an_id(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["event"], ["event", "show"], ["event", "review", "sz2026abcd"]):
        with pytest.raises(SystemExit) as done:
            main(argv)
        assert done.value.code == 2, argv
    assert "--status" in capsys.readouterr().err  # review names its missing option
