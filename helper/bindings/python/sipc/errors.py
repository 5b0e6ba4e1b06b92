"""Exceptions: one class per libsipc status, each with the stable `.code` shared with C++ and Node."""
from __future__ import annotations

import ctypes

from . import _native


class SipcError(Exception):
    """Every failure of sipc. `code` is stable ("PEER_GONE", "TIMEOUT", ...: the names of libsipc's statuses,
    the same in C, C++ and Node); `status` is the C status number; `os_error` the errno behind SYSTEM,
    PERMISSION and NO_MEMORY when the library reported one."""

    code = "UNKNOWN"

    def __init__(self, message: str, *, status: int = 0, code: str | None = None, os_error: int | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code
        self.status = status
        self.os_error = os_error


class Timeout(SipcError):
    """The wait ran out."""
    code = "TIMEOUT"


class PeerGone(SipcError):
    """The peer closed or died (after its queued messages were delivered)."""
    code = "PEER_GONE"


class Busy(SipcError):
    """Both roles of the channel are taken, or remove() while a live process is attached."""
    code = "BUSY"


class TooBig(SipcError):
    """The message is larger than the channel's maximum; nothing was sent."""
    code = "TOO_BIG"


class Cancelled(SipcError):
    """cancel() was called on the channel or observer."""
    code = "CANCELLED"


class Closed(SipcError):
    """The channel or observer is closed."""
    code = "CLOSED"


class InvalidName(SipcError):
    """The name breaks the rules: 1-200 characters of A-Z a-z 0-9 . _ -, not starting with '.'."""
    code = "INVALID_NAME"


class InvalidArgument(SipcError, ValueError):
    """An argument is missing or out of range (also a ValueError)."""
    code = "INVALID_ARGUMENT"


class BufferTooSmall(SipcError):
    """A receive buffer is smaller than the next message."""
    code = "BUFFER_TOO_SMALL"


class NotFound(SipcError):
    """No channel of that name (or it was removed while observed)."""
    code = "NOT_FOUND"


class Corrupt(SipcError):
    """The channel's shared memory fails validation."""
    code = "CORRUPT"


class IncompatibleVersion(SipcError):
    """The channel was made by an incompatible protocol version."""
    code = "VERSION"


class PermissionDenied(SipcError):
    """The operating system refused access to the channel."""
    code = "PERMISSION"


class NoMemory(SipcError):
    """Out of memory or shared-memory space."""
    code = "NO_MEMORY"


class Mismatch(SipcError):
    """The channel exists with another maximum message size or queue depth."""
    code = "MISMATCH"


class NotConnected(SipcError):
    """No peer ever connected (timeout 0)."""
    code = "NOT_CONNECTED"


class SystemFailure(SipcError):
    """Another operating-system call failed (see os_error)."""
    code = "SYSTEM"


class NotAChannel(SipcError):
    """The name leads to something that is not this channel (another file, a FIFO, a hash collision)."""
    code = "NOT_A_CHANNEL"


class LibraryNotFound(SipcError):
    """libsipc could not be loaded; the message lists every path tried."""
    code = "LIBRARY_NOT_FOUND"


# Status code -> class. Every SIPC_ERR_* of sipc.h has its entry (test_names.py checks it against the header).
ERRORS_BY_CODE: dict[str, type[SipcError]] = {
    cls.code: cls
    for cls in (Timeout, PeerGone, Busy, TooBig, Cancelled, Closed, InvalidName, InvalidArgument, BufferTooSmall,
                NotFound, Corrupt, IncompatibleVersion, PermissionDenied, NoMemory, Mismatch, NotConnected,
                SystemFailure, NotAChannel, LibraryNotFound)
}

_OS_ERROR_CODES = ("SYSTEM", "PERMISSION", "NO_MEMORY")


def library() -> ctypes.CDLL:
    """The loaded library; LibraryNotFound (a SipcError) when it cannot be found."""
    try:
        return _native.load()
    except _native.LibraryNotFound as error:
        raise LibraryNotFound(str(error)) from None


def error_for(status: int, context: str, *, by_name: bool = False) -> SipcError:
    """The exception for a failed status, e.g. error_for(-2, "send to channel 'demo'"). by_name: the failed call
    was one by name (open, observe, stat, remove, list), whose details the library keeps."""
    lib = library()
    code = lib.sipc_status_name(status).decode()
    detail = lib.sipc_strerror(status).decode()
    if by_name:
        extra = lib.sipc_last_error_message()
        if extra:
            detail += f" ({extra.decode(errors='replace')})"
    os_error = None
    if code in _OS_ERROR_CODES:
        os_error = lib.sipc_last_os_error() or None
        if os_error is not None:
            detail += f" (OS error {os_error})"
    cls = ERRORS_BY_CODE.get(code, SipcError)
    return cls(f"{context}: {detail}", status=status, code=code, os_error=os_error)


def check(status: int, context: str, *, by_name: bool = False) -> None:
    if status != _native.SIPC_OK:
        raise error_for(status, context, by_name=by_name)
