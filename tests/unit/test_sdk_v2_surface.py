"""relaybox.relay's v2 surface against the reference text itself (seed 003): every documented class has every
documented property, every Call method of the method list exists with its documented parameters, and every
`_async` twin exists. The seed is parsed, so a name the documentation adds or a rename in the SDK fails here."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import relaybox.relay.calling.actions as actions
import relaybox.relay.calling.results as results
from relaybox.relay.calling import Calling
from relaybox.relay.calling.call import Call
from relaybox.relay.client import Client
from relaybox.relay.consumer import Consumer
from relaybox.relay.event import Event
from relaybox.relay.messaging import Message, SendResult

SEEDS = Path(__file__).resolve().parents[1] / "seeds"

# rows of the `connect` and `play` parameter tables that are keys of the nested device / media dicts
NESTED = {"connect": {"call_type", "from_number", "to_number", "timeout"}, "play": {"type", "url", "text",
                                                                                  "language", "gender", "duration"}}


def seed_text() -> str:
    seed = next(SEEDS.glob("003_*.txt"), None)
    assert seed is not None, "tests/seeds/003_*.txt is missing"
    return seed.read_text()


def documented_properties(text: str) -> dict[str, list[str]]:
    """{'Relay.Calling.PlayAction': ['result', 'state', ...], ...} from each section's Properties table."""
    parts = re.split(r"\n(Relay\.[\w.]+)\n", text)
    out: dict[str, list[str]] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if "Properties" not in body:
            continue
        table = re.split(r"\nMethods\n|\nEvents\n|\nEvent Handlers\n", body.split("Properties", 1)[1])[0]
        out[name] = re.findall(r"\n(\w+) \|\n", "\n" + table)
    return out


def documented_call_methods(text: str) -> dict[str, list[str]]:
    """{'play': ['media_list', 'volume', ...], ...}: the Relay.Calling.Call method list with parameter rows."""
    section = text.split("\nRelay.Calling.Call\nAll calls", 1)[1].split("\nEvents\nAll these events", 1)[0]
    chunks = re.split(r"\n([a-z_]+)\n(?=[A-Z])", "\n" + section.split("\nMethods\n", 1)[1])
    kinds = "string|number|boolean|float|list|dict|array|function|list of strings"
    pairs = zip(chunks[1::2], chunks[2::2], strict=True)
    return {m: re.findall(rf"\n\*?(\w+) \|\n(?:{kinds})", "\n" + body) for m, body in pairs}


def instance(section: str) -> Any:
    short = section.rsplit(".", 1)[-1]
    client = Client(project="p", token="t", host="ws://127.0.0.1:9")
    if short == "Call":
        return Call(calling=Calling(client), call_id="c", context="office")
    made: dict[str, Any] = {
        "Client": client,
        "Consumer": Consumer(),
        "Event": Event("calling.call.state", {}),
        "Message": Message({}),
        "SendResult": SendResult({}),
    }
    if short in made:
        return made[short]
    cls = getattr(results, short, None) or getattr(actions, short)
    params = inspect.signature(cls).parameters
    return cls(True) if "successful" in params else cls


def test_every_documented_property_exists() -> None:
    props = documented_properties(seed_text())
    assert len(props) > 25 and "Relay.Calling.TapResult" in props
    missing = []
    for section, names in props.items():
        obj = instance(section)
        missing += [f"{section}.{n}" for n in names if not hasattr(obj, n)]
    assert not missing, missing


def test_every_documented_call_method_and_parameter_exists() -> None:
    methods = documented_call_methods(seed_text())
    assert len(methods) >= 50 and "detect_answering_machine_async" in methods
    problems = []
    for name, params in methods.items():
        fn = getattr(Call, name, None)
        if fn is None:
            problems.append(f"Call.{name} missing")
            continue
        if name not in ("on", "off"):
            assert inspect.iscoroutinefunction(fn), f"Call.{name} must be awaitable as documented"
        sig = inspect.signature(fn)
        var_kw = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
        problems += [
            f"Call.{name}({p})"
            for p in params
            if p not in sig.parameters and not var_kw and p not in NESTED.get(name, set())
        ]
        if not name.endswith("_async") and f"{name}_async" in methods:
            async_params = inspect.signature(getattr(Call, f"{name}_async")).parameters
            assert list(async_params) == list(sig.parameters), f"{name}_async takes what {name} takes"
    assert not problems, problems


def test_documented_defaults() -> None:
    """Defaults the tables state that the SDK itself applies (the others are the server's)."""
    sig = inspect.signature
    assert sig(Call.play).parameters["volume"].default == 0
    assert sig(Call.play_tts).parameters["volume"].default == 0
    assert sig(Call.hangup).parameters["reason"].default == "hangup"
    assert sig(Call.detect_answering_machine).parameters["wait_for_beep"].default is False
    assert sig(Call.record).parameters["record_type"].default == "audio"
