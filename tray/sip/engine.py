"""The SIP engine: pjsua2 on one thread of its own.

Every pjsua2 object is created, used and destroyed on the engine's thread; other threads hand it
work through `submit()`, which returns a Future. pjsua2 runs with no worker threads of its own
(threadCnt = 0, for SIP and for RTP): the engine thread polls it with libHandleEvents(), which
sleeps until a packet arrives or one of pjsip's timers is due. To pick up posted work at once,
a poster sends a CRLF keep-alive datagram to the engine's own SIP UDP transport: pjsip drops it
as a keep-alive (RFC 5626 §3.5.1), and the poll returns. The only other pjsua2 thread is the
conference bridge's clock, and it runs only while a call carries audio.

The engine knows nothing about the UI or the control channel. It reports what happens through
an `EngineListener`, called on the engine thread; listeners must hand off and return quickly.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import dataclasses
import enum
import functools
import gc
import heapq
import itertools
import logging
import os
import queue
import re
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pjsua2 as pj

from common.i18n import tr
from tray.sip import sound
from tray.threadnames import name_this_thread
from tray.sip.uri import parse_name_addr

log = logging.getLogger(__name__)

# Codecs in the order offered (pjsua's own order puts Speex first). G.722 first: wideband voice
# at almost no CPU, and most desk phones and softphones have it; then G.711 A-law (the PSTN's
# codec here and in Europe) and mu-law, which every SIP device has. Speex, iLBC and GSM last:
# Speex wideband costs several times G.722's CPU for no better sound at these bit rates.
CODEC_PRIORITIES = {"G722/16000/1": 140, "PCMA/8000/1": 135, "PCMU/8000/1": 134,
                    "speex/16000/1": 100, "speex/8000/1": 99, "speex/32000/1": 98,
                    "iLBC/8000/1": 97, "GSM/8000/1": 96}
# The conference bridge's clock runs this long after the last call's audio is gone.
CLOCK_LINGER_S = 1.0
TONES_AFTER_S = 2.0    # the ring and ringback tones are made this long after the start
UNREGISTER_WAIT_S = 3.0   # at most this long for the PBX to answer the un-REGISTER on quitting
# Registration backoff after a network failure: 1, 2, 4, ... seconds, at most this.
MAX_RETRY_S = 30.0
# Codes after which retrying with the same credentials is pointless.
_AUTH_FAILURE_CODES = {401, 403, 407}


class RegistrationState(str, enum.Enum):
    OFFLINE = "offline"
    REGISTERING = "registering"
    REGISTERED = "registered"
    FAILED = "failed"


class CallState(str, enum.Enum):
    CALLING = "calling"        # our INVITE is out, nothing back yet
    INCOMING = "incoming"      # someone calls us; we ring
    RINGING = "ringing"        # the other side rings (180/183)
    CONNECTED = "connected"
    ENDED = "ended"


class CallOutcome(str, enum.Enum):
    """How an ended call went, for the call history."""
    ANSWERED = "answered"
    UNANSWERED = "unanswered"                  # an outgoing call nobody answered
    MISSED = "missed"                          # an incoming one that rang out or the caller gave up
    DECLINED = "declined"                      # the user declined (or hung up) while it rang
    ANSWERED_ELSEWHERE = "answered_elsewhere"  # another device of the user's answered it


@dataclass(frozen=True)
class Account:
    username: str
    domain: str
    password: str = field(repr=False)
    server: str                # host[:port] of the registrar/proxy
    display_name: str = ""
    expires_s: int = 120

    @property
    def aor(self) -> str:
        return f"{self.username}@{self.domain}"


@dataclass(frozen=True)
class RegistrationEvent:
    state: RegistrationState
    account: str | None
    code: int | None = None
    reason: str | None = None          # one sentence for the user, None when all is well
    retry_in_s: float | None = None


@dataclass(frozen=True)
class CallEvent:
    call_id: str
    direction: str                     # "in" | "out"
    state: CallState
    remote_number: str
    remote_name: str
    code: int | None = None            # last SIP status seen
    reason: str | None = None
    muted: bool = False
    held: bool = False
    answered: bool = False             # it was connected at some point (a missed call was not)
    outcome: str | None = None         # once ended: see CallOutcome


@dataclass(frozen=True)
class AudioConfig:
    """Where call audio comes from and goes to.

    `device`: "system" (the OS's microphone and speaker through PortAudio, tray/sip/sound.py)
    or "null" (no device: test peers and benches). `input_device`/`output_device`: a PortAudio
    device name or index for "system"; None is the OS default. `ringer_device`: where incoming
    calls ring (None: the OS default output); `ring_silently`: they don't. `echo_cancellation`:
    echo cancellation and noise suppression on the microphone (tray/sip/echo.py). `play_file`: a WAV
    file sent into every call instead of the microphone, looped.
    `record_dir`: every call's received audio is also written to call-<id>.wav there. `echo`:
    send every call's audio back to it (the demo's echo peer). `devices_ready`: set once the
    OS's devices are reachable through PortAudio (the app lists them while the engine starts);
    no device is opened before.
    """

    device: str = "system"
    input_device: str | None = None
    output_device: str | None = None
    ringer_device: str | None = None
    ring_silently: bool = False
    echo_cancellation: bool = True
    play_file: Path | None = None
    record_dir: Path | None = None
    echo: bool = False
    devices_ready: threading.Event | None = None


class EngineListener(Protocol):
    def registration_changed(self, event: RegistrationEvent) -> None: ...
    def call_changed(self, event: CallEvent) -> None: ...
    # Optional: a digit the other side keyed in (RFC 4733 or SIP INFO). Only the test phones
    # (tray/sip/agent.py) listen, to prove which tones a call carried.
    # def dtmf_received(self, call_id: str, digit: str) -> None: ...


class EngineError(Exception):
    """A request the engine cannot carry out; str() is one sentence for the user."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class _Account(pj.Account):
    def __init__(self, engine: SipEngine):
        super().__init__()
        self._engine = engine

    def onRegState(self, prm):
        self._engine._on_reg_state(prm)

    def onIncomingCall(self, prm):
        self._engine._on_incoming_call(self, prm.callId)


