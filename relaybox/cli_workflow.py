"""`relaybox workflow ...`: register, list and delete device workflows on a running relaybox.

Mirrors the vendor's `relay workflow create call|button|phrase` CLI: the same options build the same JSON
record, which is POSTed to `/api/workflows`. Attach with `main.add_command(workflow)` in `relaybox.cli`.
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Any

import click

from relaybox.cli_client import client_options, credentials, request
from relaybox.devices.registry import BUTTON_TRIGGERS
from relaybox.protocol.workflow import ALL_DEVICES


def _call(url: str, project: str | None, token: str | None, data_dir: Path, method: str, path: str,
          body: Any = None) -> Any:
    return request(url, credentials(project, token, data_dir), method, path, body)


def _create_options(f: Any) -> Any:
    f = click.option("--uri", required=True, help="The workflow's WebSocket URI (ws:// or wss://).")(f)
    f = click.option("--name", "-n", required=True, help="Name of the workflow registration.")(f)
    f = click.option("--install", "-i", multiple=True, help="Device id to install on (repeatable).")(f)
    f = click.option("--install-all", is_flag=True, help="Install on every device of the account.")(f)
    f = click.option("--install-group", help="Install on a group (URN), verbatim.")(f)
    f = click.option("--arg", "-a", "args", multiple=True, help="Workflow argument k=v (string).")(f)
    f = click.option("--boolean", "-b", "booleans", multiple=True, help="Workflow argument k=true|false.")(f)
    f = click.option("--number", "numbers", multiple=True, help="Workflow argument k=NUMBER.")(f)
    f = click.option("--transient/--no-transient", default=True, show_default=True,
                     help="Allow the workflow to run in the background.")(f)
    f = click.option("--hidden", is_flag=True, help="Hide the workflow channel on the originating device.")(f)
    return client_options(f)


def _pairs(values: tuple[str, ...], kind: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected k=v, got {item!r}", param_hint=f"--{kind}")
        if kind == "boolean":
            if value.lower() not in ("true", "false"):
                raise click.BadParameter(f"{key}: expected true or false", param_hint="--boolean")
            out[key] = value.lower() == "true"
        elif kind == "number":
            try:
                out[key] = int(value) if value.lstrip("-").isdigit() else float(value)
            except ValueError:
                raise click.BadParameter(f"{key}: expected a number", param_hint="--number") from None
        else:
            out[key] = value
    return out


def build_record(name: str, uri: str, trigger: dict[str, Any], install: tuple[str, ...], install_all: bool,
                 install_group: str | None, args: tuple[str, ...] = (), booleans: tuple[str, ...] = (),
                 numbers: tuple[str, ...] = (), transient: bool = True, hidden: bool = False) -> dict[str, Any]:
    """The registration record, built as the vendor's CLI builds it."""
    if sum((bool(install), install_all, install_group is not None)) != 1:
        raise click.UsageError("give exactly one of --install, --install-all, --install-group")
    wf_args = {**_pairs(args, "arg"), **_pairs(booleans, "boolean"), **_pairs(numbers, "number")}
    options: dict[str, Any] = {"transient": transient, "hidden": hidden}
    record: dict[str, Any] = {
        "name": name,
        "options": options,
        "config": {"trigger": {"start": {"workflow": {"uri": uri, "args": wf_args}}, **trigger}},
    }
    if install:
        record["install"] = list(install)
    else:
        record["install_rule"] = ALL_DEVICES if install_all else install_group
    return record


@click.group()
def workflow() -> None:
    """Register device workflows (call, button, phrase, http, timer, event, battery, geofence, position and nfc
    triggers) on a running relaybox."""


@workflow.group()
def create() -> None:
    """Register a workflow for a trigger."""


def _post(kw: dict[str, Any], trigger: dict[str, Any]) -> None:
    conn = {k: kw.pop(k) for k in ("url", "project", "token", "data_dir")}
    record = build_record(kw.pop("name"), kw.pop("uri"), trigger, **kw)
    out = _call(**conn, method="POST", path="/api/workflows", body=record)
    uri = out["config"]["trigger"]["start"]["workflow"]["uri"]
    click.echo(f"{out['name']} ({out.get('workflow_id', '')}) -> {uri}")


