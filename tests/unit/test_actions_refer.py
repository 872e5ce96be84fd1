"""calling.refer on the ManualClock: the REFER goes to the leg's `ReferLeg` capability; a sandbox SIP
phone calls the Refer-To target itself, and the target's behaviour decides the NOTIFY."""

from __future__ import annotations

from typing import Any

from mediaworld import World, world  # noqa: F401

from relaybox.engines.sandbox import REFER_RING_SECONDS, PhoneCall

TARGET = "sip:alice@example.com"


async def sip_call(w: World) -> PhoneCall:
    phone = w.network.originate(
        project="p", from_="sip:bob@pbx.test", to="sip:office@relaybox.test", script=[{"wait_for": "hangup"}],
        context="office",
    )
    await w.run(0)
    assert phone.call is not None
    assert w.execute("calling.answer", {"call_id": phone.call.call_id})["code"] == "200"
    await w.run(0)
    return phone


def refer(w: World, phone: PhoneCall, to: str = TARGET, **device: Any) -> dict[str, Any]:
    assert phone.call is not None
    return w.execute("calling.refer", {"call_id": phone.call.call_id,
                                       "device": {"type": "sip", "params": {"to": to, **device}}})


def states(w: World) -> list[tuple[str, str, str]]:
    return [(e["state"], e["sip_refer_response_code"], e["sip_notify_response_code"])
            for e in w.sub.events("calling.call.refer")]


async def test_refer_success_when_the_target_answers(world: World) -> None:  # noqa: F811
    phone = await sip_call(world)
    reply = refer(world, phone, headers=[{"name": "X-Reason", "value": "transfer"}])
    assert reply["code"] == "200" and reply["message"] == "Starting SIP REFER"
    await world.run(0.5)
    assert states(world) == [("inProgress", "202", "100")]
    await world.run(1.0)  # the default script rings 1 s, then answers
    assert states(world) == [("inProgress", "202", "100"), ("success", "202", "200")]
    assert world.sub.events("calling.call.refer")[-1]["sip_refer_to"] == TARGET
    assert {"type": "refer", "to": TARGET} in [e["heard"] for e in phone.transcript if "heard" in e]
    target = world.network.calls_for(TARGET)
    assert len(target) == 1
    seen = target[0].to_json()
    assert seen["from"] == "sip:bob@pbx.test" and seen["to"] == TARGET and seen["state"] == "answered"
    assert seen["headers"] == [{"name": "X-Reason", "value": "transfer"}]
    # the original call goes on; hanging it up ends the transferred call too (nobody else would)
    assert phone.call is not None and phone.call.state.value == "answered"
    world.execute("calling.end", {"call_id": phone.call.call_id, "reason": "hangup"})
    await world.run(0.1)
    assert target[0].to_json()["state"] == "ended"


async def test_refer_busy_and_no_answer(world: World) -> None:  # noqa: F811
    world.network.set_script("sip:busy@example.com", [{"reject": "busy"}])
    world.network.set_script("sip:away@example.com", [{"no_answer": True}])
    phone = await sip_call(world)
    assert refer(world, phone, "sip:busy@example.com")["code"] == "200"
    await world.run(0.5)
    assert states(world)[-1] == ("busy", "202", "486")
    assert refer(world, phone, "sip:away@example.com")["code"] == "200"
    await world.run(REFER_RING_SECONDS + 1)
    assert states(world)[-1] == ("noAnswer", "202", "408")
    assert world.network.calls_for("sip:away@example.com")[0].to_json()["end_reason"] == "noAnswer"


async def test_refer_cancelled_when_the_call_ends(world: World) -> None:  # noqa: F811
    world.network.set_script("sip:slow@example.com", [{"ring": 10}, {"answer": True}])
    phone = await sip_call(world)
    assert refer(world, phone, "sip:slow@example.com")["code"] == "200"
    await world.run(1)
    assert phone.call is not None
    world.execute("calling.end", {"call_id": phone.call.call_id, "reason": "hangup"})
    await world.run(0.1)
    assert states(world)[-1] == ("cancel", "202", "487")
    kinds = world.sub.kinds()
    assert kinds.index("refer:cancel") < kinds.index("state:ended")


async def test_refer_needs_a_sip_call_and_a_sip_uri(world: World) -> None:  # noqa: F811
    _, cid = await world.answered_call()
    reply = world.execute("calling.refer", {"call_id": cid, "device": {"type": "sip", "params": {"to": TARGET}}})
    assert reply["code"] == "400" and "SIP" in reply["message"]
    phone = await sip_call(world)
    assert refer(world, phone, "alice@example.com")["code"] == "400"
    assert phone.call is not None
    bad = world.execute("calling.refer", {"call_id": phone.call.call_id,
                                          "device": {"type": "phone", "params": {"to": "+15550001111"}}})
    assert bad["code"] == "400"
    assert world.execute("calling.refer", {"call_id": phone.call.call_id})["code"] == "400"
    assert world.sub.events("calling.call.refer") == []


async def test_refer_on_a_leg_without_the_capability(world: World) -> None:  # noqa: F811
    phone = await sip_call(world)
    assert phone.call is not None
    class PlainLeg:  # an engine that cannot transfer
        def answer(self) -> None:
            pass

        def hangup(self, reason: str, detail: str | None = None) -> None:
            pass

    phone.call.leg = PlainLeg()
    reply = refer(world, phone)
    assert reply["code"] == "501" and "REFER" in reply["message"]
    assert world.sub.events("calling.call.refer") == []
