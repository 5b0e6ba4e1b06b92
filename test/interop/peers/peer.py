"""The Python peer of the interoperability matrix, on the sipc package (same command line as peer.c)."""
from __future__ import annotations

import sys
import threading

import sipc
from stream import Stream

WAIT = 60.0


def exchange(name: str, max_size: int, depth: int, count: int, send_seed: int, recv_seed: int, send_nonl: int,
             recv_nonl: int) -> int:
    with sipc.Channel(name, max_message_size=max_size, queue_depth=depth) as ch:
        ch.connect(timeout=WAIT)
        outgoing = Stream(send_seed, ch.max_message_size, bool(send_nonl))
        expected = Stream(recv_seed, ch.max_message_size, bool(recv_nonl))
        send_error: list[BaseException] = []

        def send_all() -> None:
            try:
                for _ in range(count):
                    ch.send(outgoing.message(), timeout=WAIT)
            except sipc.SipcError as error:
                send_error.append(error)

        sender = threading.Thread(target=send_all)
        sender.start()
        result = 0
        try:
            for i in range(count):
                got = ch.recv(timeout=WAIT)
                want = expected.message()
                if got != want:
                    print(f"mismatch at message {i}: {len(got)} bytes, expected {len(want)}")
                    result = 1
                    break
        except sipc.SipcError as error:
            print(f"recv: {error.code}")
            result = 1
        if result:
            ch.cancel()
        sender.join()
        if not result and send_error:
            print(f"send: {send_error[0]}")
            result = 1
    if not result:
        print(f"ok exchanged {count} each way")
    return result


def wait_gone(name: str) -> int:
    with sipc.Channel(name) as ch:
        ch.connect(timeout=WAIT)
        print("connected", flush=True)
        try:
            while True:
                ch.recv()
        except sipc.SipcError as error:
            print(error.code)
            return 0 if isinstance(error, sipc.PeerGone) else 1


def observe(name: str, count: int, server_seed: int, client_seed: int, server_nonl: int, client_nonl: int) -> int:
    with sipc.observe(name) as observer:
        max_size = observer.info().max_message_size
        streams = {"to-client": Stream(server_seed, max_size, bool(server_nonl)),
                   "to-server": Stream(client_seed, max_size, bool(client_nonl))}
        next_index = {"to-client": 0, "to-server": 0}
        seen = missed = 0
        print("watching", flush=True)
        for message in observer:
            want = b""
            while next_index[message.direction] <= message.sequence:  # skip what was missed
                want = streams[message.direction].message()
                next_index[message.direction] += 1
            if message.length != len(want) or message.data != want:
                print(f"observed message {message.direction}/{message.sequence} differs")
                return 1
            seen += 1
            missed += message.missed
            if seen + missed >= 2 * count:
                break
        if seen + missed < 2 * count:
            print(f"the channel went away after {seen + missed} messages")
            return 1
    print(f"ok observed {seen} missed {missed}")
    return 0


def main(argv: list[str]) -> int:
    mode = argv[1] if len(argv) > 1 else ""
    try:
        if mode == "exchange" and len(argv) == 10:
            return exchange(argv[2], *(int(a) for a in argv[3:10]))
        if mode == "wait-gone" and len(argv) == 3:
            return wait_gone(argv[2])
        if mode == "observe" and len(argv) == 8:
            return observe(argv[2], *(int(a) for a in argv[3:8]))
    except sipc.SipcError as error:
        print(f"{error.code}: {error}")
        return 1
    print("usage: see test/interop/peers/peer.c", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
