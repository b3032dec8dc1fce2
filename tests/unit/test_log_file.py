"""The app's log file (tray/boot.py): moved aside before it grows past its size, two old ones kept."""

from __future__ import annotations

import logging

from tray.boot import RotatingLog


def test_the_log_moves_aside_before_it_passes_its_size_and_two_old_ones_stay(tmp_path):
    logs = tmp_path / "logs"   # the test's HOME and runtime folders are in tmp_path too
    logs.mkdir()
    path = logs / "talker.log"
    handler = RotatingLog(path, max_bytes=1000, backups=2)
    log = logging.getLogger("test-log-file")
    log.propagate = False
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        for n in range(100):
            log.info("record %03d %s", n, "x" * 40)   # 52 bytes a line: about 19 a file
    finally:
        log.removeHandler(handler)
        handler.close()
    assert sorted(p.name for p in logs.iterdir()) == ["talker.log", "talker.log.1", "talker.log.2"]
    assert all(0 < p.stat().st_size <= 1000 for p in logs.iterdir())
    # Oldest first, the three files hold the last records without a gap, the newest last.
    lines = [line for name in ("talker.log.2", "talker.log.1", "talker.log")
             for line in (logs / name).read_text(encoding="utf-8").splitlines()]
    numbers = [int(line.split()[1]) for line in lines]
    assert numbers == list(range(numbers[0], 100)) and len(numbers) > 40


def test_a_record_larger_than_the_whole_file_is_still_written(tmp_path):
    path = tmp_path / "talker.log"
    handler = RotatingLog(path, max_bytes=100, backups=2)
    try:
        handler.emit(logging.makeLogRecord({"msg": "y" * 500}))
        handler.emit(logging.makeLogRecord({"msg": "after"}))
    finally:
        handler.close()
    assert (tmp_path / "talker.log.1").read_text() == "y" * 500 + "\n"
    assert path.read_text() == "after\n"
