"""The `relaybox` command: `serve` runs the platform; the others talk to a running one over REST."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import click

from relaybox import __version__
from relaybox.cli_client import client_options, credentials, request
from relaybox.cli_sip import sip_users, trunks
from relaybox.cli_workflow import workflow


@click.group()
@click.version_option(__version__, prog_name="relaybox")
def main() -> None:
    """relaybox: a self-hosted RELAY platform with a sandbox phone network."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="Port for everything.")
@click.option("--data-dir", default=".relaybox", show_default=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--project", envvar="RELAYBOX_PROJECT", help="Project id clients authenticate with.")
@click.option("--token", envvar="RELAYBOX_TOKEN", help="Token clients authenticate with.")
@click.option("--speed", default=1.0, show_default=True, type=click.FloatRange(min=0.01, max=1000),
              help="Run the sandbox clock this many times faster than real time.")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False))
@click.option("--sip-host", envvar="RELAYBOX_SIP_HOST", default=None, help="Address for SIP and RTP (default: --host).")
@click.option("--sip-port", envvar="RELAYBOX_SIP_PORT", default=None, type=click.IntRange(0, 65535),
              help="SIP port, UDP and TCP (default 5060, skipped with a warning if busy; 0: any free port).")
@click.option("--no-sip", is_flag=True, help="Do not listen for SIP.")
def serve(host: str, port: int, data_dir: Path, project: str | None, token: str | None, speed: float,
          log_level: str, sip_host: str | None = None, sip_port: int | None = None, no_sip: bool = False) -> None:
    """Run the platform: RELAY WebSocket on /, REST under /api/."""
    from relaybox.app import RelayBox, Settings

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    if bool(project) != bool(token):
        raise click.UsageError("--project and --token go together (or set both RELAYBOX_PROJECT and RELAYBOX_TOKEN)")
    settings = Settings(host=host, port=port, data_dir=data_dir, project=project, token=token, speed=speed)
    settings.sip_host, settings.sip_port, settings.sip = sip_host, sip_port, not no_sip
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    try:
        asyncio.run(_serve(RelayBox(settings)))
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


async def _serve(box: Any) -> None:
    await box.start()
    # what start-up loaded lives for the whole run: keep it out of the cyclic collector's passes, and let the
    # youngest generation grow (a busy media tick allocates many short-lived, acyclic objects)
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    host = box.settings.host
    url = f"{host}:{box.bound_port}"
    click.echo(f"relaybox {__version__} listening on http://{url}", err=True)
    click.echo(f"  RELAY WebSocket: ws://{url}/   REST: http://{url}/api/", err=True)
    click.echo(f"  project: {box.project}", err=True)
    click.echo(f"  token:   {box.token}", err=True)
    click.echo(f"  data dir: {box.settings.data_dir}   speed: {box.clock.speed:g}x", err=True)
    if getattr(box, "sip", None) is not None:
        click.echo(f"  SIP: {box.sip.host}:{box.sip.port} (UDP, TCP)", err=True)
    await stop.wait()
    await box.stop()


# ------------------------------------------------------------------- REST client subcommands

@main.group()
def numbers() -> None:
    """Assign numbers to contexts (inbound calls and messages go to the context's consumers)."""


@numbers.command("add")
@click.argument("number")
@click.option("--context", required=True, help="The context inbound calls to NUMBER are delivered to.")
@client_options
def numbers_add(number: str, context: str, url: str, project: str | None, token: str | None,
                data_dir: Path) -> None:
    """Route NUMBER to CONTEXT."""
    out = request(url, credentials(project, token, data_dir), "POST", "/api/numbers",
                   {"number": number, "context": context})
    click.echo(f"{out['number']} -> {out['context']}")


@numbers.command("list")
@client_options
def numbers_list(url: str, project: str | None, token: str | None, data_dir: Path) -> None:
    """List assigned numbers."""
    out = request(url, credentials(project, token, data_dir), "GET", "/api/numbers")
    for row in out["numbers"]:
        click.echo(f"{row['number']} -> {row['context']}")


@numbers.command("remove")
@click.argument("number")
@client_options
def numbers_remove(number: str, url: str, project: str | None, token: str | None, data_dir: Path) -> None:
    """Unassign NUMBER (it routes to the context 'default' again)."""
    request(url, credentials(project, token, data_dir), "DELETE", "/api/numbers/" + urllib.parse.quote(number, ""))
    click.echo(f"{number} removed")


@main.command("calls")
@click.option("--number", help="Only calls from or to this number.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
@client_options
def calls(number: str | None, limit: int, url: str, project: str | None, token: str | None, data_dir: Path) -> None:
    """Show the call history, newest first."""
    query = urllib.parse.urlencode({k: v for k, v in {"number": number, "limit": limit}.items() if v})
    out = request(url, credentials(project, token, data_dir), "GET", "/api/calls?" + query)
    for c in out["calls"]:
        click.echo(
            f"{c['call_id']}  {c['direction']:8} {c['from_number']} -> {c['to_number']}  "
            f"context={c['context']}  {c['state']}  {c['end_reason'] or ''}"
        )


main.add_command(workflow)
main.add_command(trunks)
main.add_command(sip_users)

if __name__ == "__main__":
    main(prog_name=os.path.basename(sys.argv[0]))