class _Call(pj.Call):
    def __init__(self, engine: SipEngine, account: pj.Account, call_id: str, direction: str,
                 pj_call_id: int = pj.PJSUA_INVALID_ID):
        super().__init__(account, pj_call_id)
        self._engine = engine
        self.talker_id = call_id
        self.direction = direction
        self.state: CallState | None = None
        self.dtmf_on_answer: str | None = None
        self.audio: Any = None      # the call's conference port, once media is up
        self.audio_port: int | None = None   # its slot in the bridge: pjsua replaces it at times
        self.sound = False          # it holds the sound devices open (SoundDevices.acquire)
        self.muted = False
        self.held = False
        self.answered = False
        self.declined = False             # the user ended it while it rang
        self.answered_elsewhere = False   # the caller's CANCEL said so (RFC 3326)
        self.media: list[Any] = []  # players/recorders tied to this call: keep them alive

    def onCallState(self, prm):
        self._engine._on_call_state(self)

    def onCallTsxState(self, prm):
        self._engine._on_call_tsx_state(self, prm)

    def onCallMediaState(self, prm):
        self._engine._on_call_media_state(self)

    def onDtmfDigit(self, prm):
        self._engine._on_dtmf_digit(self, prm.digit)


def _read_vector_slowly(vector: Any) -> bytes:
    return bytes(vector)  # element by element through SWIG: ~300 µs for a 20 ms frame


def _read_vector_directly(vector: Any) -> bytes:
    """The bytes of a pj.ByteVector (a C++ std::vector<unsigned char>) in about 1 µs, read from
    its storage. libstdc++, libc++ and MSVC's release library all begin a vector with the
    pointers to its first byte and one past its last; `_vector_reader` checks that on this
    very build before this function is ever used, and the size is checked on every read."""
    first, last = (ctypes.c_void_p * 2).from_address(int(vector.this))
    size = (last or 0) - (first or 0)
    if size != vector.size() or size < 0:
        return bytes(vector)
    return ctypes.string_at(first, size) if size else b""


def _vector_storage(vector: Any) -> int:
    """The address of a pj.ByteVector's first byte (see _read_vector_directly)."""
    first, _ = (ctypes.c_void_p * 2).from_address(int(vector.this))
    return first


class ForeignThreadStates:
    """Python thread states kept for threads Python did not start (the bridge's clock).

    Every call from C into Python on such a thread (a SWIG director: onFrameRequested,
    onFrameReceived) makes a Python thread state and frees it on return; on CPython 3.11 that
    is an allocation, an mmap and munmap of its frame stack and page faults, 100 times a
    second (measured with perf: the clock thread's largest cost after G.722). `keep()`, on the
    foreign thread, takes one more reference to its state so that it outlives the callback;
    `release()`, once those threads have been joined, frees the states."""

    def __init__(self) -> None:
        self._states: dict[int, int] = {}    # thread ident → PyThreadState*
        self._python_threads: set[int] = set()
        self._api: Any = None
        if sys.implementation.name == "cpython":
            api = ctypes.PyDLL(ctypes.pythonapi._name, handle=ctypes.pythonapi._handle)
            api.PyThreadState_Get.restype = ctypes.c_void_p
            api.PyThreadState_Clear.argtypes = api.PyThreadState_Delete.argtypes = [ctypes.c_void_p]
            self._api = api

    def keep(self) -> None:
        """Inside a callback (the GIL held); cheap once seen. A thread Python started (a test
        calling the port itself) keeps its own state and is left alone."""
        ident = threading.get_ident()
        if ident in self._states or ident in self._python_threads or self._api is None:
            return
        if any(t.ident == ident for t in threading.enumerate()):
            self._python_threads.add(ident)
            return
        self._api.PyGILState_Ensure()
        self._states[ident] = self._api.PyThreadState_Get()

    def release(self) -> None:
        """From a Python thread, after every thread kept here has ended (joined)."""
        states, self._states = self._states, {}
        self._python_threads.clear()    # thread idents are reused
        for state in states.values():
            self._api.PyThreadState_Clear(state)
            self._api.PyThreadState_Delete(state)


@functools.cache
def _vector_reader() -> Callable[[Any], bytes]:
    """How frames leave pjsua2 here: directly when a known vector reads back exactly that way
    (element by element, 50 frames a second cost ~1.5 % of a core; measured here)."""
    probe = os.urandom(sound.FRAME_BYTES)
    try:
        if _read_vector_directly(pj.ByteVector(probe)) == probe:
            return _read_vector_directly
    except (TypeError, ValueError, OSError, AttributeError) as e:
        log.info("pjsua2 frames are read element by element (%s)", e)
    return _read_vector_slowly


class _BridgePort(pj.AudioMediaPort):
    """The conference bridge's end of the sound devices (tray/sip/sound.py), called on the
    bridge's clock thread (the null device's) 50 times a second each way."""

    def __init__(self, devices: sound.SoundDevices, thread_states: ForeignThreadStates):
        super().__init__()
        self._devices = devices
        self._thread_states = thread_states
        self._read = _vector_reader()
        # Frames go out through one vector whose storage is overwritten in place: building a
        # ByteVector from bytes converts it element by element (~28 µs a frame, measured).
        self._out = pj.ByteVector(sound.SILENCE)
        self._out_at = _vector_storage(self._out) if self._read is _read_vector_directly else None
        fmt = pj.MediaFormatAudio()
        fmt.init(pj.PJMEDIA_FORMAT_PCM, sound.RATE, 1, sound.FRAME_MS * 1000, 16)
        self.createPort("talker-sound", fmt)

    def onFrameRequested(self, frame):
        self._thread_states.keep()
        frame.type = pj.PJMEDIA_FRAME_TYPE_AUDIO
        data = self._devices.take_microphone_frame()
        if self._out_at is not None and len(data) == sound.FRAME_BYTES:
            ctypes.memmove(self._out_at, data, sound.FRAME_BYTES)
            frame.buf = self._out
        else:
            frame.buf = pj.ByteVector(data)

    def onFrameReceived(self, frame):
        self._thread_states.keep()
        self._devices.give_speaker_frame(self._read(frame.buf))


