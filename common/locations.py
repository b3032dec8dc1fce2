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
    from pathlib import Path

APP_ID = "talker"

# The control channel: a Unix socket in a user-only directory where the OS has them; on Windows
# a loopback TCP port whose number and per-run secret are in a user-only file.
CONTROL_SOCKET = "control.sock"
CONTROL_PORT_FILE = "control.json"
INSTANCE_LOCK = "talker.lock"
CONTROL_TRANSPORT_ENV = "TALKER_CONTROL_TRANSPORT"  # "unix" | "tcp"; tests force "tcp" on Linux


class UnsafeDirectory(Exception):
    """A directory that should be ours alone is not."""


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
    return f"/tmp/{APP_ID}-{os.getuid()}"


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
    could have prepared."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if sys.platform == "win32":
        return path  # %LOCALAPPDATA% is per-user by its ACL
    st = path.lstat()
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeDirectory(f"{path} is not a directory")
    if st.st_uid != os.getuid():
        raise UnsafeDirectory(f"{path} belongs to another user")
    if st.st_mode & 0o077:
        os.chmod(path, 0o700)
    return path
