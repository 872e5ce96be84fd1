"""`relaybox trunks ...` and `relaybox sip-users ...`: SIP trunks and SIP users on a running relaybox."""

from __future__ import annotations

import time
import urllib.parse
from pathlib import Path
from typing import Any

import click

from relaybox.cli_client import client_options, credentials, request


def _call(url: str, project: str | None, token: str | None, data_dir: Path, method: str, path: str,
          body: Any = None) -> Any:
    return request(url, credentials(project, token, data_dir), method, path, body)


@click.group()
def trunks() -> None:
    """SIP trunks: where calls to their numbers go, and whose INVITEs are trusted."""


@trunks.command("add")
@click.argument("name")
@click.option("--uri", required=True, help="The trunk, e.g. sip:carrier.example.com:5060 (;transport=tcp).")
@click.option("--username", help="Username for the trunk's digest challenges.")
@click.option("--password", help="Password for the trunk's digest challenges.")
@click.option("--prefix", "prefixes", multiple=True,
              help="Numbers starting with this E.164 prefix are dialed through the trunk ('+' for all; repeatable).")
@click.option("--register", is_flag=True,
              help="Keep USERNAME registered at the trunk (carriers that deliver calls only to a registration).")
@click.option("--register-expires", type=int, help="Seconds each registration asks for (default 3600).")
@client_options
def trunks_add(name: str, uri: str, username: str | None, password: str | None, prefixes: tuple[str, ...],
               register: bool, register_expires: int | None, url: str, project: str | None, token: str | None,
               data_dir: Path) -> None:
    """Add (or replace) the trunk NAME."""
    if register and (username is None or password is None):
        raise click.UsageError("--register needs --username and --password (the account to register)")
    if register_expires is not None and not register:
        raise click.UsageError("--register-expires goes with --register")
    body: dict[str, Any] = {"name": name, "uri": uri, "prefixes": list(prefixes)}
    if register:
        body["register"] = True
    if register_expires is not None:
        body["register_expires"] = register_expires
    if username is not None:
        body["username"] = username
    if password is not None:
        body["password"] = password
    out = _call(url, project, token, data_dir, "POST", "/api/trunks", body)
    click.echo(f"{out['name']} -> {out['uri']}  prefixes={','.join(out['prefixes']) or '-'}")


@trunks.command("list")
@client_options
def trunks_list(url: str, project: str | None, token: str | None, data_dir: Path) -> None:
    """List trunks."""
    for t in _call(url, project, token, data_dir, "GET", "/api/trunks")["trunks"]:
        auth = f"  user={t['username']}" if t["username"] else ""
        click.echo(f"{t['name']} -> {t['uri']}  prefixes={','.join(t['prefixes']) or '-'}{auth}"
                   + _registration(t.get("registration")))


def _registration(status: dict[str, Any] | None) -> str:
    """`registered until HH:MM:SS` (local time) or `not registered: <last reason>` for a registering trunk."""
    if status is None:
        return ""
    if status["state"] == "registered" and status["expires_at"]:
        return "  registered until " + time.strftime("%H:%M:%S", time.localtime(status["expires_at"]))
    return f"  not registered: {status['last_error'] or status['state']}"


@trunks.command("delete")
@click.argument("name")
@client_options
def trunks_delete(name: str, url: str, project: str | None, token: str | None, data_dir: Path) -> None:
    """Delete the trunk NAME."""
    _call(url, project, token, data_dir, "DELETE", "/api/trunks/" + urllib.parse.quote(name, ""))
    click.echo(f"{name} deleted")


@click.group("sip-users")
def sip_users() -> None:
    """SIP users: may REGISTER (digest auth) and are reachable at sip:USER@relaybox-host."""


@sip_users.command("add")
@click.argument("username")
@click.option("--password", required=True, help="The user's SIP password (stored as digest hashes).")
@client_options
def sip_users_add(username: str, password: str, url: str, project: str | None, token: str | None,
                  data_dir: Path) -> None:
    """Add (or reset the password of) USERNAME."""
    out = _call(url, project, token, data_dir, "POST", "/api/sip-users", {"username": username, "password": password})
    click.echo(f"{out['username']} added (realm {out['realm']})")


@sip_users.command("list")
@client_options
def sip_users_list(url: str, project: str | None, token: str | None, data_dir: Path) -> None:
    """List SIP users and where they are registered."""
    for u in _call(url, project, token, data_dir, "GET", "/api/sip-users")["sip_users"]:
        click.echo(f"{u['username']}  " + (f"registered at {u['contact']}" if u["registered"] else "not registered"))


@sip_users.command("delete")
@click.argument("username")
@client_options
def sip_users_delete(username: str, url: str, project: str | None, token: str | None, data_dir: Path) -> None:
    """Delete USERNAME (its registration ends)."""
    _call(url, project, token, data_dir, "DELETE", "/api/sip-users/" + urllib.parse.quote(username, ""))
    click.echo(f"{username} deleted")
