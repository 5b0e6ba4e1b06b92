"""The suite's own leftover check: a session that leaves a channel behind fails, and the channel is removed."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sipc
from conftest import PACKAGE_ROOT

TESTS = Path(__file__).resolve().parent

LEAKING_TEST = '''
import os, signal, subprocess, sys
from pathlib import Path

def test_a_killed_peer_leaves_its_channel(unique_name):
    name = unique_name("leak")
    Path(os.environ["SIPC_LEAK_RECORD"]).write_text(name)
    # A peer that opens the channel and is killed: nobody closes it, so its segment stays (stale).
    code = "import sys, sipc\\nch = sipc.Channel(sys.argv[1])\\nprint('ready', flush=True)\\nsys.stdin.read()"
    peer = subprocess.Popen([sys.executable, "-c", code, name], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    assert peer.stdout.readline().strip() == "ready"
    peer.send_signal(signal.SIGKILL)
    peer.wait()
    unique_name.names.clear()  # as a test that forgot its per-test check: only the session's check is left
'''


def test_a_session_that_leaves_a_channel_fails_and_cleans_up(tmp_path: Path):
    (tmp_path / "test_leak.py").write_text(LEAKING_TEST)
    record = tmp_path / "name"
    env = dict(os.environ, PYTHONPATH=f"{TESTS}{os.pathsep}{PACKAGE_ROOT}", SIPC_LEAK_RECORD=str(record))
    # This suite's conftest as a plugin of a separate pytest session over the leaking test only.
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "conftest",
                          "--rootdir", str(tmp_path), str(tmp_path / "test_leak.py")],
                         env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    name = record.read_text()
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 passed" in run.stdout, run.stdout
    assert f"left 1 sipc channel(s) behind (removed now): {name}" in run.stderr, run.stderr
    try:
        sipc.stat(name)
        assert False, f"{name} is still there"
    except sipc.NotFound:
        pass
