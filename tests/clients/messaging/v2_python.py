"""Messaging and tasks on the official RELAY v2 Python client (signalwire==2.1.1), unmodified.

A `Consumer` on $CONTEXT that prints every inbound message (`on_incoming_message`), every state change of
messages sent on its contexts (`on_message_state_change`) and every task (`on_task`). Once ready it can send
a message ($SEND_TO set: `client.messaging.send`) and deliver a task ($TASK_MESSAGE set: `Task.deliver`,
which needs the http shim of tests/clients/shims/py2). Runs until SIGTERM/SIGINT.

Lines: READY | SENT <successful> <message_id> | STATE <id> <state> <reason> |
       MESSAGE IN <id> <from> <to> <state> <direction> <segments> <json body> <json media> |
       TASK <json message> | TASK DELIVERED <True|False> | SCRIPT TIMEOUT
"""

import asyncio
import json
import os
import sys

from signalwire.relay.consumer import Consumer
from signalwire.relay.task import Task

CONTEXTS = [c for c in os.environ.get("CONTEXT", "office").split(",") if c]
SCRIPT_TIMEOUT = float(os.environ.get("SCRIPT_TIMEOUT", "60"))


def out(*args):
    print(*args, flush=True)


class MessagingConsumer(Consumer):
    def setup(self):
        self.project = os.environ.get("SW_PROJECT", "test-project")
        self.token = os.environ.get("SW_TOKEN", "test-token")
        self.contexts = CONTEXTS
        if os.environ.get("RELAY_HOST"):
            self.host = os.environ["RELAY_HOST"]
        self.sent = False
        asyncio.get_event_loop().call_later(SCRIPT_TIMEOUT, self._timeout)

    def _timeout(self):
        out("SCRIPT TIMEOUT")
        os._exit(3)

    async def ready(self):
        out("READY")
        if self.sent:  # ready() runs again after every reconnect
            return
        self.sent = True
        if os.environ.get("SEND_TO"):
            media = [m for m in os.environ.get("SEND_MEDIA", "").split(",") if m]
            result = await self.client.messaging.send(
                context=os.environ.get("SEND_CONTEXT", CONTEXTS[0]),
                from_number=os.environ.get("SEND_FROM", "+15552220000"),
                to_number=os.environ["SEND_TO"],
                body=os.environ.get("SEND_BODY") or None,
                media=media or None,
                tags=["relaybox-test"],
            )
            out("SENT", result.successful, result.message_id)
        if os.environ.get("TASK_MESSAGE"):
            task = Task(project=self.project, token=self.token)
            ok = await asyncio.get_event_loop().run_in_executor(
                None, task.deliver, os.environ.get("TASK_CONTEXT", CONTEXTS[0]), json.loads(os.environ["TASK_MESSAGE"])
            )
            out("TASK DELIVERED", ok)

    async def on_incoming_message(self, message):
        out("MESSAGE IN", message.id, message.from_number, message.to_number, message.state, message.direction,
            message.segments, json.dumps(message.body), json.dumps(message.media))

    async def on_message_state_change(self, message):
        out("STATE", message.id, message.state, message.reason)

    def on_task(self, message):
        out("TASK", json.dumps(message, sort_keys=True))


if __name__ == "__main__":
    try:
        MessagingConsumer().run()
    except RuntimeError as exc:
        if "Event loop stopped" not in str(exc):
            raise
    sys.exit(0)
