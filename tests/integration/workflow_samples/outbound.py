"""The device calling guide's Python outbound-call sample (outbound call trigger: "call Bob"), run on
relaybox's Python workflow SDK; only the import differs from the guide. Port from PORT."""

import os

import relaybox.workflow as relay

port = int(os.getenv("PORT", "8080"))
mywf = relay.workflow.Workflow("outbound")
server = relay.workflow.Server("127.0.0.1", port)
server.register(mywf, "/outboundpath")

# --- from the guide -------------------------------------------------------------------------------------
interaction_name = "outbound_interaction"
outbound_device = None
my_interaction_uri = None
destination_uri = None


@mywf.on_start
async def start_handler(workflow, trigger):
    global outbound_device
    outbound_device = workflow.get_source_uri_from_trigger(trigger)


@mywf.on_call_start_request
async def call_start_request_handler(workflow, destination):
    global destination_uri
    destination_uri = destination
    target = workflow.targets_from_source_uri(outbound_device)
    await workflow.start_interaction(target, interaction_name)


@mywf.on_interaction_lifecycle
async def interaction_handler(workflow, itype, interaction_uri, reason):
    if itype == relay.workflow.TYPE_STARTED:
        global my_interaction_uri
        my_interaction_uri = interaction_uri
        await workflow.say_and_wait(my_interaction_uri, "calling from dispatch")
        await workflow.place_call(my_interaction_uri, destination_uri)
    elif itype == relay.workflow.TYPE_ENDED:
        await workflow.terminate()


@mywf.on_call_ringing
async def ringing_handler(workflow, call_id, direction, device_id, device_name,
                          uri, onnet, start_time_epoch):
    await workflow.say_and_wait(my_interaction_uri, "ring ring")


@mywf.on_call_connected
async def connected_handler(workflow, call_id, direction, device_id, device_name,
                            uri, onnet, start_time_epoch, connect_time_epoch):
    await workflow.say_and_wait(my_interaction_uri, "connected")


@mywf.on_call_failed
async def failed(workflow, call_id, direction, device_id, device_name,
                 uri, on_net, reason, start_time_epoch,
                 connect_time_epoch, end_time_epoch):
    await workflow.terminate()


@mywf.on_call_disconnected
async def disconnected_handler(workflow, call_id, direction, device_id, device_name,
                               uri, onnet, reason, start_time_epoch,
                               connect_time_epoch, end_time_epoch):
    print('seconds connected: ' + str(end_time_epoch - start_time_epoch), flush=True)
    await workflow.end_interaction(outbound_device)
# --------------------------------------------------------------------------------------------------------

print("READY", flush=True)
server.start()
