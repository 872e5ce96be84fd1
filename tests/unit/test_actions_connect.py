"""calling.connect / disconnect, hold/unhold on the ManualClock (refer: test_actions_refer.py)."""

from __future__ import annotations

from typing import Any

from mediaworld import BOB, CAROL, World, heard, world

__all__ = ["world"]

DAVE = "+15556660000"


def timeline(world: World) -> list[str]:
    out = []
    for e in world.sub.got:
        p = e.params
        if e.event_type == "calling.call.state":
            out.append(f"{p['call_id'][:4]}:{p['call_state']}:{'peer' if p.get('peer') else '-'}")
        elif e.event_type == "calling.call.connect":
            out.append(f"{p['call_id'][:4]}:connect:{p['connect_state']}")
    return out


def dev(to: str, **extra: Any) -> dict[str, Any]:
    return {"type": "phone", "params": {"to_number": to, **extra}}


async def test_connect_series_then_parallel_with_ringback(world: World) -> None:
    world.network.set_script(BOB, [{"ring": 1}, {"reject": "busy"}])
    world.network.set_script(CAROL, [{"no_answer": True}])
    world.network.set_script(DAVE, [{"ring": 2}, {"answer": True}])
    phone, cid = await world.answered_call()
    reply = world.execute(
        "calling.connect",
        {
            "call_id": cid,
            "devices": [[dev(BOB)], [dev(CAROL), dev(DAVE)]],
            "ringback": [{"type": "ringtone", "params": {"name": "us"}}],
        },
    )
    assert reply["code"] == "200"
    await world.run(5)
    connects = world.sub.events("calling.call.connect")
    assert [c["connect_state"] for c in connects] == ["connecting", "connected"]
    peer = connects[-1]["peer"]
    dave_leg = world.calling.calls[peer["call_id"]]
    assert dave_leg.to == DAVE and dave_leg.from_ == "+15551110000"  # from defaults to the call's
    # the peer's state events (with peer) come before `connected`
    states = [
        e for e in world.sub.got if e.event_type == "calling.call.state" and e.params["call_id"] == peer["call_id"]
    ]
    assert [s.params["call_state"] for s in states] == ["created", "ringing", "answered"]
    assert all(s.params["peer"]["call_id"] == cid for s in states)
    order = [e.event_type for e in world.sub.got]
    assert order.index("calling.call.connect", order.index("calling.call.connect") + 1) > world.sub.got.index(
        states[-1]
    )
    # both linked, the loser cancelled, the caller heard the ringback
    a = world.calling.calls[cid]
    assert a.peer and a.peer["call_id"] == peer["call_id"]
    assert dave_leg.peer and dave_leg.peer["call_id"] == cid
    carol_states = [p for p in world.sub.events("calling.call.state") if p["device"]["params"]["to_number"] == CAROL]
    assert carol_states[-1]["call_state"] == "ended" and carol_states[-1]["end_reason"] == "cancel"
    assert {"type": "ringtone", "name": "us"} in heard(phone)

    assert world.execute("calling.disconnect", {"call_id": cid})["code"] == "200"
    await world.run(0)
    assert world.sub.events("calling.call.connect")[-1]["connect_state"] == "disconnected"
    assert a.peer is None and not dave_leg.is_over


async def test_connect_fails_when_nobody_answers(world: World) -> None:
    world.network.set_script(BOB, [{"no_answer": True}])
    _, cid = await world.answered_call()
    world.execute("calling.connect", {"call_id": cid, "devices": [dev(BOB, timeout=3)]})
    await world.run(3.1)
    assert [c["connect_state"] for c in world.sub.events("calling.call.connect")] == ["connecting", "failed"]
    assert world.execute("calling.disconnect", {"call_id": cid})["code"] == "400"


async def test_peer_hangup_disconnects_and_caller_hangup_ends_the_peer(world: World) -> None:
    world.network.set_script(BOB, [{"answer": True}, {"wait": 2}, {"hangup": True}])
    world.network.set_script(CAROL, [{"answer": True}])
    _, cid = await world.answered_call()
    world.execute("calling.connect", {"call_id": cid, "devices": [dev(BOB)]})
    await world.run(3)
    assert [c["connect_state"] for c in world.sub.events("calling.call.connect")] == [
        "connecting",
        "connected",
        "disconnected",
    ]
    world.execute("calling.connect", {"call_id": cid, "devices": [dev(CAROL)]})
    await world.run(1)
    carol = world.sub.events("calling.call.connect")[-1]["peer"]["call_id"]
    world.execute("calling.end", {"call_id": cid})
    await world.run(0)
    tl = timeline(world)
    assert tl.index(f"{cid[:4]}:connect:disconnected", tl.index(f"{cid[:4]}:connect:connected", 5)) < tl.index(
        f"{cid[:4]}:ending:-"
    )
    assert f"{carol[:4]}:ended:-" in tl


async def test_connect_needs_an_answered_call_and_good_devices(world: World) -> None:
    _, cid = await world.answered_call()
    assert world.execute("calling.connect", {"call_id": cid, "devices": []})["code"] == "400"
    assert world.execute("calling.connect", {"call_id": cid, "devices": [dev("12")]})["code"] == "400"
    assert (
        world.execute(
            "calling.connect", {"call_id": cid, "devices": [dev(BOB)], "ringback": {"type": "ringtone", "name": "zz"}}
        )["code"]
        == "400"
    )


async def test_hold_unhold(world: World) -> None:
    phone, cid = await world.answered_call()
    assert world.execute("calling.hold", {"call_id": cid})["code"] == "200"
    assert world.execute("calling.unhold", {"call_id": cid})["code"] == "200"
    await world.run(0)
    assert [e["state"] for e in world.sub.events("calling.call.hold")] == ["hold", "unhold"]
    assert [h["type"] for h in heard(phone)] == ["hold", "unhold"]
