"""An IVR on the official RELAY v2 Python client (signalwire==2.1.1), unmodified: answers one call on
$CONTEXT, records it in the background, prompts for a PIN with TTS, says goodbye, stops the recording
and hangs up. Prints one line per step. Run with .venvs/sw2/bin/python and the shims/py2 environment."""

import asyncio
import os
import sys
import time

from signalwire.relay.consumer import Consumer

CONTEXT = os.environ.get("CONTEXT", "office")
SCRIPT_TIMEOUT = float(os.environ.get("SCRIPT_TIMEOUT", "60"))
GOODBYE = os.environ.get("GOODBYE", "Thank you. Goodbye.")
GENDER = os.environ.get("GENDER") or None
STEREO = os.environ.get("STEREO") == "1"
DIGITS_MAX = int(os.environ.get("DIGITS_MAX", "5"))
TERMINATORS = os.environ.get("TERMINATORS")  # the record's keys that end it (default "#*")
END_SILENCE = float(os.environ["END_SILENCE"]) if os.environ.get("END_SILENCE") else None


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
            rec = await call.record_async(direction="both", record_format="wav", stereo=STEREO or None,
                                          end_silence_timeout=END_SILENCE, terminators=TERMINATORS)
            out("RECORDING", time.monotonic())
            pr = await call.prompt_tts(prompt_type="digits", text="Welcome to relaybox. Please enter your pin.",
                                       digits_max=DIGITS_MAX, digits_terminators="#", digits_timeout=8)
            out("PROMPT", pr.successful, pr.result, pr.terminator)
            played = await call.play_tts(text=GOODBYE, gender=GENDER)
            out("PLAY", played.successful)
            out("STOPPING", time.monotonic())
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
