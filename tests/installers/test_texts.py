"""The installers speak the user's language: every sentence they print is a text of
common/i18n_app.py (English and Russian), and install.sh picks its language as common/i18n.py
does. The Russian install report is checked with the real tools in test_linux.py."""

from __future__ import annotations

import ast
import json
import os
import subprocess

import pytest

from common import i18n
from common.i18n_app import APP_MESSAGES
from tests.installers.conftest import ROOT, integration

INSTALL_SH = ROOT / "installers" / "linux" / "install.sh"
LOCALE_VARS = ("TALKER_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def keys_in_source() -> set[str]:
    found = set()
    for path in (ROOT / "installers").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and node.value.startswith("install.") and " " not in node.value and node.value != "install.sh":
                found.add(node.value)
    return found


def test_every_text_the_installers_use_is_defined_and_every_defined_one_is_used():
    # A key that is only in the code fails on the one OS that reaches it; one only in
    # i18n_app.py is a translation nobody sees.
    assert keys_in_source() == {key for key in APP_MESSAGES if key.startswith("install.")}


def with_locale(**variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in LOCALE_VARS}
    env.update(variables)
    return env


def test_status_in_russian_and_its_json_untranslated(isolated_environment):
    done = integration("status", env=with_locale(TALKER_LANG="ru"))
    assert done.returncode == 0, done.stderr
    record = isolated_environment / ".local" / "share" / "talker" / "install-record.json"
    assert done.stdout == f"Не установлено (linux; записи об установке {record} нет).\n"
    english = integration("status", env=with_locale(TALKER_LANG="en"))
    assert english.stdout == f"Not installed (linux; no record at {record}).\n"
    # `status --json` is for programs: the same in every language.
    as_json = {lang: json.loads(integration("status", "--json", env=with_locale(TALKER_LANG=lang)).stdout)
               for lang in ("ru", "en")}
    assert as_json["ru"] == as_json["en"]


def test_errors_in_russian(isolated_environment, tmp_path):
    done = integration("install", "--venv", str(tmp_path / "nowhere"), env=with_locale(LANG="ru_RU.UTF-8"))
    assert done.returncode == 1
    assert done.stderr.startswith(f"talker-integration: {tmp_path / 'nowhere'} — не окружение Python с Talker")
    done = integration("autostart", "on", env=with_locale(TALKER_LANG="ru"))
    assert done.stderr == "talker-integration: Talker здесь ещё не установлен: сначала запустите установщик.\n"


@pytest.mark.parametrize("variables, lang", [
    ({"TALKER_LANG": "ru"}, "ru"),
    ({"LANG": "ru_RU.UTF-8"}, "ru"),
    ({"LANGUAGE": "ru:en", "LANG": "en_US.UTF-8"}, "ru"),
    ({"LC_ALL": "C", "LANG": "ru_RU.UTF-8"}, "ru"),
    ({"LC_MESSAGES": "en_US.UTF-8", "LANG": "ru_RU.UTF-8"}, "en"),
    ({"TALKER_LANG": "en", "LANG": "ru_RU.UTF-8"}, "en"),
    ({"TALKER_LANG": "de", "LANG": "ru_RU.UTF-8"}, "ru"),
    ({}, "en"),
])
def test_install_sh_speaks_the_language_talker_does(variables, lang, tmp_path):
    assert i18n.detect_language(variables) == lang, "install.sh and common/i18n.py must agree"
    nowhere = tmp_path / "nowhere"
    done = subprocess.run([str(INSTALL_SH), "--venv", str(nowhere)], capture_output=True, text=True, timeout=60,
                          env=with_locale(**variables), stdin=subprocess.DEVNULL)
    assert done.returncode == 1
    expected = {"ru": f"{nowhere} — не окружение Python", "en": f"{nowhere} is not a Python environment"}[lang]
    assert done.stderr == f"install.sh: {expected}\n"
    usage = subprocess.run([str(INSTALL_SH), "--help"], capture_output=True, text=True, timeout=60,
                           env=with_locale(**variables), stdin=subprocess.DEVNULL)
    assert usage.returncode == 0
    first = {"ru": "Установка Talker для этого пользователя", "en": "Install Talker for this user"}[lang]
    assert usage.stdout.startswith(first)
