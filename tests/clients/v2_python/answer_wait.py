"""Inbound-call consumer on the official RELAY v2 Python client (signalwire==2.1.1) that answers and then
waits for the FAR END to hang up (`call.wait_for_ended()`), for the reconnect tests.

Prints `READY <protocol>` on every ready (after each reconnect too), `INBOUND CALL`, `ANSWERED` and
`CALL ENDED <id> <end_reason>`. NO_ANSWER=1: print INBOUND CALL and leave the call alone.
HANGUP_AFTER=S: hang up S s after the answer (prints `HANGUP <id> True|False <end_reason>`), then wait
as usual.
Runs until SIGTERM/SIGINT. See tests/clients/README.md for the environment and the output lines.
"""

import asyncio
import os
import sys

from signalwire.relay.consumer import Consumer

CONTEXTS = [c for c in os.environ.get("CONTEXT", "office").split(",") if c]
NO_ANSWER = os.environ.get("NO_ANSWER", "") not in ("", "0")
HANGUP_AFTER = float(os.environ.get("HANGUP_AFTER", "0"))
SCRIPT_TIMEOUT = float(os.environ.get("SCRIPT_TIMEOUT", "60"))


def out(*args):
    print(*args, flush=True)


class WaitConsumer(Consumer):
    def setup(self):
        self.project = os.environ.get("SW_PROJECT", "test-project")
        self.token = os.environ.get("SW_TOKEN", "test-token")
        self.contexts = CONTEXTS
        if os.environ.get("RELAY_HOST"):
            self.host = os.environ["RELAY_HOST"]
        asyncio.get_event_loop().call_later(SCRIPT_TIMEOUT, self._timeout)

    def _timeout(self):
        out("SCRIPT TIMEOUT")
        os._exit(3)

    def ready(self):
        out("READY", self.client.protocol)

    async def on_incoming_call(self, call):
        try:
            out("INBOUND CALL", call.id, call.from_number, call.to_number)
            if NO_ANSWER:
                return
            reasons = []
            call.on("ended", lambda params: reasons.append(params.get("end_reason")))
            result = await call.answer()
            out("ANSWERED", call.id, result.successful)
            if not result.successful:
                return
            if HANGUP_AFTER:
                await asyncio.sleep(HANGUP_AFTER)
                hung = await call.hangup()
                out("HANGUP", call.id, hung.successful, hung.reason)
            await call.wait_for_ended()
            out("CALL ENDED", call.id, reasons[0] if reasons else "?")
        except Exception as exc:  # report, keep consuming
            out("ERROR", call.id, repr(exc))

    def teardown(self):
        out("TEARDOWN")


if __name__ == "__main__":
    try:
        WaitConsumer().run()
    except RuntimeError as exc:  # "Event loop stopped before Future completed" after disconnect()
        if "Event loop stopped" not in str(exc):
            raise
    sys.exit(0)
