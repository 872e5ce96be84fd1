"""Outbound dial on the official RELAY v2 Python client (signalwire==2.1.1).

client.calling.dial($FROM -> $TO); prints the result, the call's busy/failed/state, and hangs up an answered
call. Run with .venvs/sw2/bin/python; see tests/clients/README.md for the environment and the output lines.
"""

import asyncio
import os
import sys

from signalwire.relay.client import Client

FROM = os.environ.get("FROM", "+15551110000")
TO = os.environ.get("TO", "+15553330000")
DIAL_TIMEOUT = os.environ.get("DIAL_TIMEOUT")
CALL_TYPE = os.environ.get("CALL_TYPE", "phone")
SCRIPT_TIMEOUT = float(os.environ.get("SCRIPT_TIMEOUT", "60"))


def out(*args):
    print(*args, flush=True)


kwargs = {}
if os.environ.get("RELAY_HOST"):  # otherwise the SDK default host, redirected by shims/py2 (RELAY_WS_URL)
    kwargs["host"] = os.environ["RELAY_HOST"]
client = Client(
    project=os.environ.get("SW_PROJECT", "test-project"), token=os.environ.get("SW_TOKEN", "test-token"), **kwargs
)
started = False
status = 0


def _timeout():
    out("SCRIPT TIMEOUT")
    os._exit(3)


async def ready(client):
    global started, status
    if started:  # 'ready' fires again after a reconnect
        out("ERROR reconnected while dialing")
        return
    started = True
    out("READY")
    try:
        dial_kwargs = {"timeout": int(DIAL_TIMEOUT)} if DIAL_TIMEOUT else {}
        dial_kwargs["call_type"] = CALL_TYPE
        result = await client.calling.dial(from_number=FROM, to_number=TO, **dial_kwargs)
        call = result.call
        out("DIAL successful:", result.successful)
        if not result.successful:
            # the client fails the dial on state `ending`, but sets call.busy/failed only on `ended`
            # (polled: under load the client's own wait_for_ended can return before its flags are set)
            for _ in range(200):
                if call.state == "ended":
                    break
                await asyncio.sleep(0.05)
        out("CALL", call.id, "state", call.state, "busy", call.busy, "failed", call.failed)
        if result.successful:
            hung = await call.hangup()
            out("HANGUP", hung.successful, hung.reason)
    except Exception as exc:
        out("ERROR", repr(exc))
        status = 1
    await client.disconnect()


client.on("ready", ready)
client.loop.call_later(SCRIPT_TIMEOUT, _timeout)
try:
    client.connect()
except RuntimeError as exc:  # "Event loop stopped before Future completed" after disconnect()
    if "Event loop stopped" not in str(exc):
        raise
sys.exit(status)
