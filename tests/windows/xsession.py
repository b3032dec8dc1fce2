"""A private X session for a test: Xvfb on a display it picks itself (-displayfd, never a fixed
number), and optionally a D-Bus session bus, a system tray (trayer) and a notification daemon
(dunst); plus xdotool and ImageMagick's `import` to look at it the way a user would."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from tests.support.processes import start_session_bus, stop_process, wait_until

TOOLS = ("Xvfb", "xdotool", "import")


def missing_tools(*extra: str) -> list[str]:
    return [t for t in (*TOOLS, *extra) if shutil.which(t) is None]


class XSession:
    def __init__(self, workdir: Path, *, size: str = "1280x800"):
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self._procs: list[subprocess.Popen] = []
        self._logs = []
        read, write = os.pipe()
        self.xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", f"{size}x24",
                                      "-nolisten", "tcp", "-noreset"], pass_fds=(write,),
                                     stdout=subprocess.DEVNULL, stderr=self._log("xvfb"))
        os.close(write)
        with os.fdopen(read) as f:
            number = f.readline().strip()
        if not number.isdigit():
            self.xvfb.kill()
            raise RuntimeError("Xvfb did not report a display")
        self.display = f":{number}"
        self.env = {"DISPLAY": self.display}

    def _log(self, name: str):
        f = open(self.workdir / f"{name}.log", "wb")
        self._logs.append(f)
        return f

    def start_dbus(self) -> str:
        proc, address = start_session_bus(self._log("dbus"))
        self._procs.append(proc)
        self.env["DBUS_SESSION_BUS_ADDRESS"] = address
        return address

    def spawn(self, name: str, *args: str) -> subprocess.Popen:
        proc = subprocess.Popen(list(args), env={**os.environ, **self.env}, stdin=subprocess.DEVNULL,
                                stdout=self._log(name), stderr=subprocess.STDOUT)
        self._procs.append(proc)
        return proc

    def start_tray(self, height: int = 32) -> str:
        """trayer docked at the top right, dark like a desktop's panel: an XEmbed system tray
        for the app's icon."""
        self.spawn("trayer", "trayer", "--edge", "top", "--align", "right", "--widthtype", "request",
                   "--height", str(height), "--SetDockType", "true", "--transparent", "true", "--alpha", "0",
                   "--tint", "0x2b2b2b", "--expand", "true", "--padding", "6", "--monitor", "primary")
        return wait_until(lambda: self.find(class_="trayer"), 10, 0.1, "trayer's window")[0]

    def start_notifications(self) -> None:
        self.spawn("dunst", "dunst")

    def xdotool(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(["xdotool", *args], env={**os.environ, **self.env}, capture_output=True,
                              text=True, timeout=20)
        if check and done.returncode != 0:
            raise RuntimeError(f"xdotool {' '.join(args)}: {done.stderr}")
        return done.stdout

    def find(self, *, name: str | None = None, class_: str | None = None) -> list[str]:
        """Ids of mapped windows with exactly this title, or whose WM_CLASS matches `class_`."""
        if name is None:
            return self.xdotool("search", "--onlyvisible", "--class", class_, check=False).split()
        # xdotool's regular expressions work on bytes: "—" in a title would not match itself.
        ids = self.xdotool("search", "--onlyvisible", "--name", ".", check=False).split()
        return [i for i in ids if self.xdotool("getwindowname", i, check=False).rstrip("\n") == name]

    def geometry(self, window: str) -> tuple[int, int, int, int]:
        out = self.xdotool("getwindowgeometry", "--shell", window)
        values = dict(re.findall(r"(\w+)=(-?\d+)", out))
        return int(values["X"]), int(values["Y"]), int(values["WIDTH"]), int(values["HEIGHT"])

    def capture(self, path: Path, window: str = "root", crop: tuple[int, int, int, int] | None = None) -> Path:
        """A PNG of the screen or one window, as `import` sees it; crop is (x, y, w, h)."""
        args = ["import", "-window", window]
        if crop is not None:
            x, y, w, h = crop
            args += ["-crop", f"{w}x{h}+{x}+{y}", "+repage"]
        subprocess.run([*args, str(path)], env={**os.environ, **self.env}, check=True, timeout=30,
                       capture_output=True)
        return path

    def close(self) -> None:
        for proc in reversed(self._procs):
            stop_process(proc)
        stop_process(self.xvfb)
        for f in self._logs:
            f.close()

    def __enter__(self) -> XSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def settle(seconds: float = 0.3) -> None:
    """Let the X server and the toolkits draw what they were told to."""
    time.sleep(seconds)


def median_luma(picture) -> float:
    """The median pixel's brightness of a screenshot (a path or a PIL image), 0 black to 1
    white (ITU-R 601 luma: enough to tell a dark window from a light one)."""
    from PIL import Image

    image = picture if isinstance(picture, Image.Image) else Image.open(picture)
    histogram = image.convert("L").histogram()
    half, seen = sum(histogram) / 2, 0
    for level, count in enumerate(histogram):
        seen += count
        if seen >= half:
            return level / 255
    return 1.0
