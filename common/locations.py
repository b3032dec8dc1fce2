"""Where Talker keeps things on each OS: one definition for the app, the CLI, the native host
and the installers. Standard library only.

TALKER_RUNTIME_DIR / TALKER_CONFIG_DIR / TALKER_STATE_DIR override the defaults (tests isolate
every run this way). The control-channel paths are plain strings built with os.path: they sit
on the `talker --callto` path, where importing pathlib would cost more than the rest together.
"""

from __future__ import annotations

import os
import stat
import sys

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing alone costs milliseconds
if TYPE_CHECKING:
    import _socket
    from collections.abc import Callable
    from pathlib import Path

APP_ID = "talker"

# The control channel: a Unix socket in a user-only directory where the OS has them; on Windows
# a loopback TCP port whose number and per-run secret are in a user-only file.
CONTROL_SOCKET = "control.sock"
CONTROL_PORT_FILE = "control.json"
INSTANCE_LOCK = "talker.lock"
CONTROL_TRANSPORT_ENV = "TALKER_CONTROL_TRANSPORT"  # "unix" | "tcp"; tests force "tcp" on Linux
# Bytes of a socket's path that every supported OS has room for in sun_path (macOS 104, Linux 108,
# both counting the final NUL).
SUN_PATH_MAX = 104

_KINDS = {"dir": stat.S_IFDIR, "socket": stat.S_IFSOCK, "file": stat.S_IFREG}


class UnsafeDirectory(Exception):
    """A directory (or the control channel's socket or file in it) that should be this user's
    alone is not. `reason`: "owner" (another user's), "mode" (open to other users), "kind" (not
    what Talker creates there: a symlink, say). str() is one sentence for the user."""

    def __init__(self, path: object, reason: str):
        from common.i18n import tr

        super().__init__(tr(f"unsafe.{reason}", path=path))
        self.path = str(path)
        self.reason = reason


def _home() -> str:
    return os.path.expanduser("~")


def _runtime_dir() -> str:
    override = os.environ.get("TALKER_RUNTIME_DIR")
    if override:
        return override
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA") or os.path.join(_home(), "AppData", "Local")
        return os.path.join(local, "Talker", "run")
    if sys.platform == "darwin":
        # $TMPDIR is per-user on macOS, and short enough for the 104-byte sun_path limit.
        return os.path.join(os.environ.get("TMPDIR", "/tmp"), APP_ID)
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        return os.path.join(xdg, APP_ID)
    # No per-login runtime directory (su, cron, ssh without pam_systemd): a folder in the user's
    # own cache directory, which no other user can create first. /tmp/talker-<uid> could be made
    # by anyone, who then received the numbers (issue 11). A HOME too long for sun_path is
    # handled where the socket is bound and reached (with_socket_name).
    cache = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(cache):  # the XDG spec: a relative path is invalid, ignore it
        cache = os.path.join(_home(), ".cache")
    return os.path.join(cache, APP_ID, "run")


def control_socket_path() -> str:
    return os.path.join(_runtime_dir(), CONTROL_SOCKET)


def control_port_file() -> str:
    return os.path.join(_runtime_dir(), CONTROL_PORT_FILE)


def control_transport() -> str:
    forced = os.environ.get(CONTROL_TRANSPORT_ENV)
    if forced in ("unix", "tcp"):
        return forced
    return "tcp" if sys.platform == "win32" else "unix"


def runtime_dir() -> Path:
    from pathlib import Path

    return Path(_runtime_dir())


def config_dir() -> Path:
    from pathlib import Path

    override = os.environ.get("TALKER_CONFIG_DIR")
    if override:
        return Path(override)
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA") or Path(_home(), "AppData", "Roaming")) / "Talker"
    if sys.platform == "darwin":
        return Path(_home(), "Library", "Application Support", "Talker")
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path(_home(), ".config")) / APP_ID


def state_dir() -> Path:
    """Logs and caches."""
    from pathlib import Path

    override = os.environ.get("TALKER_STATE_DIR")
    if override:
        return Path(override)
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or Path(_home(), "AppData", "Local")) / "Talker"
    if sys.platform == "darwin":
        return Path(_home(), "Library", "Logs", "Talker")
    return Path(os.environ.get("XDG_STATE_HOME") or Path(_home(), ".local", "state")) / APP_ID


def ensure_private_dir(path: Path) -> Path:
    """Create `path` for this user alone, or check that it is: owned by us, no access for
    group or others. Refuses (UnsafeDirectory) rather than use a directory someone else
    could have prepared: another user's is never touched, and one of ours that others could
    write into may hold what they put there, which tightening it now would not take out. One
    of ours that others could only read is tightened."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if sys.platform == "win32":
        return path  # %LOCALAPPDATA% is per-user by its ACL
    st = path.lstat()
    _check_owned(str(path), st, "dir")
    if st.st_mode & 0o022:
        raise UnsafeDirectory(path, "mode")
    if st.st_mode & 0o077:
        os.chmod(path, 0o700)
    return path


def check_private(path: str, kind: str) -> None:
    """Before a client trusts the control channel: `path` must be a `kind` ("dir", "socket",
    "file") of this user's, and a directory must be closed to everyone else (the directory is
    what keeps others from the socket: some BSDs ignore a socket file's own mode). Raises
    UnsafeDirectory, or FileNotFoundError when it is not there (the app is not running)."""
    if sys.platform == "win32":
        return  # %LOCALAPPDATA% is per-user by its ACL
    st = os.lstat(path)
    _check_owned(path, st, kind)
    if kind == "dir" and st.st_mode & 0o077:
        raise UnsafeDirectory(path, "mode")


def _check_owned(path: str, st: os.stat_result, kind: str) -> None:
    if stat.S_IFMT(st.st_mode) != _KINDS[kind]:
        raise UnsafeDirectory(path, "kind")
    if st.st_uid != os.getuid():
        raise UnsafeDirectory(path, "owner")


def peer_uid(sock: _socket.socket) -> int | None:
    """The uid of the process at the other end of a connected Unix socket, or None where the OS
    offers no way to ask (then the user-only directory is the only gate)."""
    import _socket

    if sys.platform.startswith("linux"):
        creds = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)  # struct ucred: pid, uid, gid
        return int.from_bytes(creds[4:8], sys.byteorder)
    getpeereid = getattr(os, "getpeereid", None)  # not in the stdlib on every platform
    if getpeereid is not None:
        return int(getpeereid(sock.fileno())[0])
    return None


def with_socket_name(path: str, use: Callable[[str], None]) -> None:
    """Call `use` (a Unix socket's bind or connect) with a name for the socket file `path` that
    fits in sun_path: the path itself, or, on Linux when the folders above it are too deep (a
    long HOME), the same file reached through a descriptor of its folder."""
    if len(os.fsencode(path)) < SUN_PATH_MAX or not sys.platform.startswith("linux"):
        return use(path)
    folder = os.open(os.path.dirname(path), os.O_PATH | os.O_DIRECTORY)
    try:
        return use(f"/proc/self/fd/{folder}/{os.path.basename(path)}")
    finally:
        os.close(folder)