class SipEngine:
    def __init__(self, listener: EngineListener, *, bind_address: str = "127.0.0.1",
                 sip_port: int = 0, audio: AudioConfig = AudioConfig(),
                 user_agent: str = "Talker", pj_log_level: int = 0, idle_poll_ms: int = 30_000):
        self._listener = listener
        self._bind_address = bind_address
        self._sip_port = sip_port
        self._audio = audio
        # The OS's microphone and speaker (opened only while a call carries audio), and the
        # bridge port that joins them to pjsua2's conference bridge (made with each endpoint).
        self.sound = (sound.SoundDevices(audio.input_device, audio.output_device,
                                         echo_cancellation=audio.echo_cancellation,
                                         ready=audio.devices_ready)
                      if audio.device == "system" else None)
        if self.sound is not None:
            self.sound.ringer_device = audio.ringer_device
        self._bridge: _BridgePort | None = None
        self._clock_thread_states = ForeignThreadStates()
        self._sound_watch: int | None = None       # the timer of _watch_sound while it runs
        self._tone: sound.Cadence | None = None   # the tone on the speaker now, see _update_tones
        self._user_agent = user_agent
        self._pj_log_level = pj_log_level
        self._idle_poll_ms = idle_poll_ms

        self._jobs: queue.SimpleQueue[tuple[Callable, tuple, concurrent.futures.Future]] = queue.SimpleQueue()
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._timer_seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._start_error: BaseException | None = None
        self._stopping = False
        self._wake_sockets: dict[int, socket.socket] = {}  # by address family
        self._wake_lock = threading.Lock()
        self._wake_address: tuple[str, int] | None = None

        # Owned by the engine thread only.
        self._ep: pj.Endpoint | None = None
        self._account: _Account | None = None
        self._account_settings: Account | None = None
        self._reg_state = RegistrationState.OFFLINE
        self._retry_s = 1.0
        self._retry_timer: int | None = None
        self._calls: dict[str, _Call] = {}
        self._call_ids = itertools.count(1)
        self._cancelled_timers: set[int] = set()

    # --- lifecycle (any thread) -----------------------------------------------------------
    def start(self, timeout: float = 10.0, *, wait: bool = True) -> None:
        """Start the engine's thread and, unless `wait` is False, wait until pjsua2 runs. Work
        submitted meanwhile runs as soon as it does (the app's start sends its REGISTER so while
        its other modules load)."""
        self._thread = threading.Thread(target=self._run, name="sip", daemon=True)
        self._thread.start()
        if wait:
            self.wait_started(timeout)

    def wait_started(self, timeout: float = 10.0) -> None:
        """EngineError unless pjsua2 is running (or starts within `timeout` seconds)."""
        if not self._started.wait(timeout):
            raise EngineError("engine", tr("engine.not_started"))
        if self._start_error is not None:
            raise EngineError("engine", tr("engine.not_started"))

    @property
    def local_sip_address(self) -> tuple[str, int] | None:
        return self._wake_address

    @property
    def bind_address(self) -> str:
        return self._bind_address

    def stop(self, timeout: float = 5.0) -> None:
        """Hang up, unregister (bounded), and destroy pjsua2 on its own thread."""
        if self._thread is None or not self._thread.is_alive():
            return
        try:
            self.submit(self._shutdown).result(timeout)
        except (concurrent.futures.TimeoutError, EngineError):
            log.warning("SIP engine shutdown took too long")
        self._thread.join(timeout)
        with self._wake_lock:
            for sock in self._wake_sockets.values():
                sock.close()
            self._wake_sockets.clear()

    # --- posting work (any thread) --------------------------------------------------------
    def submit(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future:
        fut: concurrent.futures.Future = concurrent.futures.Future()
        if self._stopping or self._thread is None or not self._thread.is_alive():
            fut.set_exception(EngineError("engine", tr("engine.not_running")))
            return fut
        self._jobs.put((fn, args, fut))
        self._wake()
        return fut

    def _wake(self) -> None:
        address = self._wake_address
        if address is None or threading.current_thread() is self._thread:
            return
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        try:
            with self._wake_lock:
                sock = self._wake_sockets.get(family)
                if sock is None:
                    sock = self._wake_sockets[family] = socket.socket(family, socket.SOCK_DGRAM)
            sock.sendto(b"\r\n\r\n", address)
        except OSError:
            pass  # the poll times out soon anyway

    # --- the API, as futures --------------------------------------------------------------
    def set_account(self, account: Account | None) -> concurrent.futures.Future:
        return self.submit(self._set_account, account)

    def make_call(self, number: str, dtmf: str | None = None) -> concurrent.futures.Future:
        """Call a number or extension on the account's PBX; the Future gives the call id.
        `dtmf` digits (an RFC 3966 extension) are sent once the call is answered."""
        return self.submit(self._make_call, number, dtmf)

    def answer(self, call_id: str | None = None) -> concurrent.futures.Future:
        return self.submit(self._answer, call_id)

    def decline(self, call_id: str | None = None, code: int = 603) -> concurrent.futures.Future:
        return self.submit(self._hangup, call_id, code, "in")

    def hangup(self, call_id: str | None = None) -> concurrent.futures.Future:
        return self.submit(self._hangup, call_id, None, None)

    def set_mute(self, call_id: str | None, on: bool) -> concurrent.futures.Future:
        return self.submit(self._set_mute, call_id, on)

    def set_hold(self, call_id: str | None, on: bool) -> concurrent.futures.Future:
        return self.submit(self._set_hold, call_id, on)

    def set_sound_devices(self, microphone: str | None, speaker: str | None,
                          ringer: str | None) -> concurrent.futures.Future:
        """Move to these sound devices (PortAudio names, None: the OS default), a call in
        progress and a ringing one too. Nothing happens on the null device."""
        return self.submit(lambda: self.sound.use(microphone, speaker, ringer) if self.sound else None)

    def set_audio_options(self, *, ring_silently: bool, echo_cancellation: bool) -> concurrent.futures.Future:
        """Ring silently or not, cancel echo or not: from now on, a ringing call and a call in
        progress too."""
        return self.submit(self._set_audio_options, ring_silently, echo_cancellation)

    def microphone_level(self, call_id: str | None = None) -> concurrent.futures.Future:
        """The Future gives what the other side of a connected call hears from the microphone
        now, in dBFS: -inf while the call is muted or held, or has no sound devices."""
        return self.submit(self._microphone_level, call_id)

    def registration_state(self) -> concurrent.futures.Future:
        return self.submit(lambda: self._reg_state)

    def rebind(self, address: str) -> concurrent.futures.Future:
        """Move SIP and media to another local address (the route to the PBX changed) and
        register again from there. Refused while calls are in progress: they keep their address."""
        return self.submit(self._rebind, address)

    # --- engine thread ---------------------------------------------------------------------
    def _run(self) -> None:
        name_this_thread("sip")
        try:
            self._create_endpoint()
        except BaseException as e:  # reported to start()
            self._start_error = e
            self._started.set()
            return
        self._started.set()
        while True:
            self._run_jobs()
            if self._ep is None:
                break
            self._run_timers()
            wait_ms = self._idle_poll_ms
            if self._timers:
                wait_ms = max(0, min(wait_ms, int((self._timers[0][0] - time.monotonic()) * 1000) + 1))
            self._ep.libHandleEvents(wait_ms)

    def _run_jobs(self) -> None:
        while True:
            try:
                fn, args, fut = self._jobs.get_nowait()
            except queue.Empty:
                return
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(fn(*args))
            except BaseException as e:
                if not isinstance(e, EngineError):
                    log.exception("SIP engine job %s failed", getattr(fn, "__name__", fn))
                fut.set_exception(e)

    def _call_later(self, delay_s: float, fn: Callable[[], None]) -> int:
        handle = next(self._timer_seq)
        heapq.heappush(self._timers, (time.monotonic() + delay_s, handle, fn))
        return handle

    def _cancel_timer(self, handle: int | None) -> None:
        if handle is not None:
            self._cancelled_timers.add(handle)

    def _run_timers(self) -> None:
        now = time.monotonic()
        while self._timers and self._timers[0][0] <= now:
            _, handle, fn = heapq.heappop(self._timers)
            if handle in self._cancelled_timers:
                self._cancelled_timers.discard(handle)
                continue
            try:
                fn()
            except Exception:
                log.exception("SIP engine timer failed")

    def _create_endpoint(self) -> None:
        ep = pj.Endpoint()
        with _stdout_silenced():
            # pjlib prints its banner on stdout before any log setting applies; stdout may be
            # a protocol channel (tray/sip/agent.py).
            ep.libCreate()
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0
        cfg.uaConfig.mainThreadOnly = False
        cfg.uaConfig.userAgent = self._user_agent
        cfg.logConfig.level = self._pj_log_level
        cfg.logConfig.consoleLevel = self._pj_log_level
        # RTP is read by this thread's own poll (libHandleEvents wakes for each packet) instead
        # of a media worker that wakes 100 times a second even when there is no call (measured:
        # ~6,000 wake-ups a minute, idle).
        cfg.medConfig.hasIoqueue = False
        cfg.medConfig.threadCnt = 0
        # No voice-activity detection: pjsua's VAD took a steady tone (and so may take a hum or
        # a held note) for silence and cut it, in both directions (bench/audio_path.py).
        cfg.medConfig.noVad = True
        try:
            ep.libInit(cfg)
            self._ep = ep
            self._open_transport()
            ep.libStart()
            # pjsua2 itself has no sound-device backend: it runs on its null device, and the
            # OS's devices are reached through the bridge port (tray/sip/sound.py). The null
            # device's clock drives the conference bridge 50 times a second, so it runs only
            # while a call carries audio (_clock); until then, no device and no clock.
            ep.audDevManager().setNoDev()
            self._clock_running = False
            for codec, priority in CODEC_PRIORITIES.items():
                ep.codecSetPriority(codec, priority)
            if self.sound is not None:
                self._bridge = _BridgePort(self.sound, self._clock_thread_states)
        except BaseException:
            # pjsua2 allows one Endpoint object per process, and a second one aborts the
            # process: destroy this one and drop every reference (the traceback keeps frames).
            self._ep = None
            ep.libDestroy()
            del ep
            raise
        log.info("SIP engine listening on %s:%s (pjsip %s)", *self._wake_address, self._ep.libVersion().full)
        self._call_later(TONES_AFTER_S, sound.prepare_tones)   # off the registration's path

    def _open_transport(self) -> None:
        tcfg = pj.TransportConfig()
        tcfg.boundAddress = self._bind_address
        tcfg.port = self._sip_port
        transport_id = self._ep.transportCreate(
            pj.PJSIP_TRANSPORT_UDP6 if ":" in self._bind_address else pj.PJSIP_TRANSPORT_UDP, tcfg)
        host, port = self._ep.transportGetInfo(transport_id).localName.rsplit(":", 1)
        self._wake_address = (host.strip("[]"), int(port))

    def _rebind(self, address: str) -> None:
        """pjsua cannot add an account once its first transport is closed, so a move is a new
        endpoint on the new address (about a second, like a restart of the engine)."""
        if address == self._bind_address:
            return
        # A call that has just ended stays in _calls until the next loop turn (see _on_call_state):
        # it keeps nothing on the old address, and refusing for it would leave the move undone.
        if any(c.state != CallState.ENDED for c in self._calls.values()):
            raise EngineError("busy", "Calls are in progress.")
        try:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            with socket.socket(family, socket.SOCK_DGRAM) as probe:
                probe.bind((address, 0))
        except OSError as e:
            raise EngineError("engine", f"{address} cannot be used: {e.strerror}.") from None
        account, old_address = self._account_settings, self._bind_address
        self._destroy_endpoint()
        self._bind_address = address
        try:
            self._create_endpoint()
        except Exception as e:
            log.warning("SIP engine cannot move to %s (%s): staying on %s", address, e, old_address)
            self._bind_address = old_address
            try:
                self._create_endpoint()
            except Exception as e:
                # Neither address works any more: the engine stops; the app says so.
                self._report_registration(RegistrationState.FAILED, reason=tr("engine.stopped"))
                raise
        else:
            log.info("SIP engine moved to %s:%s", *self._wake_address)
        if account is not None:
            self._set_account(account)

    def _shutdown(self) -> None:
        self._stopping = True
        if self._ep is None:
            return
        self._hangup_all()
        self._destroy_endpoint()

    def _destroy_endpoint(self) -> None:
        ep = self._ep
        # Give the BYEs a moment to leave and be answered, before the un-REGISTER: the PBX writes
        # for both, and one at a time is what a PBX on SQLite can always take.
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline and self._calls:
            ep.libHandleEvents(20)
        if self._account is not None and self._reg_state == RegistrationState.REGISTERED:
            # The un-REGISTER is answered (a PBX challenges it first: two round trips) before the
            # account goes, or the PBX keeps ringing an app that has quit until the binding expires.
            try:
                self._account.setRegistration(False)
            except pj.Error:
                pass
            deadline = time.monotonic() + UNREGISTER_WAIT_S
            while time.monotonic() < deadline and self._reg_state == RegistrationState.REGISTERED:
                ep.libHandleEvents(20)
        if self._account is not None:
            self._drop_account(unregister=self._reg_state == RegistrationState.REGISTERED)
        self._calls.clear()
        self._bridge = None
        if self.sound is not None:
            self.sound.reset()
        # pjsua2 objects still referenced from Python after libDestroy() trip pjlib assertions
        # when they are collected: drop them all first.
        gc.collect()
        # NO_RX_MSG: pjsua would otherwise sleep a whole second "for unregistrations to
        # complete" on every destroy; ours are answered (or given up on) above.
        ep.libDestroy(pj.PJSUA_DESTROY_NO_RX_MSG)
        self._clock_thread_states.release()
        self._ep = None
        self._wake_address = None

    def _hangup_all(self) -> None:
        # A helper of its own so that no local variable keeps a _Call alive past libDestroy().
        for call in list(self._calls.values()):
            self._terminate(call, None)

    # --- registration -------------------------------------------------------------------
    def _set_account(self, account: Account | None) -> None:
        if self._account is not None:
            self._drop_account(unregister=True)
        self._account_settings = account
        self._retry_s = 1.0
        if account is None:
            self._report_registration(RegistrationState.OFFLINE)
            return
        cfg = pj.AccountConfig()
        uri = f"sip:{account.username}@{account.domain}"
        cfg.idUri = f'"{account.display_name}" <{uri}>' if account.display_name else uri
        cfg.regConfig.registrarUri = f"sip:{account.server}"
        cfg.regConfig.timeoutSec = account.expires_s
        cfg.regConfig.retryIntervalSec = 0      # the engine backs off itself, see _on_reg_state
        cfg.regConfig.firstRetryIntervalSec = 0
        cfg.regConfig.registerOnAdd = True
        cfg.sipConfig.proxies.append(f"sip:{account.server};lr")
        cfg.sipConfig.authCreds.append(pj.AuthCredInfo("digest", "*", account.username, 0, account.password))
        cfg.mediaConfig.transportConfig.boundAddress = self._bind_address
        self._account = _Account(self)
        self._report_registration(RegistrationState.REGISTERING)
        self._account.create(cfg)

    def _drop_account(self, *, unregister: bool) -> None:
        self._cancel_timer(self._retry_timer)
        self._retry_timer = None
        acc, self._account = self._account, None
        if acc is None:
            return
        if unregister and self._reg_state == RegistrationState.REGISTERED:
            try:
                acc.setRegistration(False)
            except pj.Error:
                pass
        acc.shutdown()
        self._reg_state = RegistrationState.OFFLINE

    def _on_reg_state(self, prm) -> None:
        if self._account is None:
            return
        code = prm.code
        if 200 <= code < 300:
            if prm.expiration > 0:
                self._retry_s = 1.0
                self._report_registration(RegistrationState.REGISTERED, code=code)
            else:
                self._report_registration(RegistrationState.OFFLINE, code=code)
            return
        reason = _registration_failure_reason(code, prm.reason, self._account_settings)
        if code in _AUTH_FAILURE_CODES:
            self._report_registration(RegistrationState.FAILED, code=code, reason=reason)
            return
        delay, self._retry_s = self._retry_s, min(self._retry_s * 2, MAX_RETRY_S)
        self._report_registration(RegistrationState.FAILED, code=code, reason=reason, retry_in_s=delay)
        self._cancel_timer(self._retry_timer)
        self._retry_timer = self._call_later(delay, self._retry_registration)

    def _retry_registration(self) -> None:
        self._retry_timer = None
        if self._account is None:
            return
        self._report_registration(RegistrationState.REGISTERING)
        try:
            self._account.setRegistration(True)
        except pj.Error as e:
            log.warning("re-registration could not start: %s", e.info())

    def _report_registration(self, state: RegistrationState, *, code: int | None = None,
                             reason: str | None = None, retry_in_s: float | None = None) -> None:
        self._reg_state = state
        aor = self._account_settings.aor if self._account_settings else None
        event = RegistrationEvent(state, aor, code, reason, retry_in_s)
        log.info("registration %s: %s%s", aor, state.value, f" ({reason})" if reason else "")
        self._notify(self._listener.registration_changed, event)

    # --- calls ----------------------------------------------------------------------------
    def _make_call(self, number: str, dtmf: str | None) -> str:
        if self._account is None or self._account_settings is None:
            raise EngineError("no_account", tr("app.no_account"))
        if self._reg_state != RegistrationState.REGISTERED:
            raise EngineError("not_registered", tr("engine.not_registered"))
        call_id = f"c{next(self._call_ids)}"
        call = _Call(self, self._account, call_id, "out")
        call.dtmf_on_answer = dtmf
        self._calls[call_id] = call
        prm = pj.CallOpParam(True)
        try:
            call.makeCall(f"sip:{number}@{self._account_settings.domain}", prm)
        except pj.Error as e:
            del self._calls[call_id]
            log.warning("the call to %s could not be placed: %s", number, e.reason)
            raise EngineError("call_failed", tr("engine.not_placed")) from None
        return call_id

    def _on_incoming_call(self, account: pj.Account, pj_call_id: int) -> None:
        call_id = f"c{next(self._call_ids)}"
        call = _Call(self, account, call_id, "in", pj_call_id)
        self._calls[call_id] = call
        prm = pj.CallOpParam()
        prm.statusCode = 180
        call.answer(prm)
        # onCallState may not fire for INCOMING itself: report it here.
        self._on_call_state(call)

    def _find_call(self, call_id: str | None, direction: str | None = None) -> _Call:
        if call_id is not None:
            call = self._calls.get(call_id)
            if call is None or call.state == CallState.ENDED:
                raise EngineError("no_such_call", "There is no such call.")
            return call
        # Without an id: the one call that fits, the newest first.
        for call in reversed(list(self._calls.values())):
            if call.state == CallState.ENDED:
                continue
            if direction == "in" and call.state != CallState.INCOMING:
                continue
            return call
        raise EngineError("no_such_call", "There is no call to act on.")

    def _answer(self, call_id: str | None) -> str:
        call = self._find_call(call_id, "in")
        if call.state != CallState.INCOMING:
            raise EngineError("no_such_call", "That call is not ringing.")
        prm = pj.CallOpParam()
        prm.statusCode = 200
        call.answer(prm)
        return call.talker_id

    def _connected_call(self, call_id: str | None) -> _Call:
        call = self._find_call(call_id)
        if call.state != CallState.CONNECTED:
            raise EngineError("no_such_call", "That call is not connected.")
        return call

    def _set_mute(self, call_id: str | None, on: bool) -> str:
        call = self._connected_call(call_id)
        call.muted = on
        if call.audio is not None:
            self._apply_mute(call)
        self._report_call(call)
        return call.talker_id

    def _microphone_level(self, call_id: str | None) -> float:
        call = self._connected_call(call_id)
        if call.muted or call.held or not call.sound or self.sound is None:
            return float("-inf")
        return self.sound.microphone_level

    def _set_hold(self, call_id: str | None, on: bool) -> str:
        call = self._connected_call(call_id)
        if on == call.held:
            return call.talker_id
        prm = pj.CallOpParam(True)
        try:
            if on:
                call.setHold(prm)
            else:
                prm.opt.flag = pj.PJSUA_CALL_UNHOLD
                call.reinvite(prm)
        except pj.Error as e:
            log.warning("hold %s refused: %s", on, e.reason)
            raise EngineError("call_failed", tr("engine.hold_refused")) from None
        call.held = on
        if call.audio is not None:
            self._apply_mute(call)
        self._report_call(call)
        return call.talker_id

    def _hangup(self, call_id: str | None, code: int | None, direction: str | None) -> str:
        call = self._find_call(call_id, direction)
        if direction == "in" and call.state != CallState.INCOMING:
            raise EngineError("no_such_call", "That call is not ringing.")
        # Noted before the hangup: pjsua reports the end from inside it.
        call.declined = call.state == CallState.INCOMING
        self._terminate(call, code)
        return call.talker_id

    def _terminate(self, call: _Call, code: int | None) -> None:
        prm = pj.CallOpParam()
        if code is not None:
            prm.statusCode = code
        try:
            call.hangup(prm)
        except pj.Error as e:
            log.debug("hangup of %s: %s", call.talker_id, e.info())

    def _on_call_state(self, call: _Call) -> None:
        try:
            ci = call.getInfo()
        except pj.Error:
            return
        state = _CALL_STATES.get(ci.state)
        if ci.state == pj.PJSIP_INV_STATE_EARLY and call.direction == "in":
            state = CallState.INCOMING  # our own 180 makes it "early": for the user it still rings
        if state is None or state == call.state:
            return  # repeated 180s and the like change nothing a user sees
        call.state = state
        if state == CallState.CONNECTED:
            call.answered = True
        code = ci.lastStatusCode or None
        reason = None
        if state == CallState.CONNECTED and call.dtmf_on_answer:
            digits, call.dtmf_on_answer = call.dtmf_on_answer, None
            # Give the far end's menu a moment to start listening.
            self._call_later(1.0, lambda: self._send_dtmf(call, digits))
        if state == CallState.ENDED:
            reason = ci.lastReason or None
            self._stop_media(call)
            # The pjsua2 Call must outlive this callback: drop it on the next loop turn.
            self._call_later(0, lambda cid=call.talker_id: self._calls.pop(cid, None))
        self._update_tones(call, code)
        self._report_call(call, code, reason, ci.remoteUri)

    def _update_tones(self, changed: _Call, code: int | None) -> None:
        """What the user hears besides the call: the ringtone on the ringer while a call rings
        here; ringback while the callee rings and sends no audio of its own (early media);
        a busy tone for a while when an outgoing call fails."""
        if self.sound is None:
            return
        calls = [c for c in self._calls.values() if c.state != CallState.ENDED]
        self._update_ringer()
        if any(c.direction == "out" and c.state == CallState.RINGING and c.audio is None for c in calls):
            if self._tone is not sound.RINGBACK:
                self._tone = sound.RINGBACK
                self.sound.speaker_tone(sound.RINGBACK)
        elif (changed.direction == "out" and changed.state == CallState.ENDED and not changed.answered
              and code is not None and code >= 400 and code != 487 and not calls):
            # 487: we gave up ourselves. Otherwise the callee is busy, declined or unreachable.
            self._tone = sound.BUSY
            self.sound.speaker_tone(sound.BUSY)
            self._call_later(sound.BUSY.duration_s, self._end_busy_tone)
        elif self._tone is sound.RINGBACK:
            self._tone = None
            self.sound.speaker_tone(None)

    def _update_ringer(self) -> None:
        self.sound.ring(not self._audio.ring_silently
                        and any(c.direction == "in" and c.state == CallState.INCOMING for c in self._calls.values()))

    def _set_audio_options(self, ring_silently: bool, echo_cancellation: bool) -> None:
        self._audio = dataclasses.replace(self._audio, ring_silently=ring_silently,
                                          echo_cancellation=echo_cancellation)
        if self.sound is None:
            return
        self.sound.set_echo_cancellation(echo_cancellation)
        self._update_ringer()

    def _end_busy_tone(self) -> None:
        if self._tone is sound.BUSY:
            self._tone = None
            self.sound.speaker_tone(None)

    def _on_call_tsx_state(self, call: _Call, prm) -> None:
        """A CANCEL of a ringing call arrives here before the call is reported ended."""
        e = prm.e
        if e.type != pj.PJSIP_EVENT_TSX_STATE:
            return
        tsx_event = e.body.tsxState
        if tsx_event.type != pj.PJSIP_EVENT_RX_MSG or tsx_event.tsx.method != "CANCEL":
            return
        if cancel_means_answered_elsewhere(tsx_event.src.rdata.wholeMsg):
            call.answered_elsewhere = True

    def _report_call(self, call: _Call, code: int | None = None, reason: str | None = None,
                     remote_uri: str | None = None) -> None:
        if remote_uri is None:
            try:
                remote_uri = call.getInfo().remoteUri
            except pj.Error:
                remote_uri = ""
        _, number, name = parse_name_addr(remote_uri)
        outcome = _outcome(call).value if call.state == CallState.ENDED else None
        event = CallEvent(call.talker_id, call.direction, call.state, number, name, code, reason,
                          call.muted, call.held, call.answered, outcome)
        log.info("call %s (%s %s): %s%s", call.talker_id, call.direction, number, call.state.value,
                 f" {code} {reason} ({outcome})" if call.state == CallState.ENDED else "")
        self._notify(self._listener.call_changed, event)

    def _on_dtmf_digit(self, call: _Call, digit: str) -> None:
        log.info("call %s: DTMF %s received", call.talker_id, digit)
        listen = getattr(self._listener, "dtmf_received", None)
        if listen is not None:
            self._notify(lambda d: listen(call.talker_id, d), digit)

    def _send_dtmf(self, call: _Call, digits: str) -> None:
        if call.state == CallState.CONNECTED:
            try:
                call.dialDtmf(digits)
            except pj.Error as e:
                log.warning("DTMF on %s failed: %s", call.talker_id, e.info())

    def _on_call_media_state(self, call: _Call) -> None:
        """Every media change - a re-INVITE or UPDATE from either side, hold and resume, the
        codec lock's re-offer when an answer lists several codecs - may give the call a new
        audio port in the conference bridge (the old one is removed with its connections):
        connect whatever port the call has now."""
        try:
            ci = call.getInfo()
        except pj.Error:
            return
        if call.state == CallState.ENDED or ci.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            # pjsua may report media once more as the call ends: wiring it again would start a
            # new recorder over the call's finished recording and hold the devices open.
            return
        for i, mi in enumerate(ci.media):
            if mi.type != pj.PJMEDIA_TYPE_AUDIO:
                continue
            if mi.status in (pj.PJSUA_CALL_MEDIA_ACTIVE, pj.PJSUA_CALL_MEDIA_LOCAL_HOLD,
                             pj.PJSUA_CALL_MEDIA_REMOTE_HOLD):
                aud = call.getAudioMedia(i)
                if aud.getPortId() != call.audio_port:
                    self._wire_audio(call, aud)
            elif call.audio is not None:
                self._unwire_audio(call)  # media gone (PJSUA_CALL_MEDIA_NONE or ERROR)
            self._update_tones(call, None)  # early media replaces ringback
            return  # one audio stream per call

    def _clock(self, on: bool) -> None:
        """Start or stop the clock that drives the conference bridge (the null device's)."""
        if on != self._clock_running:
            if on:
                self._ep.audDevManager().setNullDev()
            else:
                self._ep.audDevManager().setNoDev()   # joins the clock's thread
                self._clock_thread_states.release()
            self._clock_running = on

    def _wire_audio(self, call: _Call, aud: pj.AudioMedia) -> None:
        self._clock(True)
        adm = self._ep.audDevManager()
        audio = self._audio
        rewired = call.audio is not None
        call.audio, call.audio_port = aud, aud.getPortId()
        if not call.media:
            # Diagnostics that live as long as the call, whatever port it has.
            if audio.play_file is not None and not audio.echo:
                player = pj.AudioMediaPlayer()
                player.createPlayer(str(audio.play_file), 0)  # 0: loop
                call.media.append(player)
            if audio.record_dir is not None:
                recorder = pj.AudioMediaRecorder()
                recorder.createRecorder(str(Path(audio.record_dir) / f"call-{call.talker_id}.wav"))
                call.media.append(recorder)
        for item in call.media:
            if isinstance(item, pj.AudioMediaPlayer):
                item.startTransmit(aud)
            else:
                aud.startTransmit(item)
        if audio.echo:
            aud.startTransmit(aud)
        elif self._bridge is not None:
            if audio.play_file is None:
                self._bridge.startTransmit(aud)
            aud.startTransmit(self._bridge)
            if not call.sound:
                call.sound = True
                self.sound.acquire()
                self.sound.call_started()
                if self._sound_watch is None:
                    self._sound_watch = self._call_later(sound.STALL_S, self._watch_sound)
        else:
            if audio.play_file is None:
                adm.getCaptureDevMedia().startTransmit(aud)
            aud.startTransmit(adm.getPlaybackDevMedia())
        self._apply_mute(call)
        log.debug("call %s: audio %s port %s", call.talker_id, "moved to" if rewired else "on",
                  call.audio_port)

    def _apply_mute(self, call: _Call) -> None:
        # pjsua2 names levels from the port's side: a call port's rx level is what it receives
        # from the bridge, i.e. what the other side hears (measured: tx left the tone audible).
        # Muted, it is silence whatever the source (microphone, file); so it is while held: a
        # sendonly hold still carries RTP, and the other side must not hear the room.
        try:
            call.audio.adjustRxLevel(0.0 if call.muted or call.held else 1.0)
        except pj.Error as e:
            log.warning("muting call %s failed: %s", call.talker_id, e.info())

    def _watch_sound(self) -> None:
        """While calls carry audio: a sound device that stopped working hands the calls to the
        OS default (a timer of the engine's own, so an idle app has nothing to wake it)."""
        self._sound_watch = None
        if not any(c.sound for c in self._calls.values()):
            return
        broken = self.sound.stalled()
        if broken is not None:
            self.sound.fall_back_to_defaults(broken)
        self._sound_watch = self._call_later(sound.STALL_S / 2, self._watch_sound)

    def _unwire_audio(self, call: _Call) -> None:
        call.audio = call.audio_port = None
        if call.sound:
            call.sound = False
            self.sound.release()
        if not any(c.audio is not None for c in self._calls.values()):
            # Not at once: the bridge removes ports (a call's recorder, which writes its WAV
            # header as it goes) on its own clock's next tick; stopped now, they would linger.
            self._call_later(CLOCK_LINGER_S, self._stop_clock_when_idle)

    def _stop_clock_when_idle(self) -> None:
        if not any(c.audio is not None for c in self._calls.values()):
            self._clock(False)

    def _stop_media(self, call: _Call) -> None:
        # Players and recorders are closed (the WAV header written) when collected.
        self._unwire_audio(call)
        call.media.clear()

    def _notify(self, fn: Callable, event: Any) -> None:
        try:
            fn(event)
        except Exception:
            log.exception("engine listener failed on %s", event)


@contextlib.contextmanager
def _stdout_silenced():
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


_CALL_STATES = {
    pj.PJSIP_INV_STATE_CALLING: CallState.CALLING,
    pj.PJSIP_INV_STATE_INCOMING: CallState.INCOMING,
    pj.PJSIP_INV_STATE_EARLY: CallState.RINGING,
    pj.PJSIP_INV_STATE_CONFIRMED: CallState.CONNECTED,
    pj.PJSIP_INV_STATE_DISCONNECTED: CallState.ENDED,
}


def _outcome(call: _Call) -> CallOutcome:
    if call.answered:
        return CallOutcome.ANSWERED
    if call.direction == "out":
        return CallOutcome.UNANSWERED
    if call.declined:
        return CallOutcome.DECLINED
    if call.answered_elsewhere:
        return CallOutcome.ANSWERED_ELSEWHERE
    return CallOutcome.MISSED


_QUOTED_RE = re.compile(r'"(?:[^"\\]|\\.)*"')
_FOLD_RE = re.compile(r"\n[ \t]+")
_REASON_HEADER_RE = re.compile(r"reason[ \t]*:(.*)", re.IGNORECASE)


def cancel_means_answered_elsewhere(message: str) -> bool:
    """True when a CANCEL says that another branch of the call was answered: RFC 3326 §2, a
    forking proxy (Kamailio's tm among them) cancels the other branches with
    `Reason: SIP;cause=200;text="Call completed elsewhere"`. The text is only a hint; the cause
    decides. A caller who gives up sends no such Reason."""
    head = message.replace("\r\n", "\n").split("\n\n", 1)[0]
    for line in _FOLD_RE.sub(" ", head).split("\n")[1:]:
        m = _REASON_HEADER_RE.fullmatch(line.strip())
        if m is None:
            continue
        # A quoted text may hold commas and semicolons of its own.
        for value in _QUOTED_RE.sub('""', m.group(1)).split(","):
            protocol, *params = (part.strip() for part in value.split(";"))
            if protocol.upper() != "SIP":
                continue
            for param in params:
                name, _, cause = param.partition("=")
                if name.strip().lower() == "cause" and cause.strip().isdigit() and int(cause) == 200:
                    return True
    return False


def _registration_failure_reason(code: int, sip_reason: str, account: Account | None) -> str:
    server = account.server if account else "?"
    if code in _AUTH_FAILURE_CODES:
        return tr("reg.auth_failed", account=account.aor if account else "")
    if code in (0, 408):
        return tr("reg.no_answer", server=server)
    if code == 503:
        return tr("reg.unreachable", server=server)
    log.info("registration refused: %s %s", code, sip_reason)  # the reason phrase is for the log
    return tr("reg.refused", server=server, code=code)
