"""sipc: named, synchronous, shared-memory channels between processes (Python binding of libsipc, ctypes only).

    import sipc
    with sipc.Channel("demo") as ch:          # the first opener is the server, the second the client
        ch.connect(timeout=5)
        ch.send("hello")                      # str is sent as UTF-8; bytes byte-exact
        reply = ch.recv(timeout=5)            # bytes
"""
from __future__ import annotations

from ._core import (
    Channel,
    ChannelInfo,
    Data,
    Direction,
    DirectionInfo,
    DropReason,
    Observation,
    ObservedMessage,
    Observer,
    ObserverEvent,
    ObserverEventKind,
    ObserverStats,
    Role,
    State,
    library_path,
    list_channels,
    observe,
    remove,
    stat,
    validate_name,
    version,
)
from .errors import (
    ERRORS_BY_CODE,
    Busy,
    BufferTooSmall,
    Cancelled,
    Closed,
    Corrupt,
    IncompatibleVersion,
    InvalidArgument,
    InvalidName,
    LibraryNotFound,
    Mismatch,
    NoMemory,
    NotAChannel,
    NotConnected,
    NotFound,
    PeerGone,
    PermissionDenied,
    SipcError,
    SystemFailure,
    Timeout,
    TooBig,
)
from .aio import AsyncChannel, AsyncObserver

list = list_channels  # sipc.list(): every channel on this machine  # noqa: A001

__version__ = "1.0.0"

__all__ = [
    "AsyncChannel", "AsyncObserver", "Busy", "BufferTooSmall", "Cancelled", "Channel", "ChannelInfo", "Closed",
    "Corrupt", "Data", "Direction", "DirectionInfo", "DropReason", "ERRORS_BY_CODE", "IncompatibleVersion",
    "InvalidArgument", "InvalidName", "LibraryNotFound", "Mismatch", "NoMemory", "NotAChannel", "NotConnected",
    "NotFound", "Observation", "ObservedMessage", "Observer", "ObserverEvent", "ObserverEventKind", "ObserverStats",
    "PeerGone", "PermissionDenied", "Role", "SipcError", "State", "SystemFailure", "Timeout", "TooBig", "library_path",
    "list", "list_channels", "observe", "remove", "stat", "validate_name", "version",
]
