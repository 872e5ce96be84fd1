"""Inbound-call consumer on the official RELAY v4 Python client (signalwire-sdk, signalwire.relay.RelayClient).

Answers every call on $CONTEXT (answer, wait_for_answered, optional $HOLD s, hangup, wait_for_ended).
Exits after $CALLS calls (0 = until SIGTERM/SIGINT). Run with .venvs/sw4/bin/python, tests/clients/shims/py4
on PYTHONPATH, RELAY_WS_SCHEME=ws and SIGNALWIRE_SPACE=127.0.0.1:PORT (the unmodified client only speaks
wss://). See tests/clients/README.md for the environment and the output lines.
"""

import asyncio
import os
import signal
import sys

from signalwire.relay import RelayClient

CONTEXTS = [c for c in os.environ.get("CONTEXT", "office").split(",") if c]
CALLS = int(os.environ.get("CALLS", "0"))
HOLD = float(os.environ.get("HOLD", "0"))
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
        project=os.environ.get("SW_PROJECT") or None,  # else SIGNALWIRE_PROJECT_ID
        token=os.environ.get("SW_TOKEN") or None,  # else SIGNALWIRE_API_TOKEN
        host=os.environ.get("SIGNALWIRE_SPACE", "127.0.0.1:8080"),
        contexts=CONTEXTS,
    )
    handled = 0

    @client.on_call
    async def handle(call):
        nonlocal handled
        try:
            params = (call.device or {}).get("params", {})
            out("INBOUND CALL", call.call_id, params.get("from_number"), params.get("to_number"))
            await call.answer()
            try:
                await call.wait_for_answered(timeout=10)
            except TimeoutError:
                out("ERROR", call.call_id, "no calling.call.state answered within 10 s")
            out("ANSWERED", call.call_id, call.state == "answered")
            if HOLD:
                await asyncio.sleep(HOLD)
            await call.hangup()
            ended = await call.wait_for_ended(timeout=10)
            out("HANGUP", call.call_id, call.state == "ended", ended.params.get("end_reason"))
        except Exception as exc:  # report, keep consuming
            out("ERROR", call.call_id, repr(exc))
        handled += 1
        if CALLS and handled >= CALLS:
            out("DONE", handled)
            stop.set()

    await client.connect()  # contexts ride in signalwire.connect
    out("READY")
    await stop.wait()
    await asyncio.sleep(0.1)  # let the last lines/acks go out
    await client.disconnect()
    out("TEARDOWN")


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
