"""Frames leave pjsua2 as a pj.ByteVector; the SIP engine reads them straight from the vector's
storage (tray/sip/engine.py) because element by element costs ~300 µs a frame. What it reads
must be exactly what the vector holds, and this build must take the fast way."""

from __future__ import annotations

import os

import pjsua2 as pj
import pytest

from tray.sip.engine import _read_vector_directly, _read_vector_slowly, _vector_reader


@pytest.mark.parametrize("size", [0, 1, 320, 640, 4096])
def test_a_vector_reads_back_byte_for_byte(size):
    data = os.urandom(size)
    vector = pj.ByteVector(data)
    assert _read_vector_directly(vector) == _read_vector_slowly(vector) == data


def test_a_frame_buffer_reads_back_after_it_was_replaced_and_resized():
    frame = pj.MediaFrame()
    for size in (640, 0, 320, 640):
        data = os.urandom(size)
        frame.buf = pj.ByteVector(data)
        assert _read_vector_directly(frame.buf) == data
    frame.buf.resize(10)
    assert _read_vector_directly(frame.buf) == data[:10]


def test_this_build_reads_frames_the_fast_way():
    assert _vector_reader() is _read_vector_directly
