"""Observer, stat/list/remove, status names against sipc.h, library lookup, pip install."""
from __future__ import annotations

import ctypes.util
import os
import re
import shutil
import subprocess
import sys
import threading
import venv
from pathlib import Path

import pytest

import sipc

from conftest import PACKAGE_ROOT, REPOSITORY


def test_observer_follows_both_directions(unique_name, start_peer):
    name = unique_name("observe")
    with sipc.Channel(name, queue_depth=64) as ch:
        with sipc.observe(name) as observer:
            peer = start_peer("""
with sipc.Channel(name) as ch:
    for message in ch:
        ch.send(message.upper())
""", name)
            ch.connect(timeout=30)
            for i in range(10):
                ch.send(f"msg{i}")
                assert ch.recv(timeout=30) == f"MSG{i}".encode()
            seen = []
            for message in observer:
                seen.append(message)
                if len(seen) == 20:
                    observer.cancel()  # ends the loop
            for i in range(10):
                sent = [m for m in seen if m.direction == "to-client"]  # we are the server
                answered = [m for m in seen if m.direction == "to-server"]
                assert sent[i].data == f"msg{i}".encode() and sent[i].sequence == i
                assert answered[i].data == f"MSG{i}".encode() and answered[i].length == 4
            assert all(m.missed == 0 and m.timestamp.year >= 2024 for m in seen)
            with pytest.raises(sipc.Cancelled):
                observer.next(timeout=0)
        ch.close()
        assert peer.wait() == 0


def test_observer_iteration_ends_when_the_channel_is_removed(unique_name):
    name = unique_name("removed")
    ch = sipc.Channel(name)
    observer = sipc.Observer(name)
    assert observer.next(timeout=0) is None
    ended = threading.Event()

    def follow() -> None:
        for _ in observer:
            pass
        ended.set()

    follower = threading.Thread(target=follow)
    follower.start()
    ch.close()  # the last one out removes the channel
    follower.join(timeout=30)
    assert ended.is_set()
    observer.close()


def test_stat_list_remove(unique_name):
    name = unique_name("manage")
    with pytest.raises(sipc.NotFound):
        sipc.stat(name)
    with sipc.Channel(name, max_message_size=100, queue_depth=3):
        info = sipc.stat(name)
        assert (info.name, info.max_message_size, info.queue_depth, info.state) == (name, 100, 3, "waiting")
        assert info.server_pid == os.getpid() and info.server_alive and info.mode == 0o600
        assert sipc.stat(name, timeout=0).state == "waiting" and sipc.stat(name, timeout=None).queue_depth == 3
        assert name in [c.name for c in sipc.list()]
        with pytest.raises(sipc.Busy):
            sipc.remove(name)
        sipc.remove(name, force=True, timeout=1)
        with pytest.raises(sipc.NotFound):
            sipc.remove(name, timeout=None)
    sipc.validate_name("fine.name_1-2")
    with pytest.raises(sipc.InvalidName):
        sipc.validate_name(".hidden")


def test_every_status_of_sipc_h_has_a_python_exception():
    header = (REPOSITORY / "helper" / "include" / "sipc.h").read_text()
    statuses = re.findall(r"SIPC_ERR_([A-Z_]+)\s*=\s*(-\d+)", header)
    assert len(statuses) >= 17
    lib = sipc.errors.library()
    for code, value in statuses:
        assert lib.sipc_status_name(int(value)).decode() == code
        cls = sipc.ERRORS_BY_CODE.get(code)
        assert cls is not None, f"SIPC_ERR_{code} has no Python exception"
        assert cls.code == code and issubclass(cls, sipc.SipcError)
        assert sipc.errors.error_for(int(value), "x").code == code


def _run_python(code: str, env: dict[str, str], python: str = sys.executable) -> subprocess.CompletedProcess[str]:
    return subprocess.run([python, "-c", code], env=env, cwd="/", capture_output=True, text=True, timeout=120)


def test_library_lookup_by_environment_variable():
    env = dict(os.environ, PYTHONPATH=str(PACKAGE_ROOT), SIPC_LIBRARY="/nonexistent/libsipc.so")
    result = _run_python("import sipc\ntry:\n    sipc.version()\nexcept sipc.LibraryNotFound as e:\n"
                         "    print(e.code, e)\n", env)
    assert result.stdout.startswith("LIBRARY_NOT_FOUND") and "/nonexistent/libsipc.so" in result.stdout


def test_pip_install_and_library_beside_the_package(tmp_path: Path):
    """`pip install ./helper/bindings/python` into a fresh virtual environment, offline (the in-tree build backend
    needs nothing from an index), then import it from elsewhere."""
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = str(environment / "bin" / "python")
    install = subprocess.run([python, "-m", "pip", "install", "--no-index", "--quiet", str(PACKAGE_ROOT)],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    library = REPOSITORY / "helper" / "build" / "linux-x64" / "libsipc.so"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SIPC_LIBRARY")}
    located = _run_python("import sipc, os; print(os.path.dirname(sipc.__file__))", env, python)
    assert located.returncode == 0, located.stderr
    installed = Path(located.stdout.strip())
    assert str(installed).startswith(str(environment)) and (installed / "py.typed").exists()
    by_env = _run_python("import sipc; print(sipc.version(), sipc.library_path())",
                         dict(env, SIPC_LIBRARY=str(library)), python)
    assert by_env.stdout.split() == ["1.0.0", str(library)], by_env.stderr
    # The system's library path (here LD_LIBRARY_PATH, as after `make install` into a non-default prefix).
    by_system = _run_python("import sipc; print(sipc.version(), sipc.library_path())",
                            dict(env, LD_LIBRARY_PATH=str(library.parent)), python)
    assert by_system.returncode == 0 and by_system.stdout.split()[0] == "1.0.0", by_system.stderr
    assert "libsipc.so" in by_system.stdout and str(environment) not in by_system.stdout
    without = _run_python("import sipc\ntry:\n    sipc.version()\nexcept sipc.LibraryNotFound as e:\n    print(e.code)",
                          env, python)
    if ctypes.util.find_library("sipc") is None:  # (a machine with libsipc installed system-wide finds it there)
        assert without.stdout.strip() == "LIBRARY_NOT_FOUND", without.stdout + without.stderr
    shutil.copy(library, installed / "libsipc.so")
    beside = _run_python("import sipc; print(sipc.library_path())", env, python)
    assert beside.stdout.strip() == str(installed / "libsipc.so"), beside.stderr
