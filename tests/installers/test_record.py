"""The install record on its own: what a change keeps so that undo removes exactly it."""

from __future__ import annotations

from pathlib import Path

from installers.base import Options, Report, Target
from installers.record import Changes, Record, undo_file_item


class FilesOnly(Target):
    """A backend that only writes what it is told to, into a temporary home."""

    name = title = "files"

    def __init__(self, home: Path, files: dict[str, bytes]):
        home.mkdir(parents=True, exist_ok=True)
        super().__init__({"HOME": str(home)})
        self.files = files

    def record_path(self) -> Path:
        return self.home / "app" / "record.json"

    def apply(self, changes: Changes, options: Options, ask, report: Report) -> None:
        changes.ensure_dir(self.home / "app")
        for rel, data in self.files.items():
            changes.write_file(self.home / rel, data)


def test_new_folders_and_files_are_removed_and_only_they(tmp_path):
    home = tmp_path / "h"
    (home / "a").mkdir(parents=True)
    (home / "a" / "theirs.txt").write_text("x")
    target = FilesOnly(home, {"a/b/c/ours.txt": b"1", "a/ours.txt": b"2"})
    target.install(Options())
    assert (home / "a" / "b" / "c" / "ours.txt").read_bytes() == b"1"
    record = Record.load(target.record_path())
    assert {Path(i["path"]).relative_to(home).as_posix() for i in record.of_kind("dir")} == {"app", "a/b", "a/b/c"}
    target.uninstall()
    assert sorted(p.relative_to(home).as_posix() for p in home.rglob("*")) == ["a", "a/theirs.txt"]


def test_a_file_of_someone_elses_is_put_back_with_its_mode(tmp_path):
    home = tmp_path / "h"
    (home / "bin").mkdir(parents=True)
    theirs = home / "bin" / "tool"
    theirs.write_text("#!/bin/sh\necho theirs\n")
    theirs.chmod(0o751)
    target = FilesOnly(home, {"bin/tool": b"ours"})
    target.install(Options())
    target.install(Options())  # a re-run keeps what the first run replaced
    assert theirs.read_bytes() == b"ours"
    target.uninstall()
    assert theirs.read_text() == "#!/bin/sh\necho theirs\n"
    assert theirs.stat().st_mode & 0o777 == 0o751


def test_a_file_changed_after_install_is_left_and_said(tmp_path):
    home = tmp_path / "h"
    target = FilesOnly(home, {"conf/ours.txt": b"ours"})
    target.install(Options())
    (home / "conf" / "ours.txt").write_text("edited by the user")
    report = target.uninstall()
    assert (home / "conf" / "ours.txt").read_text() == "edited by the user"
    assert any("was changed after Talker installed it" in w for w in report.warnings)


def test_a_rerun_drops_what_is_no_longer_wanted(tmp_path):
    home = tmp_path / "h"
    target = FilesOnly(home, {"x/one.txt": b"1", "y/two.txt": b"2"})
    target.install(Options())
    target.files = {"x/one.txt": b"1 again"}
    target.install(Options())
    assert (home / "x" / "one.txt").read_bytes() == b"1 again"
    assert not (home / "y").exists()
    target.uninstall()
    assert list(home.iterdir()) == []


def test_a_link_is_undone_only_while_it_points_where_we_set_it(tmp_path):
    home = tmp_path / "h"
    home.mkdir()
    old, new = Record(tmp_path / "r.json"), Record(tmp_path / "r.json")
    changes = Changes(old, new, stop_at=home)
    item = changes.symlink(home / "bin" / "talker", Path("/opt/x/talker"))
    (home / "bin" / "talker").unlink()
    (home / "bin" / "talker").symlink_to("/elsewhere")
    assert "was changed" in undo_file_item(item)
    assert (home / "bin" / "talker").is_symlink()


def test_a_failed_run_still_records_what_it_did(tmp_path):
    home = tmp_path / "h"

    class Fails(FilesOnly):
        def apply(self, changes, options, ask, report):
            super().apply(changes, options, ask, report)
            raise OSError("disk full")

    target = Fails(home, {"d/ours.txt": b"1"})
    try:
        target.install(Options())
    except OSError:
        pass
    assert (home / "d" / "ours.txt").exists()
    FilesOnly(home, {}).uninstall()
    assert list(home.iterdir()) == []
