"""A real sound server for one test (real servers, isolated per test): PulseAudio (Debian's
`pulseaudio`, SoundServer) or PipeWire with its PulseAudio protocol (Debian's `pipewire-pulse` and
`wireplumber`, PipeWireServer). Both are driven with the same PulseAudio tools and offer the
same devices; only the daemons differ.

The server runs in user mode (as root too: it only warns) with its own HOME and runtime
directory and no default script, so it never touches a user's real sound server or devices.
It offers what a desk with a headset offers an app:

    sinks    spk (the default: the speakers), ring (the ringer), headset (a second output to
             switch to, and to unplug)
    sources  micin (the default: the microphone), fed by whatever is played into the null sink
             `mic` (start_tone); its monitor is what a real microphone would capture

What the app plays is checked on a sink's monitor (record), never through the app's own
file recorder: the path under test is the app's PortAudio → ALSA → pulse plugin → server.

`env` is what a child process needs to reach the server through that path. A process picks a
sink or source per stream by an ALSA PCM of `type pulse` with `device <sink or source name>`
(see tests/integration/test_sound_server.py, which measures the ways that work).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import threading
import time
import wave
from pathlib import Path

from tests.support.audio import sine
from tests.support.processes import stop_process

SPEAKER = "spk"
RINGER = "ring"
HEADSET = "headset"
MIC_SINK = "mic"        # play here to speak into the microphone
MICROPHONE = "micin"    # the source an app records from
SINKS = (SPEAKER, RINGER, HEADSET)
SERVER_RATE = 48000     # what most real sound cards run at: the app's 8/16 kHz gets resampled

# alsa-lib's own top-level configuration; ALSA_CONFIG_PATH replaces it, so it is listed first.
SYSTEM_ALSA_CONF = Path("/usr/share/alsa/alsa.conf")
_ALSA_PULSE_PLUGIN = "/usr/lib/*/alsa-lib/libasound_module_pcm_pulse.so"
_SETUP_HINT = "scripts/setup test installs it"

# ALSA's `default` is the pulse plugin whatever the host's own configuration says: on a
# desktop with PipeWire, /etc/alsa/conf.d sends `default` to the user's real PipeWire, and
# Debian's own pulse hook only switches when it finds a server running at the time.
_ALSA_CONF = """\
pcm.!default {
    type pulse
    hint { show on description "The test's PulseAudio server" }
}
ctl.!default { type pulse }
"""


class SoundUnavailable(Exception):
    """PulseAudio or ALSA's pulse plugin is not installed: tests that need them are skipped
    with this reason."""


class SoundServerError(Exception):
    """The server did not start or refused a command; the message carries its log's tail."""


def require(daemons: tuple[str, ...] = ("pulseaudio",),
            packages: str = "Debian's pulseaudio") -> None:
    for exe in (*daemons, "pactl", "pacat"):
        if shutil.which(exe) is None:
            raise SoundUnavailable(f"{exe} is not installed ({packages} and "
                                   f"pulseaudio-utils; {_SETUP_HINT})")
    if not glob.glob(_ALSA_PULSE_PLUGIN) or not SYSTEM_ALSA_CONF.is_file():
        raise SoundUnavailable(f"ALSA's pulse plugin is not installed (Debian's "
                               f"libasound2-plugins; {_SETUP_HINT})")


