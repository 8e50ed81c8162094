"""The ``seismo`` command itself: every subcommand registers, help and exit codes."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import seismo.cli
from seismo.cli.main import build_parser, main

#: Every subcommand module (``seismo/cli/cmd_<name>.py``), found as the command finds them.
COMMANDS = sorted(m.name[4:] for m in pkgutil.iter_modules(seismo.cli.__path__)
                  if m.name.startswith("cmd_"))


def test_every_subcommand_module_is_a_command() -> None:
    helptext = build_parser().format_help()
    assert COMMANDS and all(name in helptext for name in COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_subcommand_has_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main([name, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: seismo {name}")


def test_no_subcommand_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: seismo" in capsys.readouterr().out


def test_unknown_subcommand_and_option_are_usage_errors(
    capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in (["nosuchcommand"], ["stations", "--nosuchoption"], ["config"],
                 ["events", "--status", "maybe"]):
        with pytest.raises(SystemExit) as done:
            main(argv)
        assert done.value.code == 2, argv
        assert "usage: seismo" in capsys.readouterr().err


def test_an_error_is_one_line_naming_the_command_and_exit_1(
    capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", "/nonexistent/seismo.toml", "stations"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("seismo stations: error: ") and "/nonexistent/seismo.toml" in err
    assert err.count("\n") == 1


def test_the_installed_command_runs() -> None:
    """The ``seismo`` entry point and ``python -m seismo.cli.main`` are the same command."""
    for argv in (["seismo", "stations"], [sys.executable, "-m", "seismo.cli.main", "stations"]):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert " stations, " in done.stdout.splitlines()[-1]
