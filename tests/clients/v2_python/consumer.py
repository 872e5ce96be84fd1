"""Inbound-call consumer on the official RELAY v2 Python client (signalwire==2.1.1).

Answers every call on $CONTEXT, optionally waits $HOLD s, hangs up. Exits after $CALLS calls (0 = never).
Run with .venvs/sw2/bin/python; see tests/clients/README.md for the environment and the output lines.
"""

import asyncio
import os
import sys

from signalwire.relay.consumer import Consumer

CONTEXTS = [c for c in os.environ.get("CONTEXT", "office").split(",") if c]
CALLS = int(os.environ.get("CALLS", "0"))
HOLD = float(os.environ.get("HOLD", "0"))
SCRIPT_TIMEOUT = float(os.environ.get("SCRIPT_TIMEOUT", "60"))


def out(*args):
    print(*args, flush=True)


class TestConsumer(Consumer):
    def setup(self):
        self.project = os.environ.get("SW_PROJECT", "test-project")
        self.token = os.environ.get("SW_TOKEN", "test-token")
        self.contexts = CONTEXTS
        if os.environ.get("RELAY_HOST"):
            self.host = os.environ["RELAY_HOST"]
        self.handled = 0
        self.finishing = False
        asyncio.get_event_loop().call_later(SCRIPT_TIMEOUT, self._timeout)

    def _timeout(self):
        out("SCRIPT TIMEOUT")
        os._exit(3)

    def ready(self):
        out("READY")

    async def on_incoming_call(self, call):
        try:
            out("INBOUND CALL", call.id, call.from_number, call.to_number)
            result = await call.answer()
            out("ANSWERED", call.id, result.successful)
            if result.successful:
                if HOLD:
                    await asyncio.sleep(HOLD)
                hung = await call.hangup()
                out("HANGUP", call.id, hung.successful, hung.reason)
        except Exception as exc:  # report, keep consuming
            out("ERROR", call.id, repr(exc))
        self.handled += 1
        if CALLS and self.handled >= CALLS and not self.finishing:
            self.finishing = True
            out("DONE", self.handled)
            await self.client.disconnect()

    def teardown(self):
        out("TEARDOWN")


if __name__ == "__main__":
    try:
        TestConsumer().run()
    except RuntimeError as exc:  # "Event loop stopped before Future completed" after disconnect()
        if "Event loop stopped" not in str(exc):
            raise
    sys.exit(0)
