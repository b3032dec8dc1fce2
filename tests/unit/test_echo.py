"""The echo canceller (tray/sip/echo.py) on synthetic signals: the far end's tone comes back into
the microphone late and quieter, as from a laptop's speakers, and must not reach the far end
again; the near end's own voice must; silence stays silence; off, nothing changes. (What
loading it costs a process: tests/integration/test_echo_loading.py.)"""

from __future__ import annotations

import array
import math
import time

import pytest

from tests.support.audio import rms_db, sine, tone_level_db
from tray.sip.echo import ENV, EchoCanceller, wanted

RATE, FRAME = 16000, 320
FAR_TONE, NEAR_TONE = 440.0, 1000.0


def echo_of(far: array.array, delay_ms: int, gain_db: float = -6.0) -> array.array:
    """What the microphone picks up of `far`: `delay_ms` late, `gain_db` quieter."""
    delay = delay_ms * RATE // 1000
    gain = 10 ** (gain_db / 20)
    return array.array("h", [0] * delay + [int(s * gain) for s in far[:len(far) - delay]])


def syllables(freq_hz: float, n: int, amplitude: float = 0.1) -> array.array:
    """A voice-like tone: 200 ms on, 100 ms off. A voice comes and goes; a steady tone is what
    a noise suppressor is meant to take for a fan and remove."""
    tone = sine(freq_hz, n, RATE, amplitude)
    return array.array("h", [s if (i // (RATE // 10)) % 3 != 2 else 0 for i, s in enumerate(tone)])


def mix(*signals: array.array) -> array.array:
    return array.array("h", [max(-32768, min(32767, sum(t))) for t in zip(*signals, strict=False)])


def run(canceller: EchoCanceller, mic: array.array, far: array.array) -> tuple[array.array, float]:
    """Feed both streams frame by frame as the sound callbacks do; the output and the CPU
    time per frame (after the first, which loads the library)."""
    out = array.array("h")
    cpu = 0.0
    for i in range(0, len(mic), FRAME):
        canceller.played(far[i:i + FRAME].tobytes())
        start = time.process_time()
        out.frombytes(canceller.process(mic[i:i + FRAME].tobytes()))
        if i:
            cpu += time.process_time() - start
    return out, cpu / max(1, len(mic) // FRAME - 1)


def seconds(samples: array.array, start: float, end: float | None = None) -> array.array:
    return samples[int(start * RATE):None if end is None else int(end * RATE)]


@pytest.mark.parametrize("delay_ms", [60, 250])
def test_the_far_end_does_not_hear_itself_once_the_canceller_has_converged(delay_ms):
    far = sine(FAR_TONE, 6 * RATE, RATE, 0.3)
    mic = echo_of(far, delay_ms)
    out, cpu = run(EchoCanceller(RATE, FRAME), mic, far)
    before = tone_level_db(seconds(mic, 3), RATE, FAR_TONE)
    after = tone_level_db(seconds(out, 3), RATE, FAR_TONE)
    print(f"\necho {delay_ms} ms late: {before:.1f} dBFS in the microphone, {after:.1f} dBFS sent; "
          f"CPU {cpu * 1e6:.0f} us per 20 ms frame ({cpu / 0.02:.1%} of a core)")
    assert before > -25
    assert after < before - 20, f"the echo is only {before - after:.1f} dB lower"


@pytest.mark.parametrize("noise_suppression", [False, True])
def test_the_near_end_voice_gets_through_while_the_far_end_talks(noise_suppression):
    far = sine(FAR_TONE, 8 * RATE, RATE, 0.3)
    voice = array.array("h", [0] * (5 * RATE)) + syllables(NEAR_TONE, 3 * RATE)
    mic = mix(echo_of(far, 60), voice)
    out, _ = run(EchoCanceller(RATE, FRAME, noise_suppression=noise_suppression), mic, far)
    spoken = tone_level_db(seconds(voice, 6), RATE, NEAR_TONE)
    sent = tone_level_db(seconds(out, 6), RATE, NEAR_TONE)
    print(f"\nnear-end voice {spoken:.1f} dBFS spoken, {sent:.1f} dBFS sent during double talk")
    assert abs(sent - spoken) < 6, f"the near end's voice changed by {sent - spoken:.1f} dB"
    assert tone_level_db(seconds(out, 6), RATE, FAR_TONE) < tone_level_db(seconds(mic, 6), RATE, FAR_TONE) - 20


def test_silence_stays_silence():
    silence = array.array("h", [0] * (2 * RATE))
    out, _ = run(EchoCanceller(RATE, FRAME), silence, silence)
    assert len(out) == len(silence)
    assert rms_db(out) < -90


def test_steady_background_noise_is_reduced():
    # A fan's hum and hiss, without any far-end sound: only the noise suppressor acts.
    hiss = array.array("h", [int(300 * math.sin(i * 12.9898) * math.cos(i * 78.233) * 2)
                             for i in range(4 * RATE)])
    noise = mix(hiss, sine(120.0, 4 * RATE, RATE, 0.01))
    silence = array.array("h", [0] * len(noise))
    out, _ = run(EchoCanceller(RATE, FRAME), noise, silence)
    before, after = rms_db(seconds(noise, 2)), rms_db(seconds(out, 2))
    print(f"\nbackground noise {before:.1f} dBFS in, {after:.1f} dBFS sent")
    assert after < before - 6


def test_off_the_microphone_is_sent_as_it_is():
    far = sine(FAR_TONE, RATE, RATE, 0.3)
    mic = echo_of(far, 60)
    canceller = EchoCanceller(RATE, FRAME, enabled=False)
    out, _ = run(canceller, mic, far)
    assert out == mic
    # Turned on mid-call, it cancels from then on.
    canceller.enabled = True
    far = sine(FAR_TONE, 4 * RATE, RATE, 0.3)
    mic = echo_of(far, 60)
    out, _ = run(canceller, mic, far)
    assert tone_level_db(seconds(out, 2), RATE, FAR_TONE) < tone_level_db(seconds(mic, 2), RATE, FAR_TONE) - 20


def test_prepared_before_the_streams_start_it_is_active_from_the_first_frame():
    canceller = EchoCanceller(RATE, FRAME)
    assert canceller.active is False
    assert canceller.prepare() is True and canceller.active
    far = sine(FAR_TONE, 4 * RATE, RATE, 0.3)
    out, _ = run(canceller, echo_of(far, 60), far)
    assert tone_level_db(seconds(out, 2), RATE, FAR_TONE) < -60


@pytest.mark.parametrize("value, on", [(None, True), ("1", True), ("0", False), (" 0 ", False),
                                       ("", True)])
def test_the_environment_turns_it_off_only_with_0(value, on):
    assert wanted({} if value is None else {ENV: value}) is on


def test_frames_that_are_not_whole_10_ms_blocks_are_refused():
    with pytest.raises(ValueError):
        EchoCanceller(16000, 300)
