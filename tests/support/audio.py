"""Tones into calls and their detection at the other end (Goertzel on the recorded WAV).

Levels are in dBFS: 0 dB is a full-scale square wave, so a full-scale sine is -3 dBFS and the
tones written here (amplitude 0.4) are about -11 dBFS. Stdlib only: numpy is no dependency."""

from __future__ import annotations

import array
import math
import time
import wave
from pathlib import Path


FULL_SCALE = 32768.0
SILENCE_DB = -120.0  # what a window of digital zeros measures, instead of minus infinity


def sine(freq_hz: float, n: int, rate: int, amplitude: float = 0.4, start: int = 0) -> array.array:
    """`n` 16-bit samples of a sine, from sample `start` on: consecutive calls with a running
    `start` join without a click."""
    step = 2 * math.pi * freq_hz / rate
    scale = amplitude * 32767
    return array.array("h", (int(scale * math.sin(step * i)) for i in range(start, start + n)))


def write_wav(path: Path, samples: array.array, rate: int) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return path


def write_tone(path: Path, freq_hz: float, seconds: float = 2.0, rate: int = 16000,
               amplitude: float = 0.4) -> Path:
    samples = sine(freq_hz, int(seconds * rate), rate, amplitude)
    return write_wav(path, samples, rate)


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


def heard(path: Path, freq_hz: float, start_s: float, end_s: float,
          others: tuple[float, ...] = (400.0, 700.0, 2200.0), min_share: float = 0.25) -> bool:
    """Whether `freq_hz` stands out in the recording between `start_s` and `end_s` (seconds;
    counted back from the recording's end when not positive): in at least `min_share` of its
    0.1 s windows, above -40 dBFS and 17 dB over each of `others`. Windows, because a tone
    that comes and goes (ringback, busy) restarts its phase and would cancel itself out over
    a long one."""
    samples, rate = read_wav(path)
    total = len(samples) / rate
    start_s = total + start_s if start_s < 0 else start_s
    end_s = total + end_s if end_s <= 0 else end_s
    window = samples[int(start_s * rate):int(end_s * rate)]
    assert len(window) > rate // 2, f"the recording is too short ({total:.1f} s) for that window"
    size = rate // 10
    chunks = [window[i:i + size] for i in range(0, len(window) - size + 1, size)]
    standing_out = 0
    for chunk in chunks:
        level = tone_level_db(chunk, rate, freq_hz)
        if level > -40.0 and all(level > tone_level_db(chunk, rate, f) + 17.0 for f in others):
            standing_out += 1
    return standing_out >= min_share * len(chunks)


def _db(amplitude: float) -> float:
    return 20 * math.log10(amplitude / FULL_SCALE) if amplitude > 0 else SILENCE_DB


def tone_level_db(samples, rate: int, freq_hz: float) -> float:
    """Level of one frequency in dBFS (the RMS of that component alone): a pure tone measures
    what rms_db says, other sounds next to nothing. Exact when the window holds whole periods
    of the tone, otherwise a little low."""
    power = goertzel_power(samples, rate, freq_hz)
    # A sine of amplitude A yields power A**2 / 4 in its own bin; its RMS is A / sqrt(2).
    return max(_db(math.sqrt(2 * max(power, 0.0))), SILENCE_DB)


def rms_db(samples) -> float:
    """Loudness of everything in `samples`, in dBFS."""
    if len(samples) == 0:
        return SILENCE_DB
    return max(_db(math.sqrt(sum(x * x for x in samples) / len(samples))), SILENCE_DB)


def tone_timeline(samples, rate: int, freq_hz: float, window_s: float = 0.01,
                  step_s: float | None = None) -> list[tuple[float, float]]:
    """(start time in s, level of `freq_hz` in dBFS) for each window: where a tone comes, goes
    or fades. The default 10 ms windows hold whole periods of any tone at a multiple of 100 Hz."""
    size = max(1, round(window_s * rate))
    step = max(1, round((step_s or window_s) * rate))
    return [(i / rate, tone_level_db(samples[i:i + size], rate, freq_hz))
            for i in range(0, len(samples) - size + 1, step)]


def tone_onset(samples, rate: int, freq_hz: float, threshold_db: float = -40.0,
               window_s: float = 0.01, hold_s: float = 0.05) -> float | None:
    """Seconds from the recording's start to the first window where `freq_hz` is at least
    `threshold_db` and stays there for `hold_s` (a click or a burst of noise is no onset), or
    None. Resolution: half a window."""
    timeline = tone_timeline(samples, rate, freq_hz, window_s, window_s / 2)
    need = max(1, round(hold_s / (window_s / 2)))
    run = 0
    for i, (_, level) in enumerate(timeline):
        run = run + 1 if level >= threshold_db else 0
        if run == need:
            return timeline[i - need + 1][0]
    return None
