"""Observer options: lossless observation, events, statistics, the fate of messages, and bad options refused."""
from __future__ import annotations

import asyncio
import math
import os
import re

import pytest

import sipc
from sipc import _native

from conftest import REPOSITORY

MESSAGES = 3000  # each way

# Creates the channel (a queue of 4: a plain observer falls a ring behind within microseconds), says so, and waits
# for a line before it talks: the observer attaches in between. It stays until its input ends, so the channel (and
# the observer's view of it) outlives the traffic.
BUSY_SERVER = f"""
import threading
ch = sipc.Channel(name, queue_depth=4, max_message_size=64)
print("ready", flush=True)
sys.stdin.readline()
ch.connect(timeout=60)
sender = threading.Thread(target=lambda: [ch.send(f"s{{i}}", timeout=60) for i in range({MESSAGES})])
sender.start()
for i in range({MESSAGES}):
    assert ch.recv(timeout=60) == f"c{{i}}".encode()
sender.join()
print("done", flush=True)
sys.stdin.read()
"""

BUSY_CLIENT = f"""
import threading
with sipc.Channel(name) as ch:
    ch.connect(timeout=60)
    sender = threading.Thread(target=lambda: [ch.send(f"c{{i}}", timeout=60) for i in range({MESSAGES})])
    sender.start()
    for i in range({MESSAGES}):
        assert ch.recv(timeout=60) == f"s{{i}}".encode()
    sender.join()
"""

SAY_BYE = """
with sipc.Channel(name) as ch:
    ch.connect(timeout=30)
    ch.send("bye")
"""

HOLD = """
ch = sipc.Channel(name)
ch.connect(timeout=30)
ch.send("ready")
sys.stdin.read()
"""


def tell(peer, text: str) -> None:
    peer.process.stdin.write(text + "\n")
    peer.process.stdin.flush()


def next_event(observer: sipc.Observer) -> sipc.ObserverEvent:
    """The next event (skipping messages), waiting up to 30 s."""
    while True:
        item = observer.next_observation(timeout=30)
        assert item is not None, "no event within 30 s"
        if isinstance(item, sipc.ObserverEvent):
            return item


def test_a_lossless_observer_of_two_busy_peers_misses_nothing(unique_name, start_peer):
    name = unique_name("lossless")
    server = start_peer(BUSY_SERVER, name)
    server.expect_line("ready")
    # The longest stall bound: a slow observer on a loaded machine must not be dropped.
    with sipc.observe(name, lossless=True, events=True, stall_timeout=10) as observer:
        assert observer.reports_events
        tell(server, "go")
        client = start_peer(BUSY_CLIENT, name)
        next_sequence = {"to-client": 0, "to-server": 0}
        events: list[sipc.ObserverEvent] = []
        messages = 0
        while messages < 2 * MESSAGES:
            item = observer.next_observation(timeout=60)
            assert item is not None, f"nothing observed within 60 s after {messages} messages"
            if isinstance(item, sipc.ObserverEvent):
                events.append(item)
                continue
            assert item.missed == 0, f"{item.missed} missed before {item.direction} #{item.sequence}"
            assert item.sequence == next_sequence[item.direction]
            next_sequence[item.direction] += 1
            assert item.data == f"{'s' if item.direction == 'to-client' else 'c'}{item.sequence}".encode()
            assert not item.undeliverable and item.discarded == 0
            messages += 1
        assert next_sequence == {"to-client": MESSAGES, "to-server": MESSAGES}
        stats = observer.stats()
        assert stats.messages == messages and stats.missed == 0
        assert stats.missed_asleep + stats.missed_away + stats.missed_running == stats.missed
        assert stats.woken <= stats.sleeps and stats.spin_hits <= stats.spins
        assert stats.wake_latency_mean_ns is None or stats.wake_latency_mean_ns <= stats.wake_latency_max_ns
        server.expect_line("done")
        assert client.wait() == 0
        attached = {(e.role, e.pid) for e in events if e.kind is sipc.ObserverEventKind.ATTACHED}
        assert ("server", server.process.pid) in attached and ("client", client.process.pid) in attached
        assert not [e for e in events if e.kind is sipc.ObserverEventKind.LOSSLESS_DROPPED]
        server.end_input()
        assert server.wait() == 0


def test_events_name_the_peers_attaching_closing_and_killed(unique_name, start_peer):
    name = unique_name("events")
    with sipc.Channel(name) as ch, sipc.observe(name, events=True) as observer:
        # The holder at the start comes first: this process, as the server.
        event = next_event(observer)
        assert (event.kind, event.role, event.pid, event.session) == (sipc.ObserverEventKind.ATTACHED, "server",
                                                                      os.getpid(), 1)
        assert event.reason is None and event.timestamp.year >= 2024
        with pytest.raises(sipc.InvalidArgument, match="next_observation"):
            observer.next(timeout=0)  # it would hide the events
        once = start_peer(SAY_BYE, name)
        ch.connect(timeout=30)
        assert ch.recv(timeout=30) == b"bye"
        event = next_event(observer)
        assert (event.kind, event.role, event.pid, event.session) == (sipc.ObserverEventKind.ATTACHED, "client",
                                                                      once.process.pid, 1)
        said = observer.next_observation(timeout=30)  # its message, between its attach and its close
        assert isinstance(said, sipc.ObservedMessage) and said.data == b"bye" and said.direction == "to-server"
        event = next_event(observer)
        assert (event.kind, event.role, event.pid) == (sipc.ObserverEventKind.CLOSED, "client", once.process.pid)
        assert event.kind.value == "closed"
        assert once.wait() == 0
        with pytest.raises(sipc.PeerGone):
            ch.recv(timeout=30)
        held = start_peer(HOLD, name)
        ch.connect(timeout=30)
        assert ch.recv(timeout=30) == b"ready"
        event = next_event(observer)
        assert (event.kind, event.pid, event.session) == (sipc.ObserverEventKind.ATTACHED, held.process.pid, 2)
        held.kill9()
        assert held.wait() == -9
        # Nobody wakes the observer for a SIGKILL: it finds out when it checks the holders.
        event = next_event(observer)
        assert (event.kind, event.role, event.pid, event.session) == (sipc.ObserverEventKind.DIED, "client",
                                                                      held.process.pid, 2)
        observer.cancel()
        assert list(observer.observations()) == []


