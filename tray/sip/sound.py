"""The OS's microphone and speaker for the SIP engine.

The pjsua2 wheels carry no sound-device backend on any OS, so pjsua2 runs on its null device and
this module connects its conference bridge to PortAudio (the `sounddevice` package: its Windows
and macOS wheels carry PortAudio; on Linux it is Debian's libportaudio2, which reaches
PulseAudio or PipeWire through ALSA):

    microphone --PortAudio input callback--> echo canceller --> FrameBuffer --onFrameRequested--> the call
    the call --onFrameReceived--> FrameBuffer --PortAudio output callback--> speaker (and, as
    the echo canceller's reference, what was played)

Both sides exchange 20 ms frames of 16 kHz mono 16-bit PCM, each on its own clock: pjsua2's
media thread and the sound card's. A FrameBuffer between them absorbs the jitter of the two
clocks with a small depth and never lets latency grow: when the writer runs ahead, the oldest
frames are dropped (counted as overruns); when the reader runs ahead, it gets silence (counted as
underruns). The streams are open only while a call carries audio, so an idle app keeps no sound
device busy and wakes no thread.

FrameBuffer is pure (no I/O, no pjsua2, no PortAudio) and tested on its own.
"""

from __future__ import annotations

import array
import collections
import functools
import logging
import math
import struct
import sys
import threading
import time
from typing import Any

from tray.sip.echo import EchoCanceller
from tray.threadnames import name_this_thread

log = logging.getLogger(__name__)

RATE = 16000                     # Hz: wideband, the conference bridge's own rate
FRAME_MS = 20
FRAME_SAMPLES = RATE * FRAME_MS // 1000
FRAME_BYTES = FRAME_SAMPLES * 2  # 16-bit mono
SILENCE = bytes(FRAME_BYTES)
STALL_S = 1.0                    # a stream that has not called back for this long is broken
READY_WAIT_S = 5.0               # at most this long for the app to list the devices, once


class FrameBuffer:
    """Fixed-size frames from one clock to another.

    `depth`: frames kept at most (older ones are dropped: latency never exceeds depth x 20 ms).
    `prefill`: frames the reader waits for after an underrun before it takes any, so that a
    writer slightly slower than the reader does not make every other frame silent.
    `settle`: reads after which a frame that was spare at every one of them is dropped. The
    prefill is a guess at the two clocks' jitter; a frame that was never needed for `settle`
    reads only delays the sound by 20 ms, so the buffer sheds it. After an underrun it waits
    twice as long before it sheds again (up to a minute), so a jittery pair of clocks keeps
    its cushion instead of losing and regaining it every few seconds.
    """

    MAX_SETTLE = 3000   # reads: a minute of 20 ms frames

    def __init__(self, depth: int = 4, prefill: int = 1, settle: int = 50):
        if not 1 <= prefill <= depth:
            raise ValueError("prefill must be between 1 and depth")
        self._frames: collections.deque[bytes] = collections.deque()
        self._depth = depth
        self._prefill = prefill
        self._primed = False
        self._lock = threading.Lock()
        self._first_settle = self._settle = settle
        self._reads = 0
        self._lowest = depth     # the fewest frames seen at a read since the last shedding
        self.underruns = 0
        self.overruns = 0
        self.shed = 0

    def __len__(self) -> int:
        return len(self._frames)

    def put(self, frame: bytes) -> None:
        with self._lock:
            self._frames.append(frame)
            while len(self._frames) > self._depth:
                self._frames.popleft()
                self.overruns += 1

    def get(self) -> bytes:
        """The oldest frame, or silence when there is none yet."""
        with self._lock:
            frames = self._frames
            if not self._primed:
                if len(frames) < self._prefill:
                    return SILENCE
                self._primed = True
            if not frames:
                self._primed = False
                self.underruns += 1
                self._settle = min(2 * self._settle, self.MAX_SETTLE)
                self._reads, self._lowest = 0, self._depth
                return SILENCE
            self._lowest = min(self._lowest, len(frames))
            self._reads += 1
            if self._reads >= self._settle:
                if self._lowest >= 2:
                    frames.popleft()
                    self.shed += 1
                self._reads, self._lowest = 0, self._depth
            return frames.popleft()

    def clear(self) -> None:
        """Empty, counters at zero."""
        with self._lock:
            self._frames.clear()
            self._primed = False
            self.underruns = self.overruns = self.shed = 0
            self._settle, self._reads, self._lowest = self._first_settle, 0, self._depth


