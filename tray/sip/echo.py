"""Echo cancellation and noise suppression for a call without a headset.

What the speaker plays reaches the microphone again and the far end hears itself, a fraction of
a second late. WebRTC's audio processing module (AEC3 echo canceller, noise suppressor, high-pass
filter; the `pywebrtc-audio` package, whose wheels carry it for Linux, Windows and macOS) takes
each microphone frame together with what was played at about the same time and returns the
microphone without the echo. AEC3 finds the delay between the two by itself (measured here: it
cancels an echo 60 to 500 ms late just as well), so the speaker frames only need to be handed
over in order, not aligned.

How tray/sip/sound.py uses it (two PortAudio callbacks, one per stream):

    before the streams start:  canceller.prepare()                    # the import, off the audio threads
    output callback:  frame = ...; canceller.played(frame)      # exactly what goes to the speaker
    input callback:   frame = canceller.process(bytes(data))    # before FrameBuffer.put

`prepare` loads the library (about 75 ms and 18 MB the first time, measured here): done in a
callback, the first frame would be late and PortAudio would drop input. `played` only queues
the frame (any thread); `process` runs the processor and must always be called from one thread
(the microphone's callback): the processor is not thread-safe. Frames are 16-bit mono PCM of
`frame_samples` samples at `rate`, a multiple of 10 ms. Call `reset()` when a call starts: an
echo path learnt for the last call is wrong for the next one.

Off (`enabled = False`, TALKER_ECHO_CANCEL=0, or the setting), `process` returns the microphone
frame untouched and nothing is imported: the module costs nothing. When the library cannot be
loaded, the call goes on with the microphone as it is and the log says so once.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
from collections.abc import Mapping
from typing import Any

log = logging.getLogger(__name__)

ENV = "TALKER_ECHO_CANCEL"   # "0" turns cancellation off, anything else (or unset) leaves it on


def wanted(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the environment asks for cancellation: on unless TALKER_ECHO_CANCEL=0. On by
    default because a laptop's own speakers and microphone are the common case, and a headset
    user loses nothing but a little CPU (about 0.2 ms per 20 ms frame here)."""
    return environ.get(ENV, "1").strip() != "0"


class EchoCanceller:
    """Removes what the speaker played from the microphone, and steady background noise.

    `reference_depth`: speaker frames kept waiting for their microphone frame. The two streams
    run on one sound card's clock, so the queue stays short; when they drift apart, the oldest
    reference frames are dropped, and AEC3 re-estimates the delay within a second.
    """

    def __init__(self, rate: int = 16000, frame_samples: int = 320, *, enabled: bool = True,
                 noise_suppression: bool = True, reference_depth: int = 10):
        if rate % 100 or frame_samples <= 0 or frame_samples % (rate // 100):
            raise ValueError("frames must be a whole number of 10 ms blocks")
        self.rate = rate
        self.frame_samples = frame_samples
        self.frame_bytes = frame_samples * 2
        self.noise_suppression = noise_suppression
        self._silence = bytes(self.frame_bytes)
        self._reference: collections.deque[bytes] = collections.deque(maxlen=reference_depth)
        self._processor: Any = None
        self._np: Any = None
        self._available: bool | None = None     # None: not tried yet
        self._reset_pending = False
        self._loading = threading.Lock()
        self._enabled = enabled

    # --- switch -------------------------------------------------------------------------
    @property
    def enabled(self) -> bool:
        return self._enabled

    @enabled.setter
    def enabled(self, on: bool) -> None:
        if on and not self._enabled:
            # What was learnt before the pause no longer describes the room.
            self.reset()
        self._enabled = bool(on)

    @property
    def available(self) -> bool | None:
        """False once the library failed to load; None until it was first needed."""
        return self._available

    @property
    def active(self) -> bool:
        """Whether frames are really being processed (on, and the library loaded)."""
        return self._enabled and self._available is True

    def prepare(self) -> bool:
        """Load the library now if it is on and not loaded yet; whether it is active. Call it
        from the thread that opens the streams, before they start."""
        if self._enabled and self._available is None:
            with self._loading:
                if self._available is None:
                    self._load()
        return self.active

    def reset(self) -> None:
        """Forget the echo path and the queued speaker frames (a new call). Any thread: the
        processor itself is reset by the next `process`, on its own thread."""
        self._reference.clear()
        self._reset_pending = True

    # --- the two streams ----------------------------------------------------------------
    def played(self, frame: bytes) -> None:
        """The speaker is about to play `frame` (the far end's voice, a tone, or silence)."""
        if self._enabled:
            self._reference.append(frame)

    def process(self, mic_frame: bytes, speaker_frame: bytes | None = None) -> bytes:
        """The microphone frame without the echo of what was played. `speaker_frame`, when
        given, is used as the reference instead of the oldest frame `played` queued."""
        if not self._enabled:
            return mic_frame
        if speaker_frame is None:
            speaker_frame = self._reference.popleft() if self._reference else self._silence
        if len(mic_frame) != self.frame_bytes:
            return mic_frame    # a short block at a stream's end: too little to process
        if self._available is None:
            self.prepare()      # nobody called prepare(): late, but better than no cancelling
        processor = self._processor
        if processor is None:
            return mic_frame
        if self._reset_pending:
            self._reset_pending = False
            processor.reset()
        np = self._np
        if len(speaker_frame) != self.frame_bytes:
            speaker_frame = speaker_frame[:self.frame_bytes].ljust(self.frame_bytes, b"\0")
        try:
            out = processor.process(np.frombuffer(mic_frame, dtype=np.int16),
                                    np.frombuffer(speaker_frame, dtype=np.int16))
        except Exception as e:   # never lose the call's audio to the canceller
            log.error("echo cancellation failed (%s): the microphone is sent as it is", e)
            self._available = False
            self._processor = None
            return mic_frame
        return out.tobytes()

    def _load(self) -> None:
        try:
            # Imported on first use: numpy and the WebRTC module cost memory a user with the
            # canceller off should not pay.
            import numpy
            from pywebrtc_audio import AudioProcessor

            self._np = numpy
            self._processor = AudioProcessor(
                sample_rate=self.rate, num_channels=1, echo_cancellation=True,
                noise_suppression=self.noise_suppression, high_pass_filter=True,
                # Level 1 (12 dB at most): more starts to thin a voice out.
                ns_level=1)
        except Exception as e:  # ImportError, OSError from a missing shared library, ValueError
            log.warning("echo cancellation is unavailable (%s): the microphone is sent as it "
                        "is; use a headset", e)
            self._available = False
            return
        self._reset_pending = False
        self._available = True
        log.info("echo cancellation on (WebRTC AEC3%s)",
                 ", noise suppression" if self.noise_suppression else "")
