"""Tones into calls and their detection at the other end (Goertzel on the recorded WAV)."""

from __future__ import annotations

import array
import math
import time
import wave
from pathlib import Path


def write_tone(path: Path, freq_hz: float, seconds: float = 2.0, rate: int = 16000,
               amplitude: float = 0.4) -> Path:
    n = int(seconds * rate)
    samples = array.array("h", (int(amplitude * 32767 * math.sin(2 * math.pi * freq_hz * i / rate))
                                for i in range(n)))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return path


def read_wav(path: Path, timeout: float = 5.0) -> tuple[array.array, int]:
    """The recording, once its writer has closed it: pjmedia writes the WAV header when the
    recorder is destroyed, a moment after the call's end is reported."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with wave.open(str(path), "rb") as w:
                assert w.getsampwidth() == 2 and w.getnchannels() == 1, "16-bit mono expected"
                rate = w.getframerate()
                samples = array.array("h", w.readframes(w.getnframes()))
            return samples, rate
        except (wave.Error, EOFError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def goertzel_power(samples, rate: int, freq_hz: float) -> float:
    """Normalised power of one frequency in `samples` (Goertzel)."""
    n = len(samples)
    if n == 0:
        return 0.0
    k = round(n * freq_hz / rate)
    w = 2 * math.pi * k / n
    coeff = 2 * math.cos(w)
    s1 = s2 = 0.0
    for x in samples:
        s0 = x + coeff * s1 - s2
        s2, s1 = s1, s0
    return (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (n * n)


def tone_report(path: Path, freqs: list[float], skip_s: float = 0.5) -> dict[float, float]:
    """Power at each frequency in the recording, after the first `skip_s` seconds."""
    samples, rate = read_wav(path)
    samples = samples[int(skip_s * rate):]
    return {f: goertzel_power(samples, rate, f) for f in freqs}


def dominant(path: Path, expected: float, others: list[float]) -> bool:
    """True when `expected` is clearly present and stronger than every other candidate."""
    report = tone_report(path, [expected, *others])
    top = report[expected]
    return top > 1.0 and all(top > 20 * report[f] for f in others)
