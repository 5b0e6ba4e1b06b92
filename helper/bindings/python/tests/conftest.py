"""Fixtures: channel names unique to the run (removed and checked at the end of each test and of the session), and
real peer processes."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Iterator

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
REPOSITORY = PACKAGE_ROOT.parents[2]
sys.path.insert(0, str(PACKAGE_ROOT))

import sipc  # noqa: E402

CLI = os.environ.get("SIPC_CLI", str(REPOSITORY / "helper" / "build" / "linux-x64" / "sipc"))


SHM = Path("/dev/shm")
# Every channel this session makes is named with this prefix, unique to the process and the run: the end-of-session
# check looks at it only (other programs on the machine make sipc channels at the same time).
def _base36(value: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        value, digit = divmod(value, 36)
        text = digits[digit] + text
        if value == 0:
            return text


# Short, so that short labels keep a plain key (names over 25 characters get a hashed one, found through stat only).
RUN_PREFIX = f"tpy{_base36(os.getpid())}-{_base36(int(time.time() * 1000) % 36**4)}-"
# Every name handed out this session: stat finds what is left of each, long (hashed-key) names included.
SESSION_NAMES: list[str] = []


def _is_left(name: str) -> bool:
    try:
        sipc.stat(name)
    except sipc.NotFound:
        return False
    except sipc.SipcError:
        return True  # something is there under its key, just not a usable channel (damaged, half made)
    return True


def remove_leftovers(names: list[str]) -> list[str]:
    """The names of `names` that still have a channel (or anything) under their key; each is removed by force."""
    left = [name for name in names if _is_left(name)]
    for name in left:
        try:
            sipc.remove(name, force=True)
        except sipc.SipcError:
            pass
    return left


def leftover_objects() -> list[Path]:
    """/dev/shm objects whose key still shows this run's prefix (anything stat could not reach)."""
    return sorted(SHM.glob(f"sipc.{RUN_PREFIX}*")) if SHM.is_dir() else []


class Names:
    def __init__(self) -> None:
        self.names: list[str] = []
        self.counter = 0

    def __call__(self, label: str) -> str:
        self.counter += 1
        name = f"{RUN_PREFIX}{label}-{len(SESSION_NAMES)}"
        self.names.append(name)
        SESSION_NAMES.append(name)
        return name


@pytest.fixture
def unique_name() -> Iterator[Names]:
    """unique_name(label) -> a channel name; the test fails if one of them is still there at its end."""
    names = Names()
    yield names
    left = remove_leftovers(names.names)
    assert not left, f"channels left behind: {left}"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The suite fails if it leaves anything of its own in /dev/shm, whichever test (or peer) made it; what is left is
    removed, so a failing run still leaves the machine clean."""
    left = remove_leftovers(SESSION_NAMES)
    objects = leftover_objects()
    for path in objects:
        path.unlink(missing_ok=True)
    if left or objects:
        sys.stderr.write(f"\ntest:python: left {len(left) + len(objects)} sipc channel(s) behind (removed now): "
                         f"{', '.join(left + [str(path) for path in objects])}\n")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


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
def peers(unique_name: Names) -> Iterator[list[Peer]]:
    # Depending on unique_name orders the teardowns: peers are killed first, then the test's channels are checked,
    # so a failing peer test does not also report the channel its live peer still held as "left behind".
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