@create.command("call")
@click.option("--trigger", "-t", required=True, type=click.Choice(["inbound", "outbound"]),
              help="inbound: calls to the device; outbound: 'call X' on the device.")
@_create_options
def create_call(trigger: str, **kw: Any) -> None:
    """A workflow that handles the device's inbound or outbound calls (replacing the built-in calling)."""
    _post(kw, {"on_incoming_call" if trigger == "inbound" else "on_call_request": ".*"})


@create.command("button")
@click.option("--trigger", "-t", required=True, type=click.Choice(list(BUTTON_TRIGGERS)),
              help="Taps of the Talk button on the Assistant channel.")
@_create_options
def create_button(trigger: str, **kw: Any) -> None:
    """A workflow started by Talk-button taps on the Assistant channel."""
    _post(kw, {"on_button": BUTTON_TRIGGERS[trigger]})


@create.command("phrase")
@click.option("--trigger", "-t", "phrases", required=True, multiple=True,
              help="Words that start the workflow when spoken to the Assistant (repeatable).")
@_create_options
def create_phrase(phrases: tuple[str, ...], **kw: Any) -> None:
    """A workflow started by a spoken phrase."""
    _post(kw, {"on_phrases": [p.lower() for p in phrases]})


@create.command("http")
@click.option("--trigger", "-t", default="POST", show_default=True,
              type=click.Choice(["GET", "POST", "PUT", "PATCH", "DELETE"]), help="HTTP method of the trigger.")
@_create_options
def create_http(trigger: str, **kw: Any) -> None:
    """A workflow started over HTTP (`relaybox workflow trigger NAME --target ID`)."""
    _post(kw, {"on_http": trigger})


@create.command("timer")
@click.option("--trigger", "-t", required=True, type=click.Choice(["immediately", "schedule", "repeat"]),
              help="immediately: once, now; schedule: once at --start-time; repeat: by --frequency.")
@click.option("--start-time", help="Local ISO time of the (first) run, e.g. 2026-02-05T15:00:00.")
@click.option("--timezone", help="IANA time zone of --start-time/--until (default UTC).")
@click.option("--frequency", type=click.Choice(["minutely", "hourly", "daily", "weekly", "monthly", "yearly"]))
@click.option("--interval", type=click.IntRange(min=1), help="Every N frequency units.")
@click.option("--count", type=click.IntRange(min=1), help="Number of runs in all.")
@click.option("--until", help="Local ISO time after which it stops.")
@click.option("--byweekday", multiple=True, type=click.IntRange(1, 7), help="Day 1 (Monday) to 7 (repeatable).")
@_create_options
def create_timer(trigger: str, start_time: str | None, timezone: str | None, frequency: str | None,
                 interval: int | None, count: int | None, until: str | None, byweekday: tuple[int, ...],
                 **kw: Any) -> None:
    """A workflow started by a timer: once now, once at a time, or on a repeating schedule."""
    if trigger == "immediately":
        value: dict[str, Any] = {"start_time": "immediately"}
    else:
        if not start_time:
            raise click.UsageError(f"--trigger {trigger} needs --start-time")
        value = {"start_time": start_time}
        if timezone:
            value["timezone"] = timezone
        if trigger == "schedule":
            value["count"] = 1
        else:
            if not frequency:
                raise click.UsageError("--trigger repeat needs --frequency")
            value["frequency"] = frequency
            value.update({k: v for k, v in (("interval", interval), ("count", count), ("until", until)) if v})
            if byweekday:
                value["byweekday"] = list(byweekday)
    _post(kw, {"on_timer": value})


@create.command("event")
@click.option("--trigger", "-t", required=True, help="The device event, e.g. emergency.")
@_create_options
def create_event(trigger: str, **kw: Any) -> None:
    """A workflow started by a device event (sandbox: the {"device_event": NAME} action)."""
    _post(kw, {"on_device_event": trigger})


