"""A port that takes connections and drops them unanswered: a dependency that is down."""

import asyncio

__all__ = ["SilentServer"]


class SilentServer:
    """Listens on 127.0.0.1 and aborts every connection at once, counting them: a record
    of every time someone tried the dead dependency."""

    def __init__(self) -> None:
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen on a free port (:attr:`port`)."""
        self._server = await asyncio.start_server(self._drop, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _drop(self, _: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        writer.transport.abort()

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
