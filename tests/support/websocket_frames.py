"""A frame the app sent on the event stream, read by an independent parser: the `websockets`
library's (as the PBX's server side runs it), which also insists that the client masked it."""

from __future__ import annotations


def client_frame(data: bytes) -> tuple[int, bytes]:
    """(opcode, payload) of the one masked frame `data` holds."""
    from websockets.frames import Frame
    from websockets.streams import StreamReader

    stream = StreamReader()
    stream.feed_data(data)
    parser = Frame.parse(stream.read_exact, mask=True)
    try:
        next(parser)
    except StopIteration as done:
        frame = done.value
        assert frame.fin
        return int(frame.opcode), bytes(frame.data)
    raise AssertionError(f"not a whole frame: {data!r}")
