"""What the benchmarks share: an isolated HOME for the run, percentiles, precompiled modules,
resident memory. (The real PBX, phones and app come from tests/support/.)"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def isolate(tmp: Path) -> Path:
    """This process and its children get their own HOME, config, state and runtime directories
    under `tmp` (never the user's), English, and secrets in a user-only file. Returns the app's
    runtime directory (its control socket lives there). The app logs at its own default level,
    as users run it (tests log everything)."""
    home = tmp / "home"
    home.mkdir()
    (tmp / "run").mkdir(mode=0o700)
    os.environ.update({"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
                       "XDG_STATE_HOME": str(home / ".state"), "XDG_RUNTIME_DIR": str(tmp / "run"),
                       "TALKER_SECRET_BACKEND": "file", "TALKER_LANG": "en", "TALKER_LOG_LEVEL": ""})
    os.environ.pop("DISPLAY", None)
    from common import locations

    return locations.runtime_dir()


def precompile() -> None:
    """Byte-compile the project as an installed package is (pip compiles at install time). This
    workplace sets PYTHONDONTWRITEBYTECODE, which would otherwise make every run recompile the
    short-lived commands' modules and measure the compiler instead of Talker."""
    import compileall

    for package in ("common", "tray", "native_host"):
        compileall.compile_dir(ROOT / package, quiet=1)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cpu_s(pid: int) -> float:
    """User + system CPU time of a process, all its threads (PortAudio's and pjsua2's too)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")   # utime, stime (fields 14, 15)


def pss_mb(pid: int) -> float:
    """Proportional set size: resident memory with each shared page split among its users."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def threads(pid: int) -> dict[str, tuple[str, int]]:
    """Thread id → (name, voluntary context switches: each is the thread going to sleep after
    it woke)."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            status = (task / "status").read_text().splitlines()
        except FileNotFoundError:
            continue  # ended meanwhile
        switches = next(int(line.split()[1]) for line in status if line.startswith("voluntary_ctxt_switches"))
        found[task.name] = (name, switches)
    return found


def thread_cpu(pid: int) -> dict[str, tuple[str, float]]:
    """Thread id → (name, user + system CPU seconds): where a process's CPU goes (Python's own
    threads are all named after the interpreter; pjsua2's clock is "clock", PulseAudio's client
    threads "threaded-ml")."""
    found = {}
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue  # ended meanwhile
        fields = stat[stat.rindex(")") + 2:].split()
        found[task.name] = (stat[stat.index("(") + 1:stat.rindex(")")], (int(fields[11]) + int(fields[12])) / tick)
    return found


def wakeups(before: dict[str, tuple[str, int]], after: dict[str, tuple[str, int]]) -> int:
    """Wake-ups of all threads between two `threads()` readings (threads alive in both)."""
    return sum(after[tid][1] - before[tid][1] for tid in after if tid in before)


def memory_by_mapping(pid: int) -> list[tuple[str, float, float]]:
    """Where a process's resident memory is: (mapping, RSS MB, PSS MB) from /proc/PID/smaps,
    file mappings by file name, anonymous ones together ("[anon]", "[heap]", "[stack]"),
    largest first."""
    totals: dict[str, list[float]] = {}
    name = "[anon]"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        fields = line.split()
        if fields and "-" in fields[0] and not fields[0].endswith(":"):   # a mapping's header
            path = fields[5] if len(fields) > 5 else ""
            name = Path(path).name if path.startswith("/") else (path if path.startswith("[") else "[anon]")
            name = "[stack]" if name.startswith("[stack") else name
        elif fields and fields[0] in ("Rss:", "Pss:"):
            entry = totals.setdefault(name, [0.0, 0.0])
            entry[0 if fields[0] == "Rss:" else 1] += int(fields[1]) / 1024
    return sorted(((n, r, p) for n, (r, p) in totals.items()), key=lambda item: -item[1])
