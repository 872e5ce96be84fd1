"""REST around messaging and tasks: the task endpoint, sandbox messages and phones, the message history."""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from typing import Any

from messaging_helpers import CONTEXT, OFFICE, PHONE, messages


def _post_raw(box: Any, path: str, data: bytes, auth: str | None) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"}
    if auth is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
    req = urllib.request.Request(box.url + path, data=data, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_task_endpoint_statuses(relaybox) -> None:
    good = f"{relaybox.project}:{relaybox.token}"
    body = b'{"context": "office", "message": {"k": "v"}}'
    assert _post_raw(relaybox, "/api/relay/rest/tasks", body, good) == (204, b"")
    status, text = _post_raw(relaybox, "/api/relay/rest/tasks", body, None)
    assert status == 401 and b"Basic" in text
    assert _post_raw(relaybox, "/api/relay/rest/tasks", body, f"{relaybox.project}:wrong")[0] == 401
    for raw, reason in [
        (b"{not json", b"malformed JSON"),
        (b"", b"is required"),
        (b"[1, 2]", b"JSON object"),
        (b'{"message": 1}', b"'context' is required"),
        (b'{"context": "", "message": 1}', b"'context' is required"),
        (b'{"context": "office"}', b"'message' is required"),
        (b'{"context": "office", "message": null}', b"'message' is required"),
    ]:
        status, text = _post_raw(relaybox, "/api/relay/rest/tasks", raw, good)
        assert status == 400 and reason in text, (raw, status, text)
    for message in ("text", 0, [1, 2], {"deep": {"er": [True]}}):
        assert relaybox.api("POST", "/api/relay/rest/tasks", {"context": "c", "message": message})[0] == 204


def test_sandbox_messages_validation(relaybox) -> None:
    relaybox.add_number(OFFICE, CONTEXT)
    for body, reason in [
        ({"from": "555", "to": OFFICE, "body": "x"}, "'from' must be an E.164"),
        ({"from": PHONE, "to": "office", "body": "x"}, "'to' must be an E.164"),
        ({"from": PHONE, "to": OFFICE}, "needs a 'body' or 'media'"),
        ({"from": PHONE, "to": OFFICE, "body": "x" * 1601}, "limit is 1600"),
        ({"from": PHONE, "to": OFFICE, "media": ["nope"]}, "http(s) URLs"),
        ({"from": PHONE, "to": OFFICE, "body": "x", "colour": "red"}, "unknown field"),
        ({"to": OFFICE, "body": "x"}, "missing field"),
    ]:
        status, answer = relaybox.api("POST", "/api/sandbox/messages", body)
        assert status == 400 and reason in answer["error"], (body, status, answer)
    assert relaybox.api("GET", "/api/sandbox/messages")[0] == 400
    status, answer = relaybox.api("POST", "/api/sandbox/messages", {"from": PHONE, "to": OFFICE, "body": "hi"})
    assert status == 201 and answer["context"] == CONTEXT and answer["state"] == "received"
    [listed] = messages(relaybox, direction="inbound")
    assert (listed["id"], listed["from"], listed["to"], listed["body"]) == (answer["id"], PHONE, OFFICE, "hi")
    assert [h["state"] for h in listed["history"]] == ["received"]


def test_phone_messaging_behaviour(relaybox) -> None:
    path = f"/api/sandbox/phones/{PHONE}"
    script = [{"ring": 1}, {"answer": True}]
    status, body = relaybox.api("PUT", path, {"script": script})
    assert status == 200 and body == {"number": PHONE, "script": script}  # unchanged for scripts
    assert relaybox.api("GET", path)[1] == {"number": PHONE, "script": script}
    status, body = relaybox.api("PUT", path, {"messages": "fail"})
    assert status == 200 and body == {"number": PHONE, "script": script, "messages": "fail"}
    assert relaybox.api("GET", path)[1] == {"number": PHONE, "script": script, "messages": "fail"}
    status, body = relaybox.api("PUT", path, {"messages": "explode"})
    assert status == 400 and "'deliver', 'undeliverable', 'fail'" in body["error"]
    assert relaybox.api("PUT", path, {})[0] == 400
    assert relaybox.api("PUT", path, {"script": None, "messages": "deliver"})[0] == 400
    status, body = relaybox.api("PUT", path, {"script": [{"hangup": True}], "messages": "deliver"})
    assert status == 200 and body["messages"] == "deliver" and body["script"] == [{"hangup": True}]


def test_message_listing_filters(relaybox) -> None:
    relaybox.add_number(OFFICE, CONTEXT)
    relaybox.add_number("+15556660000", "shop")
    relaybox.api("POST", "/api/sandbox/messages", {"from": PHONE, "to": OFFICE, "body": "a"})
    relaybox.api("POST", "/api/sandbox/messages", {"from": PHONE, "to": "+15556660000", "body": "b"})
    relaybox.api("POST", "/api/sandbox/messages", {"from": "+15557770000", "to": OFFICE, "body": "c"})
    assert [m["body"] for m in messages(relaybox)] == ["c", "b", "a"]  # newest first
    assert [m["body"] for m in messages(relaybox, context="shop")] == ["b"]
    assert [m["body"] for m in messages(relaybox, number="+15557770000")] == ["c"]
    assert [m["body"] for m in messages(relaybox, state="received", limit="2")] == ["c", "b"]
    assert messages(relaybox, state="delivered") == []
    assert relaybox.api("GET", "/api/messages?state=bogus")[0] == 400
    assert relaybox.api("GET", "/api/messages?limit=0")[0] == 400
