"""The user's choice of sound devices and sound switches, and keeping the SIP engine on it.

Per role (microphone, speaker, ringer) the settings name a device, or none for the OS default;
the switches are "ring silently" and echo cancellation. A choice is remembered in the settings
and takes effect at once, a call in progress too. Devices come and go (a headset unplugged and
plugged in again): the engine follows, and returns to a chosen device as soon as it is back.
TALKER_AUDIO_INPUT/OUTPUT/RINGER and TALKER_ECHO_CANCEL=0 (tests, diagnostics) win over the
settings (tray/app.py, audio_from_environment).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

from common import locations
from common.i18n import tr
from tray import settings as settings_mod
from tray.audio_devices import AudioDevices
from tray.boot import engine_audio
from tray.control_server import RequestFailed
from tray.settings import Settings
from tray.sip.engine import AudioConfig, SipEngine
from tray.threadnames import name_this_thread

log = logging.getLogger(__name__)


class SoundChoice:
    def __init__(self, audio: AudioConfig, *, settings: Callable[[], Settings],
                 remember: Callable[..., Settings], on_change: Callable[[], None]):
        """Before the engine starts: `config` is the engine's AudioConfig to begin with (the
        devices chosen in settings follow once listed, `start`). `remember(**changes)` saves a choice and
        returns the settings with it; `on_change`: what the menu shows changed."""
        self._settings = settings
        self._remember = remember
        self._on_change = on_change
        self._engine: SipEngine | None = None
        self._system = audio.device == "system"
        self._echo_allowed = audio.echo_cancellation   # False: TALKER_ECHO_CANCEL=0 overrides the setting
        self._forced = {"microphone": audio.input_device, "speaker": audio.output_device,
                        "ringer": audio.ringer_device}
        self._lock = threading.Lock()
        self.devices = AudioDevices(locations.ensure_private_dir(locations.runtime_dir()),
                                    on_change=self._devices_changed)
        # The same config as the engine that tray/boot.py may have started already.
        self.config = engine_audio(audio, settings())
        if not self._system:
            self._applied: tuple[str | None, str | None, str | None] = (None, None, None)
            return
        # Listing the OS's devices (pactl, tens of milliseconds) is nothing registering needs: it
        # runs on the audio-devices thread once the engine has started, and the engine opens no
        # device before it is done (devices_ready).
        self._ready = self.config.devices_ready
        self._applied = tuple(self._forced[role] for role in settings_mod.AUDIO_ROLES)

    def attach(self, engine: SipEngine) -> None:
        self._engine = engine

    def start(self, stop: threading.Event) -> None:
        """List the OS's devices, move the engine to the chosen ones, then watch them until
        `stop` (only with the OS's sound system)."""
        if self._system:
            threading.Thread(target=self._watch, args=(stop,), name="audio-devices", daemon=True).start()

    def _watch(self, stop: threading.Event) -> None:
        name_this_thread("audio-devices")
        try:
            self.devices.prepare()
            self._apply()
        except OSError as e:  # no chosen device then, but a phone that starts and rings
            log.error("the sound devices cannot be listed (%s): using the OS default", e)
        finally:
            self._ready.set()
        self.devices.watch(stop)

    def close(self) -> None:
        self.devices.close()

    def _wanted(self) -> tuple[str | None, str | None, str | None]:
        settings = self._settings()
        return tuple(self._forced[role] or self.devices.resolve(role, getattr(settings, role))
                     for role in settings_mod.AUDIO_ROLES)

    @property
    def ringer_device(self) -> str | None:
        """The PortAudio name of the device incoming calls ring on (None: the OS default)."""
        return self._applied[2]

    def state(self) -> dict:
        """Per role: the device chosen (a name, None for the OS default), whether it is there
        now, and the devices to choose from; then the switches."""
        settings = self._settings()
        state = {}
        for role in settings_mod.AUDIO_ROLES:
            devices = self.devices.devices("input" if role == "microphone" else "output")
            chosen = getattr(settings, role)
            state[role] = {"device": chosen, "present": chosen is None or any(d.name == chosen for d in devices),
                           "devices": [{"name": d.name, "description": d.description} for d in devices]}
        state["options"] = {option: getattr(settings, option) for option in settings_mod.AUDIO_OPTIONS}
        return state

    async def set_device(self, role: str, name: str | None) -> dict:
        if role not in settings_mod.AUDIO_ROLES:
            raise RequestFailed("invalid_message", tr("app.bad_message", detail=role))
        self._remember(**{role: name})
        log.info("sound device for %s: %s", role, name or "the OS default")
        self._apply()
        self._on_change()
        return self.state()

    async def set_option(self, option: str, on: bool) -> dict:
        """Ring silently, echo cancellation: remembered, and in effect at once (a ringing call
        and a call in progress too)."""
        if option not in settings_mod.AUDIO_OPTIONS or not isinstance(on, bool):
            raise RequestFailed("invalid_message", tr("app.bad_message", detail=option))
        new = self._remember(**{option: on})
        log.info("sound option %s: %s", option, "on" if on else "off")
        await asyncio.wrap_future(self._engine.set_audio_options(
            ring_silently=new.ring_silently,
            echo_cancellation=new.echo_cancellation and self._echo_allowed))
        self._on_change()
        return self.state()

    def _devices_changed(self) -> None:
        """Devices were plugged in or out: the menu shows it, and calls follow the choice."""
        self._apply()
        self._on_change()

    def _apply(self) -> None:
        if not self._system or self._engine is None:
            return
        with self._lock:
            wanted = self._wanted()
            if wanted == self._applied:
                return
            self._applied = wanted
        log.info("sound devices now: microphone %s, speaker %s, ringer %s", *wanted)
        self._engine.set_sound_devices(*wanted)
