"""Channel against real peer processes: messages, errors, iteration, cancel, close, kill -9."""
from __future__ import annotations

import random
import signal
import threading

import pytest

import sipc

ECHO = """
with sipc.Channel(name) as ch:
    ch.connect(timeout=30)
    print("connected", flush=True)
    for message in ch:
        ch.send(message, timeout=30)
"""


def test_two_processes_exchange_text_and_bytes(unique_name, start_peer):
    name = unique_name("echo")
    with sipc.Channel(name, max_message_size=1024) as ch:
        assert ch.role == "server" and ch.max_message_size == 1024
        peer = start_peer(ECHO, name)
        ch.connect(timeout=30)
        ch.send("héllo")  # str goes as UTF-8
        assert ch.recv(timeout=30) == "héllo".encode()
        ch.send(b"\x00\xff\n")
        ch.send(bytearray(b"ab"))
        ch.send(memoryview(b"xyz")[1:])
        ch.send(b"")
        assert [ch.recv(timeout=30) for _ in range(4)] == [b"\x00\xff\n", b"ab", b"yz", b""]
        with pytest.raises(TypeError):
            ch.send(12)  # type: ignore[arg-type]
    assert peer.wait() == 0


def test_random_size_messages_both_ways_byte_exact(unique_name, start_peer):
    name = unique_name("random")
    rng = random.Random(7)
    messages = [rng.randbytes(rng.randrange(0, 70000)) for _ in range(300)]
    with sipc.Channel(name, max_message_size=70000, queue_depth=4) as ch:
        peer = start_peer(ECHO, name)
        ch.connect(timeout=30)
        sender = threading.Thread(target=lambda: [ch.send(m, timeout=30) for m in messages])
        sender.start()
        received = [ch.recv(timeout=30) for _ in messages]
        sender.join()
        assert received == messages
    assert peer.wait() == 0


def test_iteration_ends_when_the_peer_left(unique_name, start_peer):
    name = unique_name("iterate")
    with sipc.Channel(name) as ch:
        peer = start_peer("""
with sipc.Channel(name) as ch:
    for i in range(5):
        ch.send(f"m{i}")
""", name)
        assert list(ch) == [b"m0", b"m1", b"m2", b"m3", b"m4"]
        with pytest.raises(sipc.PeerGone) as gone:
            ch.recv(timeout=5)
        assert gone.value.code == "PEER_GONE" and gone.value.status == -2
    assert peer.wait() == 0


def test_errors_are_classes_with_stable_codes(unique_name):
    name = unique_name("errors")
    with pytest.raises(sipc.InvalidName) as bad:
        sipc.Channel("no spaces allowed")
    assert bad.value.code == "INVALID_NAME" and isinstance(bad.value, sipc.SipcError)
    with pytest.raises(sipc.InvalidName):
        sipc.Channel("ünïcode")
    with sipc.Channel(name, max_message_size=8, open_timeout=2) as server:
        with pytest.raises(sipc.Timeout) as timeout:
            server.connect(timeout=0)
        assert timeout.value.code == "TIMEOUT" and name in str(timeout.value)
        with pytest.raises(sipc.NotConnected):
            server.send(b"x", timeout=0)
        with pytest.raises(sipc.Mismatch):
            sipc.Channel(name, max_message_size=16)
        with sipc.Channel(name) as client:
            assert client.role == "client" and client.max_message_size == 8
            with pytest.raises(sipc.Busy):
                sipc.Channel(name)
            with pytest.raises(sipc.TooBig) as too_big:
                client.send(b"123456789")
            assert too_big.value.code == "TOO_BIG"
            client.connect(timeout=5)
            with pytest.raises(sipc.Timeout):
                client.recv(timeout=0.01)
        with pytest.raises(sipc.PeerGone):
            server.recv(timeout=5)
    with pytest.raises(sipc.Closed):
        server.recv()
    with pytest.raises(sipc.NotFound):
        sipc.stat(name)


def test_blocked_calls_release_the_gil_and_cancel_from_another_thread(unique_name):
    name = unique_name("cancel")
    with sipc.Channel(name) as ch:
        outcome: list[BaseException] = []

        def wait_for_peer() -> None:
            try:
                ch.connect()
            except sipc.SipcError as error:
                outcome.append(error)

        waiter = threading.Thread(target=wait_for_peer)
        waiter.start()
        ch.cancel()  # runs while the other thread waits in C: the wait released the GIL
        waiter.join(timeout=30)
        assert not waiter.is_alive()
        assert isinstance(outcome[0], sipc.Cancelled) and outcome[0].code == "CANCELLED"
        with pytest.raises(sipc.Cancelled):  # sticky until uncancel
            ch.connect(timeout=0)
        ch.uncancel()
        with pytest.raises(sipc.Timeout):
            ch.connect(timeout=0)


def test_close_from_another_thread_wakes_a_blocked_recv(unique_name, start_peer):
    name = unique_name("close")
    ch = sipc.Channel(name)
    peer = start_peer("""
with sipc.Channel(name) as ch:
    ch.connect(timeout=30)
    print("connected", flush=True)
    sys.stdin.read()
""", name)
    ch.connect(timeout=30)
    peer.expect_line("connected")
    outcome: list[BaseException] = []

    def receive() -> None:
        try:
            ch.recv()
        except sipc.SipcError as error:
            outcome.append(error)

    receiver = threading.Thread(target=receive)
    receiver.start()
    ch.close()
    receiver.join(timeout=30)
    assert ch.closed and isinstance(outcome[0], (sipc.Closed, sipc.Cancelled))
    ch.close()  # idempotent
    peer.end_input()
    assert peer.wait() == 0


def test_kill_9_of_the_peer_is_seen(unique_name, start_peer):
    name = unique_name("kill")
    with sipc.Channel(name) as ch:
        peer = start_peer("""
ch = sipc.Channel(name)
ch.connect(timeout=30)
ch.send("ready")
import time
time.sleep(3600)
""", name)
        assert ch.recv(timeout=30) == b"ready"
        peer.kill9()
        assert peer.wait() == -9
        with pytest.raises(sipc.PeerGone):
            ch.recv(timeout=30)
        info = ch.info()
        assert info.state == "peer-gone" and not info.client_alive


def test_ctrl_c_interrupts_a_wait_on_the_main_thread(unique_name, start_peer):
    name = unique_name("sigint")
    # A shell's background job starts with SIGINT ignored, and Python then installs no KeyboardInterrupt handler: the
    # peer installs it itself, so the test does not depend on how the suite was started.
    peer = start_peer("""
import signal
signal.signal(signal.SIGINT, signal.default_int_handler)
with sipc.Channel(name) as ch:
    try:
        print("waiting", flush=True)
        ch.connect()
    except KeyboardInterrupt:
        print("interrupted", flush=True)
""", name)
    peer.expect_line("waiting")
    peer.process.send_signal(signal.SIGINT)  # lands during the wait (or just before it: the slice sees it)
    peer.expect_line("interrupted")
    assert peer.wait() == 0


def test_create_false_only_attaches(unique_name):
    name = unique_name("no-create")
    with pytest.raises(sipc.NotFound):
        sipc.Channel(name, create=False)
    with sipc.Channel(name) as server, sipc.Channel(name, create=False) as client:
        assert (server.role, client.role) == ("server", "client")
