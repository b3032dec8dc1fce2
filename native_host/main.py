"""`talker-native-host`: the stdio adapter around the relay (native_host/relay.py).

The browser starts it, writes frames to its stdin and reads frames from its stdout. One thread
reads stdin, one reads the app's socket; every change to the relay and every write happens under
one lock, so frames never interleave. The process exits when stdin ends or the app goes away.

stdout carries frames and nothing else: a stray byte would end the channel (docs/platform-notes.md). So the
real stdout is kept on a private descriptor and descriptor 1 is pointed at stderr before anything
else runs; a print() anywhere in a library then lands in the log instead of the channel.
"""

from __future__ import annotations

import _socket
import os
import sys
import threading
import time

from common import locations

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing alone costs milliseconds
if TYPE_CHECKING:
    from collections.abc import Callable

LOG_NAME = "native-host.log"
LOG_MAX_BYTES = 1_000_000
CONNECT_TIMEOUT_S = 2.0


def log(message: str) -> None:
    """Append a line to the host's log. Chrome shows nobody a host's stderr, so this is where a
    problem can be found; it never fails the host."""
    try:
        path = os.path.join(str(locations.ensure_private_dir(locations.state_dir())), LOG_NAME)
        if os.path.exists(path) and os.path.getsize(path) > LOG_MAX_BYTES:
            os.replace(path, path + ".1")
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} [{os.getpid()}] {message}\n")
    except Exception:
        pass


def _take_stdout() -> int:
    """A private descriptor for frames; descriptor 1 and sys.stdout go to stderr from now on."""
    frames = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    if sys.platform == "win32":
        import msvcrt

        # The C runtime opens the standard descriptors in text mode, which would turn \n into
        # \r\n inside frames.
        msvcrt.setmode(0, os.O_BINARY)
        msvcrt.setmode(frames, os.O_BINARY)
    return frames


class Host:
    def __init__(self, frames_out: int, stdin_fd: int = 0):
        from common.control_client import open_socket
        from native_host.relay import Relay

        self._open_socket = open_socket
        self.relay = Relay()
        self._out = frames_out
        self._in = stdin_fd
        self._lock = threading.Lock()
        self._sock: _socket.socket | None = None
        self.finished = threading.Event()

    def run(self) -> int:
        threading.Thread(target=_warm_up_validation, name="warm-up", daemon=True).start()
        # Connected and greeted before the first request arrives, if the app runs.
        with self._lock:
            self.relay.connect_soon()
            self._flush()
        self._start_thread(self._read_browser, "browser")
        self.finished.wait()
        with self._lock:
            self._flush()
            if self._sock is not None:
                self._sock.close()
        return 0

    # --- the two readers -----------------------------------------------------------------
    def _start_thread(self, target: Callable[[], None], name: str) -> None:
        def guarded() -> None:
            try:
                target()
            except Exception as e:
                # A bug: end the host rather than leave the browser waiting on a dead reader.
                log(f"{name} reader crashed: {e!r}")
                self.finished.set()

        threading.Thread(target=guarded, name=name, daemon=True).start()

    def _read_browser(self) -> None:
        while True:
            try:
                data = os.read(self._in, 65536)
            except OSError as e:
                log(f"stdin: {e}")
                data = b""
            with self._lock:
                if data:
                    self.relay.receive_from_browser(data)
                else:
                    self.relay.browser_closed()
                self._flush()
            if not data:
                return

    def _read_app(self, sock: _socket.socket) -> None:
        while True:
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            with self._lock:
                if sock is not self._sock:
                    return
                if data:
                    self.relay.receive_from_app(data)
                else:
                    self.relay.app_closed()
                self._flush()
            if not data:
                return

    # --- under the lock ------------------------------------------------------------------
    def _flush(self) -> None:
        while True:
            if self.relay.wants_connection:
                self._connect()
            to_app = self.relay.data_to_app()
            if to_app and self._sock is not None:
                try:
                    self._sock.sendall(to_app)
                except OSError as e:
                    log(f"the app's channel failed: {e}")
                    self._drop_socket()
                    self.relay.app_closed()
            to_browser = self.relay.data_to_browser()
            if to_browser:
                try:
                    _write_all(self._out, to_browser)
                except OSError as e:
                    # The browser is gone: nobody to answer any more.
                    log(f"stdout: {e}")
                    self.relay.done = True
            if not self.relay.wants_connection:
                break
        if self.relay.done:
            self.finished.set()

    def _connect(self) -> None:
        from common.control_client import ControlError

        try:
            sock, secret = self._open_socket(CONNECT_TIMEOUT_S)
        except ControlError as e:
            if e.code != "app_not_running":
                log(f"not connecting to the app: {e}")
            self.relay.connect_failed(e.code, str(e))
            return
        sock.settimeout(None)
        self._sock = sock
        self.relay.connected(secret)
        self._start_thread(lambda: self._read_app(sock), "app")

    def _drop_socket(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
            self._sock = None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _warm_up_validation() -> None:
    """Build the schema checks while the browser is still sending the first message."""
    try:
        from common.protocol import validate_request
        from native_host.relay import BROWSER_ACTIONS

        for action in BROWSER_ACTIONS:
            validate_request({"id": "warm-up", "action": action})
    except Exception as e:  # the first real validation reports it properly
        log(f"warm-up: {e!r}")


def main(argv: list[str] | None = None) -> int:
    frames_out = _take_stdout()
    args = sys.argv[1:] if argv is None else argv
    # Chrome passes the caller's origin (and on Windows --parent-window=N); Firefox the
    # manifest's path and the add-on ID. The manifest already admits only our extension.
    caller = args[0] if args else ""
    if caller.startswith("chrome-extension://"):
        from common import browser_bridge

        if caller not in browser_bridge.allowed_origins():
            log(f"refusing caller {caller[:100]!r}")
            return 1
    try:
        return Host(frames_out).run()
    except Exception as e:  # a bug: the browser sees the port close, the log says why
        log(f"crashed: {e!r}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
