"""A loopback TCP relay in front of a real server (the PBX API), on a thread and event loop of its
own, for what the real network does to the app's PBX client and the real server never does on
cue: a server that closes a kept-alive connection as a request crosses it (`armed`: the next
request goes nowhere and the connection closes), a network that goes away without a word
(`frozen`: bytes either way go nowhere, nothing is closed), and a TLS front such as nginx or
Caddy (`tls`: the relay speaks TLS to its clients)."""

from __future__ import annotations

import asyncio
import ssl
import threading

REQUEST_METHODS = (b"GET", b"POST", b"PATCH", b"PUT", b"DELETE")


class Relay:
    def __init__(self, upstream_port: int, *, tls: ssl.SSLContext | None = None):
        self.upstream_port = upstream_port
        self.armed = False
        self.dropped = 0        # requests dropped while armed
        self.frozen = False
        self.connections = 0    # accepted (with TLS: past the handshake)
        self._loop = asyncio.new_event_loop()
        started = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(tls, started), daemon=True)
        self._thread.start()
        assert started.wait(10), "the relay did not start"
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"

    def _run(self, tls: ssl.SSLContext | None, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=tls))
        self.port = self._server.sockets[0].getsockname()[1]
        started.set()
        self._loop.run_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter, requests: bool) -> None:
            while data := await source.read(65536):
                if self.frozen:
                    continue
                if requests and self.armed and data.split(b" ", 1)[0] in REQUEST_METHODS:
                    self.armed, self.dropped = False, self.dropped + 1
                    return   # the request goes nowhere and the connection closes
                sink.write(data)
                await sink.drain()

        tasks = [asyncio.create_task(pipe(reader, up_writer, True)),
                 asyncio.create_task(pipe(up_reader, writer, False))]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for w in (writer, up_writer):
                w.close()

    def stop(self) -> None:
        """Close the relay and every connection through it."""
        async def close() -> None:
            self._server.close()
            served = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in served:
                task.cancel()
            await asyncio.gather(*served, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
