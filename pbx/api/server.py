"""Serving the API with uvicorn: in the foreground (`talker-pbx serve`, `run`) or on a thread
(the demo, which also runs the phones and the app)."""

from __future__ import annotations

import signal
import threading

from pbx.instance import PbxInstance

WS_MAX_MESSAGE_BYTES = 4096
WS_PING_INTERVAL_S = 60.0
WS_PING_TIMEOUT_S = 20.0


def make_server(pbx: PbxInstance, host: str, port: int):
    import uvicorn

    from pbx.api.app import create_app

    # proxy_headers off: uvicorn would believe X-Forwarded-For from 127.0.0.1 (and any address in
    # $FORWARDED_ALLOW_IPS); the app believes it only from the `trusted_proxies` setting.
    # The event stream takes nothing from the app but its close, so a message needs little room
    # and no compression (whose window alone would cost memory per connection). Its ping, once a
    # minute rather than uvicorn's three times, is the only thing that wakes an idle logged-in app.
    config = uvicorn.Config(create_app(pbx), host=host, port=port, log_level="warning", ws="websockets-sansio",
                            lifespan="on", server_header=False, proxy_headers=False,
                            ws_max_size=WS_MAX_MESSAGE_BYTES, ws_per_message_deflate=False,
                            ws_ping_interval=WS_PING_INTERVAL_S, ws_ping_timeout=WS_PING_TIMEOUT_S)
    return uvicorn.Server(config)


def serve(pbx: PbxInstance, host: str, port: int, *, on_ready=None) -> None:
    """In the foreground (main thread) until SIGINT, SIGTERM or SIGHUP. Each shuts uvicorn down
    gracefully and is then raised again, so that the caller's handler (or the default action:
    the process ends) runs after the server has closed."""
    server = make_server(pbx, host, port)
    if on_ready is not None:
        threading.Thread(target=_when_started, args=(server, on_ready), daemon=True).start()
    # uvicorn handles SIGINT and SIGTERM itself, but not SIGHUP (the terminal was closed), whose
    # default action would end the process at once, with no cleanup by the caller.
    hangups: list[int] = []

    def on_hangup(signum, frame) -> None:
        hangups.append(signum)
        server.should_exit = True

    previous = signal.signal(signal.SIGHUP, on_hangup)
    try:
        server.run()
    finally:
        signal.signal(signal.SIGHUP, previous)
    if hangups:
        signal.raise_signal(signal.SIGHUP)


class ApiThread:
    """The API on a thread of its own; stop() ends it."""

    def __init__(self, pbx: PbxInstance, host: str, port: int):
        self.server = make_server(pbx, host, port)
        self.thread = threading.Thread(target=self.server.run, name="api", daemon=True)
        self.url = f"http://{host}:{port}"

    def start(self, timeout: float = 15.0) -> None:
        self.thread.start()
        if not _when_started(self.server, None, timeout):
            raise RuntimeError(f"the PBX API did not start on {self.url}")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def _when_started(server, on_ready, timeout: float = 60.0) -> bool:
    waited = threading.Event()
    elapsed = 0.0
    while not server.started and not server.should_exit and elapsed < timeout:
        waited.wait(0.02)
        elapsed += 0.02
    if server.started and on_ready is not None:
        on_ready()
    return server.started
