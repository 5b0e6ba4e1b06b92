"""Fixtures: channel names unique to the run (removed and checked at the end), and real peer processes."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Iterator

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
REPOSITORY = PACKAGE_ROOT.parents[2]
sys.path.insert(0, str(PACKAGE_ROOT))

import sipc  # noqa: E402

CLI = os.environ.get("SIPC_CLI", str(REPOSITORY / "helper" / "build" / "linux-x64" / "sipc"))


class Names:
    def __init__(self) -> None:
        self.names: list[str] = []
        self.counter = 0

    def __call__(self, label: str) -> str:
        self.counter += 1
        name = f"tpy-{label}-{os.getpid()}-{self.counter}"
        self.names.append(name)
        return name


@pytest.fixture
def unique_name() -> Iterator[Names]:
    """unique_name(label) -> a channel name; the test fails if one of them is still there at its end."""
    names = Names()
    yield names
    left = []
    for name in names.names:
        try:
            sipc.stat(name)
        except sipc.NotFound:
            continue
        left.append(name)
        sipc.remove(name, force=True)
    assert not left, f"channels left behind: {left}"


class Peer:
    """A Python peer process running `code` with `sipc` imported and `name` set; talks through stdout lines."""

    def __init__(self, code: str, name: str):
        env = dict(os.environ, PYTHONPATH=str(PACKAGE_ROOT))
        program = "import sys, sipc\nname = sys.argv[1]\n" + textwrap.dedent(code)
        self.process = subprocess.Popen([sys.executable, "-c", program, name], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)

    def expect_line(self, line: str) -> None:
        assert self.process.stdout is not None
        got = self.process.stdout.readline().strip()
        if got != line:
            self.process.kill()
            _, err = self.process.communicate()
            raise AssertionError(f"peer said {got!r}, expected {line!r}; stderr: {err}")

    def wait(self) -> int:
        try:
            _, err = self.process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        if self.process.returncode != 0 and self.process.returncode != -9:
            print(err, file=sys.stderr)
        return self.process.returncode

    def end_input(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.stdin = None  # communicate() must not flush it

    def kill9(self) -> None:
        self.process.kill()


@pytest.fixture
def peers() -> Iterator[list[Peer]]:
    started: list[Peer] = []
    yield started
    for peer in started:
        if peer.process.poll() is None:
            peer.process.kill()
        peer.process.communicate()


@pytest.fixture
def start_peer(peers: list[Peer]):
    def start(code: str, name: str) -> Peer:
        peer = Peer(code, name)
        peers.append(peer)
        return peer
    return start
