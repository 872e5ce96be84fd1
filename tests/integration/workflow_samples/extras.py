"""Workflows on relaybox's Python workflow SDK (relay-py's API) for groups, notifications, timers,
incidents, HTTP/timer triggers and group calls. Port from PORT; prints `WF ...` lines for the tests.

    /notify     group members, broadcast to a group, alert, acknowledgement (on_notification), cancel
    /timers     set_timer/on_timer_fired, start_timer/on_timer, create/resolve incident (on_incident)
    /started    prints the START trigger (HTTP and timer triggers) and terminates
    /groupcall  places a call to a group URN from an interaction
"""

import json
import os

import relaybox.workflow as relay

port = int(os.getenv("PORT", "8080"))
server = relay.workflow.Server("127.0.0.1", port)
DESK = relay.workflow.group_name("Front Desk")


def mark(*parts: object) -> None:
    print("WF", *parts, flush=True)


notify = relay.workflow.Workflow("notify")
server.register(notify, "/notify")


@notify.on_start
async def notify_start(workflow, trigger):
    me = workflow.get_source_uri_from_trigger(trigger)
    mark("MEMBERS", ",".join(await workflow.get_group_members(DESK)))
    mark("IS_MEMBER", await workflow.is_group_member(DESK, relay.workflow.device_name("Bob")),
         await workflow.is_group_member(DESK, relay.workflow.device_name("Alice")))
    await workflow.broadcast(DESK, me, "lunch", "Lunch is ready")
    await workflow.alert(relay.workflow.device_name("Carol"), me, "fire", "Fire in the kitchen",
                         relay.workflow.push_options(priority="critical", sound="sos"))
    mark("SENT")


@notify.on_notification(name="lunch", event="ack_event")
async def lunch_acknowledged(workflow, event, name, notification_state, source_uri):
    mark("ACK", name, source_uri, json.dumps(notification_state, separators=(",", ":")))
    await workflow.cancel_alert(relay.workflow.device_name("Carol"), "fire")
    mark("CANCELLED")
    await workflow.terminate()


@notify.on_stop
async def notify_stop(workflow, reason):
    mark("STOP", reason)


timers = relay.workflow.Workflow("timers")
server.register(timers, "/timers")
ticks = 0


@timers.on_start
async def timers_start(workflow, trigger):
    await workflow.set_timer("interval", "tick", 2, "secs")
    incident = await workflow.create_incident(workflow.get_source_uri_from_trigger(trigger), "help")
    await workflow.resolve_incident(incident, "all good")


@timers.on_timer_fired
async def tick(workflow, name):
    global ticks
    ticks += 1
    mark("TIMER_FIRED", name, ticks)
    if ticks == 3:
        await workflow.clear_timer("tick")
        await workflow.start_timer(5)


@timers.on_timer
async def timer(workflow):
    mark("TIMER", ticks)
    await workflow.terminate()


@timers.on_incident
async def incident(workflow, itype, incident_id, reason):
    mark("INCIDENT", itype, incident_id.startswith("inc-"), reason)


started = relay.workflow.Workflow("started")
server.register(started, "/started")


@started.on_start
async def started_start(workflow, trigger):
    mark("START", trigger["type"], workflow.get_source_uri_from_trigger(trigger),
         json.dumps(trigger["args"].get("args")))
    await workflow.terminate()


groupcall = relay.workflow.Workflow("groupcall")
server.register(groupcall, "/groupcall")


@groupcall.on_start
async def groupcall_start(workflow, trigger):
    await workflow.start_interaction(workflow.make_target_uris(trigger), "group call")


@groupcall.on_interaction_lifecycle
async def groupcall_ix(workflow, itype, interaction_uri, reason):
    if itype == relay.workflow.TYPE_STARTED:
        mark("PLACED", (await workflow.place_call(interaction_uri, DESK)).startswith("dc-"))


@groupcall.on_call_ringing
async def groupcall_ringing(workflow, call_id, direction, device_id, device_name, uri, onnet, start_time_epoch):
    mark("CALL_RINGING", device_name, uri)


@groupcall.on_call_connected
async def groupcall_connected(workflow, call_id, direction, device_id, device_name, uri, onnet, start_time_epoch,
                              connect_time_epoch):
    mark("CALL_CONNECTED", device_name, uri)


@groupcall.on_call_disconnected
async def groupcall_disconnected(workflow, call_id, direction, device_id, device_name, uri, onnet, reason,
                                 start_time_epoch, connect_time_epoch, end_time_epoch):
    mark("CALL_DISCONNECTED", reason)
    await workflow.terminate()


print("READY", flush=True)
server.start()
