"""`Relay.Task`: send jobs to your Consumers from a short-lived process (REST, no WebSocket)."""

# ruff: noqa: E501  (the docstrings carry the documentation's parameter tables)

from __future__ import annotations

import base64
import json
import logging
import urllib.error
import urllib.request
from typing import Any

from . import blade
from .constants import resolve_host

log = logging.getLogger("relaybox.relay")


class Task:
    """Relay.Task.

    | parameter | type | required | description |
    | --- | --- | --- | --- |
    | `project` | string | required | Project ID |
    | `token` | string | required | Token |
    | `host` | string | optional | RELAY host, as for `Client` (`$RELAYBOX_HOST`/`$SIGNALWIRE_HOST`, else relay.signalwire.com). The scheme follows the host: `ws://` delivers over http, `wss://` or a bare host over https. |
    """

    def __init__(self, project: str, token: str, host: str | None = None) -> None:
        self.project = project
        self.token = token
        self.host = resolve_host(host)

    @property
    def url(self) -> str:
        return blade.http_base(self.host) + "/api/relay/rest/tasks"

    def _authorization(self) -> str:
        return "Basic " + base64.b64encode(f"{self.project}:{self.token}".encode()).decode()

    def deliver(self, context: str, message: Any) -> bool:
        """Send a job to your Consumer in a specific context.

        | parameter | type | required | description |
        | --- | --- | --- | --- |
        | `context` | string | required | Context where to send the Task. |
        | `message` | dict | required | Dict with your custom data that will be sent to your Consumer's `on_task` method. |

        Returns True when the server accepted the task (HTTP 204), else False.
        """
        data = json.dumps({"context": context, "message": message}).encode()
        req = urllib.request.Request(
            self.url,
            data=data,
            method="POST",
            headers={
                "Authorization": self._authorization(),
                "Content-Type": "application/json",
                "Content-Length": str(len(data)),
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                return int(response.status) == 204
        except urllib.error.HTTPError as error:
            print(f"Task deliver error: {error}")  # on stdout, as the reference SDK does
            return False
        except (urllib.error.URLError, OSError) as error:
            log.error("Task deliver error: %s", error)
            return False
