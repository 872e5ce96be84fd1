"""The REST client side of the CLI: options, credentials and requests shared by every subcommand."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import click

DEFAULT_URL = "http://127.0.0.1:8080"


def client_options(f: Any) -> Any:
    f = click.option("--url", envvar="RELAYBOX_URL", default=DEFAULT_URL, show_default=True,
                     help="The running relaybox.")(f)
    f = click.option("--project", envvar="RELAYBOX_PROJECT", help="Project id (default: the data dir's).")(f)
    f = click.option("--token", envvar="RELAYBOX_TOKEN", help="Token (default: the data dir's).")(f)
    f = click.option("--data-dir", default=".relaybox", show_default=True,
                     type=click.Path(file_okay=False, path_type=Path),
                     help="Where to find the development credentials when none are given.")(f)
    return f


def credentials(project: str | None, token: str | None, data_dir: Path) -> tuple[str, str]:
    if project and token:
        return project, token
    db = data_dir / "relaybox.sqlite3"
    if db.exists():
        import sqlite3

        with sqlite3.connect(db) as conn:
            row = conn.execute("SELECT project, token FROM credentials ORDER BY created_at LIMIT 1").fetchone()
        if row:
            return str(row[0]), str(row[1])
    raise click.UsageError("no credentials: pass --project and --token (or RELAYBOX_PROJECT / RELAYBOX_TOKEN)")


def request(url: str, creds: tuple[str, str], method: str, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url.rstrip("/") + path, data=data, method=method)
    req.add_header("Authorization", "Basic " + base64.b64encode(":".join(creds).encode()).decode())
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        try:
            reason = json.loads(exc.read()).get("error", exc.reason)
        except (ValueError, AttributeError):
            reason = exc.reason
        raise click.ClickException(f"{method} {path}: {exc.code} {reason}") from None
    except urllib.error.URLError as exc:
        raise click.ClickException(f"cannot reach relaybox at {url}: {exc.reason}") from None
