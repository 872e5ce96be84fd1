"""REST for devices and workflows: `/api/sandbox/devices...` and `/api/workflows...`.

`build_hub(box)` makes the device hub (the app keeps it as `box.devices`); `add_routes` serves it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from relaybox.api.http import error, json_body, json_response
from relaybox.devices.connector import Connector
from relaybox.devices.hub import DeviceError, DeviceHub
from relaybox.devices.model import Device
from relaybox.devices.registry import RegistrationError, Registry
from relaybox.storage.workflows import WorkflowStore

if TYPE_CHECKING:
    from relaybox.app import RelayBox

ACTION_FIELDS = {"button", "taps", "hold", "speak", "go_offline", "go_online"}


def build_hub(box: RelayBox) -> tuple[DeviceHub, Connector]:
    store = WorkflowStore(box.store)
    connector = Connector()
    hub = DeviceHub(box.clock, Registry(store, store.records()), connector)
    return hub, connector


def add_routes(app: web.Application, hub: DeviceHub) -> None:
    api = DevicesApi(hub)
    app.router.add_post("/api/sandbox/devices", api.create_device)
    app.router.add_get("/api/sandbox/devices", api.list_devices)
    app.router.add_get("/api/sandbox/devices/{name}", api.get_device)
    app.router.add_delete("/api/sandbox/devices/{name}", api.delete_device)
    app.router.add_post("/api/sandbox/devices/{name}/actions", api.device_action)
    app.router.add_post("/api/workflows", api.create_workflow)
    app.router.add_get("/api/workflows", api.list_workflows)
    app.router.add_delete("/api/workflows/{name}", api.delete_workflow)
    app.router.add_get("/api/workflows/instances", api.list_instances)


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
        if device.call_id is not None:
            raise error(409, f"{device.name} is in a call")
        self.hub.missed.forget(device)
        del self.hub.devices[device.name]
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
        return json_response(reg.record, status=201)

    async def list_workflows(self, request: web.Request) -> web.Response:
        return json_response({"workflows": [r.record for r in self.hub.registry.all()]})

    async def delete_workflow(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if not self.hub.registry.remove(name):
            raise error(404, f"no workflow named {name}")
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
