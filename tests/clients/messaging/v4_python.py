"""Messaging on the official RELAY v4 Python client (signalwire-sdk `RelayClient`), unmodified.

Connects with contexts $CONTEXT and prints every inbound message (`@client.on_message`). With $SEND_TO set
it sends one message (`client.send_message`), prints each state the Message object sees and the terminal
one from `msg.wait()`. $SEND_CONTEXT: the send's context ("-" = none: the SDK defaults to its protocol).
Runs until SIGTERM/SIGINT, or exits after the send's terminal state with $EXIT_AFTER_SEND=1. Needs the
ws:// shim (tests/clients/shims/py4, RELAY_WS_SCHEME=ws, SIGNALWIRE_SPACE=127.0.0.1:PORT).

Lines: READY | SENT <message_id> | SEND ERROR <code> <message> | STATE <id> <state> <reason> |
       FINAL <id> <state> <reason> | MESSAGE IN <id> <from> <to> <state> <direction> <segments> <json body>
       <json media> | SCRIPT TIMEOUT
"""

import asyncio
import json
import os
import signal
import sys

from signalwire.relay import RelayClient

CONTEXTS = [c for c in os.environ.get("CONTEXT", "office").split(",") if c]
SCRIPT_TIMEOUT = float(os.environ.get("SCRIPT_TIMEOUT", "60"))


def out(*args):
    print(*args, flush=True)


async def main():
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    def timeout():
        out("SCRIPT TIMEOUT")
        os._exit(3)

    loop.call_later(SCRIPT_TIMEOUT, timeout)
    client = RelayClient(
        project=os.environ.get("SW_PROJECT") or None,
        token=os.environ.get("SW_TOKEN") or None,
        host=os.environ.get("SIGNALWIRE_SPACE", "127.0.0.1:8080"),
        contexts=CONTEXTS,
    )

    @client.on_message
    async def incoming(message):
        out("MESSAGE IN", message.message_id, message.from_number, message.to_number, message.state,
            message.direction, message.segments, json.dumps(message.body), json.dumps(message.media))

    await client.connect()
    out("READY")
    if os.environ.get("SEND_TO"):
        context = os.environ.get("SEND_CONTEXT", CONTEXTS[0])
        media = [m for m in os.environ.get("SEND_MEDIA", "").split(",") if m]
        try:
            msg = await client.send_message(
                to_number=os.environ["SEND_TO"],
                from_number=os.environ.get("SEND_FROM", "+15552220000"),
                context=None if context == "-" else context,
                body=os.environ.get("SEND_BODY") or None,
                media=media or None,
                tags=["relaybox-test"],
            )
        except Exception as exc:  # RelayError(code, message) for a refused send
            out("SEND ERROR", getattr(exc, "code", "?"), getattr(exc, "message", str(exc)))
        else:
            out("SENT", msg.message_id)
            msg.on(lambda event: out("STATE", msg.message_id, event.params.get("message_state"),
                                     event.params.get("reason")))
            final = await msg.wait(timeout=30)
            out("FINAL", msg.message_id, msg.state, final.params.get("reason"))
        if os.environ.get("EXIT_AFTER_SEND") == "1":
            stop.set()
    await stop.wait()
    await asyncio.sleep(0.1)
    await client.disconnect()
    out("TEARDOWN")


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
