"""`talker --callto` must cost little more than starting Python: its path imports nothing heavy.
(The figure itself is bench/callto_latency.py's; this keeps a stray import from creeping in.)"""

from __future__ import annotations

import subprocess
import sys

import pytest

from common import locations
from common.i18n import tr
from tests.support.app import App

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


# `talker --callto` as the command runs it, with what it does written down as it happens: the
# interpreter's audit events (imports, connecting, opening files) and its atexit work, if any.
TRACED = """
import atexit, os, sys

def note(line):
    os.write(2, ("@ " + line + "\\n").encode())

def hook(event, args):
    if event == "import":
        note("import " + args[0])
    elif event == "socket.connect":
        note("connect")
    elif event == "open" and isinstance(args[0], str):
        note("open " + os.path.basename(args[0]))

sys.addaudithook(hook)
atexit.register(note, "teardown")
from tray.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
@pytest.mark.parametrize("transport", ["unix", "tcp"])
def test_a_dial_that_goes_through_does_only_what_it_needs(kamailio, talker_app, monkeypatch, transport):
    # tcp: the loopback-port transport of Windows, run here on Linux.
    monkeypatch.setenv(locations.CONTROL_TRANSPORT_ENV, transport)
    talker_app(kamailio)
    done = subprocess.run([sys.executable, "-c", TRACED, "--callto=102"], capture_output=True, text=True,
                          timeout=30)
    trace = [line[2:] for line in done.stderr.splitlines() if line.startswith("@ ")]
    assert done.returncode == 0 and len(trace) == len(done.stderr.splitlines()), done.stderr
    assert "connect" in trace, trace
    assert "open control.schema.json" not in trace, "the dial path parsed the whole control schema"
    # The app judges the number; only a refusal needs the sentences.
    needless = {"import common.dialstring", "import common.i18n", "import unicodedata"} & set(trace)
    assert not needless, f"a plain number that goes through loads {sorted(needless)}"
    assert "teardown" not in trace, "a dial ended through the interpreter's teardown"


@pytest.mark.slow
def test_a_refusal_is_said_in_full_though_the_dial_skips_the_teardown(tmp_path):
    app = App(tmp_path)  # no account: the app refuses with the sentence that says so
    try:
        app.client().close()
        done = subprocess.run([sys.executable, "-c", TRACED, "--callto=102"], capture_output=True, text=True,
                              timeout=30)
    finally:
        app.quit()
    said = [line for line in done.stderr.splitlines() if not line.startswith("@ ")]
    assert done.returncode == 1 and said == ["talker: " + tr("app.no_account")], done.stderr
    assert "@ teardown" not in done.stderr.splitlines()


@pytest.mark.slow
def test_a_dial_without_standard_streams_still_exits_with_its_code(tmp_path):
    # Windows' talker.exe has no console, so Python gives it no stdout or stderr (None).
    app = App(tmp_path)
    try:
        app.client().close()
        done = subprocess.run([sys.executable, "-c", "import sys; sys.stdout = sys.stderr = None\n"
                               "from tray.cli import main\nsys.exit(main(sys.argv[1:]))", "--callto=1O2"],
                              capture_output=True, text=True, timeout=30)
    finally:
        app.quit()
    assert done.returncode == 2, (done.returncode, done.stderr)
