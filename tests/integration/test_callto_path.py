"""`talker --callto` must cost little more than starting Python: its path imports nothing heavy.
(The figure itself is bench/callto_latency.py's; this keeps a stray import from creeping in.)"""

from __future__ import annotations

import subprocess
import sys

HEAVY = {"re", "enum", "json", "socket", "selectors", "pathlib", "dataclasses", "typing", "functools",
         "collections", "subprocess", "asyncio", "argparse", "pjsua2", "pystray", "PIL", "phonenumbers",
         "jsonschema", "httpx", "sqlalchemy"}

PROBE = """
import sys
from tray import cli
from common import control_client, dialstring
dialstring.parse("tel:+7-495-123-45-67;ext=12")
try:
    control_client.ControlClient.connect(client="cli")
except control_client.AppNotRunning:
    pass
print(" ".join(sorted(sys.modules)))
"""


def modules(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_the_dial_path_imports_nothing_heavy():
    loaded = modules(PROBE) - modules("import sys; print(' '.join(sorted(sys.modules)))")
    assert not loaded & HEAVY, f"the --callto path imports {sorted(loaded & HEAVY)}"


def test_the_talker_command_is_not_a_wrapper_that_imports_re():
    from pathlib import Path

    script = Path(sys.executable).parent / "talker"
    text = script.read_text()
    assert "import re" not in text and "from tray.cli import main" in text
