"""Outbound dial on the official RELAY v4 Python client (signalwire-sdk, signalwire.relay.RelayClient).

client.dial([[phone $FROM -> $TO]]): prints the outcome (a failed dial raises RelayError) and hangs up an
answered call. Run with .venvs/sw4/bin/python, tests/clients/shims/py4 on PYTHONPATH, RELAY_WS_SCHEME=ws and
SIGNALWIRE_SPACE=127.0.0.1:PORT. See tests/clients/README.md for the environment and the output lines.
"""

import asyncio
import os
import sys

from signalwire.relay import RelayClient
from signalwire.relay.client import RelayError

FROM = os.environ.get("FROM", "+15551110000")
TO = os.environ.get("TO", "+15553330000")
DIAL_TIMEOUT = os.environ.get("DIAL_TIMEOUT")
SCRIPT_TIMEOUT = float(os.environ.get("SCRIPT_TIMEOUT", "60"))


def out(*args):
    print(*args, flush=True)


async def main():
    def timeout():
        out("SCRIPT TIMEOUT")
        os._exit(3)

    asyncio.get_running_loop().call_later(SCRIPT_TIMEOUT, timeout)
    status = 0
    async with RelayClient(
        project=os.environ.get("SW_PROJECT") or None,  # else SIGNALWIRE_PROJECT_ID
        token=os.environ.get("SW_TOKEN") or None,  # else SIGNALWIRE_API_TOKEN
        host=os.environ.get("SIGNALWIRE_SPACE", "127.0.0.1:8080"),
    ) as client:
        out("READY", client.relay_protocol)
        device_params = {"to_number": TO, "from_number": FROM}
        if DIAL_TIMEOUT:
            device_params["timeout"] = int(DIAL_TIMEOUT)
        try:
            call = await client.dial([[{"type": "phone", "params": device_params}]], dial_timeout=30)
        except RelayError as exc:
            out("DIAL successful:", False)
            out("DIAL error:", type(exc).__name__, exc.code, exc.message)
        else:
            out("DIAL successful:", True)
            out("CALL", call.call_id, "state", call.state, "direction", call.direction)
            try:
                await call.hangup()
                ended = await call.wait_for_ended(timeout=10)
                out("HANGUP", call.state == "ended", ended.params.get("end_reason"))
            except Exception as exc:
                out("ERROR", repr(exc))
                status = 1
    return status


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
