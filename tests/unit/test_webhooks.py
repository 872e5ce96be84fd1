"""`HttpWebhooks` against a local aiohttp server: forms, JSON and GET queries; requests to one URL in order;
a 5xx or a refused connection retried, then given up with a warning naming the URL; the caller never waits."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from relaybox.engines.webhooks import HttpWebhooks


class Server:
    def __init__(self) -> None:
        self.got: list[tuple[str, str, dict[str, str]]] = []
        self.fail_first = 0  # answer this many requests with 503
        self.delay = 0.0
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        if request.content_type == "application/json":
            params = await request.json()
        else:
            params = {k: str(v) for k, v in (await request.post()).items()} or dict(request.query)
        if self.fail_first:
            self.fail_first -= 1
            return web.Response(status=503)
        await asyncio.sleep(self.delay)
        self.got.append((request.method, request.path, params))
        return web.Response(text="ok")


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    srv = Server()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", srv.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    srv.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    yield srv
    await runner.cleanup()


async def test_post_json_and_get_in_order_without_waiting(server: Server) -> None:
    hooks = HttpWebhooks()
    server.delay = 0.05
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    for i in range(5):
        hooks.send(server.url + "/a", "POST", {"n": str(i)})
    hooks.send(server.url + "/j", "POST", {"k": "v"}, json=True)
    hooks.send(server.url + "/g", "GET", {"q": "1"})
    assert loop.time() - t0 < 0.01  # queued, not sent inline
    await hooks.drain()
    assert [p["n"] for m, path, p in server.got if path == "/a"] == ["0", "1", "2", "3", "4"]
    assert ("POST", "/j", {"k": "v"}) in server.got and ("GET", "/g", {"q": "1"}) in server.got
    assert (hooks.sent, hooks.failed) == (7, 0)


async def test_a_5xx_is_retried_then_delivered(server: Server) -> None:
    hooks = HttpWebhooks(backoff=0.01)
    server.fail_first = 2
    hooks.send(server.url + "/s", "POST", {"x": "1"})
    await hooks.drain()
    assert server.got == [("POST", "/s", {"x": "1"})] and hooks.sent == 1


async def test_an_unreachable_url_is_given_up_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    hooks = HttpWebhooks(timeout=1.0, retries=1, backoff=0.01)
    url = f"http://127.0.0.1:{port}/gone"
    with caplog.at_level(logging.WARNING, logger="relaybox.webhooks"):
        hooks.send(url, "POST", {"x": "1"})
        await hooks.drain()
    assert hooks.failed == 1 and hooks.sent == 0
    assert any(url in r.getMessage() and "2 attempts" in r.getMessage() for r in caplog.records)


async def test_a_slow_receiver_times_out(server: Server) -> None:
    server.delay = 2.0
    hooks = HttpWebhooks(timeout=0.2, retries=0)
    hooks.send(server.url + "/slow", "POST", {})
    await asyncio.wait_for(hooks.drain(), 1.5)
    assert hooks.failed == 1
