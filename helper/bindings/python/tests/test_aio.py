"""The asyncio face: waits never block the event loop; cancelling a task interrupts its wait, loses nothing
and does not disturb the channel's other operations."""
from __future__ import annotations

import asyncio

import pytest

import sipc

ECHO_ON_REQUEST = """
with sipc.Channel(name) as ch:
    ch.connect(timeout=30)
    print("connected", flush=True)
    for line in sys.stdin:           # each input line: receive that many messages and echo them
        for _ in range(int(line)):
            ch.send(ch.recv(timeout=30), timeout=30)
"""


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 120))


def tell(peer, text: str) -> None:
    peer.process.stdin.write(text + "\n")
    peer.process.stdin.flush()


def test_a_pending_recv_does_not_block_the_loop(unique_name, start_peer):
    name = unique_name("aio-loop")

    async def main() -> None:
        async with sipc.AsyncChannel(name) as ch:
            peer = start_peer(ECHO_ON_REQUEST, name)
            await ch.connect(timeout=30)
            pending = asyncio.ensure_future(ch.recv())
            ticks = 0
            for _ in range(200):  # the loop keeps turning while recv waits in its worker thread
                await asyncio.sleep(0)
                ticks += 1
            assert ticks == 200 and not pending.done()
            tell(peer, "1")
            await ch.send("ping")
            assert await pending == b"ping"
            peer.end_input()
        assert peer.wait() == 0

    run(main())


def test_cancelled_recvs_lose_no_message_and_leave_the_channel_usable(unique_name, start_peer):
    name = unique_name("aio-cancel")
    count = 40

    async def main() -> None:
        async with sipc.AsyncChannel(name) as ch:
            peer = start_peer(ECHO_ON_REQUEST, name)
            await ch.connect(timeout=30)
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(ch.recv(), 0.01)  # interrupts the native wait
            tell(peer, str(count))
            received: list[bytes] = []
            for i in range(count):
                task = asyncio.ensure_future(ch.recv())
                await ch.send(f"m{i}")
                for _ in range(i % 4):
                    await asyncio.sleep(0)
                task.cancel()  # sometimes before, sometimes after the echo arrived
                try:
                    received.append(await task)
                except asyncio.CancelledError:
                    pass
            while len(received) < count:
                received.append(await ch.recv(timeout=30))
            assert received == [f"m{i}".encode() for i in range(count)]
            peer.end_input()
        assert peer.wait() == 0

    run(main())


def test_cancelling_a_recv_does_not_disturb_a_waiting_send(unique_name, start_peer):
    name = unique_name("aio-send")

    async def main() -> None:
        async with sipc.AsyncChannel(name, queue_depth=1) as ch:
            peer = start_peer(ECHO_ON_REQUEST, name)
            await ch.connect(timeout=30)
            await ch.send("first")  # fills the peer's queue (depth 1)
            blocked_send = asyncio.ensure_future(ch.send("second"))
            receive = asyncio.ensure_future(ch.recv())
            for _ in range(20):
                await asyncio.sleep(0)
            receive.cancel()
            with pytest.raises(asyncio.CancelledError):
                await receive
            assert not blocked_send.done()
            tell(peer, "2")  # the peer reads both: the send completes, no CANCELLED leaks into it
            await blocked_send
            assert [await ch.recv(timeout=30), await ch.recv(timeout=30)] == [b"first", b"second"]
            peer.end_input()
        assert peer.wait() == 0

    run(main())


def test_async_iteration_and_errors(unique_name, start_peer):
    name = unique_name("aio-iterate")

    async def main() -> None:
        async with await sipc.AsyncChannel.open(name) as ch:
            with pytest.raises(sipc.Timeout):
                await ch.connect(timeout=0)
            peer = start_peer("""
with sipc.Channel(name) as ch:
    for i in range(3):
        ch.send(f"n{i}")
""", name)
            assert [m async for m in ch] == [b"n0", b"n1", b"n2"]
            with pytest.raises(sipc.PeerGone):
                await ch.recv(timeout=5)
            assert peer.wait() == 0
            ch.cancel()
            with pytest.raises(sipc.Cancelled):
                await ch.connect()
            ch.uncancel()

    run(main())


def test_async_observer(unique_name, start_peer):
    name = unique_name("aio-observe")

    async def main() -> None:
        async with sipc.AsyncChannel(name, queue_depth=8) as ch:
            async with sipc.AsyncObserver(name) as observer:
                peer = start_peer(ECHO_ON_REQUEST, name)
                await ch.connect(timeout=30)
                tell(peer, "3")
                for i in range(3):
                    await ch.send(f"o{i}")
                    assert await ch.recv(timeout=30) == f"o{i}".encode()
                seen = []
                async for message in observer:
                    seen.append((message.direction, message.sequence, message.data))
                    if len(seen) == 6:
                        break
                assert sorted(seen) == sorted([(d, i, f"o{i}".encode()) for d in ("to-client", "to-server")
                                               for i in range(3)])
                with pytest.raises(asyncio.TimeoutError):
                    await asyncio.wait_for(observer.next(), 0.01)
                assert await observer.next(timeout=0) is None
                peer.end_input()
            assert peer.wait() == 0

    run(main())
