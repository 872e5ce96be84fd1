"""Workflows on relaybox's Python workflow SDK (relay-py's API) for text messages, inboxes, sensor triggers
and listen phrases. Port from PORT; prints `WF ...` lines for the tests.

    /sms       texts Bob (sms), follows the message (on_sms), reads Bob's inbox size
    /inbox     plays the device's unread messages (on_play_inbox_message)
    /trigger   prints the START trigger of a sensor trigger and terminates
    /listen    an interaction that listens for yes/no (listen phrases) and prints what it heard
    /audio     listens without transcription: the speech event's audio is a WAV of what was said
"""

import base64
import json
import os

import relaybox.workflow as relay

port = int(os.getenv("PORT", "8080"))
server = relay.workflow.Server("127.0.0.1", port)
BOB = relay.workflow.device_name("Bob")


def mark(*parts: object) -> None:
    print("WF", *parts, flush=True)


sms = relay.workflow.Workflow("sms")
server.register(sms, "/sms")
sent: dict[str, str] = {}


@sms.on_start
async def sms_start(workflow, trigger):
    sent["id"] = await workflow.sms("sms", "Truck at dock 4", BOB)
    mark("SMS_ID", sent["id"].startswith("msg-"))


@sms.on_sms
async def sms_event(workflow, id, event):
    mark("SMS", id == sent.get("id"), event)
    if event == "delivered":
        mark("UNREAD", await workflow.get_unread_inbox_size(BOB))
        await workflow.terminate()


inbox = relay.workflow.Workflow("inbox")
server.register(inbox, "/inbox")


@inbox.on_start
async def inbox_start(workflow, trigger):
    await workflow.play_unread_inbox_messages(workflow.make_target_uris(trigger))


@inbox.on_play_inbox_message
async def inbox_played(workflow, action):
    mark("INBOX", action)
    if action == "stopped":
        await workflow.terminate()


trigger_wf = relay.workflow.Workflow("trigger")
server.register(trigger_wf, "/trigger")


@trigger_wf.on_start
async def trigger_start(workflow, trigger):
    mark("START", trigger["type"], json.dumps(trigger["args"], sort_keys=True, separators=(",", ":")))
    await workflow.terminate()


listen = relay.workflow.Workflow("listen")
server.register(listen, "/listen")


@listen.on_start
async def listen_start(workflow, trigger):
    await workflow.start_interaction(workflow.make_target_uris(trigger), "question",
                                     relay.workflow.interaction_options(color="00ff00"))


@listen.on_interaction_lifecycle
async def listen_ix(workflow, itype, interaction_uri, reason):
    if itype == relay.workflow.TYPE_STARTED:
        mark("HEARD", await workflow.listen(interaction_uri, ["yes", "no"]))
        await workflow.end_interaction(interaction_uri)
    elif itype == relay.workflow.TYPE_ENDED:
        await workflow.terminate()


audio = relay.workflow.Workflow("audio")
server.register(audio, "/audio")


@audio.on_start
async def audio_start(workflow, trigger):
    await workflow.start_interaction(workflow.make_target_uris(trigger), "recorder")


@audio.on_interaction_lifecycle
async def audio_ix(workflow, itype, interaction_uri, reason):
    if itype == relay.workflow.TYPE_STARTED:
        wav = base64.b64decode(await workflow.listen(interaction_uri, [], transcribe=False))
        mark("AUDIO", wav[:4].decode(errors="replace"), len(wav) > 8000)
        await workflow.terminate()


print("READY", flush=True)
server.start()
