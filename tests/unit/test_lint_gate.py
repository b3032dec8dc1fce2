"""The fast lane (scripts/lint) refuses the mistakes it is there for, with the project's own
configuration: each check is fed a small piece of code with one deliberate error, from stdin, so
nothing in the tree changes. The tree itself passing is scripts/lint's job, not this file's."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ESLINT = ROOT / "extension" / "node_modules" / ".bin" / "eslint"


def _run(args: list[str], source: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, input=source, capture_output=True, text=True, cwd=ROOT, timeout=120)


def _ruff(source: str, as_file: str = "common/example.py") -> subprocess.CompletedProcess[str]:
    return _run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise",
                 "--stdin-filename", as_file, "-"], source)


def test_ruff_reports_an_unused_import_with_its_line():
    found = _ruff("import os\n\n\ndef f() -> int:\n    return 1\n")
    assert found.returncode == 1
    assert "common/example.py:1:8: F401" in found.stdout


def test_ruff_reports_a_mutable_default_argument():
    # bugbear is one of the project's chosen rule sets, not one of ruff's defaults
    found = _ruff("def f(seen: list[int] = []) -> list[int]:\n    return seen\n")
    assert found.returncode == 1
    assert "B006" in found.stdout


def test_ruff_passes_what_the_project_writes_on_purpose():
    # %-formatting of SIP lines, and subprocess.run checked by hand: ruff's own defaults refuse both
    source = ('import subprocess\n\n\ndef via(host: str, port: int) -> str:\n'
              '    return "Via: SIP/2.0/UDP %s:%d" % (host, port)\n\n\n'
              'def ok() -> bool:\n    return subprocess.run(["true"]).returncode == 0\n')
    found = _ruff(source)
    assert found.returncode == 0, found.stdout


def test_mypy_strict_reports_a_type_error_and_a_missing_annotation(tmp_path: Path):
    example = tmp_path / "example.py"
    example.write_text("def count(words):\n    return len(words)\n\n\ndef total() -> int:\n    return 'many'\n")
    found = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
         "--cache-dir", str(tmp_path / "cache"), str(example)],
        capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert found.returncode == 1, found.stdout
    assert "Function is missing a type annotation" in found.stdout  # strict, as configured
    assert 'Incompatible return value type (got "str", expected "int")' in found.stdout


@pytest.mark.skipif(not ESLINT.exists() or not shutil.which("node"),
                    reason="ESLint is installed by scripts/setup test (extension/node_modules)")
@pytest.mark.parametrize("as_file", ["extension/src/example.js", "pbx/cabinet/static/example.js"])
def test_eslint_reports_an_unused_variable_in_the_extension_and_the_cabinet(as_file: str):
    found = _run([str(ESLINT), "--config", "extension/eslint.config.js", "--stdin", "--stdin-filename", as_file],
                 "const unused = document.title\n")
    assert found.returncode == 1, found.stdout + found.stderr
    assert "'unused' is assigned a value but never used" in found.stdout
    assert "'document' is not defined" not in found.stdout  # the browser's globals are known there

