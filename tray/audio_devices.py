"""The microphones, speakers and ringers a user can choose, per platform, behind one base.

The SIP engine reaches the OS's audio through PortAudio (tray/sip/sound.py), so whatever a
backend lists must end up as a PortAudio device name. How differs by platform:

- Linux with PulseAudio or PipeWire (`PulseBackend`): PortAudio there sees ALSA devices only
  (`pulse`, `default`), never the server's sinks and sources. The backend lists those with
  `pactl -f json` (names and the descriptions a person knows them by) and makes each one a
  PortAudio device through an ALSA configuration file the app owns: one `type pulse` PCM per
  sink or source. The app puts the file on ALSA_CONFIG_PATH before PortAudio starts
  (`prepare_environment`), and rewrites it when the list changes; PortAudio re-reads ALSA's
  configuration only when it is initialised again (`needs_reinit`).
- Windows and macOS (`PortAudioBackend`): PortAudio itself lists the OS's devices, and their
  names are what it opens.

A choice is remembered by the device's *name* (stable across restarts and re-plugging), never
by an index. A chosen device that is not there now means the OS default, so a call never fails
for want of a headset. TALKER_AUDIO_BACKEND=pulse|portaudio overrides the choice of backend.

Listing is cheap and bounded: pactl gets PACTL_TIMEOUT_S, and results are kept LIST_TTL_S, so
a menu that opens several times a second costs one listing.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

PACTL_TIMEOUT_S = 2.0
LIST_TTL_S = 1.0
POLL_S = 2.0          # how often a backend that cannot be told of changes looks again
# alsa-lib's own top-level file: ALSA_CONFIG_PATH replaces it, so it is listed first (it also
# pulls in /etc/asound.conf and ~/.asoundrc, so a user's own ALSA settings still apply).
SYSTEM_ALSA_CONF = Path("/usr/share/alsa/alsa.conf")
ALSA_FILE = "talker-alsa.conf"


@dataclass(frozen=True)
class Device:
    name: str          # what is remembered in settings: stable across restarts
    description: str   # what the user reads in the menu
    kind: str          # "input" or "output"


class Backend:
    """What every platform's backend offers.

    Capability flag `hotplug`: listing again can show a device plugged in since (otherwise a
    list is listed once). On PulseAudio the server also moves a stream whose device vanished
    to the default device by itself, so a call keeps its audio while the app catches up.
    """

    name = "base"
    hotplug = False

    def list_devices(self) -> list[Device]:
        raise NotImplementedError

    def portaudio_name(self, device: Device) -> str:
        """The PortAudio device name that opens `device`."""
        return device.name

    def prepare_environment(self) -> None:
        """Called once before PortAudio is first initialised in this process."""

    def watch(self, on_change, stop: threading.Event) -> None:
        """Block until `stop`, calling on_change() when a device may have come or gone. This
        base polls; a backend whose OS reports changes overrides it."""
        while not stop.wait(POLL_S):
            on_change()

    def close(self) -> None:
        """Stop watch() at once (the app is quitting)."""

    def sync(self, devices: list[Device]) -> None:
        """Make `devices` reachable through PortAudio (which may need initialising again to
        see one it did not know: tray/app.py checks by name before it opens one)."""


class PulseBackend(Backend):
    """PulseAudio, or PipeWire through its PulseAudio server (pipewire-pulse)."""

    name = "pulse"
    hotplug = True

    def __init__(self, config_dir: Path):
        self.config_file = config_dir / ALSA_FILE
        self._written: frozenset[Device] | None = None
        self._watcher: subprocess.Popen | None = None

    @staticmethod
    def available() -> bool:
        if not SYSTEM_ALSA_CONF.is_file():
            return False
        try:
            # No pactl is an OSError here (shutil.which would load bz2 and lzma into the app).
            done = subprocess.run(["pactl", "info"], capture_output=True, timeout=PACTL_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired):
            return False
        return done.returncode == 0

    def watch(self, on_change, stop: threading.Event) -> None:
        # `pactl subscribe` reports each sink and source that comes or goes: no polling, so an
        # idle app costs nothing (polling pactl every 2 s measured 9.5 ms of CPU a time).
        while not stop.is_set():
            try:
                proc = subprocess.Popen(["pactl", "subscribe"], stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True)
            except OSError as e:
                log.warning("pactl subscribe: %s", e)
                return
            self._watcher = proc
            if stop.is_set():  # close() came before the process did
                proc.kill()
            else:
                on_change()  # whatever happened while nobody was listening
            for line in proc.stdout:
                if stop.is_set():
                    break
                # "Event 'new' on sink #5", "Event 'remove' on source #3"; 'change' events
                # (volume, suspend) do not change the list.
                if (" on sink #" in line or " on source #" in line) and "'change'" not in line:
                    on_change()
            proc.kill()
            proc.wait()
            self._watcher = None
            stop.wait(POLL_S)  # the server went away or restarted: listen again

    def close(self) -> None:
        proc = self._watcher
        if proc is not None and proc.poll() is None:
            proc.kill()

    def list_devices(self) -> list[Device]:
        devices = []
        for kind, what in (("output", "sinks"), ("input", "sources")):
            for entry in _pactl_json("list", what):
                props = entry.get("properties") or {}
                # A sink's monitor is a source too, but nobody speaks into one.
                if kind == "input" and (props.get("device.class") == "monitor"
                                        or entry.get("monitor_of_sink") not in (None, "", "n/a")
                                        or str(entry.get("name", "")).endswith(".monitor")):
                    continue
                name = entry.get("name")
                if isinstance(name, str) and name:
                    devices.append(Device(name, entry.get("description") or name, kind))
        return devices

    def portaudio_name(self, device: Device) -> str:
        # ALSA config keys cannot hold dots (sink names do) and sounddevice matches device
        # names by substring: a fixed-length digest keeps every PCM name unique and unmatched
        # by any other. CRC-32 is enough to tell a computer's few devices apart, and unlike
        # hashlib it loads none of OpenSSL's digests into the app (0.8 MB resident).
        digest = zlib.crc32(f"{device.kind}\0{device.name}".encode())
        return f"talker_{'in' if device.kind == 'input' else 'out'}_{digest:08x}"

    def prepare_environment(self) -> None:
        self.sync(self.list_devices())
        path = os.environ.get("ALSA_CONFIG_PATH") or str(SYSTEM_ALSA_CONF)
        parts = path.split(":")
        if str(self.config_file) not in parts:
            os.environ["ALSA_CONFIG_PATH"] = ":".join([*parts, str(self.config_file)])

    def sync(self, devices: list[Device]) -> None:
        wanted = frozenset(devices)
        if wanted == self._written:
            return
        lines = ["# Written by Talker (tray/audio_devices.py) at each change of the sound server's",
                 "# devices: one PCM per sink and source, for PortAudio. Edits are overwritten."]
        for d in sorted(wanted, key=lambda d: (d.kind, d.name)):
            lines.append(f"pcm.{self.portaudio_name(d)} {{ type pulse; device {_alsa_string(d.name)}; "
                         f"hint {{ show on; description {_alsa_string(d.description)} }} }}")
        self.config_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.config_file.with_suffix(".tmp")
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        tmp.replace(self.config_file)
        self._written = wanted


class PortAudioBackend(Backend):
    """Windows (WASAPI/MME/DirectSound), macOS (Core Audio), or plain ALSA: PortAudio's list.

    PortAudio lists devices only when it starts, so this list changes only when the app starts
    PortAudio again (tray/sip/sound.py does, to open a device it does not know, and when a
    device in use stops working): a device plugged in while nothing else happens is not seen
    until then. A device that vanishes mid-call is noticed by the sound path itself (its
    stream ends or stops calling back) on every OS, and the call moves to the OS default."""

    name = "portaudio"

    def watch(self, on_change, stop: threading.Event) -> None:
        stop.wait()  # listing again would show the same list: nothing to poll

    def list_devices(self) -> list[Device]:
        try:
            import sounddevice
        except OSError as e:  # no PortAudio library: nothing to choose from
            log.warning("PortAudio is not available: %s", e)
            return []
        try:
            default_api = sounddevice.default.hostapi
            infos = sounddevice.query_devices()
        except Exception as e:  # PortAudioError: the host API failed; nothing to choose from
            log.warning("PortAudio cannot list devices: %s", e)
            return []
        devices, seen = [], set()
        for info in infos:
            # Each device shows once per host API on Windows; the default API's copy is enough.
            if info["hostapi"] != default_api:
                continue
            for kind, channels in (("input", "max_input_channels"), ("output", "max_output_channels")):
                if info[channels] > 0 and (kind, info["name"]) not in seen:
                    seen.add((kind, info["name"]))
                    devices.append(Device(info["name"], info["name"], kind))
        return devices


def _alsa_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _pactl_json(*args: str) -> list[dict]:
    try:
        done = subprocess.run(["pactl", "-f", "json", *args], capture_output=True, text=True,
                              timeout=PACTL_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as e:
        log.warning("pactl %s: %s", " ".join(args), e)
        return []
    if done.returncode != 0:
        log.warning("pactl %s: %s", " ".join(args), done.stderr.strip())
        return []
    try:
        data = json.loads(done.stdout)
    except ValueError as e:
        log.warning("pactl %s printed no JSON: %s", " ".join(args), e)
        return []
    return data if isinstance(data, list) else []


def open_backend(config_dir: Path) -> Backend:
    forced = os.environ.get("TALKER_AUDIO_BACKEND")
    if forced == "portaudio":
        return PortAudioBackend()
    if forced == "pulse" or (forced is None and sys.platform.startswith("linux") and PulseBackend.available()):
        return PulseBackend(config_dir)
    return PortAudioBackend()


class AudioDevices:
    """The devices now, and the user's choice turned into PortAudio names.

    `devices()` answers from memory at once (a menu must never wait for a sound server) and,
    when the list is older than LIST_TTL_S, refreshes it in the background; `refresh()` lists
    now (the watcher's thread calls it). `on_change` is called after a refresh that changed the
    list. Thread-safe: the menu (pystray's thread), the control loop and the watcher all use it.
    """

    def __init__(self, config_dir: Path, backend: Backend | None = None, on_change=None):
        self._config_dir = config_dir
        self._backend = backend
        self.on_change = on_change
        self._lock = threading.Lock()
        self._devices: list[Device] | None = None
        self._listed_at = -1e9
        self._refreshing = False

    @property
    def backend(self) -> Backend:
        # Chosen on first use: finding PulseAudio runs `pactl info`, which an app on the null
        # device (tests, benches) never needs.
        with self._lock:
            if self._backend is None:
                self._backend = open_backend(self._config_dir)
            return self._backend

    def prepare(self) -> None:
        """Before PortAudio starts in this process: make every device reachable through it."""
        self.backend.prepare_environment()
        self.refresh()

    def refresh(self) -> list[Device]:
        backend = self.backend
        devices = backend.list_devices()
        try:
            backend.sync(devices)
        except OSError as e:  # listed still; a new device cannot be opened until this works
            log.warning("the ALSA file for the sound devices cannot be written: %s", e)
        with self._lock:
            changed = self._devices is not None and devices != self._devices
            self._devices, self._listed_at = devices, time.monotonic()
        if changed and self.on_change is not None:
            self.on_change()
        return devices

    def devices(self, kind: str | None = None) -> list[Device]:
        with self._lock:
            devices = self._devices
            stale = (self._backend is not None and self._backend.hotplug and not self._refreshing
                     and time.monotonic() - self._listed_at > LIST_TTL_S)
            if devices is not None and stale:
                self._refreshing = True
        if devices is None:
            devices = self.refresh()  # the first time only: nothing to show otherwise
        elif stale:
            threading.Thread(target=self._refresh_in_background, name="audio-devices-list",
                             daemon=True).start()
        return [d for d in devices if kind is None or d.kind == kind]

    def watch(self, stop: threading.Event) -> None:
        """Block until `stop`, refreshing the list whenever the backend says it may have changed."""
        def changed():
            try:
                self.refresh()
            except Exception:
                log.exception("listing the sound devices failed")
        self.backend.watch(changed, stop)

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()

    def _refresh_in_background(self) -> None:
        try:
            self.refresh()
        except Exception:
            log.exception("listing the sound devices failed")
        finally:
            with self._lock:
                self._refreshing = False

    def resolve(self, role: str, name: str | None) -> str | None:
        """The PortAudio name for the chosen device, or None (the OS default) when nothing is
        chosen or the chosen device is not there now."""
        if name is None:
            return None
        kind = "input" if role == "microphone" else "output"
        for d in self.devices(kind):
            if d.name == name:
                return self.backend.portaudio_name(d)
        return None
