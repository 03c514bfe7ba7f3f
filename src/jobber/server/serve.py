"""Run one or several Jobber servers in one process (uvicorn), and stop them on SIGTERM/SIGINT.

Several servers per process keep a local cluster light (tests, benchmarks): each still listens
on its own port, keeps its own store and key, and talks to the others over real HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Generator, Sequence

import uvicorn

from jobber.config import ServerSettings
from jobber.server.app import FastMessages, create_app


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # the process installs one handler for all its servers


def serve(all_settings: Sequence[ServerSettings]) -> None:
    """Serve every config until SIGTERM or SIGINT."""
    servers = [
        _Server(uvicorn.Config(FastMessages(create_app(s)), host=s.host, port=s.port,
                               log_level="warning", access_log=False, lifespan="on"))
        for s in all_settings
    ]

    async def main() -> None:
        loop = asyncio.get_running_loop()

        def stop() -> None:
            for server in servers:
                server.should_exit = True

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop)
        await asyncio.gather(*(server.serve() for server in servers))

    asyncio.run(main())
