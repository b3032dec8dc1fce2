"""The buffer between pjsua2's media clock and the sound card's (tray/sip/sound.py): jitter is
absorbed, latency never grows, and what is missing is silence, counted."""

from __future__ import annotations

import math
import struct

from hypothesis import given, strategies as st

from tray.sip.sound import FRAME_BYTES, SILENCE, FrameBuffer, level_dbfs


def frame(n: int) -> bytes:
    return bytes([n % 256]) * FRAME_BYTES


def test_frames_come_out_in_order_after_the_prefill():
    buf = FrameBuffer(depth=4, prefill=2)
    buf.put(frame(1))
    assert buf.get() == SILENCE          # waiting for the prefill, not an underrun
    buf.put(frame(2))
    assert [buf.get(), buf.get()] == [frame(1), frame(2)]
    assert buf.underruns == 0 and buf.overruns == 0


def test_a_writer_that_runs_ahead_loses_its_oldest_frames_not_latency():
    buf = FrameBuffer(depth=3, prefill=1)
    for n in range(10):
        buf.put(frame(n))
    assert len(buf) == 3 and buf.overruns == 7
    assert [buf.get() for _ in range(3)] == [frame(7), frame(8), frame(9)]


def test_a_reader_that_runs_ahead_gets_silence_and_waits_for_the_prefill_again():
    buf = FrameBuffer(depth=4, prefill=2)
    buf.put(frame(1))
    buf.put(frame(2))
    assert buf.get() == frame(1) and buf.get() == frame(2)
    assert buf.get() == SILENCE and buf.underruns == 1
    buf.put(frame(3))
    assert buf.get() == SILENCE and buf.underruns == 1  # priming again: one frame is not enough
    buf.put(frame(4))
    assert buf.get() == frame(3)


@given(st.lists(st.sampled_from(["put", "get"]), max_size=300), st.integers(1, 6), st.integers(1, 6))
def test_whatever_the_two_clocks_do_latency_stays_bounded_and_order_kept(ops, depth, prefill):
    prefill = min(prefill, depth)
    buf = FrameBuffer(depth=depth, prefill=prefill)
    written, last = 0, -1
    for op in ops:
        if op == "put":
            buf.put(frame(written))
            written += 1
        else:
            out = buf.get()
            if out != SILENCE:
                n = out[0]
                assert n != last % 256 or last < 0  # never the same frame twice
                last = n
        assert len(buf) <= depth


def _steady(buf: FrameBuffer, reads: int, written: int, late_every: int = 0) -> int:
    """Two clocks at the same rate: a put, then a get, `reads` times; every `late_every`-th
    put comes after its get (the writer's jitter). Returns how many frames were written."""
    for n in range(reads):
        late = late_every and n % late_every == late_every - 1
        if not late:
            buf.put(frame(written))
            written += 1
        buf.get()
        if late:
            buf.put(frame(written))
            written += 1
    return written


def test_a_spare_frame_that_is_never_needed_is_shed_so_the_delay_drops_by_a_frame():
    buf = FrameBuffer(depth=4, prefill=2, settle=50)
    written = _steady(buf, 10, 0)
    assert len(buf) == 1                     # one frame always waiting: 20 ms more delay than needed
    written = _steady(buf, 60, written)
    assert len(buf) == 0 and buf.shed == 1 and buf.underruns == 0
    _steady(buf, 500, written)
    assert buf.shed == 1 and buf.underruns == 0  # nothing more to shed, and nothing missing


def test_a_jittery_writer_keeps_its_cushion():
    buf = FrameBuffer(depth=4, prefill=2, settle=50)
    _steady(buf, 1000, 0, late_every=7)      # the spare frame covers each late one
    assert buf.shed == 0 and buf.underruns == 0


def test_after_an_underrun_the_buffer_waits_longer_before_shedding_again():
    buf = FrameBuffer(depth=4, prefill=1, settle=50)
    buf.put(frame(0))
    buf.put(frame(1))
    written = _steady(buf, 40, 2)
    assert buf.shed == 0
    buf.get()
    buf.get()
    assert buf.get() == SILENCE and buf.underruns == 1   # emptied: the writer stalled
    buf.put(frame(written))
    buf.put(frame(written + 1))
    written = _steady(buf, 60, written + 2)
    assert buf.shed == 0                      # 60 reads: not yet, after the underrun it waits 100
    _steady(buf, 60, written)
    assert buf.shed == 1


def test_the_level_of_a_full_scale_sine_is_minus_three_dbfs_and_silence_is_minus_infinity():
    sine = struct.pack("<320h", *(int(32767 * math.sin(2 * math.pi * 1000 * i / 16000)) for i in range(320)))
    assert abs(level_dbfs(sine) + 3.0) < 0.1
    assert level_dbfs(SILENCE) == -math.inf


def test_a_busy_tone_is_four_beeps_of_425_hz_and_then_ends():
    from tray.sip.sound import BUSY, FRAME_MS

    frames = list(BUSY.frames())
    assert len(frames) * FRAME_MS / 1000 == BUSY.duration_s == 2.8
    loud = [level_dbfs(f) > -30 for f in frames]
    # on/off every 350 ms, and no click: a beep starts and ends quietly
    beeps = sum(1 for a, b in zip([False] + loud, loud, strict=False) if b and not a)
    assert beeps == 4
    assert level_dbfs(frames[0][:40]) < level_dbfs(frames[5]) - 15


def test_ringback_goes_on_until_it_is_stopped():
    from itertools import islice

    from tray.sip.sound import RINGBACK

    assert RINGBACK.duration_s is None
    assert len(list(islice(RINGBACK.frames(), 1000))) == 1000