@create.command("battery")
@click.option("--trigger", "-t", required=True, type=click.Choice(["charge", "discharge"]),
              help="charge: the level rises to the threshold; discharge: it falls to it.")
@click.option("--threshold", required=True, type=click.IntRange(0, 100), help="Battery percentage.")
@_create_options
def create_battery(trigger: str, threshold: int, **kw: Any) -> None:
    """A workflow started when the battery crosses a threshold."""
    _post(kw, {f"on_battery_{trigger}": threshold})


@create.command("geofence")
@click.option("--trigger", "-t", required=True, type=click.Choice(["entry", "exit"]))
@click.option("--id", "geofence_id", required=True, help="The geofence id.")
@_create_options
def create_geofence(trigger: str, geofence_id: str, **kw: Any) -> None:
    """A workflow started when the device enters or leaves a geofence."""
    _post(kw, {"on_geofence": {"geofence_id": geofence_id, "transition": trigger}})


@create.command("position")
@click.option("--trigger", "-t", required=True, type=click.Choice(["entry", "exit"]))
@click.option("--venue", "-v", "venue_id", required=True, help="The venue id.")
@click.option("--position", "-p", "position_id", required=True, help="The indoor position id.")
@_create_options
def create_position(trigger: str, venue_id: str, position_id: str, **kw: Any) -> None:
    """A workflow started when the device enters or leaves an indoor position."""
    _post(kw, {"on_position": {"venue_id": venue_id, "position_id": position_id, "transition": trigger}})


@create.command("nfc")
@click.option("--type", "nfc_type", required=True, type=click.Choice(["custom", "user_profile"]))
@click.option("--category", help="The tag's category.")
@click.option("--label", help="The tag's label.")
@click.option("--match", "matches", multiple=True, help="Another tag field to match, k=v (repeatable).")
@_create_options
def create_nfc(nfc_type: str, category: str | None, label: str | None, matches: tuple[str, ...], **kw: Any) -> None:
    """A workflow started by tapping a matching NFC tag."""
    value: dict[str, Any] = {"type": nfc_type, **_pairs(matches, "match")}
    value.update({k: v for k, v in (("category", category), ("label", label)) if v})
    _post(kw, {"on_nfc": value})


@workflow.command("trigger")
@click.argument("name")
@click.option("--target", "-t", "targets", multiple=True, required=True, help="Device id or name (repeatable).")
@click.option("--arg", "-a", "args", multiple=True, help="Action argument k=v (repeatable).")
@client_options
def trigger(name: str, targets: tuple[str, ...], args: tuple[str, ...], url: str, project: str | None,
            token: str | None, data_dir: Path) -> None:
    """Fire the HTTP trigger of workflow NAME on the target devices."""
    body = {"action": "invoke", "action_args": _pairs(args, "arg"), "target_device_ids": list(targets)}
    out = _call(url, project, token, data_dir, "POST", "/api/workflows/" + urllib.parse.quote(name, ""), body)
    click.echo(f"{out['workflow']}: started {', '.join(out['instances'])}")


@workflow.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the records as JSON.")
@client_options
def list_(as_json: bool, url: str, project: str | None, token: str | None, data_dir: Path) -> None:
    """List registered workflows."""
    out = _call(url, project, token, data_dir, "GET", "/api/workflows")
    if as_json:
        click.echo(json.dumps(out["workflows"], indent=2))
        return
    for rec in out["workflows"]:
        trigger = rec["config"]["trigger"]
        kind = next((k for k in trigger if k != "start"), "?")
        where = ",".join(rec["install"]) if "install" in rec else rec.get("install_rule", "")
        click.echo(f"{rec['name']}  {kind}={json.dumps(trigger.get(kind))}  "
                   f"{trigger['start']['workflow']['uri']}  install={where}")


@workflow.command("delete")
@click.argument("name")
@client_options
def delete(name: str, url: str, project: str | None, token: str | None, data_dir: Path) -> None:
    """Delete the workflow registration NAME."""
    _call(url, project, token, data_dir, "DELETE", "/api/workflows/" + urllib.parse.quote(name, ""))
    click.echo(f"{name} deleted")
