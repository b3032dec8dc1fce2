"""The OS's microphone and speaker for the SIP engine.

The pjsua2 wheels carry no sound-device backend on any OS, so pjsua2 runs on its null device and
this module connects its conference bridge to PortAudio (the `sounddevice` package: its Windows
and macOS wheels carry PortAudio; on Linux it is Debian's libportaudio2, which reaches
PulseAudio or PipeWire through ALSA):

    microphone --PortAudio input callback--> FrameBuffer --onFrameRequested--> the call
    the call --onFrameReceived--> FrameBuffer --PortAudio output callback--> speaker

Both sides exchange 20 ms frames of 16 kHz mono 16-bit PCM, each on its own clock: pjsua2's
media thread and the sound card's. A FrameBuffer between them absorbs the jitter of the two
clocks with a small depth and never lets latency grow: when the writer runs ahead, the oldest
frames are dropped (counted as overruns); when the reader runs ahead, it gets silence (counted as
underruns). The streams are open only while a call carries audio, so an idle app keeps no sound
device busy and wakes no thread.

FrameBuffer is pure (no I/O, no pjsua2, no PortAudio) and tested on its own.
"""

from __future__ import annotations

import collections
import logging
import math
import struct
import threading
from typing import Any

log = logging.getLogger(__name__)

RATE = 16000                     # Hz: wideband, the conference bridge's own rate
FRAME_MS = 20
FRAME_SAMPLES = RATE * FRAME_MS // 1000
FRAME_BYTES = FRAME_SAMPLES * 2  # 16-bit mono
SILENCE = bytes(FRAME_BYTES)


class FrameBuffer:
    """Fixed-size frames from one clock to another.

    `depth`: frames kept at most (older ones are dropped: latency never exceeds depth x 20 ms).
    `prefill`: frames the reader waits for after an underrun before it takes any, so that a
    writer slightly slower than the reader does not make every other frame silent.
    """

    def __init__(self, depth: int = 4, prefill: int = 1):
        if not 1 <= prefill <= depth:
            raise ValueError("prefill must be between 1 and depth")
        self._frames: collections.deque[bytes] = collections.deque()
        self._depth = depth
        self._prefill = prefill
        self._primed = False
        self._lock = threading.Lock()
        self.underruns = 0
        self.overruns = 0

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
            if not self._primed:
                if len(self._frames) < self._prefill:
                    return SILENCE
                self._primed = True
            if not self._frames:
                self._primed = False
                self.underruns += 1
                return SILENCE
            return self._frames.popleft()

    def clear(self) -> None:
        with self._lock:
            self._frames.clear()
            self._primed = False


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

    def __init__(self, input_device: Any = None, output_device: Any = None):
        self.input_device = input_device
        self.output_device = output_device
        self.microphone = FrameBuffer(depth=4, prefill=1)
        self.speaker = FrameBuffer(depth=4, prefill=2)
        self.muted = False
        self.microphone_level = -math.inf
        self._streams: list[Any] = []
        self._users = 0

    # --- pjsua2's side (its media thread) -------------------------------------------------
    def take_microphone_frame(self) -> bytes:
        frame = self.microphone.get()
        return SILENCE if self.muted else frame

    def give_speaker_frame(self, frame: bytes) -> None:
        self.speaker.put(frame)

    # --- PortAudio's side (its callback thread) -------------------------------------------
    def _on_input(self, data, frames, time_info, status) -> None:
        frame = bytes(data)
        self.microphone.put(frame)
        self.microphone_level = level_dbfs(frame)

    def _on_output(self, data, frames, time_info, status) -> None:
        frame = self.speaker.get()
        data[:] = frame if len(frame) == len(data) else frame[:len(data)].ljust(len(data), b"\0")

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

    def _open(self) -> None:
        self.microphone.clear()
        self.speaker.clear()
        common = dict(samplerate=RATE, blocksize=FRAME_SAMPLES, channels=1, dtype="int16",
                      latency="low")
        try:
            # Imported when a call first needs it: PortAudio costs memory and a thread.
            import sounddevice  # OSError when the PortAudio library itself is missing

            self._streams = [
                sounddevice.RawInputStream(device=self.input_device, callback=self._on_input, **common),
                sounddevice.RawOutputStream(device=self.output_device, callback=self._on_output, **common),
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
        for stream in streams:
            try:
                stream.close()
            except Exception as e:
                log.warning("closing a sound stream failed: %s", e)

    def reset(self) -> None:
        """The engine stops: close the devices whoever had them."""
        self._users = 0
        self._close()

    @property
    def is_open(self) -> bool:
        return bool(self._streams)
