"""`talker-pbx settings`: what an operator sets they can read back, in the very form `set` takes."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.processes import VENV_BIN

TALKER_PBX = str(VENV_BIN / "talker-pbx")


def _cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([TALKER_PBX, "--data-dir", str(data_dir), *args], capture_output=True, text=True,
                          timeout=120)


def test_settings_show_prints_what_set_wrote_in_the_form_set_takes(tmp_path: Path):
    data = tmp_path / "pbx"
    assert _cli(data, "init").returncode == 0
    done = _cli(data, "settings", "set", "trunk=127.0.0.1:5080", "buy_numbers_url=https://shop.example.com/numbers")
    assert done.returncode == 0, done.stderr

    shown = _cli(data, "settings", "show")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert "trunk=127.0.0.1:5080" in lines and "buy_numbers_url=https://shop.example.com/numbers" in lines
    assert "region=RU" in lines and "timezone=Europe/Moscow" in lines and "shortened_days_end_earlier=0" in lines
    assert "sip_proxy=  (set by talker-pbx run)" in lines
    assert not any(line.startswith(("version=", "calendar_version=")) for line in lines)
    # Every line an operator may change goes back through `set` unchanged.
    editable = [line for line in lines if "(set by" not in line]
    assert _cli(data, "settings", "set", *editable).returncode == 0
    assert _cli(data, "settings", "show").stdout == shown.stdout
