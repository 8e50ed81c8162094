"""``seismo evaluate``: usage errors (the scoring and the end-to-end run:
tests/shells/test_evaluate.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from seismo.cli.main import main


def test_evaluate_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cat = tmp_path / "c.json"
    cat.write_text('{"events": []}', encoding="utf-8")
    assert main(["evaluate", "--catalog", str(cat)]) != 0
    assert "--start and --end are needed" in capsys.readouterr().err
    assert main(["evaluate", "--catalog", str(tmp_path / "none.csv"), "--start", "2026-01-01",
                 "--end", "2026-01-02"]) != 0
    assert "catalogue not found" in capsys.readouterr().err
