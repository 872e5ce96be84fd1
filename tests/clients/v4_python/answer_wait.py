"""Inbound-call consumer on the official RELAY v4 Python client (signalwire-sdk, signalwire.relay.RelayClient)
that answers and then waits for the FAR END to hang up (`call.wait_for_ended()`), for the reconnect tests.

Unlike consumer.py it runs under the SDK's `client.run()`, the entry point that reconnects (and resumes its
session by protocol + authorization_state). A RelayClient subclass prints `READY <protocol>` after every
(re)connect. Prints INBOUND CALL, ANSWERED and `CALL ENDED <id> <end_reason>`. NO_ANSWER=1: print
INBOUND CALL and leave the call alone. Runs until SIGTERM/SIGINT. Same environment as consumer.py; see
tests/clients/README.md.
"""

import asyncio
import os
import signal
import sys

from signalwire.relay import RelayClient

CONTEXTS = [c for c in os.environ.get("CONTEXT", "office").split(",") if c]
NO_ANSWER = os.environ.get("NO_ANSWER", "") not in ("", "0")
SCRIPT_TIMEOUT = float(os.environ.get("SCRIPT_TIMEOUT", "60"))


def out(*args):
    print(*args, flush=True)


def timeout():
    out("SCRIPT TIMEOUT")
    os._exit(3)


class Client(RelayClient):
    first = True

    async def connect(self):
        if self.first:  # run() owns the loop: hook SIGTERM and the script timeout on the first connect
            self.first = False
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGTERM, lambda: asyncio.ensure_future(self.disconnect()))
            loop.call_later(SCRIPT_TIMEOUT, timeout)
        await super().connect()
        out("READY", self.relay_protocol)


client = Client(
    project=os.environ.get("SW_PROJECT") or None,  # else SIGNALWIRE_PROJECT_ID
    token=os.environ.get("SW_TOKEN") or None,  # else SIGNALWIRE_API_TOKEN
    host=os.environ.get("SIGNALWIRE_SPACE", "127.0.0.1:8080"),
    contexts=CONTEXTS,
)


@client.on_call
async def handle(call):
    try:
        params = (call.device or {}).get("params", {})
        out("INBOUND CALL", call.call_id, params.get("from_number"), params.get("to_number"))
        if NO_ANSWER:
            return
        await call.answer()
        await call.wait_for_answered(timeout=10)
        out("ANSWERED", call.call_id, call.state == "answered")
        ended = await call.wait_for_ended()
        out("CALL ENDED", call.call_id, ended.params.get("end_reason"))
    except Exception as exc:  # report, keep consuming
        out("ERROR", call.call_id, repr(exc))


if __name__ == "__main__":
    client.run()
    out("TEARDOWN")
    sys.exit(0)
