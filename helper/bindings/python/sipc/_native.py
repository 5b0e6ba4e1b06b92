"""libsipc through ctypes: where the library is found, its C types and its function prototypes.

Every call goes through ctypes.CDLL, which releases the GIL for the duration of the C call, so a thread
blocked in sipc_recv never holds up the other Python threads.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
import sys
from pathlib import Path

NAME_MAX = 200
INFINITE = -1
DEFAULT_LOCK_TIMEOUT = 5.0  # seconds: SIPC_DEFAULT_LOCK_TIMEOUT_MS
SIPC_REMOVE_FORCE = 0x1
DEFAULT_MAX_MESSAGE = 64 * 1024

SIPC_OK = 0
SIPC_ERR_TIMEOUT = -1
SIPC_ERR_PEER_GONE = -2
SIPC_ERR_BUFFER_TOO_SMALL = -9
SIPC_ERR_CANCELLED = -5
SIPC_ERR_NOT_FOUND = -10

SIPC_OPEN_INHERIT_HANDLES = 0x1
SIPC_OPEN_NO_CREATE = 0x2
SIPC_OPEN_GLOBAL = 0x4


class Options(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("max_message_size", ctypes.c_uint32),
        ("queue_depth", ctypes.c_uint32),
        ("mode", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
    ]


class DirectionInfo(ctypes.Structure):
    _fields_ = [
        ("messages", ctypes.c_uint64),
        ("bytes", ctypes.c_uint64),
        ("queued", ctypes.c_uint32),
        ("capacity", ctypes.c_uint32),
        ("last_activity_ns", ctypes.c_uint64),
    ]


class ChannelInfo(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("protocol_version", ctypes.c_uint32),
        ("name", ctypes.c_char * (NAME_MAX + 1)),
        ("state", ctypes.c_int32),
        ("max_message_size", ctypes.c_uint32),
        ("queue_depth", ctypes.c_uint32),
        ("mode", ctypes.c_uint32),
        ("owner_uid", ctypes.c_uint32),
        ("server_pid", ctypes.c_int64),
        ("client_pid", ctypes.c_int64),
        ("server_alive", ctypes.c_int32),
        ("client_alive", ctypes.c_int32),
        ("connections", ctypes.c_uint64),
        ("created_ns", ctypes.c_uint64),
        ("to_client", DirectionInfo),
        ("to_server", DirectionInfo),
    ]


class ObservedMessage(ctypes.Structure):
    """sipc_observed_message, every field (the library fills a shorter struct_size's fields only)."""
    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("direction", ctypes.c_int32),
        ("sequence", ctypes.c_uint64),
        ("timestamp_ns", ctypes.c_uint64),
        ("length", ctypes.c_uint32),
        ("copied", ctypes.c_uint32),
        ("missed", ctypes.c_uint64),
        ("discarded", ctypes.c_uint64),
        ("undeliverable", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
        ("kind", ctypes.c_uint32),
        ("event", ctypes.c_int32),
        ("role", ctypes.c_int32),
        ("session", ctypes.c_uint32),
        ("pid", ctypes.c_int64),
        ("count", ctypes.c_uint64),
    ]


SIPC_OBSERVED_EVENT = 1
SIPC_OBSERVE_LOSSLESS = 0x1
SIPC_OBSERVE_EVENTS = 0x2
SIPC_OBSERVE_STALL_DEFAULT_MS = 1000
SIPC_OBSERVE_STALL_MAX_MS = 10000
SIPC_MAX_MESSAGE_LIMIT = 64 * 1024 * 1024


class ObserveOptions(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("stall_timeout_ms", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
    ]


class ObserverStats(ctypes.Structure):
    """sipc_observer_stats as this package knows it. The library refuses a struct_size below its own sizeof, and
    fields are only ever appended: stats are read into a larger zeroed buffer (OBSERVER_STATS_BUFFER) whose size is
    the struct_size passed, so a newer library fills what it knows and these fields are read from its start."""
    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
        ("messages", ctypes.c_uint64),
        ("missed", ctypes.c_uint64),
        ("missed_asleep", ctypes.c_uint64),
        ("missed_away", ctypes.c_uint64),
        ("missed_running", ctypes.c_uint64),
        ("sleeps", ctypes.c_uint64),
        ("woken", ctypes.c_uint64),
        ("polls", ctypes.c_uint64),
        ("spins", ctypes.c_uint64),
        ("spin_hits", ctypes.c_uint64),
        ("wake_latency_count", ctypes.c_uint64),
        ("wake_latency_total_ns", ctypes.c_uint64),
        ("wake_latency_max_ns", ctypes.c_uint64),
        ("longest_miss_gap_ns", ctypes.c_uint64),
        ("longest_away_ns", ctypes.c_uint64),
        ("producer_wakes", ctypes.c_uint64),
    ]


# Room for fields a newer library appends to sipc_observer_stats (each is a u64: 100 of them).
OBSERVER_STATS_BUFFER = 1024


ListVisitor = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)

