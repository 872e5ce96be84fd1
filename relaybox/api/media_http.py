"""Files relaybox makes for calls, over HTTP without credentials (the names are unguessable tokens, as
the clients hand these URLs to third parties): GET /media/recordings/{name} (mp3/wav) and
GET /media/faxes/{name} (received faxes, PDF)."""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp import web

NAME = re.compile(r"^[A-Za-z0-9_-]{24,64}\.(mp3|wav|pdf)$")
TYPES = {"mp3": "audio/mpeg", "wav": "audio/wav", "pdf": "application/pdf"}
KINDS = {"recordings": ("mp3", "wav"), "faxes": ("pdf",)}


def add_routes(app: web.Application, data_dir: Path) -> None:
    async def media_file(request: web.Request) -> web.StreamResponse:
        kind, name = request.match_info["kind"], request.match_info["name"]
        m = NAME.match(name)
        if kind not in KINDS or m is None or m.group(1) not in KINDS[kind]:
            raise web.HTTPNotFound(text="no such file\n")
        path = data_dir / kind / name
        if not path.is_file():
            raise web.HTTPNotFound(text="no such file\n")
        return web.FileResponse(path, headers={"Content-Type": TYPES[m.group(1)], "Cache-Control": "private"})

    app.router.add_get("/media/{kind}/{name}", media_file)
