"""Assembles the platform: storage, clock, domain, sandbox engine, gateway and the HTTP server."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from relaybox.api import devices_rest, media_http
from relaybox.api.http import auth_middleware
from relaybox.api.messaging_rest import MessagingApi
from relaybox.api.rest import RestApi
from relaybox.api.sip_rest import SipApi
from relaybox.clock import Clock
from relaybox.domain.actions import MediaService
from relaybox.domain.calling import Calling
from relaybox.domain.messaging import Messaging
from relaybox.domain.platform import Platform
from relaybox.domain.routing import Router
from relaybox.domain.tasking import Tasking
from relaybox.engines.audio import AudioFiles, AudioRenderer
from relaybox.engines.faxdoc import FaxDocuments
from relaybox.engines.handsets import Handsets
from relaybox.engines.rtp import Tapper
from relaybox.engines.sandbox import VirtualNetwork
from relaybox.engines.sip import RoutingNetwork, SipEngine
from relaybox.engines.webhooks import HttpWebhooks
from relaybox.gateway.gateway import Gateway
from relaybox.gateway.ws import serve_websocket
from relaybox.media import audiofiles
from relaybox.storage.db import FLUSH_SECONDS, Store
from relaybox.storage.messages import MessageStore
from relaybox.storage.sip import SipStore

log = logging.getLogger("relaybox")


@dataclass(slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path(".relaybox")
    project: str | None = None
    token: str | None = None
    speed: float = 1.0
    sip_host: str | None = None  # None: the same address as `host`
    sip_port: int | None = None  # None: 5060 if free (a warning otherwise); 0: any free port
    sip: bool = True


class RelayBox:
    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or Clock(settings.speed)
        self.store = Store(settings.data_dir)
        if settings.project and settings.token:
            self.project, self.token = settings.project, settings.token
        else:
            self.project, self.token = self.store.dev_credentials()
        self.node_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"relaybox:{settings.host}:{settings.port}"))
        self.router = Router()
        self.network = VirtualNetwork(self.clock, self.store, self.store.scripts())
        self.calling = Calling(
            clock=self.clock, router=self.router, network=self.network, history=self.store, node_id=self.node_id
        )
        self.network.calling = self.calling
        self.sip_store = SipStore(self.store)
        self.sip: SipEngine | None = None
        if settings.sip:
            self.sip = SipEngine(
                host=settings.sip_host or settings.host, port=5060 if settings.sip_port is None else settings.sip_port,
                calling=self.calling, numbers=self.store, store=self.sip_store, project=lambda: self.project,
            )
        self.routing = RoutingNetwork(self.sip, self.network)
        self.calling.network = self.routing
        self.platform = Platform(self.router, self.calling)
        self.recordings_dir = Path(settings.data_dir) / "recordings"
        audio_files = AudioFiles()  # audio media fetched and decoded once, for play timing, recordings and taps
        renderer = AudioRenderer(self.recordings_dir, files=audio_files)
        self.webhooks = HttpWebhooks()  # the customers' status callbacks (conferences)
        self.media = MediaService(
            self.calling,
            probe=audio_files.seconds,
            renderer=renderer,
            recordings_dir=self.recordings_dir,
            public_url=lambda path: f"http://{self.settings.host}:{self.bound_port}{path}",
            tapper=Tapper(self.clock, renderer),
            fax_docs=FaxDocuments(Path(settings.data_dir) / "faxes"),
            webhooks=self.webhooks,
        )
        self.platform.handlers.update(self.media.handlers())
        if self.sip is not None:
            self.sip.media_options.update(clock=self.clock, renderer=renderer)
        self.message_store = MessageStore(self.store)
        self.handsets = Handsets(self.message_store, self.message_store.phone_modes())
        self.messaging = Messaging(
            clock=self.clock, router=self.router, numbers=self.store, carrier=self.handsets, store=self.message_store
        )
        self.tasking = Tasking(clock=self.clock, router=self.router, store=self.message_store)
        self.platform.handlers.update(self.messaging.handlers())
        self.devices, self._connector = devices_rest.build_hub(self)
        self.gateway = Gateway(
            clock=self.clock,
            router=self.router,
            platform=self.platform,
            node_id=self.node_id,
            check_credentials=self.check_credentials,
        )
        self._runner: web.AppRunner | None = None
        self._flusher: asyncio.Task[None] | None = None

    def check_credentials(self, project: str, token: str) -> bool:
        return hmac.compare_digest(project.encode(), self.project.encode()) and hmac.compare_digest(
            token.encode(), self.token.encode()
        )

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[auth_middleware(self.check_credentials, {"/api/health"})])
        RestApi(self).add_routes(app)
        MessagingApi(self).add_routes(app)
        devices_rest.add_routes(app, self.devices)
        SipApi(self.sip_store, lambda: self.sip).add_routes(app)
        media_http.add_routes(app, Path(self.settings.data_dir))

        async def root(request: web.Request) -> web.StreamResponse:
            if request.headers.get("Upgrade", "").lower() == "websocket":
                return await serve_websocket(self.gateway, request)
            if request.path != "/":
                raise web.HTTPNotFound(text="not found: the REST API is under /api/\n")
            return web.Response(text="relaybox: RELAY WebSocket on this URL (ws://), REST API under /api/\n")

        app.router.add_get("/{tail:.*}", root)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.make_app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        resumed = self.messaging.resume() + self.tasking.resume()  # timers need the running loop
        if resumed:
            log.info("resumed %d unfinished message(s)/task(s) from the data dir", resumed)
        try:
            for path in await asyncio.to_thread(audiofiles.recover, self.recordings_dir):
                log.warning("recovered the recording %s, left unfinished by a stopped server", path.name)
        except OSError as exc:
            log.warning("interrupted recordings in %s not recovered: %s", self.recordings_dir, exc)
        site = web.TCPSite(self._runner, self.settings.host, self.settings.port)
        await site.start()
        self._flusher = asyncio.get_running_loop().create_task(self._flush_loop())
        await self._start_sip()

    async def _start_sip(self) -> None:
        if self.sip is None:
            return
        try:
            await self.sip.start()
        except OSError as exc:
            if self.settings.sip_port is not None:
                raise OSError(exc.errno, f"SIP port {self.sip.host}:{self.sip.port}: {exc.strerror or exc}") from None
            log.warning("SIP disabled: cannot listen on %s:%d (%s); pass --sip-port", self.sip.host, self.sip.port,
                        exc.strerror or exc)
            await self.sip.close()
            self.sip = self.routing.sip = None

    @property
    def bound_port(self) -> int:
        """The port actually listened on (useful with --port 0)."""
        assert self._runner is not None
        for site in self._runner.sites:
            server = getattr(site, "_server", None)
            if server is not None and server.sockets:
                return int(server.sockets[0].getsockname()[1])
        return self.settings.port

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            self.store.flush()

    async def stop(self) -> None:
        """Calls end with a reason, sessions are told and closed, state is flushed."""
        ended = self.calling.end_all("hangup", "relaybox is shutting down")
        log.info("shutting down: ended %d call(s), closing %d session(s)", ended, len(self.gateway.sessions))
        self.gateway.shutdown()
        self.devices.close()
        await asyncio.sleep(0.1)  # let the writers send the last events and close frames
        with contextlib.suppress(TimeoutError):  # the ended conferences' last callbacks, a moment at most
            await asyncio.wait_for(self.webhooks.drain(), 2.0)
        self.webhooks.close()
        await self._connector.close()
        if self.sip is not None:
            await self.sip.close()
        await self.network.close()
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        if self._runner is not None:
            await self._runner.cleanup()
        self.store.close()
        log.info("relaybox stopped")
