"""An IVR on the official RELAY v2 Python client (signalwire==2.1.1), unmodified: answers one call on
$CONTEXT, records it in the background, prompts for a PIN with TTS, says goodbye, stops the recording
and hangs up. Prints one line per step. Run with .venvs/sw2/bin/python and the shims/py2 environment."""

import asyncio
import os
import sys

from signalwire.relay.consumer import Consumer

CONTEXT = os.environ.get("CONTEXT", "office")
SCRIPT_TIMEOUT = float(os.environ.get("SCRIPT_TIMEOUT", "60"))


def out(*args):
    print(*args, flush=True)


class Ivr(Consumer):
    def setup(self):
        self.project = os.environ.get("SW_PROJECT", "test-project")
        self.token = os.environ.get("SW_TOKEN", "test-token")
        self.contexts = [CONTEXT]
        asyncio.get_event_loop().call_later(SCRIPT_TIMEOUT, self._timeout)

    def _timeout(self):
        out("SCRIPT TIMEOUT")
        os._exit(3)

    def ready(self):
        out("READY")

    async def on_incoming_call(self, call):
        try:
            out("INBOUND CALL", call.id)
            answered = await call.answer()
            out("ANSWERED", answered.successful)
            rec = await call.record_async(direction="both", record_format="wav")
            pr = await call.prompt_tts(prompt_type="digits", text="Welcome to relaybox. Please enter your pin.",
                                       digits_max=5, digits_terminators="#", digits_timeout=8)
            out("PROMPT", pr.successful, pr.result, pr.terminator)
            played = await call.play_tts(text="Thank you. Goodbye.")
            out("PLAY", played.successful)
            await rec.stop()
            for _ in range(100):
                if rec.completed:
                    break
                await asyncio.sleep(0.05)
            out("RECORD", rec.completed, rec.result.url, rec.result.duration)
            hung = await call.hangup()
            out("HANGUP", hung.successful, hung.reason)
        except Exception as exc:
            out("ERROR", repr(exc))
        await self.client.disconnect()


if __name__ == "__main__":
    try:
        Ivr().run()
    except RuntimeError as exc:  # "Event loop stopped before Future completed" after disconnect()
        if "Event loop stopped" not in str(exc):
            raise
    sys.exit(0)