class TonePlayer:
    """A sine played into a sink until stop(): `pacat` reads it from a pipe, whose back-pressure
    paces the writer, so the tone lasts as long as needed and ends the moment pacat is killed
    (nothing queued is drained)."""

    RATE = 16000
    CHUNK = RATE // 50

    def __init__(self, env: dict[str, str], sink: str, freq_hz: float, amplitude: float):
        self.freq_hz = freq_hz
        self._proc = subprocess.Popen(
            ["pacat", "--playback", "--raw", f"--device={sink}", f"--rate={self.RATE}",
             "--channels=1", "--format=s16le", "--latency-msec=20",
             f"--client-name=tone {freq_hz:g} Hz"],
            stdin=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        self.started_at = time.monotonic()
        self._thread = threading.Thread(target=self._feed, args=(amplitude,), daemon=True,
                                        name=f"tone {freq_hz:g} Hz")
        self._thread.start()

    def _feed(self, amplitude: float) -> None:
        position = 0
        with contextlib.suppress(OSError, ValueError):  # pacat ended: stop() or the server's end
            while True:
                self._proc.stdin.write(sine(self.freq_hz, self.CHUNK, self.RATE, amplitude,
                                            position).tobytes())
                position += self.CHUNK

    def stop(self) -> None:
        self._proc.kill()
        self._proc.wait()
        self._thread.join(5)
        with contextlib.suppress(OSError):
            self._proc.stdin.close()


class Recording:
    """A source (a sink's monitor) recorded by `parec` into memory, written as a 16-bit mono WAV
    by stop(). `started_at` estimates the time.monotonic() of its first sample, so an onset in
    the recording can be compared with the moment something was sent."""

    def __init__(self, env: dict[str, str], source: str, path: Path, rate: int):
        self.path = path
        self.rate = rate
        self._data = bytearray()
        self._stopped = False
        self._arrivals: list[tuple[float, int]] = []  # (arrival time, bytes up to that chunk)
        # Small fragments: parec's default (about 2 s) delivers the audio in lumps, which would
        # blur the timing and lose the tail when the recorder is stopped.
        self._proc = subprocess.Popen(
            ["parec", "--raw", f"--device={source}", f"--rate={rate}", "--channels=1",
             "--format=s16le", "--latency-msec=10", "--client-name=test recorder"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        self._thread = threading.Thread(target=self._read, daemon=True, name=f"record {source}")
        self._thread.start()

    def _read(self) -> None:
        while chunk := self._proc.stdout.read1(65536):
            self._data += chunk
            self._arrivals.append((time.monotonic(), len(self._data)))

    @property
    def started_at(self) -> float | None:
        """The earliest first-sample time any chunk allows (each arrives after its last sample
        was captured), or None before the first chunk."""
        arrivals = list(self._arrivals)
        if not arrivals:
            return None
        return min(t - n / 2 / self.rate for t, n in arrivals)

    def seconds(self) -> float:
        return len(self._data) / 2 / self.rate

    def wait_started(self, timeout: float = 10.0) -> Recording:
        """Returns once audio flows: a tone started after this is in the recording."""
        deadline = time.monotonic() + timeout
        while not self._arrivals:
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise SoundServerError(f"parec delivered nothing (exit code {self._proc.poll()})")
            time.sleep(0.01)
        return self

    def stop(self) -> Path:
        if self._stopped:
            return self.path
        self._stopped = True
        stop_process(self._proc)
        self._thread.join(5)
        data = bytes(self._data[:len(self._data) // 2 * 2])
        with wave.open(str(self.path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(self.rate)
            w.writeframes(data)
        return self.path


class SoundServer:
    """One PulseAudio server. Use as a context manager, or call start() and stop().
    A subclass with other daemons behind the same PulseAudio socket overrides _launch."""

    DAEMONS: tuple[str, ...] = ("pulseaudio",)
    PACKAGES = "Debian's pulseaudio"
    LOG_NAME = "pulseaudio.log"

    def __init__(self, log_path: Path | None = None):
        require(self.DAEMONS, self.PACKAGES)
        self.base_dir: Path | None = None
        self.log_path = log_path
        self.procs: list[subprocess.Popen] = []  # the daemons, stopped in reverse order
        self._modules: dict[str, str] = {}  # sink name → its module's index
        self._clocks: dict[str, subprocess.Popen] = {}
        self._players: list[TonePlayer] = []
        self._recordings: list[Recording] = []

    # --- what a client needs -----------------------------------------------------------
    @property
    def socket_path(self) -> Path:
        return self.base_dir / "run" / "pulse" / "native"

    @property
    def alsa_config_path(self) -> str:
        """ALSA_CONFIG_PATH for a client. An app that adds its own ALSA file appends it."""
        return f"{SYSTEM_ALSA_CONF}:{self.base_dir / 'alsa.conf'}"

    @property
    def env(self) -> dict[str, str]:
        """Variables that send a child's PortAudio (ALSA `default` → pulse plugin) and the
        PulseAudio tools here. XDG_RUNTIME_DIR is left alone: PULSE_SERVER alone finds the
        server, and the app keeps its own runtime directory (its control socket lives there)."""
        return {
            "PULSE_SERVER": f"unix:{self.socket_path}",
            "PULSE_RUNTIME_PATH": str(self.socket_path.parent),
            "PULSE_CLIENTCONFIG": str(self.base_dir / "client.conf"),
            "ALSA_CONFIG_PATH": self.alsa_config_path,
        }

    def child_env(self, **extra: str) -> dict[str, str]:
        """This process's environment with the server's variables on top."""
        return {**os.environ, **self.env, **extra}

    # --- life cycle --------------------------------------------------------------------
    def __enter__(self) -> SoundServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, timeout: float = 20.0) -> SoundServer:
        # Not under pytest's tmp_path: a Unix socket path must stay under 108 bytes.
        self.base_dir = Path(tempfile.mkdtemp(prefix=f"talker-{self.DAEMONS[0][:2]}-"))
        try:
            self._launch(timeout)
            for sink in SINKS:
                self._load_sink(sink)
            self._load("module-null-sink", f"sink_name={MIC_SINK}", f"rate={SERVER_RATE}",
                       "channels=1", "sink_properties=device.description=Microphone-feed")
            self._load("module-remap-source", f"master={MIC_SINK}.monitor",
                       f"source_name={MICROPHONE}", "channels=1",
                       "source_properties=device.description=Microphone")
            self.pactl("set-default-sink", SPEAKER)
            self.pactl("set-default-source", MICROPHONE)
            # Only now: a stream that plays to or records from the default is moved when the
            # default changes, and the first sink's monitor was the default source until here.
            for source in (*(f"{sink}.monitor" for sink in SINKS), MICROPHONE):
                self._start_clock(source)
            self._restart_clocks((*SINKS, MIC_SINK), timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _prepare_dirs(self) -> dict[str, str]:
        """The directories and client files every server needs; returns the daemons' env."""
        home = self.base_dir / "home"
        run = self.base_dir / "run"
        for d in (home, run, self.socket_path.parent):
            d.mkdir(mode=0o700)
        (self.base_dir / "alsa.conf").write_text(_ALSA_CONF)
        # With PULSE_SERVER set no client autospawns a server; this keeps it so for a client
        # that loses the variable, or runs after the server is gone.
        (self.base_dir / "client.conf").write_text("autospawn = no\n")
        env = {**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(run),
               "XDG_CONFIG_HOME": str(home / ".config"),
               "XDG_STATE_HOME": str(home / ".local" / "state")}
        for key in ("PULSE_SERVER", "PULSE_RUNTIME_PATH", "PULSE_SINK", "PULSE_SOURCE"):
            env.pop(key, None)
        return env

    def _spawn(self, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        with open(self.log_path or self.base_dir / self.LOG_NAME, "ab") as log:
            proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    env=env, start_new_session=True)
        self.procs.append(proc)
        return proc

    def _wait_until(self, ready, what: str, timeout: float) -> None:
        """Poll ready() while every daemon runs; a daemon that exits fails at once."""
        deadline = time.monotonic() + timeout
        while not ready():
            for proc in self.procs:
                if proc.poll() is not None:
                    raise SoundServerError(f"{proc.args[0]} exited with {proc.returncode}: "
                                           f"{self.log_tail()}")
            if time.monotonic() > deadline:
                raise SoundServerError(f"{what} not within {timeout} s: {self.log_tail()}")
            time.sleep(0.05)

    def _answers(self) -> bool:
        return self.socket_path.exists() and subprocess.run(
            ["pactl", "info"], env=self.child_env(), capture_output=True).returncode == 0

    def _launch(self, timeout: float) -> None:
        env = self._prepare_dirs()
        # -n: no default.pa (no hardware, no D-Bus, no X11 modules); auth-anonymous: the socket
        # sits in a 0700 directory, and clients need no cookie file from this HOME.
        self._spawn(
            ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no",
             "--high-priority=no", "--realtime=no", "--log-target=stderr",
             f"--load=module-native-protocol-unix socket={self.socket_path} auth-anonymous=1"],
            env)
        self._wait_until(self._answers, "pulseaudio answered", timeout)

    def stop(self) -> None:
        for sink in list(self._clocks):
            self._stop_clock(sink)
        for player in self._players:
            player.stop()
        self._players.clear()
        for recording in self._recordings:
            recording.stop()
        self._recordings.clear()
        for proc in reversed(self.procs):
            stop_process(proc, 10)
        self.procs.clear()
        if self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)
            self.base_dir = None

    def log_tail(self, lines: int = 15) -> str:
        path = self.log_path or (self.base_dir / self.LOG_NAME if self.base_dir else None)
        if path is None or not path.exists():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    # --- control -----------------------------------------------------------------------
    def pactl(self, *args: str) -> str:
        done = subprocess.run(["pactl", *args], env=self.child_env(), capture_output=True,
                              text=True, timeout=20)
        if done.returncode != 0:
            raise SoundServerError(f"pactl {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout.strip()

    def _load(self, module: str, *args: str) -> str:
        return self.pactl("load-module", module, *args)

    def _start_clock(self, source: str) -> None:
        """Make a null sink (and the microphone behind it) run in 10 ms steps, as a sound card
        does. Left alone, a null sink that no client asks for low latency renders 2 s at a
        time: a PortAudio output stream on it got its first callbacks, then none for about
        1.8 s, and the first input stream on the microphone stalled after 10 ms (measured)."""
        self._clocks[source] = subprocess.Popen(
            ["parec", "--raw", f"--device={source}", "--rate=8000", "--channels=1",
             "--latency-msec=10", "--client-name=test clock"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self.child_env())

    def _restart_clocks(self, sinks, timeout: float = 20.0) -> None:
        """Once the clocks are connected, suspend and resume the sinks: a null sink keeps the
        2 s deadline it set when it was created, and a stream opened before it passes stalled
        just the same (measured: an input stream opened at once got 10 ms, then nothing)."""
        deadline = time.monotonic() + timeout
        while self.pactl("list", "source-outputs").count('"test clock"') < len(self._clocks):
            if time.monotonic() > deadline:
                raise SoundServerError(f"the sinks' clocks did not connect: {self.log_tail()}")
            time.sleep(0.01)
        for sink in sinks:
            self.pactl("suspend-sink", sink, "1")
            self.pactl("suspend-sink", sink, "0")

    def _stop_clock(self, source: str) -> None:
        proc = self._clocks.pop(source)
        proc.kill()
        proc.wait()

    def plug(self, sink: str) -> None:
        """Add the sink (again): a device plugged in. It is not made the default."""
        if sink in self._modules:
            raise SoundServerError(f"sink {sink} is already plugged in")
        self._load_sink(sink)
        self._start_clock(f"{sink}.monitor")
        self._restart_clocks([sink])

    def _load_sink(self, sink: str) -> None:
        self._modules[sink] = self._load(
            "module-null-sink", f"sink_name={sink}", f"rate={SERVER_RATE}", "channels=2",
            f"sink_properties=device.description={sink.capitalize()}")

    def unplug(self, sink: str) -> None:
        """Remove the sink: a device unplugged. PulseAudio moves the streams that played to it
        to the default sink."""
        self._stop_clock(f"{sink}.monitor")
        self.pactl("unload-module", self._modules.pop(sink))

    def sinks(self) -> list[str]:
        return [line.split("\t")[1] for line in self.pactl("list", "short", "sinks").splitlines()]

    def set_default_sink(self, sink: str) -> None:
        self.pactl("set-default-sink", sink)

    # --- sound in and out --------------------------------------------------------------
    def start_tone(self, freq_hz: float, sink: str = MIC_SINK,
                   amplitude: float = 0.4) -> TonePlayer:
        """Play a sine until its stop() (or the server's): by default into the microphone."""
        player = TonePlayer(self.child_env(), sink, freq_hz, amplitude)
        self._players.append(player)
        return player

    def record(self, sink: str, path: Path, rate: int = 8000) -> Recording:
        """Start recording what plays on `sink` (its monitor) into `path`; stop() writes it."""
        recording = Recording(self.child_env(), f"{sink}.monitor", path, rate)
        self._recordings.append(recording)
        return recording.wait_started()

    def record_for(self, sink: str, path: Path, seconds: float, rate: int = 8000) -> Path:
        recording = self.record(sink, path, rate)
        time.sleep(seconds)
        return recording.stop()


# WirePlumber is the session manager: without one PipeWire links no stream to any sink, and
# pipewire-pulse refuses set-default-sink (the "default" metadata is WirePlumber's). These
# switch off what would reach past the test: the machine's sound cards, cameras, Bluetooth,
# and the flatpak portal, whose D-Bus lookup made WirePlumber 0.4.13 exit when no session bus
# exists (measured).
_WIREPLUMBER_MAIN = """\
alsa_monitor.enabled = false
v4l2_monitor.enabled = false
libcamera_monitor.enabled = false
default_access.properties["enable-flatpak-portal"] = false
"""
_WIREPLUMBER_BLUETOOTH = "bluez_monitor.enabled = false\n"


class PipeWireServer(SoundServer):
    """PipeWire with its PulseAudio protocol (pipewire-pulse) and WirePlumber, each from the
    Debian packages' own configuration, listening on the same private socket SoundServer uses:
    clients, sinks and sources are made and reached exactly as there. Needs no D-Bus.

    One difference matters to a test: a recording of the *default* sink's monitor follows the
    default when set_default_sink() changes it (PulseAudio keeps it on the sink it named)."""

    DAEMONS = ("pipewire", "pipewire-pulse", "wireplumber", "pw-cli")
    PACKAGES = "Debian's pipewire-pulse and wireplumber"
    LOG_NAME = "pipewire.log"

    def _launch(self, timeout: float) -> None:
        env = self._prepare_dirs()
        # Not the session's bus or display: PipeWire's portal and X11-bell modules then skip.
        for key in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "WAYLAND_DISPLAY",
                    "PIPEWIRE_REMOTE", "PIPEWIRE_RUNTIME_DIR"):
            env.pop(key, None)
        config = Path(env["XDG_CONFIG_HOME"]) / "wireplumber"
        for part, text in (("main", _WIREPLUMBER_MAIN), ("bluetooth", _WIREPLUMBER_BLUETOOTH)):
            (config / f"{part}.lua.d").mkdir(parents=True)
            (config / f"{part}.lua.d" / "51-talker-test.lua").write_text(text)
        core_socket = Path(env["XDG_RUNTIME_DIR"]) / "pipewire-0"
        self._spawn(["pipewire"], env)
        # Both clients connect once, at start: the core's socket must be there first.
        self._wait_until(core_socket.exists, "pipewire's socket", timeout)
        self._spawn(["wireplumber"], env)
        self._spawn(["pipewire-pulse"], env)

        def ready() -> bool:
            metadata = subprocess.run(["pw-cli", "ls", "Metadata"], env=env,
                                      capture_output=True, text=True).stdout
            return 'metadata.name = "default"' in metadata and self._answers()

        self._wait_until(ready, "pipewire-pulse and wireplumber answered", timeout)
