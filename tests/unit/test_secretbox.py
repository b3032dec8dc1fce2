"""The PBX key: made once, private, and the same for every process that opens a new data
directory at the same moment (the API and a console command started together)."""

from __future__ import annotations

import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pbx.secretbox import SecretBox

OPENERS = 8


def test_openers_that_make_the_key_at_once_all_get_the_one_key(tmp_path: Path):
    for round_ in range(20):
        path = tmp_path / f"pbx-{round_}.key"
        barrier = threading.Barrier(OPENERS)

        def open_box(_, barrier=barrier, path=path):
            barrier.wait()
            return SecretBox.load_or_create(path)

        with ThreadPoolExecutor(OPENERS) as pool:
            boxes = list(pool.map(open_box, range(OPENERS)))  # none raises
        secret = boxes[0].encrypt("sip password")
        assert {box.decrypt(secret) for box in boxes} == {"sip password"}, f"round {round_}: two keys"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(f"pbx-{round_}.")) == [path.name]
