"""Starting the app (what `talker` with no arguments does): the SIP engine first.

What a person waits for after logging in to the computer is the phone being reachable. So
`main` takes the instance lock, reads the settings and the SIP password, starts pjsua2 and sends
the REGISTER before it imports asyncio, the control server, the PBX client and the tray; those
load while the REGISTER is on its way (tens of milliseconds of imports, `python -X importtime`); pjsua2 starts
on the engine's thread meanwhile. The app (tray/app.py) then adopts the engine and hears, in
order, what it reported meanwhile (`EarlyListener`). Without an account the app starts its own
engine as before.

This module stays light: nothing here may import asyncio, the control server or the tray.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import threading
from pathlib import Path

from common import locations
from common.i18n import tr
from tray import __version__
from tray import settings as settings_mod
from tray.secret_store import open_store, sip_password_key
from tray.settings import Settings
from tray.single_instance import InstanceLock
from tray.sip import echo
from tray.sip.engine import Account, AudioConfig, CallEvent, RegistrationEvent, SipEngine
from tray.sip.network import local_address_for

log = logging.getLogger(__name__)

USER_AGENT = f"Talker/{__version__}"


class EarlyListener:
    """The engine's listener until the app exists: events are kept, then handed to the app in
    the order they came (`attach`), and passed straight through after that."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: list[tuple[str, object]] = []
        self._target: object | None = None

    def registration_changed(self, event: RegistrationEvent) -> None:
        self._deliver("registration_changed", event)

    def call_changed(self, event: CallEvent) -> None:
        self._deliver("call_changed", event)

    def _deliver(self, name: str, event: object) -> None:
        with self._lock:
            target = self._target
            if target is None:
                self._kept.append((name, event))
                return
        getattr(target, name)(event)

    def attach(self, target: object) -> None:
        while True:
            with self._lock:
                kept, self._kept = self._kept, []
                if not kept:
                    self._target = target
                    return
            for name, event in kept:
                getattr(target, name)(event)


@dataclasses.dataclass
class EarlyEngine:
    """The engine tray/boot.py started with the settings' account (the app does not register
    again) and the listener that keeps its events until the app is there."""
    engine: SipEngine
    listener: EarlyListener


def audio_from_environment() -> AudioConfig:
    """Test and diagnostic hooks: TALKER_AUDIO_DEVICE=null, TALKER_AUDIO_INPUT,
    TALKER_AUDIO_OUTPUT and TALKER_AUDIO_RINGER (PortAudio device names; the OS default
    otherwise),
    TALKER_AUDIO_PLAY=tone.wav, TALKER_AUDIO_RECORD_DIR=dir (each call's received audio as
    call-<id>.wav), TALKER_ECHO_CANCEL=0 (no echo cancellation, whatever the settings say)."""
    env = os.environ
    return AudioConfig(
        device=env.get("TALKER_AUDIO_DEVICE", "system"),
        input_device=env.get("TALKER_AUDIO_INPUT") or None,
        output_device=env.get("TALKER_AUDIO_OUTPUT") or None,
        ringer_device=env.get("TALKER_AUDIO_RINGER") or None,
        echo_cancellation=echo.wanted(env),
        play_file=Path(env["TALKER_AUDIO_PLAY"]) if env.get("TALKER_AUDIO_PLAY") else None,
        record_dir=Path(env["TALKER_AUDIO_RECORD_DIR"]) if env.get("TALKER_AUDIO_RECORD_DIR") else None,
    )


def engine_audio(audio: AudioConfig, settings: Settings) -> AudioConfig:
    """The engine's AudioConfig to begin with: the switches as the settings have them (the
    environment's TALKER_ECHO_CANCEL=0 wins), the devices the environment forces (the ones chosen
    in the settings follow once the OS's devices are listed, tray/sound_choice.py), and, with
    the OS's sound system, the event that says they have been listed."""
    return dataclasses.replace(
        audio, ring_silently=settings.ring_silently,
        echo_cancellation=audio.echo_cancellation and settings.echo_cancellation,
        devices_ready=(audio.devices_ready or threading.Event()) if audio.device == "system" else None)


