"""A TCP proxy between the API and a real backend, to cut or slow it on demand.

Stopping the real Elasticsearch takes tens of seconds each way; the proxy
gives the same view from the API's side (refused connections, a stalled
backend) in milliseconds, with the real engine still answering behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading


class TcpProxy:
    """Counts what passes, so a test can wait for traffic instead of sleeping:
    `refused` connections (made while down) and `chunks_in` (reads from clients)."""

    def __init__(self, listen_port: int, target_port: int) -> None:
        self.listen_port = listen_port
        self.target_port = target_port
        self.mode = "pass"  # "pass" | "down" | "slow"
        self.delay = 0.0
        # Written only by the proxy's thread; reading an int elsewhere is safe.
        self.refused = 0
        self.chunks_in = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._conns: set[asyncio.StreamWriter] = set()

    def start(self) -> TcpProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(5)
        return self

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.listen_port)

    def reroute(self, url: str) -> str:
        """`url` (a DSN naming the backend's port) sent through this proxy instead."""
        return url.replace(f":{self.target_port}/", f":{self.listen_port}/")

    def set_mode(self, mode: str, delay: float = 0.0) -> None:
        """`down` also drops open connections, as a dying server does."""
        self.mode, self.delay = mode, delay
        if mode == "down":
            asyncio.run_coroutine_threadsafe(self._drop_all(), self._loop).result(5)

    async def _drop_all(self) -> None:
        for w in list(self._conns):
            w.close()
        self._conns.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode == "down":
            self.refused += 1
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._conns.update((writer, up_writer))

        async def pipe(
            src: asyncio.StreamReader, dst: asyncio.StreamWriter, from_client: bool
        ) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    self.chunks_in += from_client
                    if self.mode == "slow":
                        await asyncio.sleep(self.delay)
                    if self.mode == "down":
                        break
                    dst.write(data)
                    await dst.drain()
            dst.close()
            self._conns.discard(dst)

        await asyncio.gather(pipe(reader, up_writer, True), pipe(up_reader, writer, False))

    def close(self) -> None:
        async def _close() -> None:
            await self._drop_all()
            if self._server is not None:
                self._server.close()

        asyncio.run_coroutine_threadsafe(_close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
