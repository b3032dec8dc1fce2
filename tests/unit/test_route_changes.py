"""The route watcher's waiting (tray/sip/network.py): a poke wakes it at once, a waiter that
asks to poll wakes after the fallback, and a closed watcher ignores pokes. What the kernel's
notifications do is tested with a real address change in tests/integration/test_registration.py."""

from __future__ import annotations

import threading
import time

from tray.sip.network import RouteChanges


def test_a_poke_wakes_the_waiter_at_once_and_pokes_do_not_pile_up():
    changes = RouteChanges(fallback_s=0.5)
    try:
        woke = threading.Event()
        waiter = threading.Thread(target=lambda: (changes.wait(), woke.set()))
        waiter.start()
        time.sleep(0.1)
        changes.poke()
        assert woke.wait(5), "the poke did not wake the waiter"
        waiter.join()
        for _ in range(3):
            changes.poke()
        changes.wait()                       # the three pokes wake it once...
        t0 = time.monotonic()
        changes.wait(poll=True)              # ...and nothing is left over: this one waits
        assert time.monotonic() - t0 > 0.4
    finally:
        changes.close()


def test_a_waiter_that_polls_wakes_after_the_fallback():
    changes = RouteChanges(fallback_s=0.2)
    try:
        t0 = time.monotonic()
        changes.wait(poll=True)
        assert 0.15 < time.monotonic() - t0 < 5
    finally:
        changes.close()


def test_a_closed_watcher_takes_pokes_without_error():
    changes = RouteChanges()
    changes.close()
    changes.poke()