class Cadence:
    """A call-progress tone as 20 ms frames: `freqs` (Hz) summed, on for `on_ms`, then off for
    `off_ms`, `times` cycles (None: until stopped). Made here, from nothing but arithmetic, when
    first played (a few tens of thousands of sines: not a cost for every start of the app)."""

    def __init__(self, freqs: tuple[float, ...], on_ms: int, off_ms: int, times: int | None = None,
                 level_dbfs: float = -14.0):
        self._shape = (freqs, on_ms, off_ms, level_dbfs)
        self.times = times

    @functools.cached_property
    def _frames(self) -> list[bytes]:
        freqs, on_ms, off_ms, level_dbfs = self._shape
        amplitude = 32767 * 10 ** (level_dbfs / 20) / len(freqs)
        on = on_ms * RATE // 1000
        # Sample by sample into an array: a list of them would be thousands of int objects at
        # once, and the memory they leave behind stays with the app all day (bench/idle.py).
        samples = array.array("h", bytes(2 * on))
        for i in range(on):
            samples[i] = int(sum(amplitude * math.sin(2 * math.pi * f * i / RATE) for f in freqs))
        # A 5 ms fade at each end: a tone that starts or stops mid-wave clicks.
        fade = min(RATE // 200, on // 2)
        for i in range(fade):
            samples[i] = int(samples[i] * i / fade)
            samples[on - 1 - i] = int(samples[on - 1 - i] * i / fade)
        if sys.byteorder == "big":
            samples.byteswap()   # frames are little-endian
        cycle = samples.tobytes() + bytes(off_ms * RATE // 1000 * 2)
        cycle += bytes(-len(cycle) % FRAME_BYTES)
        frames = (cycle[i:i + FRAME_BYTES] for i in range(0, len(cycle), FRAME_BYTES))
        # The pauses (four fifths of the ringback) are all one frame of silence, kept once.
        return [SILENCE if frame == SILENCE else frame for frame in frames]

    @property
    def duration_s(self) -> float | None:
        return None if self.times is None else self.times * len(self._frames) * FRAME_MS / 1000

    def frames_once(self):
        yield from self._frames

    def frames(self):
        cycles = 0
        while self.times is None or cycles < self.times:
            yield from self._frames
            cycles += 1


# The tones a caller knows (ITU-T E.180 for Russia and most of Europe: 425 Hz), and a ring of
# the app's own, two tones that a desk full of phones does not already ring with.
RINGBACK = Cadence((425.0,), 800, 3200)
BUSY = Cadence((425.0,), 350, 350, times=4)
RINGTONE = Cadence((784.0, 988.0), 400, 200, level_dbfs=-8.0)
RINGTONE_PAUSE_FRAMES = 90      # after each pair of rings: 1.8 s of silence


def prepare_tones() -> None:
    """Make the tones' frames now (once, some milliseconds), so that the first ring of the app's
    life is not made inside the sound device's callback."""
    for cadence in (RINGBACK, BUSY, RINGTONE):
        cadence._frames  # noqa: B018 - made and kept on first use


def level_dbfs(frame: bytes) -> float:
    """The RMS level of a 16-bit frame in dBFS (-inf for digital silence)."""
    count = len(frame) // 2
    if not count:
        return -math.inf
    samples = struct.unpack("<%dh" % count, frame[: count * 2])
    mean_square = sum(s * s for s in samples) / count
    return 10 * math.log10(mean_square / (32768.0 * 32768.0)) if mean_square else -math.inf


class SoundDevices:
    """The microphone and the speaker, opened while at least one call carries audio.

    `input_device`/`output_device`: a PortAudio device name or index; None is the OS default.
    `port_factory` makes the conference-bridge port (the SIP engine passes one that subclasses
    pj.AudioMediaPort; see tray/sip/engine.py): it calls `take_microphone_frame` and
    `give_speaker_frame` from pjsua2's media thread.
    """

    def __init__(self, input_device: Any = None, output_device: Any = None, *,
                 echo_cancellation: bool = True, ready: threading.Event | None = None):
        """`ready`: PortAudio is not started before it is set (the devices it should list are
        being made reachable), nor longer than READY_WAIT_S after the first opening."""
        self._ready = ready
        self.input_device = input_device
        self.output_device = output_device
        self.microphone = FrameBuffer(depth=4, prefill=1)
        self.speaker = FrameBuffer(depth=4, prefill=2)   # sheds the second frame when not needed
        self._last_microphone = SILENCE   # for the level meter, measured only when asked
        self.ringer_device: Any = None
        self._streams: list[Any] = []
        self._users = 0
        self._speaker_tone = None     # frames of a tone played instead of the call, or None
        self._tone_holds = False      # the tone keeps the devices open
        self._ringer = None           # the ringer's own stream while a call rings
        self._threads_named = [False, False]   # the microphone's and the speaker's callback threads
        # Echo cancellation and noise suppression on the microphone, against what the speaker
        # plays (tray/sip/echo.py).
        self.echo = EchoCanceller(RATE, FRAME_SAMPLES, enabled=echo_cancellation)

    # --- pjsua2's side (its media thread) -------------------------------------------------
    def take_microphone_frame(self) -> bytes:
        return self.microphone.get()

    def give_speaker_frame(self, frame: bytes) -> None:
        self.speaker.put(frame)

    # --- PortAudio's side (its callback thread) -------------------------------------------
    def _on_input(self, data, frames, time_info, status) -> None:
        if not self._threads_named[0]:
            self._threads_named[0] = True
            name_this_thread("microphone")
        self._input_seen = time.monotonic()
        frame = self.echo.process(bytes(data))
        self.microphone.put(frame)
        self._last_microphone = frame

    def _on_output(self, data, frames, time_info, status) -> None:
        if not self._threads_named[1]:
            self._threads_named[1] = True
            name_this_thread("speaker")
        self._output_seen = time.monotonic()
        tone = self._speaker_tone
        frame = next(tone, SILENCE) if tone is not None else self.speaker.get()
        frame = frame if len(frame) == len(data) else frame[:len(data)].ljust(len(data), b"\0")
        self.echo.played(frame)
        data[:] = frame

    # --- opened while calls need them -------------------------------------------------------
    def acquire(self) -> None:
        """A call starts carrying audio: open the devices if nobody had them open."""
        self._users += 1
        if self._users == 1:
            self._open()

    def release(self) -> None:
        self._users = max(0, self._users - 1)
        if self._users == 0:
            self._close()

    def _sounddevice(self):
        """PortAudio's module, imported when a call first needs it (it costs memory and a
        thread), and only once the devices it should list are reachable (`ready`): PortAudio
        lists them when it starts. OSError when the PortAudio library itself is missing."""
        if self._ready is not None:
            if not self._ready.wait(READY_WAIT_S):
                log.warning("the sound devices were not listed within %g s: PortAudio starts anyway",
                            READY_WAIT_S)
            self._ready = None
        import sounddevice

        return sounddevice

    def _open(self, *, on_defaults: bool = False) -> None:
        self.microphone.clear()
        self.speaker.clear()
        self._input_seen = self._output_seen = time.monotonic()
        self._threads_named = [False, False]    # new streams call back on new threads
        input_device, output_device = (None, None) if on_defaults else (self.input_device, self.output_device)
        # PortAudio keeps two 20 ms blocks in flight each way (40 ms, whatever latency is asked
        # for). Smaller blocks did not lower the microphone's delay here, and on the speaker the
        # ALSA-PulseAudio path then underran many times a second on a busy machine (measured).
        common = dict(samplerate=RATE, blocksize=FRAME_SAMPLES, channels=1, dtype="int16",
                      latency="low")
        try:
            sounddevice = self._sounddevice()
            self.echo.prepare()  # loads its library here, not on an audio thread
            self._streams = [
                sounddevice.RawInputStream(device=input_device, callback=self._on_input, **common),
                sounddevice.RawOutputStream(device=output_device, callback=self._on_output, **common),
            ]
            for stream in self._streams:
                stream.start()
        except Exception as e:  # PortAudioError, or no device at all: the call goes on silent
            log.error("the sound devices cannot be opened (%s): the call has no audio", e)
            self._close()
            return
        log.info("sound devices open: microphone %s, speaker %s",
                 self._streams[0].device, self._streams[1].device)

    def _close(self) -> None:
        streams, self._streams = self._streams, []
        if streams:
            # The bench (bench/audio_path.py) reads this line.
            log.info("sound: closed; microphone %d underruns %d overruns, speaker %d underruns "
                     "%d overruns; frames shed to keep latency down: microphone %d, speaker %d",
                     self.microphone.underruns, self.microphone.overruns, self.speaker.underruns,
                     self.speaker.overruns, self.microphone.shed, self.speaker.shed)
        for stream in streams:
            try:
                stream.close()
            except Exception as e:
                log.warning("closing a sound stream failed: %s", e)

    def stalled(self) -> str | None:
        """Which open stream stopped working ("microphone", "speaker"), or None. A device that
        is unplugged either ends its stream (WASAPI, a dead sound server) or just stops calling
        back (Core Audio; a suspended PulseAudio sink): both show here within STALL_S."""
        if not self._streams:
            return None
        now = time.monotonic()
        for role, stream, seen in (("microphone", self._streams[0], self._input_seen),
                                   ("speaker", self._streams[1], self._output_seen)):
            if not stream.active or now - seen > STALL_S:
                return role
        return None

    def fall_back_to_defaults(self, role: str) -> None:
        """A stream stopped working: the call moves to the OS's default devices (PortAudio is
        started again first, so that it knows what the default is now) and stays up. The
        chosen devices are tried again when the devices are next opened or chosen."""
        log.warning("the %s stopped working (unplugged?): the call moves to the OS default devices", role)
        self._close()
        _restart_portaudio()
        self._open(on_defaults=True)

    def call_started(self) -> None:
        """A call's audio starts flowing: what the microphone said before (while ringback
        played, say) is not sent, and the counters count this call."""
        self.microphone.clear()
        self.speaker.clear()
        self.echo.reset()

    # --- tones -------------------------------------------------------------------------------
    def speaker_tone(self, cadence: Cadence | None) -> None:
        """Play `cadence` on the speaker instead of the call (ringback, busy), or stop it."""
        if cadence is None:
            self._speaker_tone = None
            if self._tone_holds:
                self._tone_holds = False
                self.release()
            return
        self._speaker_tone = cadence.frames()
        if not self._tone_holds:
            self._tone_holds = True
            self.acquire()

    def ring(self, on: bool) -> None:
        """The ringtone on the ringer device (None: the OS default output), while `on`."""
        if not on:
            stream, self._ringer = self._ringer, None
            if stream is not None:
                try:
                    stream.close()
                except Exception as e:
                    log.warning("closing the ringer failed: %s", e)
            return
        if self._ringer is not None:
            return
        frames = _ring_frames()
        try:
            sounddevice = self._sounddevice()

            def on_ring(data, count, time_info, status):
                data[:] = next(frames)

            self._ringer = sounddevice.RawOutputStream(
                device=self.ringer_device, samplerate=RATE, blocksize=FRAME_SAMPLES, channels=1,
                dtype="int16", callback=on_ring)
            self._ringer.start()
        except Exception as e:
            log.error("the ringer cannot be opened (%s): the call rings silently", e)
            self._ringer = None

    def use(self, input_device: Any, output_device: Any, ringer_device: Any) -> None:
        """Use these devices from now on (None: the OS default), a call in progress and a
        ringing call too. PortAudio lists the OS's devices only when it starts: a name it does
        not know (a device plugged in since) makes it start again, its streams closed first."""
        self.ringer_device = ringer_device
        sounddevice = sys.modules.get("sounddevice")  # not imported yet: it will see them all
        if sounddevice is not None:
            try:
                known = {d["name"] for d in sounddevice.query_devices()}
            except Exception:
                known = set()
            names = (input_device, output_device, ringer_device)
            if any(n is not None and n not in known for n in names):
                ringing, was_open = self._ringer is not None, self.is_open
                self.ring(False)
                self._close()
                _restart_portaudio()
                self.input_device, self.output_device = input_device, output_device
                if was_open:
                    self._open()
                if ringing:
                    self.ring(True)
                return
        if (self.input_device, self.output_device) != (input_device, output_device):
            self.switch(input_device, output_device)
        elif self._ringer is not None:
            self.ring(False)  # the ringer may have moved: ring again where it is now
            self.ring(True)

    def switch(self, input_device: Any = None, output_device: Any = None) -> None:
        """Use other devices (None: the OS default) from now on; a call in progress moves to
        them at once and stays up. Thread-safe enough: the streams are replaced as a whole."""
        self.input_device, self.output_device = input_device, output_device
        if self._users:
            self._close()
            self._open()

    def set_echo_cancellation(self, on: bool) -> None:
        """Turn echo cancellation on or off, a call in progress too (its library is loaded
        here, not on the microphone's thread)."""
        self.echo.enabled = on
        if on and self._streams:
            self.echo.prepare()

    def reset(self) -> None:
        """The engine stops: close the devices whoever had them."""
        self.ring(False)
        self._speaker_tone, self._tone_holds = None, False
        self._users = 0
        self._close()

    @property
    def is_open(self) -> bool:
        return bool(self._streams)

    @property
    def microphone_level(self) -> float:
        """The microphone's level now, after echo cancellation, in dBFS (-inf while no call
        has the devices open): the call window's level meter."""
        if not self._streams:
            return -math.inf
        return level_dbfs(self._last_microphone)


def _restart_portaudio() -> None:
    """PortAudio lists the OS's devices (and learns the default) only when it starts."""
    sounddevice = sys.modules.get("sounddevice")
    if sounddevice is None:
        return
    try:
        sounddevice._terminate()
        sounddevice._initialize()
    except Exception as e:
        log.error("PortAudio cannot start again: %s", e)
        return
    log.info("PortAudio started again to see the sound devices as they are now")


def _ring_frames():
    """The ringtone: two rings, then a pause, for as long as it is asked for."""
    while True:
        yield from RINGTONE.frames_once()
        yield from RINGTONE.frames_once()
        for _ in range(RINGTONE_PAUSE_FRAMES):
            yield SILENCE
