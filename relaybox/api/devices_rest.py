"""REST for devices and workflows: `/api/sandbox/devices...` and `/api/workflows...`.

`build_hub(box)` makes the device hub (the app keeps it as `box.devices`); `add_routes` serves it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from relaybox.api.http import error, json_body, json_response
from relaybox.devices.connector import Connector
from relaybox.devices.groups import Group, GroupError
from relaybox.devices.hub import DeviceError, DeviceHub
from relaybox.devices.model import Device
from relaybox.devices.registry import RegistrationError, Registry
from relaybox.devices.voice import espeak_voice
from relaybox.engines.audio import AudioRenderer
from relaybox.protocol import workflow as wire
from relaybox.storage.devices import DeviceStore
from relaybox.storage.workflows import WorkflowStore

if TYPE_CHECKING:
    from relaybox.app import RelayBox

ACTION_FIELDS = {"button", "taps", "hold", "speak", "lang", "channel", "go_offline", "go_online", "device_event",
                 "battery", "charging", "geofence", "transition", "position", "nfc", "cancel_incident"}


def build_hub(box: RelayBox) -> tuple[DeviceHub, Connector]:
    store = WorkflowStore(box.store)
    devices = DeviceStore(box.store)
    connector = Connector()
    hub = DeviceHub(box.clock, Registry(store, store.records()), connector, storage=devices)
    hub.voice = espeak_voice(AudioRenderer(box.recordings_dir))
    hub.load(devices.devices(), devices.groups())
    return hub, connector


def add_routes(app: web.Application, hub: DeviceHub) -> None:
    api = DevicesApi(hub)

    async def start_timers(app: web.Application) -> None:
        hub.start()  # timer triggers need the running loop

    app.on_startup.append(start_timers)
    app.router.add_post("/api/sandbox/devices", api.create_device)
    app.router.add_get("/api/sandbox/devices", api.list_devices)
    app.router.add_get("/api/sandbox/devices/{name}", api.get_device)
    app.router.add_delete("/api/sandbox/devices/{name}", api.delete_device)
    app.router.add_post("/api/sandbox/devices/{name}/actions", api.device_action)
    app.router.add_post("/api/workflows", api.create_workflow)
    app.router.add_get("/api/workflows", api.list_workflows)
    app.router.add_delete("/api/workflows/{name}", api.delete_workflow)
    app.router.add_get("/api/workflows/instances", api.list_instances)
    app.router.add_delete("/api/workflows/instances/{id}", api.stop_instance)
    app.router.add_post("/api/workflows/{name}", api.trigger_workflow)
    app.router.add_post("/api/sandbox/groups", api.create_group)
    app.router.add_get("/api/sandbox/groups", api.list_groups)
    app.router.add_get("/api/sandbox/groups/{name}", api.get_group)
    app.router.add_patch("/api/sandbox/groups/{name}", api.change_group)
    app.router.add_delete("/api/sandbox/groups/{name}", api.delete_group)


class DevicesApi:
    def __init__(self, hub: DeviceHub) -> None:
        self.hub = hub

    def _device(self, request: web.Request) -> Device:
        name = request.match_info["name"]
        device = self.hub.find(name) or self.hub.find_by_id(name)
        if device is None:
            raise error(404, f"no device named {name}")
        return device

    async def create_device(self, request: web.Request) -> web.Response:
        body = await json_body(request, {"name", "id"}, frozenset({"name"}))
        try:
            device = self.hub.create(body["name"], body.get("id"))
        except DeviceError as exc:
            raise error(exc.status, exc.reason) from None
        return json_response(device.to_json(), status=201)

    async def list_devices(self, request: web.Request) -> web.Response:
        return json_response({"devices": [d.to_json() for d in self.hub.devices.values()]})

    async def get_device(self, request: web.Request) -> web.Response:
        return json_response(self._device(request).to_json())

    async def delete_device(self, request: web.Request) -> web.Response:
        device = self._device(request)
        try:
            self.hub.delete(device)
        except DeviceError as exc:
            raise error(exc.status, exc.reason) from None
        return json_response({"name": device.name, "deleted": True})

    async def device_action(self, request: web.Request) -> web.Response:
        device = self._device(request)
        body = await json_body(request, ACTION_FIELDS)
        try:
            self.hub.act(device, body)
        except DeviceError as exc:
            raise error(exc.status, exc.reason) from None
        return json_response(device.to_json())

    async def create_workflow(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body: Any = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            raise error(400, "malformed JSON body") from None
        try:
            reg = self.hub.registry.add(body)
        except RegistrationError as exc:
            raise error(400, str(exc)) from None
        self.hub.registered(reg)
        return json_response(reg.record, status=201)

    async def list_workflows(self, request: web.Request) -> web.Response:
        return json_response({"workflows": [r.record for r in self.hub.registry.all()]})

    async def delete_workflow(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if not self.hub.registry.remove(name):
            raise error(404, f"no workflow named {name}")
        self.hub.unregistered(name)
        return json_response({"name": name, "deleted": True})

    async def list_instances(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "instances": [
                    {"id": s.id, "workflow": s.registration.name, "device": s.device.name,
                     "interactions": [i.urn for i in s.interactions.values()], "calls": sorted(s.calls)}
                    for s in self.hub.sessions
                ]
            }
        )

    async def stop_instance(self, request: web.Request) -> web.Response:
        """Stop one running instance (the vendor's DELETE /ibot/workflow_instances/{id}): STOP, then close."""
        wanted = request.match_info["id"]
        session = next((s for s in self.hub.sessions if s.id == wanted), None)
        if session is None:
            raise error(404, f"no running workflow instance {wanted}")
        session.end("normal")
        return json_response({"id": wanted, "stopped": True})

    async def trigger_workflow(self, request: web.Request) -> web.Response:
        """An HTTP trigger, as the vendor's `POST /ibot/workflow/{id}`: {"action": "invoke", "action_args": {...},
        "target_device_ids": [...]} (or `?user_id=DEVICE`); one instance per target device."""
        name = request.match_info["name"]
        reg = self.hub.registry.get(name) or next(
            (r for r in self.hub.registry.all() if r.record.get("workflow_id") == name), None)
        if reg is None:
            raise error(404, f"no workflow named {name}")
        if reg.trigger != "on_http":
            raise error(409, f"workflow {reg.name} has no HTTP trigger (it is {reg.trigger})")
        if reg.value != "POST":
            raise error(409, f"workflow {reg.name} is triggered by HTTP {reg.value}, not POST")
        body = await json_body(request, {"action", "action_args", "target_device_ids"})
        if body.get("action", "invoke") != "invoke":
            raise error(400, "'action' must be 'invoke'")
        args = body.get("action_args", {})
        if not isinstance(args, dict):
            raise error(400, "'action_args' must be an object")
        ids = body.get("target_device_ids")
        if ids is None and "user_id" in request.query:
            ids = [request.query["user_id"]]
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise error(400, "'target_device_ids' must be a non-empty list of device ids (or give ?user_id=)")
        devices: list[Device] = []
        for ident in ids:
            device = self.hub.find_by_id(ident) or self.hub.find(ident)
            if device is None:
                raise error(404, f"no device {ident}")
            if device not in devices:
                devices.append(device)
        not_installed = [d.name for d in devices if not self.hub.registry.installed(reg, [d])]
        if not_installed:
            raise error(409, f"workflow {reg.name} is not installed on {', '.join(not_installed)}")
        started = await self.hub.http_trigger(reg, devices, args)
        if not started:
            raise web.HTTPBadGateway(text=orjson.dumps({"error": f"cannot connect to the workflow at {reg.uri}"})
                                     .decode(), content_type="application/json")
        return json_response({"workflow": reg.name, "instances": started})

    # -- groups --------------------------------------------------------------------------------------

    def _group(self, request: web.Request) -> Group:
        name = request.match_info["name"]
        group = self.hub.find_group(name)
        if group is None:
            raise error(404, f"no group named {name}")
        return group

    def _members(self, raw: Any) -> list[Device]:
        if not isinstance(raw, list) or not all(isinstance(m, str) for m in raw):
            raise error(400, "'members' must be a list of device names or ids")
        out: list[Device] = []
        for ident in raw:
            device = self.hub.find(ident) or self.hub.find_by_id(ident)
            if device is None:
                raise error(400, f"no device {ident}")
            out.append(device)
        return out

    def _group_json(self, group: Group) -> dict[str, Any]:
        return {"name": group.name, "id": group.id, "members": [d.name for d in self.hub.members(group)],
                "uri": wire.group_name_urn(group.name)}

    async def create_group(self, request: web.Request) -> web.Response:
        body = await json_body(request, {"name", "id", "members"}, frozenset({"name"}))
        members = self._members(body.get("members", []))
        try:
            group = self.hub.groups.create(body["name"], members, body.get("id"))
        except GroupError as exc:
            raise error(exc.status, exc.reason) from None
        return json_response(self._group_json(group), status=201)

    async def list_groups(self, request: web.Request) -> web.Response:
        return json_response({"groups": [self._group_json(g) for g in self.hub.groups.all()]})

    async def get_group(self, request: web.Request) -> web.Response:
        return json_response(self._group_json(self._group(request)))

    async def change_group(self, request: web.Request) -> web.Response:
        """{"add": [devices], "remove": [devices]}"""
        group = self._group(request)
        body = await json_body(request, {"add", "remove"})
        add, remove = self._members(body.get("add", [])), self._members(body.get("remove", []))
        self.hub.groups.add_members(group, add)
        self.hub.groups.remove_members(group, remove)
        return json_response(self._group_json(group))

    async def delete_group(self, request: web.Request) -> web.Response:
        group = self._group(request)
        self.hub.groups.delete(group)
        return json_response({"name": group.name, "deleted": True})
