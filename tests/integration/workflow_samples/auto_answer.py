"""The device calling guide's Python auto-answer sample (inbound call trigger), run on relaybox's Python
workflow SDK. Only the import differs from the guide (`import relay.workflow`); the header and footer that
the guide elides ("...") create the server as relay-py's samples do. Port from PORT."""

import os

import relaybox.workflow as relay

port = int(os.getenv("PORT", "8080"))
mywf = relay.workflow.Workflow("auto answer")
server = relay.workflow.Server("127.0.0.1", port)
server.register(mywf, "/autoanswerpath")

# --- from the guide -------------------------------------------------------------------------------------
interaction_name = "answering_interaction"
receiving_device = None
my_interaction_uri = None


@mywf.on_start
async def start_handler(workflow, trigger):
    global receiving_device
    receiving_device = workflow.get_source_uri_from_trigger(trigger)
    target = workflow.make_target_uris(trigger)
    await workflow.start_interaction(target, interaction_name)


@mywf.on_call_received
async def received_handler(workflow, call_id, direction, device_id, device_name, uri, on_net, start_time_epoch):
    await workflow.answer_call(receiving_device, call_id)


@mywf.on_interaction_lifecycle
async def interaction_handler(workflow, itype, interaction_uri: str, reason):
    if itype == relay.workflow.TYPE_STARTED:
        # capture the interaction uri in a global var for use in other event handlers
        global my_interaction_uri
        my_interaction_uri = interaction_uri
    elif itype == relay.workflow.TYPE_ENDED:
        await workflow.terminate()


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
    await workflow.terminate()


@mywf.on_call_connected
async def connected_handler(workflow, call_id, direction, device_id, device_name, uri, onnet, start_time_epoch,
                            connect_time_epoch):
    await workflow.say_and_wait(my_interaction_uri, "Now in call")


@mywf.on_button
async def button_handler(workflow, button, taps, source_uri):
    await workflow.say_and_wait(my_interaction_uri, "hung up")
    await workflow.end_interaction(my_interaction_uri)
# --------------------------------------------------------------------------------------------------------

print("READY", flush=True)
server.start()
