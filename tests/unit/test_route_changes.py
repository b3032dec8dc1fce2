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


def _wakes_on(changes: RouteChanges, nudge, within: float = 5.0) -> bool:
    """Whether a waiter (not polling) wakes after `nudge()` — and not before it."""
    woke = threading.Event()
    waiter = threading.Thread(target=lambda: (changes.wait(), woke.set()), daemon=True)
    waiter.start()
    early = woke.wait(0.3)
    nudge()
    return not early and woke.wait(within)


def test_on_macos_the_routing_socket_wakes_the_waiter_mocked_platform(monkeypatch):
    """What cannot run here: macOS's PF_ROUTE socket. Its end is one side of a socket pair, and
    a routing message the kernel would send is written to the other."""
    import socket
    import sys

    kernel, watched = socket.socketpair()
    real_socket = socket.socket
    opened = []

    def fake_socket(family=-1, type=-1, proto=-1, fileno=None):
        if fileno is not None:             # socketpair() and accept() wrap descriptors this way
            return real_socket(family, type, proto, fileno)
        opened.append((family, type, proto))
        return watched

    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(socket, "AF_ROUTE", 17, raising=False)   # macOS's value
    monkeypatch.setattr(socket, "socket", fake_socket)
    changes = RouteChanges(fallback_s=60)
    monkeypatch.undo()
    try:
        assert opened == [(17, socket.SOCK_RAW, 0)]
        assert changes.notified
        assert _wakes_on(changes, lambda: kernel.send(b"\x5c\x00\x05\x0c RTM_NEWADDR"))
    finally:
        changes.close()
        kernel.close()


def test_on_windows_iphlpapi_notifications_wake_the_waiter_mocked_platform(monkeypatch):
    """What cannot run here: Windows's NotifyIpInterfaceChange and NotifyRouteChange2. A fake
    iphlpapi keeps the callbacks; calling one from another thread is what Windows would do."""
    import ctypes
    import sys

    callbacks, cancelled = [], []

    def NotifyIpInterfaceChange(family, callback, context, initial, handle):  # noqa: N802 - Windows' name
        callbacks.append(callback)
        return 0

    def NotifyRouteChange2(family, callback, context, initial, handle):  # noqa: N802
        callbacks.append(callback)
        return 0

    def CancelMibChangeNotify2(handle):  # noqa: N802
        cancelled.append(handle)
        return 0

    iphlpapi = type("iphlpapi", (), {f.__name__: staticmethod(f) for f in (
        NotifyIpInterfaceChange, NotifyRouteChange2, CancelMibChangeNotify2)})
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(ctypes, "windll", type("windll", (), {"iphlpapi": iphlpapi}), raising=False)
    monkeypatch.setattr(ctypes, "WINFUNCTYPE", ctypes.CFUNCTYPE, raising=False)
    changes = RouteChanges(fallback_s=60)
    try:
        assert changes.notified and len(callbacks) == 2
        for callback in callbacks:
            assert _wakes_on(changes, lambda cb=callback: threading.Thread(target=cb, args=(None, None, 1)).start())
    finally:
        changes.close()
    assert len(cancelled) == 2, "the notifications were not cancelled on close"


def test_here_the_kernel_tells_of_route_changes():
    changes = RouteChanges()
    try:
        assert changes.notified, "no netlink socket on Linux: the app would poll"
    finally:
        changes.close()
