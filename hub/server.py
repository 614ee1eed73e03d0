"""`hub serve`'s uvicorn server. On SIGTERM uvicorn closes every open websocket with 1012
before the application hears of the shutdown; the hub closes its sockets first, with its
own 4010 ("server restarting: reconnect with since"), so screens behind a proxy resume on
another replica at once and from where they were (docs/realtime.md)."""

from __future__ import annotations

import socket

import uvicorn

from hub.deps import Hub


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, hub: Hub) -> None:
        super().__init__(config)
        self.hub = hub

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # New connections are still accepted for these few milliseconds; a socket that
        # slips in is closed by uvicorn (1012) and reconnects like the others.
        if self.hub.realtime is not None:
            await self.hub.realtime.gateway.shutdown()
        await super().shutdown(sockets)