_c_int = ctypes.c_int
_ptr = ctypes.c_void_p
_size_p = ctypes.POINTER(ctypes.c_size_t)
_PROTOTYPES: dict[str, tuple[object, list[object]]] = {
    "sipc_version": (ctypes.c_char_p, []),
    "sipc_status_name": (ctypes.c_char_p, [_c_int]),
    "sipc_strerror": (ctypes.c_char_p, [_c_int]),
    "sipc_last_os_error": (_c_int, []),
    "sipc_last_error_message": (ctypes.c_char_p, []),
    "sipc_validate_name": (_c_int, [ctypes.c_char_p]),
    "sipc_options_init": (None, [ctypes.POINTER(Options)]),
    "sipc_open": (_c_int, [ctypes.c_char_p, ctypes.POINTER(Options), ctypes.POINTER(_ptr)]),
    "sipc_open_ex": (_c_int, [ctypes.c_char_p, ctypes.POINTER(Options), ctypes.c_int32, ctypes.POINTER(_ptr)]),
    "sipc_get_role": (_c_int, [_ptr]),
    "sipc_max_message_size": (ctypes.c_uint32, [_ptr]),
    "sipc_connect": (_c_int, [_ptr, ctypes.c_int32]),
    "sipc_send": (_c_int, [_ptr, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int32]),
    "sipc_recv": (_c_int, [_ptr, ctypes.c_void_p, ctypes.c_size_t, _size_p, ctypes.c_int32]),
    "sipc_peek_size": (_c_int, [_ptr, _size_p, ctypes.c_int32]),
    "sipc_cancel": (_c_int, [_ptr]),
    "sipc_uncancel": (_c_int, [_ptr]),
    "sipc_info": (_c_int, [_ptr, ctypes.POINTER(ChannelInfo)]),
    "sipc_close": (_c_int, [_ptr]),
    "sipc_stat": (_c_int, [ctypes.c_char_p, ctypes.POINTER(ChannelInfo)]),
    "sipc_stat_ex": (_c_int, [ctypes.c_char_p, ctypes.c_int32, ctypes.POINTER(ChannelInfo)]),
    "sipc_remove": (_c_int, [ctypes.c_char_p, _c_int]),
    "sipc_remove_ex": (_c_int, [ctypes.c_char_p, ctypes.c_uint32, ctypes.c_int32]),
    "sipc_list": (_c_int, [ListVisitor, _ptr]),
    "sipc_observe": (_c_int, [ctypes.c_char_p, ctypes.POINTER(_ptr)]),
    "sipc_observe_options_init": (None, [ctypes.POINTER(ObserveOptions)]),
    "sipc_observe_ex": (_c_int, [ctypes.c_char_p, ctypes.POINTER(ObserveOptions), ctypes.POINTER(_ptr)]),
    "sipc_observer_get_stats": (_c_int, [_ptr, ctypes.c_void_p]),
    "sipc_observer_info": (_c_int, [_ptr, ctypes.POINTER(ChannelInfo)]),
    "sipc_observer_next": (_c_int, [_ptr, ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ObservedMessage), ctypes.c_int32]),
    "sipc_observer_cancel": (_c_int, [_ptr]),
    "sipc_observer_close": (_c_int, [_ptr]),
}


def library_file_name() -> str:
    if sys.platform == "win32":
        return "sipc.dll"
    if sys.platform == "darwin":
        return "libsipc.dylib"
    return "libsipc.so"


def _platform_target() -> str:
    system = {"win32": "win32", "darwin": "darwin"}.get(sys.platform, sys.platform.rstrip("0123456789"))
    machine = platform.machine().lower()
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"{system}-{arch}"


def library_candidates() -> list[str]:
    """Where libsipc is looked for, in order: $SIPC_LIBRARY alone if set; else beside this package
    (sipc/libsipc.so); the repository's helper/build/<platform>-<arch>/ when the package runs from the
    repository; then the system's library path (libsipc.so.1 after `make -C helper install`)."""
    from_env = os.environ.get("SIPC_LIBRARY")
    if from_env:
        return [from_env]
    here = Path(__file__).resolve().parent
    file = library_file_name()
    candidates = [str(here / file)]
    if len(here.parents) > 2:  # <repository>/helper/bindings/python/sipc -> <repository>/helper/build/
        candidates.append(str(here.parents[2] / "build" / _platform_target() / file))
    found = ctypes.util.find_library("sipc")
    candidates.append(found if found else ("libsipc.so.1" if file == "libsipc.so" else file))
    return candidates


class LibraryNotFound(OSError):
    """Raised inside _native only; sipc.errors turns it into sipc.LibraryNotFound."""


_library: ctypes.CDLL | None = None
_library_path = ""


def load() -> ctypes.CDLL:
    """The bound library, loaded on first use."""
    global _library, _library_path
    if _library is not None:
        return _library
    tried: list[str] = []
    for candidate in library_candidates():
        is_path = os.sep in candidate
        if is_path and not os.path.exists(candidate):
            tried.append(f"{candidate} (missing)")
            continue
        try:
            library = ctypes.CDLL(candidate)
        except OSError as error:
            tried.append(f"{candidate} ({error})")
            continue
        for name, (restype, argtypes) in _PROTOTYPES.items():
            function = getattr(library, name)
            function.restype = restype
            function.argtypes = argtypes
        _library, _library_path = library, candidate
        return library
    raise LibraryNotFound("libsipc not found; tried: " + "; ".join(tried) + " (set SIPC_LIBRARY to its path)")


def library_path() -> str:
    load()
    return _library_path