def start_engine(settings: Settings, password: str | None, audio: AudioConfig,
                 bind_address: str | None) -> EarlyEngine | None:
    """The engine starting on its thread, its REGISTER queued to leave as soon as pjsua2 runs
    (while this thread goes on importing the rest of the app); None without an account or its
    password. The app waits for the engine to run when it adopts it (`SipEngine.wait_started`):
    an engine that cannot start fails the app's start as it always did."""
    account = settings.account
    if account is None or password is None:
        return None
    listener = EarlyListener()
    engine = SipEngine(listener, bind_address=bind_address or local_address_for(account.server) or "127.0.0.1",
                       audio=engine_audio(audio, settings), user_agent=USER_AGENT)
    engine.start(wait=False)
    engine.set_account(Account(account.username, account.domain, password, account.server,
                               account.display_name))
    return EarlyEngine(engine, listener)


class RotatingLog(logging.FileHandler):
    """A log file moved aside to NAME.1 (NAME.1 to NAME.2, and so on, `backups` of them) before
    a record would take it past `max_bytes`. logging.handlers' RotatingFileHandler does the
    same, but that module brings pickle and its network handlers into the app with it: 0.6 MB
    resident all day (bench/idle.py)."""

    def __init__(self, path: Path, max_bytes: int, backups: int):
        super().__init__(path, encoding="utf-8")
        self.max_bytes, self.backups = max_bytes, backups

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if self.stream is None:   # closed, and written to again
                self.stream = self._open()
            size = len((self.format(record) + self.terminator).encode("utf-8"))
            self.stream.seek(0, os.SEEK_END)   # Windows reports an append stream's position otherwise
            written = self.stream.tell()
            if written and written + size > self.max_bytes:
                self._move_aside()
        except Exception:
            self.handleError(record)
            return
        super().emit(record)

    def _move_aside(self) -> None:
        self.stream.close()
        path = Path(self.baseFilename)
        for n in range(self.backups - 1, 0, -1):
            older = path.with_name(f"{path.name}.{n}")
            if older.exists():
                older.replace(path.with_name(f"{path.name}.{n + 1}"))
        path.replace(path.with_name(f"{path.name}.1"))
        self.stream = self._open()


def setup_logging() -> Path:
    log_dir = locations.ensure_private_dir(locations.state_dir())
    path = log_dir / "talker.log"
    handler = RotatingLog(path, max_bytes=2_000_000, backups=2)
    handler.setFormatter(logging.Formatter("%(asctime)s %(threadName)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    if sys.stderr is not None and sys.stderr.isatty():
        root.addHandler(logging.StreamHandler())
    root.setLevel(os.environ.get("TALKER_LOG_LEVEL") or "INFO")   # empty: the default too
    return path


def main() -> int:
    """Run the app in the foreground."""
    setup_logging()
    run_dir = locations.ensure_private_dir(locations.runtime_dir())
    lock = InstanceLock(run_dir / locations.INSTANCE_LOCK)
    if not lock.acquire():
        print(tr("app.already_running"), file=sys.stderr)
        return 0
    try:
        try:
            settings = settings_mod.load()
        except settings_mod.SettingsError as e:
            print(tr("app.start_failed", detail=str(e)), file=sys.stderr)
            return 1
        store = open_store()
        password = None
        if settings.account is not None:
            password = store.get(sip_password_key(settings.account.aor))
        log.info("Talker %s starting (pid %d)", __version__, os.getpid())
        audio = audio_from_environment()
        if audio.device == "system":
            # One event for the early engine and the app's sound choice (tray/sound_choice.py).
            audio = dataclasses.replace(audio, devices_ready=threading.Event())
        bind_address = os.environ.get("TALKER_SIP_BIND") or None
        early = start_engine(settings, password, audio, bind_address)

        import signal

        from tray.app import TalkerApp

        app = TalkerApp(settings, password, audio=audio, bind_address=bind_address, store=store, early=early)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: app.request_stop())
        app.run()
        log.info("Talker stopped")
        return 0
    finally:
        lock.release()
