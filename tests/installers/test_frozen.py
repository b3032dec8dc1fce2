"""The frozen build's pieces: the PyInstaller spec (run here with stand-ins for PyInstaller's
classes, which this machine does not have: `without_pyinstaller`) and the programs' entry."""

from __future__ import annotations

import glob
import sys
import types
from pathlib import Path

import pytest

from installers.frozen import APP_NAME, PROGRAMS, RUNNABLE_MODULES, run_module_if_asked, version

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "installers" / "talker.spec"


class Recorder:
    """Stands in for one of PyInstaller's spec classes: keeps what it was given."""

    made: list = []

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        self.scripts = args[0] if args and isinstance(args[0], list) else []
        self.datas = kwargs.get("datas", [])
        self.binaries, self.pure = [], []
        Recorder.made.append((type(self).__name__, self))


def run_spec(platform: str, workpath: Path, monkeypatch) -> dict[str, list]:
    kinds = {name: type(name, (Recorder,), {}) for name in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")}
    hooks = types.ModuleType("PyInstaller.utils.hooks")
    hooks.copy_metadata = lambda dist: [(f"/site/{dist}.dist-info", f"{dist}.dist-info")]
    hooks.collect_submodules = lambda package: [package, f"{package}.sub"]
    for name in ("PyInstaller", "PyInstaller.utils"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "PyInstaller.utils.hooks", hooks)
    monkeypatch.setattr(sys, "platform", platform)
    Recorder.made = []
    namespace = {"SPECPATH": str(SPEC.parent), "workpath": str(workpath), "__file__": str(SPEC), **kinds}
    exec(compile(SPEC.read_text(), str(SPEC), "exec"), namespace)
    made: dict[str, list] = {}
    for kind, obj in Recorder.made:
        made.setdefault(kind, []).append(obj)
    return made


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_pyinstaller_spec_without_pyinstaller(platform, tmp_path, monkeypatch):
    made = run_spec(platform, tmp_path, monkeypatch)
    analyses = made["Analysis"]
    assert [a.scripts for a in analyses] == [[str(p)] for p in PROGRAMS.values()]
    assert all(p.exists() for p in PROGRAMS.values())
    for a in analyses:
        for source, _dest in a.kwargs["datas"]:
            if not source.startswith("/site/"):
                assert glob.glob(source), source
        assert "pbx" in a.kwargs["excludes"] and "tkinter" not in a.kwargs["excludes"]
        backend = "pystray._win32" if platform == "win32" else "pystray._darwin"
        assert backend in a.kwargs["hiddenimports"]
        # `talker -m MODULE` runs MODULE.__main__, which nothing imports: it must be listed.
        for module in RUNNABLE_MODULES:
            assert f"{module}.__main__" in a.kwargs["hiddenimports"]
            assert (ROOT / module.replace(".", "/") / "__main__.py").exists(), module
        assert {"installers.linux", "installers.windows", "installers.macos"} <= set(a.kwargs["hiddenimports"])
        assert "pjsua2.sub" in a.kwargs["hiddenimports"], "pjsua2 loads its bindings by name"
    exes = {e.kwargs["name"]: e.kwargs for e in made["EXE"]}
    assert list(exes) == list(PROGRAMS)
    assert exes["talker"]["console"] is False, "links and autostart must not open a console window"
    assert exes["talker-native-host"]["console"] is True, "browsers talk to the host over stdio"
    assert exes["talker"]["argv_emulation"] is (platform == "darwin")
    assert not any(e["argv_emulation"] for n, e in exes.items() if n != "talker")
    [coll] = made["COLLECT"]
    assert coll.kwargs["name"] == APP_NAME, "the folder the Inno Setup script takes (dist\\Talker)"
    assert (tmp_path / "talker.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if platform == "darwin":
        from installers.macos import BUNDLE_ID, info_plist

        [bundle] = made["BUNDLE"]
        assert bundle.kwargs["name"] == f"{APP_NAME}.app"
        assert bundle.kwargs["bundle_identifier"] == BUNDLE_ID
        assert bundle.kwargs["info_plist"] == info_plist(version())
    else:
        assert "BUNDLE" not in made


def test_the_frozen_program_runs_only_the_modules_the_app_starts(capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", list(sys.argv))  # running a module rewrites it
    assert not run_module_if_asked(["talker", "-m", "http.server"])
    assert not run_module_if_asked(["talker", "--callto=102"])
    assert set(RUNNABLE_MODULES) == {"tray", "tray.windows", "native_host", "installers"}
    with pytest.raises(SystemExit) as exit_:
        run_module_if_asked(["talker", "-m", "installers", "status", "--json"])
    assert exit_.value.code == 0
    assert '"installed": false' in capsys.readouterr().out
