"""The install record: every change an install made, with what it replaced, so that uninstall
removes exactly that and a re-run can repair, upgrade, or drop what is no longer wanted.

The record is a JSON file in the app's own directory. Each item is a dict with a `kind` and an
`id` (kind + what it names); files carry the SHA-256 of what we wrote, so that a file the user
changed afterwards is left alone, and the bytes of any file of someone else's that we replaced.

`Changes` is the one way a backend touches the file system during an install: it writes, links
and creates directories, and lists each change in the new record. Anything else a backend does
(xdg-mime defaults, registry values) it lists with `Changes.add` and undoes in its own `undo`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from common.i18n import tr

FORMAT = 1
# A file of someone else's that we replace is kept in the record; a large one is not ours to
# replace at all.
MAX_BACKUP_BYTES = 256 * 1024


class RecordError(Exception):
    """The record cannot be read or a change cannot be made; the message is for the user."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def item_id(kind: str, name: str | os.PathLike) -> str:
    return f"{kind}:{os.fspath(name)}"


class Record:
    def __init__(self, path: Path, items: list[dict] | None = None, options: dict | None = None,
                 target: str = ""):
        self.path = path
        self.items: list[dict] = items or []
        self.options: dict = options or {}
        self.target = target

    @classmethod
    def load(cls, path: Path) -> Record:
        """The record at `path`, or an empty one if there is none."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(path)
        except (OSError, ValueError) as e:
            raise RecordError(tr("install.record_unreadable", path=path, detail=e)) from e
        if data.get("format") != FORMAT:
            raise RecordError(tr("install.record_format", path=path, format=repr(data.get("format"))))
        return cls(path, data.get("items", []), data.get("options", {}), data.get("target", ""))

    @property
    def exists(self) -> bool:
        return self.path.exists()

    def find(self, ident: str) -> dict | None:
        for item in self.items:
            if item["id"] == ident:
                return item
        return None

    def of_kind(self, kind: str) -> Iterator[dict]:
        return (item for item in self.items if item["kind"] == kind)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"format": FORMAT, "target": self.target, "saved": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "options": self.options, "items": self.items}
        atomic_write(self.path, (json.dumps(data, indent=1, ensure_ascii=False) + "\n").encode(), 0o600)

    def delete(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


def atomic_write(path: Path, data: bytes, mode: int) -> None:
    """Write through a temporary file in the same folder: a reader (a browser looking for its
    host manifest, a desktop reading .desktop files) never sees half a file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _snapshot(path: Path) -> dict | None:
    """What is at `path` now, enough to put it back: None if nothing."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        return {"link": os.readlink(path)}
    if not stat.S_ISREG(st.st_mode):
        raise RecordError(tr("install.in_the_way", path=path))
    if st.st_size > MAX_BACKUP_BYTES:
        raise RecordError(tr("install.too_large", path=path))
    return {"data": base64.b64encode(path.read_bytes()).decode("ascii"), "mode": stat.S_IMODE(st.st_mode)}


def _restore(path: Path, backup: dict) -> None:
    if "link" in backup:
        os.symlink(backup["link"], path)
    else:
        atomic_write(path, base64.b64decode(backup["data"]), backup["mode"])


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


class Changes:
    """The changes of one install run: `old` is the previous run's record (empty on a first
    install), `new` the one being built."""

    def __init__(self, old: Record, new: Record, stop_at: Path):
        self.old = old
        self.new = new
        # Directories at or above this one are never ours to create or remove (the home).
        self.stop_at = stop_at

    def add(self, item: dict) -> dict:
        """List a change; an earlier item with the same id is replaced."""
        existing = self.new.find(item["id"])
        if existing is not None:
            self.new.items.remove(existing)
        self.new.items.append(item)
        return item

    def previous(self, ident: str) -> dict | None:
        return self.old.find(ident)

    # --- directories -----------------------------------------------------------------------
    def ensure_dir(self, path: Path, mode: int = 0o755) -> None:
        """Create `path` and its missing parents; each one created now, or by an earlier run
        that recorded it, is listed (parents first, so undo removes children first)."""
        chain = []
        p = path
        while p != p.parent and p != self.stop_at and p not in self.stop_at.parents:
            chain.append(p)
            p = p.parent
        for d in reversed(chain):
            ident = item_id("dir", d)
            if self.new.find(ident):
                continue
            if not d.exists():
                d.mkdir(mode=mode)
                self.add({"kind": "dir", "id": ident, "path": str(d)})
            elif self.old.find(ident):
                self.add(dict(self.old.find(ident)))
        if not path.is_dir():
            raise RecordError(tr("install.not_a_folder", path=path))

    def claim_dir(self, path: Path) -> None:
        """List a directory made for us by someone else (install.sh): removed when empty."""
        self.add({"kind": "dir", "id": item_id("dir", path), "path": str(path)})

    # --- files -------------------------------------------------------------------------------
    def _backup_for(self, path: Path, kind: str) -> dict | None:
        mine = self.old.find(item_id(kind, path))
        if mine is not None:
            # Ours already: a re-run repairs it, and what it replaced the first time stays kept.
            return mine.get("backup")
        return _snapshot(path)

    @staticmethod
    def _is_as_written(item: dict, path: Path) -> bool:
        try:
            if item["kind"] == "symlink":
                return os.readlink(path) == item["target"]
            return not path.is_symlink() and sha256(path.read_bytes()) == item["sha256"]
        except OSError:
            return False

    def write_file(self, path: Path, data: bytes, mode: int = 0o644, **extra) -> dict:
        self.ensure_dir(path.parent)
        backup = self._backup_for(path, "file")
        if path.is_symlink():
            path.unlink()
        atomic_write(path, data, mode)
        return self.add({"kind": "file", "id": item_id("file", path), "path": str(path),
                         "sha256": sha256(data), "backup": backup, **extra})

    def write_text(self, path: Path, text: str, mode: int = 0o644, **extra) -> dict:
        return self.write_file(path, text.encode("utf-8"), mode, **extra)

    def symlink(self, path: Path, target: Path, **extra) -> dict:
        self.ensure_dir(path.parent)
        backup = self._backup_for(path, "symlink")
        if path.is_symlink() or path.exists():
            path.unlink()
        os.symlink(target, path)
        return self.add({"kind": "symlink", "id": item_id("symlink", path), "path": str(path),
                         "target": str(target), "backup": backup, **extra})


def undo_file_item(item: dict) -> str | None:
    """Undo a dir, file or symlink item. Returns a sentence when something was left in place."""
    path = Path(item["path"])
    kind = item["kind"]
    if kind == "dir":
        try:
            path.rmdir()
        except FileNotFoundError:
            pass
        except OSError:
            return None  # not empty: someone else's files are in it now, so it stays
        return None
    if kind == "venv":
        shutil.rmtree(path, ignore_errors=True)
        return None
    if kind not in ("file", "symlink"):
        raise ValueError(f"not a file item: {kind}")
    exists = path.is_symlink() or path.exists()
    if exists and not Changes._is_as_written(item, path):
        return tr("install.left_changed", path=path)
    if exists:
        _remove(path)
    if item.get("backup"):
        _restore(path, item["backup"])
    return None