def test_undeliverable_and_discarded_messages(unique_name):
    name = unique_name("fate")
    with sipc.Channel(name) as server, sipc.observe(name) as observer:
        first = sipc.Channel(name)
        server.connect(timeout=5)
        server.send("for-first")
        first.close()  # leaves without taking it
        seen = observer.next(timeout=10)
        assert seen is not None and seen.data == b"for-first" and seen.undeliverable
        discarded = seen.discarded
        with sipc.Channel(name) as second:
            with pytest.raises(sipc.PeerGone):
                server.send("for-second", timeout=5)
            server.connect(timeout=5)
            server.send("for-second")
            assert second.recv(timeout=5) == b"for-second"
            seen = observer.next(timeout=10)
            assert seen is not None and seen.data == b"for-second" and not seen.undeliverable
            assert discarded + seen.discarded == 1
        assert observer.stats().messages == 2


def test_bad_options_are_refused(unique_name):
    name = unique_name("options")
    with sipc.Channel(name):
        with pytest.raises(sipc.InvalidArgument, match="lossless=True") as refused:
            sipc.observe(name, stall_timeout=5)
        assert refused.value.code == "INVALID_ARGUMENT" and isinstance(refused.value, ValueError)
        assert name in str(refused.value)
        for bad in (0, -1, 10.5, math.nan, math.inf):
            with pytest.raises(sipc.InvalidArgument, match="stall_timeout"):
                sipc.observe(name, lossless=True, stall_timeout=bad)
        with pytest.raises(TypeError, match="stall_timeout"):
            sipc.observe(name, lossless=True, stall_timeout="1")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="lossless"):
            sipc.observe(name, lossless="yes")  # type: ignore[arg-type]
        for capacity in (-1, 64 * 1024 * 1024 + 1):
            with pytest.raises(sipc.InvalidArgument, match="capacity"):
                sipc.observe(name, capacity=capacity)
        # At most two lossless observers per channel: the library says Busy for a third.
        with sipc.observe(name, lossless=True, stall_timeout=10), \
                sipc.observe(name, lossless=True, stall_timeout=0.0001) as second:
            with pytest.raises(sipc.Busy):
                sipc.observe(name, lossless=True)
            second.close()
            with sipc.observe(name, lossless=True) as third:
                assert third.next(timeout=0) is None and not third.reports_events
    with pytest.raises(sipc.NotFound):
        sipc.observe(name, lossless=True)


def _c_fields(struct: str) -> list[str]:
    header = (REPOSITORY / "helper" / "include" / "sipc.h").read_text()
    body = re.search(r"typedef struct " + struct + r" \{(.*?)\} " + struct + ";", header, re.S)
    assert body is not None, struct
    without_comments = re.sub(r"/\*.*?\*/", "", body.group(1), flags=re.S)
    return re.findall(r"\b(\w+)(?:\[[^\]]*\])?;", without_comments)


def test_the_ctypes_structs_mirror_sipc_h():
    """Each ctypes struct is sipc.h's, field by field from the start (fields are only ever appended: the binding may
    know fewer than the header until it is taught the new ones, never others)."""
    for struct, mirror in (("sipc_observed_message", _native.ObservedMessage),
                           ("sipc_observe_options", _native.ObserveOptions),
                           ("sipc_observer_stats", _native.ObserverStats)):
        known = [field[0] for field in mirror._fields_]
        assert known == _c_fields(struct)[:len(known)], struct
    assert _native.OBSERVER_STATS_BUFFER >= 2 * len(_native.ObserverStats._fields_) * 8


def test_async_observer_with_events_and_stats(unique_name, start_peer):
    name = unique_name("aio-events")

    async def main() -> None:
        async with sipc.AsyncChannel(name) as ch, sipc.AsyncObserver(name, lossless=True, events=True,
                                                                    stall_timeout=10) as observer:
            with pytest.raises(sipc.InvalidArgument):
                await observer.next(timeout=0)
            once = start_peer(SAY_BYE, name)
            await ch.connect(timeout=30)
            assert await ch.recv(timeout=30) == b"bye"
            seen: list[sipc.Observation] = []
            async for item in observer.observations():
                seen.append(item)
                if isinstance(item, sipc.ObserverEvent) and item.kind is sipc.ObserverEventKind.CLOSED:
                    break
            kinds = [(i.kind.value, i.role) if isinstance(i, sipc.ObserverEvent) else i.data for i in seen]
            assert kinds == [("attached", "server"), ("attached", "client"), b"bye", ("closed", "client")]
            assert once.wait() == 0
            stats = observer.stats()
            assert stats.messages == 1 and stats.missed == 0
            assert await observer.next_observation(timeout=0) is None

    asyncio.run(asyncio.wait_for(main(), 120))
