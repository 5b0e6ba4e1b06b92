"""Channels, observers and channels by name, over libsipc."""
from __future__ import annotations

import contextlib
import ctypes
import enum
import math
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterator, Literal, Optional, TypeVar, Union

from . import _native
from ._native import INFINITE, SIPC_ERR_BUFFER_TOO_SMALL, SIPC_ERR_CANCELLED, SIPC_ERR_TIMEOUT, SIPC_OK
from .errors import (Cancelled, Closed, InvalidArgument, InvalidName, NotFound, PeerGone, SipcError, check, error_for,
                     library)

Role = Literal["server", "client"]
State = Literal["waiting", "connected", "peer-gone", "stale", "empty"]
Direction = Literal["to-client", "to-server"]
Data = Union[bytes, bytearray, memoryview, str]

_STATES: tuple[State, ...] = ("waiting", "connected", "peer-gone", "stale", "empty")
_ROLES: dict[int, Role] = {1: "server", 2: "client"}
_DIRECTIONS: tuple[Direction, Direction] = ("to-client", "to-server")

# The main thread waits in slices so that Ctrl-C (KeyboardInterrupt) is seen during a long wait: Python runs
# signal handlers between bytecodes, never inside a C call. Other threads wait in one call.
_MAIN_THREAD_SLICE_MS = 250
_RECV_BUFFER_LIMIT = 64 * 1024


def _deadline(timeout: Optional[float]) -> Optional[float]:
    if timeout is None:
        return None
    if timeout != timeout or timeout < 0:  # NaN or negative: answer at once
        timeout = 0.0
    return time.monotonic() + timeout


def _remaining_ms(deadline: Optional[float]) -> int:
    if deadline is None:
        return INFINITE
    left = math.ceil((deadline - time.monotonic()) * 1000)
    return max(0, min(left, 2**31 - 2))


def _wait(call: Callable[[int], int], timeout: Optional[float]) -> int:
    """Runs call(timeout_ms) until it answers something other than TIMEOUT or the timeout ran out."""
    deadline = _deadline(timeout)
    sliced = threading.current_thread() is threading.main_thread()
    while True:
        remaining = _remaining_ms(deadline)
        ms = remaining
        if sliced and (ms == INFINITE or ms > _MAIN_THREAD_SLICE_MS):
            ms = _MAIN_THREAD_SLICE_MS
        status = call(ms)
        if status != SIPC_ERR_TIMEOUT or ms == remaining:
            return status


def _as_bytes(data: Data) -> Union[bytes, bytearray, memoryview]:
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, (bytes, bytearray, memoryview)):
        return data
    raise TypeError(f"send() takes bytes, bytearray, memoryview or str, not {type(data).__name__}")


def _encode_name(name: str) -> bytes:
    if not isinstance(name, str):
        raise InvalidName("a channel name must be a str", code="INVALID_NAME")
    try:
        return name.encode("ascii")
    except UnicodeEncodeError:
        raise error_for(-7, f"'{name}' is not a valid channel name") from None


@dataclass(frozen=True)
class DirectionInfo:
    messages: int
    """Messages sent in this direction since the channel was created."""
    bytes: int
    queued: int
    """Messages waiting to be received now."""
    capacity: int
    last_activity: Optional[datetime]


@dataclass(frozen=True)
class ChannelInfo:
    name: str
    protocol_version: int
    state: State
    max_message_size: int
    queue_depth: int
    mode: int
    owner_uid: int
    server_pid: int
    client_pid: int
    server_alive: bool
    client_alive: bool
    connections: int
    created: Optional[datetime]
    to_client: DirectionInfo
    """Server -> client."""
    to_server: DirectionInfo
    """Client -> server."""


def _time(ns: int) -> Optional[datetime]:
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc) if ns else None


def _direction_info(raw: _native.DirectionInfo) -> DirectionInfo:
    return DirectionInfo(raw.messages, raw.bytes, raw.queued, raw.capacity, _time(raw.last_activity_ns))


def _empty_info() -> _native.ChannelInfo:
    info = _native.ChannelInfo()
    info.struct_size = ctypes.sizeof(info)
    return info


def _info(raw: _native.ChannelInfo) -> ChannelInfo:
    return ChannelInfo(
        name=raw.name.decode("ascii", "replace"),
        protocol_version=raw.protocol_version,
        state=_STATES[raw.state] if 0 <= raw.state < len(_STATES) else "empty",
        max_message_size=raw.max_message_size,
        queue_depth=raw.queue_depth,
        mode=raw.mode,
        owner_uid=raw.owner_uid,
        server_pid=raw.server_pid,
        client_pid=raw.client_pid,
        server_alive=raw.server_alive != 0,
        client_alive=raw.client_alive != 0,
        connections=raw.connections,
        created=_time(raw.created_ns),
        to_client=_direction_info(raw.to_client),
        to_server=_direction_info(raw.to_server),
    )


class _Handle:
    """A native handle that several threads may use while one of them closes it: close() wakes the calls in
    progress (through `wake`), waits until they left the library, then frees the handle."""

    def __init__(self, pointer: ctypes.c_void_p, what: str):
        self.pointer: Optional[ctypes.c_void_p] = pointer
        self.what = what
        self.closing = False
        self.users = 0
        self.lock = threading.Condition()

    def enter(self) -> ctypes.c_void_p:
        with self.lock:
            if self.pointer is None or self.closing:
                raise Closed(f"{self.what} is closed", status=-6, code="CLOSED")
            self.users += 1
            return self.pointer

    def leave(self) -> None:
        with self.lock:
            self.users -= 1
            if self.users == 0:
                self.lock.notify_all()

    @contextlib.contextmanager
    def use(self) -> Iterator[ctypes.c_void_p]:
        """`with handle.use() as pointer:` the pointer stays valid (close() waits) until the block ends."""
        pointer = self.enter()
        try:
            yield pointer
        finally:
            self.leave()

    def close(self, wake: Callable[[ctypes.c_void_p], int], free: Callable[[ctypes.c_void_p], int]) -> None:
        with self.lock:
            if self.pointer is None or self.closing:
                while self.pointer is not None:
                    self.lock.wait()
                return
            self.closing = True
            pointer = self.pointer
            if self.users:
                wake(pointer)
            while self.users:
                self.lock.wait()
        free(pointer)
        with self.lock:
            self.pointer = None
            self.lock.notify_all()

    def raise_for(self, status: int, context: str) -> None:
        """Raises for a failed status; a call woken by close() raises Closed."""
        if status == SIPC_ERR_CANCELLED and self.closing:
            raise Closed(f"{context}: the channel was closed", status=-6, code="CLOSED")
        check(status, context)


class _Owner:
    """Owns a native handle: a context manager that closes it, and closes it when garbage-collected too."""

    _handle: _Handle

    def close(self) -> None:
        raise NotImplementedError

    @property
    def closed(self) -> bool:
        return self._handle.pointer is None

    def __enter__(self: _OwnerT) -> _OwnerT:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle is not None and handle.pointer is not None:
            self.close()


_OwnerT = TypeVar("_OwnerT", bound=_Owner)


class Channel(_Owner):
    """One end of a named channel. Opening never waits: the first opener of a name is the server, the second
    the client (a third gets Busy). Use it as a context manager, or close() it; the peer then sees PeerGone.

    Blocking calls take `timeout` in seconds (None waits forever), release the GIL while they wait, and can be
    stopped from another thread with cancel()."""

    def __init__(self, name: str, *, max_message_size: int = 0, queue_depth: int = 0, mode: int = 0,
                 inherit_handles: bool = False, create: bool = True,
                 open_timeout: Optional[float] = _native.DEFAULT_LOCK_TIMEOUT):
        lib = library()
        encoded = _encode_name(name)
        options = _native.Options()
        lib.sipc_options_init(ctypes.byref(options))
        if max_message_size:
            options.max_message_size = max_message_size
        if queue_depth:
            options.queue_depth = queue_depth
        if mode:
            options.mode = mode
        options.flags = (_native.SIPC_OPEN_INHERIT_HANDLES if inherit_handles else 0) | (
            0 if create else _native.SIPC_OPEN_NO_CREATE)
        pointer = ctypes.c_void_p()
        # open_timeout: how long opening may wait for another process holding the channel's lock or creating it.
        status = lib.sipc_open_ex(encoded, ctypes.byref(options), _remaining_ms(_deadline(open_timeout)),
                                  ctypes.byref(pointer))
        check(status, f"opening channel '{name}'", by_name=True)
        self.name = name
        self._lib = lib
        self._handle = _Handle(pointer, f"channel '{name}'")
        self._role: Role = _ROLES.get(lib.sipc_get_role(pointer), "server")
        self._max_message_size: int = lib.sipc_max_message_size(pointer)
        self._buffers = threading.local()

    @property
    def role(self) -> Role:
        """'server' (created the channel) or 'client'."""
        return self._role

    @property
    def max_message_size(self) -> int:
        return self._max_message_size

    def connect(self, timeout: Optional[float] = None) -> None:
        """Waits for a peer this handle has not served yet (one that already sent and left counts too)."""
        with self._handle.use() as pointer:
            status = _wait(lambda ms: self._lib.sipc_connect(pointer, ms), timeout)
            self._handle.raise_for(status, f"connecting to channel '{self.name}'")

    def send(self, data: Data, timeout: Optional[float] = None) -> None:
        """Queues one message for the peer (str is sent as UTF-8); waits while the peer's queue is full."""
        payload = _as_bytes(data)
        message = payload if isinstance(payload, bytes) else bytes(payload)
        length = len(message)
        with self._handle.use() as pointer:
            status = _wait(lambda ms: self._lib.sipc_send(pointer, message, length, ms), timeout)
            self._handle.raise_for(status, f"sending to channel '{self.name}'")

    def recv(self, timeout: Optional[float] = None) -> bytes:
        """The next message. Raises Timeout when the wait ran out, PeerGone once the peer left and everything
        it sent was received."""
        buffer = self._thread_buffer()
        length = ctypes.c_size_t(0)
        with self._handle.use() as pointer:
            status = _wait(lambda ms: self._lib.sipc_recv(pointer, buffer, len(buffer), ctypes.byref(length), ms),
                           timeout)
            while status == SIPC_ERR_BUFFER_TOO_SMALL:  # a big one: exactly its size (no other thread took it)
                buffer = ctypes.create_string_buffer(length.value)
                status = self._lib.sipc_recv(pointer, buffer, len(buffer), ctypes.byref(length), 0)
                if status == SIPC_ERR_TIMEOUT:  # another thread took it meanwhile: wait for the next one
                    status = _wait(lambda ms: self._lib.sipc_recv(pointer, buffer, len(buffer),
                                                                  ctypes.byref(length), ms), timeout)
            self._handle.raise_for(status, f"receiving from channel '{self.name}'")
            return ctypes.string_at(buffer, length.value)

    def __iter__(self) -> Iterator[bytes]:
        """Messages until the peer left (and everything it sent was received)."""
        while True:
            try:
                yield self.recv()
            except PeerGone:
                return

    def cancel(self) -> None:
        """Wakes every blocked call on this channel with Cancelled; later calls fail the same way until
        uncancel(). Safe from any thread."""
        with self._handle.use() as pointer:
            self._lib.sipc_cancel(pointer)

    def uncancel(self) -> None:
        with self._handle.use() as pointer:
            self._lib.sipc_uncancel(pointer)

    def info(self) -> ChannelInfo:
        """Snapshot of the shared state: pids and liveness, queue fill, counters each way."""
        raw = _empty_info()
        with self._handle.use() as pointer:
            check(self._lib.sipc_info(pointer, ctypes.byref(raw)), f"reading the state of channel '{self.name}'")
        return _info(raw)

    def close(self) -> None:
        """Detaches (idempotent). Calls blocked in other threads raise Closed."""
        self._handle.close(self._lib.sipc_cancel, self._lib.sipc_close)

    def __repr__(self) -> str:
        return f"<sipc.Channel {self.name!r} {self._role}{' closed' if self.closed else ''}>"

    def _thread_buffer(self) -> ctypes.Array[ctypes.c_char]:
        buffer = getattr(self._buffers, "buffer", None)
        if buffer is None:
            buffer = ctypes.create_string_buffer(max(1, min(self._max_message_size, _RECV_BUFFER_LIMIT)))
            self._buffers.buffer = buffer
        return buffer


@dataclass(frozen=True)
class ObservedMessage:
    direction: Direction
    """'to-client' (server -> client) or 'to-server'."""
    sequence: int
    """Per-direction message number, from 0."""
    timestamp_ns: int
    """Wall clock of the send, nanoseconds since the Unix epoch."""
    length: int
    """Full length as sent; data is shorter when the message was longer than the observer's capacity."""
    data: bytes
    missed: int
    """Messages of this direction the observer missed just before this one (0 while lossless)."""
    discarded: int = 0
    """Messages of this direction the receiving side discarded since the previous report: they were addressed to an
    earlier holder of its role that left before taking them."""
    undeliverable: bool = False
    """This message is addressed to a receiver that was replaced or closed without taking it: never delivered."""

    @property
    def timestamp(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp_ns / 1e9, tz=timezone.utc)


class ObserverEventKind(enum.Enum):
    """What an ObserverEvent reports (the names are the Node and C++ bindings' too)."""
    ATTACHED = "attached"
    """A process took the role (session: its attach number)."""
    CLOSED = "closed"
    """The role's holder closed it."""
    DIED = "died"
    """The role's holder ended without closing (killed, crashed)."""
    LOSSLESS_DROPPED = "lossless-dropped"
    """The peers dropped this lossless observer (see reason); it goes on as a plain observer."""


class DropReason(enum.Enum):
    """Why the peers dropped a lossless observer."""
    STALLED = "stalled"
    """It did not copy for its stall timeout while a peer waited for it."""
    DIED = "died"
    """Its process was found dead."""
    INVALID = "invalid"
    """Its record in the channel was invalid."""


_EVENT_KINDS: dict[int, ObserverEventKind] = {1: ObserverEventKind.ATTACHED, 2: ObserverEventKind.CLOSED,
                                              3: ObserverEventKind.DIED, 4: ObserverEventKind.LOSSLESS_DROPPED}
_DROP_REASONS: dict[int, DropReason] = {1: DropReason.STALLED, 2: DropReason.DIED, 3: DropReason.INVALID}


@dataclass(frozen=True)
class ObserverEvent:
    """Something that happened to the channel's peers or to this observer (Observer(events=True)), in time order with
    the messages."""
    kind: ObserverEventKind
    role: Optional[Role]
    """The role it is about; None for this observer's own events (LOSSLESS_DROPPED)."""
    session: int
    """The role's attach number (0 for this observer's own events)."""
    pid: int
    """The process it is about (0: unknown)."""
    timestamp_ns: int
    """The attach, or when the observer noticed the departure (nanoseconds since the Unix epoch)."""
    reason: Optional[DropReason] = None
    """LOSSLESS_DROPPED: why; None otherwise."""

    @property
    def timestamp(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp_ns / 1e9, tz=timezone.utc)


Observation = Union[ObservedMessage, ObserverEvent]
"""One item of an observer that reports events: a message or an event."""


@dataclass(frozen=True)
class ObserverStats:
    """What an observer did since it attached and why it missed what it missed (libsipc's sipc_observer_stats)."""
    messages: int
    """Messages returned (events are not counted)."""
    missed: int
    """missed_asleep + missed_away + missed_running."""
    missed_asleep: int
    """Found gone on the first look after a sleep (woken, or polling, too late)."""
    missed_away: int
    """Found gone on the first look of a call: the caller kept the observer out of next() too long."""
    missed_running: int
    """Gone between two looks within one call, or overwritten while being copied."""
    sleeps: int
    """Sleeps until a producer's wake-up."""
    woken: int
    """Of those, ended by a producer (or a role change), not by the time limit."""
    polls: int
    """Sleeps of the polling fallback (read-only mapping, an older producer)."""
    spins: int
    """Waits that spun for the next message first."""
    spin_hits: int
    """Spins that found a message."""
    wake_latency_count: int
    """Woken sleeps whose first new message was still there to be timed."""
    wake_latency_total_ns: int
    wake_latency_max_ns: int
    longest_miss_gap_ns: int
    """The longest time between two looks at the channel when the later one found messages gone."""
    longest_away_ns: int
    """The longest time between a return of next() and the next call."""
    producer_wakes: int
    """Lossless: wake-ups sent to producers waiting for this observer."""

    @property
    def wake_latency_mean_ns(self) -> Optional[float]:
        """Mean time from a message's send to the observer's look after a wake-up; None when none was timed."""
        return self.wake_latency_total_ns / self.wake_latency_count if self.wake_latency_count else None


_STATS_FIELDS = tuple(field[0] for field in _native.ObserverStats._fields_
                      if field[0] not in ("struct_size", "reserved"))


def _observe_options(name: str, lossless: bool, events: bool, stall_timeout: Optional[float],
                     capacity: Optional[int]) -> _native.ObserveOptions:
    """The native options, or InvalidArgument (TypeError for a value of the wrong type) naming the option."""
    def refuse(why: str) -> InvalidArgument:
        return InvalidArgument(f"observing channel '{name}': {why}", status=-8, code="INVALID_ARGUMENT")

    for option, value in (("lossless", lossless), ("events", events)):
        if not isinstance(value, bool):
            raise TypeError(f"observing channel '{name}': {option} must be True or False, not {value!r}")
    if capacity is not None:
        if isinstance(capacity, bool) or not isinstance(capacity, int):
            raise TypeError(f"observing channel '{name}': capacity must be an int, not {capacity!r}")
        if capacity < 0 or capacity > _native.SIPC_MAX_MESSAGE_LIMIT:
            raise refuse(f"capacity must be from 0 to {_native.SIPC_MAX_MESSAGE_LIMIT} bytes, not {capacity}")
    options = _native.ObserveOptions()
    library().sipc_observe_options_init(ctypes.byref(options))
    options.flags = (_native.SIPC_OBSERVE_LOSSLESS if lossless else 0) | (_native.SIPC_OBSERVE_EVENTS if events else 0)
    if stall_timeout is not None:
        if isinstance(stall_timeout, bool) or not isinstance(stall_timeout, (int, float)):
            raise TypeError(f"observing channel '{name}': stall_timeout must be seconds (a number), not "
                            f"{stall_timeout!r}")
        if not lossless:
            raise refuse("stall_timeout applies to a lossless observer only (pass lossless=True)")
        limit = _native.SIPC_OBSERVE_STALL_MAX_MS / 1000
        if not 0 < stall_timeout <= limit:  # NaN fails too
            raise refuse(f"stall_timeout must be more than 0 and at most {limit:g} seconds, not {stall_timeout!r} "
                         f"(None: the default, {_native.SIPC_OBSERVE_STALL_DEFAULT_MS / 1000:g} s)")
        options.stall_timeout_ms = min(_native.SIPC_OBSERVE_STALL_MAX_MS, max(1, math.ceil(stall_timeout * 1000)))
    return options


_ItemT = TypeVar("_ItemT")


def _until_observing_ends(take: Callable[[], Optional[_ItemT]]) -> Iterator[_ItemT]:
    """take()'s items until the channel is removed or the observer cancelled or closed."""
    while True:
        try:
            item = take()
        except (NotFound, Cancelled, Closed):
            return
        if item is not None:
            yield item


class Observer(_Owner):
    """Follows a channel's traffic in both directions, read-only, from the moment it attached. Iterating yields
    ObservedMessage until the channel is removed, cancel() or close().

    lossless=True: the peers never overwrite a message this observer has not copied yet (nothing is missed; they go
    at most at its pace). At most two per channel (Busy beyond; PermissionDenied when this process may only read the
    channel). One that does not copy for `stall_timeout` seconds (None: 1 s; at most 10) while a peer waits for it is
    dropped and goes on as a plain observer. events=True: peers attaching, closing and dying (and this observer being
    dropped) come as ObserverEvent items, in time order with the messages: read them with next_observation() or
    observations() (next() and plain iteration refuse, as they would hide them). capacity: bytes copied of each message
    (default: the channel's maximum message size)."""

    def __init__(self, name: str, *, capacity: Optional[int] = None, lossless: bool = False, events: bool = False,
                 stall_timeout: Optional[float] = None):
        lib = library()
        encoded = _encode_name(name)
        options = _observe_options(name, lossless, events, stall_timeout, capacity)
        pointer = ctypes.c_void_p()
        check(lib.sipc_observe_ex(encoded, ctypes.byref(options), ctypes.byref(pointer)), f"observing channel '{name}'",
              by_name=True)
        self.name = name
        self._lib = lib
        self._handle = _Handle(pointer, f"observer of '{name}'")
        self._events = events
        if capacity is None:
            capacity = self.info().max_message_size or _native.DEFAULT_MAX_MESSAGE
        self._capacity = max(1, capacity)
        self._buffers = threading.local()

    @property
    def reports_events(self) -> bool:
        """Observer(events=True): read it with next_observation() or observations()."""
        return self._events

    def next(self, timeout: Optional[float] = None) -> Optional[ObservedMessage]:
        """The next message in either direction (in send-time order), or None when the wait ran out. Raises
        NotFound once the channel was removed, Cancelled after cancel(), InvalidArgument on an observer that reports
        events (use next_observation())."""
        if self._events:
            raise InvalidArgument(f"observing channel '{self.name}': this observer reports events: read it with "
                                  "next_observation() or observations()", status=-8, code="INVALID_ARGUMENT")
        item = self.next_observation(timeout)
        assert item is None or isinstance(item, ObservedMessage)  # no events were asked for
        return item

    def next_observation(self, timeout: Optional[float] = None) -> Optional[Observation]:
        """The next message or event (events only with events=True), in time order, or None when the wait ran out.
        Raises like next()."""
        buffer = getattr(self._buffers, "buffer", None)
        if buffer is None:
            buffer = self._buffers.buffer = ctypes.create_string_buffer(self._capacity)
        raw = _native.ObservedMessage()
        deadline = _deadline(timeout)
        with self._handle.use() as pointer:
            while True:
                ctypes.memset(ctypes.byref(raw), 0, ctypes.sizeof(raw))
                raw.struct_size = ctypes.sizeof(raw)
                status = _wait(lambda ms: self._lib.sipc_observer_next(pointer, buffer, len(buffer), ctypes.byref(raw),
                                                                       ms),
                               None if deadline is None else max(0.0, deadline - time.monotonic()))
                if status == SIPC_ERR_TIMEOUT:
                    return None
                self._handle.raise_for(status, f"observing channel '{self.name}'")
                if raw.kind != _native.SIPC_OBSERVED_EVENT:
                    break
                kind = _EVENT_KINDS.get(raw.event)
                if kind is not None:  # (an event of a newer library that this package does not know is skipped)
                    reason = _DROP_REASONS.get(raw.count, DropReason.INVALID) \
                        if kind is ObserverEventKind.LOSSLESS_DROPPED else None
                    return ObserverEvent(kind, _ROLES.get(raw.role), raw.session, raw.pid, raw.timestamp_ns, reason)
        copied = min(raw.copied, len(buffer))
        return ObservedMessage(_DIRECTIONS[raw.direction & 1], raw.sequence, raw.timestamp_ns, raw.length,
                               ctypes.string_at(buffer, copied), raw.missed, raw.discarded, raw.undeliverable != 0)

    def __iter__(self) -> Iterator[ObservedMessage]:
        return _until_observing_ends(self.next)

    def observations(self) -> Iterator[Observation]:
        """Messages and events (events=True) until the channel is removed, cancel() or close()."""
        return _until_observing_ends(self.next_observation)

    def stats(self) -> ObserverStats:
        """What the observer did so far and why it missed what it missed. Safe from another thread while next()
        waits."""
        # A zeroed buffer larger than the struct: a newer library whose struct grew fills its own fields (it refuses
        # a struct_size below its sizeof); this package reads the fields it knows, from the start.
        buffer = ctypes.create_string_buffer(max(_native.OBSERVER_STATS_BUFFER, ctypes.sizeof(_native.ObserverStats)))
        raw = _native.ObserverStats.from_buffer(buffer)
        raw.struct_size = len(buffer)
        with self._handle.use() as pointer:
            check(self._lib.sipc_observer_get_stats(pointer, buffer),
                  f"reading the statistics of the observer of '{self.name}'")
        return ObserverStats(**{field: int(getattr(raw, field)) for field in _STATS_FIELDS})

    def cancel(self) -> None:
        """Ends a blocked next() (and the iteration) from another thread; later calls raise Cancelled."""
        with self._handle.use() as pointer:
            self._lib.sipc_observer_cancel(pointer)

    def info(self) -> ChannelInfo:
        raw = _empty_info()
        with self._handle.use() as pointer:
            check(self._lib.sipc_observer_info(pointer, ctypes.byref(raw)),
                  f"reading the state of channel '{self.name}'")
        return _info(raw)

    def close(self) -> None:
        self._handle.close(self._lib.sipc_observer_cancel, self._lib.sipc_observer_close)


def observe(name: str, *, capacity: Optional[int] = None, lossless: bool = False, events: bool = False,
            stall_timeout: Optional[float] = None) -> Observer:
    """Observer of the channel `name` (see Observer)."""
    return Observer(name, capacity=capacity, lossless=lossless, events=events, stall_timeout=stall_timeout)


def validate_name(name: str) -> None:
    """Raises InvalidName unless the name is 1-200 characters of A-Z a-z 0-9 . _ -, not starting with '.'."""
    check(library().sipc_validate_name(_encode_name(name)), f"'{name}' is not a valid channel name")


def stat(name: str, timeout: Optional[float] = _native.DEFAULT_LOCK_TIMEOUT) -> ChannelInfo:
    """Snapshot of a channel by name, without attaching. NotFound if there is none. Bounded by `timeout` seconds
    like every call by name (it takes no lock, so it does not wait for a lock holder)."""
    raw = _empty_info()
    check(library().sipc_stat_ex(_encode_name(name), _remaining_ms(_deadline(timeout)), ctypes.byref(raw)),
          f"reading the state of channel '{name}'", by_name=True)
    return _info(raw)


def list_channels() -> list[ChannelInfo]:
    """Every channel on this machine, sorted by name (channels that vanish meanwhile are skipped)."""
    names: list[str] = []

    def visit(name: bytes, _user: object) -> int:
        names.append(name.decode("ascii", "replace"))
        return 0

    check(library().sipc_list(_native.ListVisitor(visit), None), "listing the channels", by_name=True)
    infos: list[ChannelInfo] = []
    for name in sorted(names):
        try:
            infos.append(stat(name))
        except (NotFound, InvalidName):
            continue
    return infos


def remove(name: str, force: bool = False, timeout: Optional[float] = _native.DEFAULT_LOCK_TIMEOUT) -> None:
    """Removes a channel's name. Busy while a live process is attached, unless force (which also removes what is
    not a valid channel). Waits at most `timeout` seconds for the channel's lock (Timeout)."""
    flags = _native.SIPC_REMOVE_FORCE if force else 0
    check(library().sipc_remove_ex(_encode_name(name), flags, _remaining_ms(_deadline(timeout))),
          f"removing channel '{name}'", by_name=True)


def version() -> str:
    """Version of the loaded libsipc, e.g. '1.0.0'."""
    return str(library().sipc_version().decode())


def library_path() -> str:
    """Path of the loaded libsipc (loads it; LibraryNotFound lists the paths tried)."""
    library()
    return _native.library_path()


__all__ = [
    "Channel", "ChannelInfo", "Data", "Direction", "DirectionInfo", "DropReason", "Observation", "ObservedMessage",
    "Observer", "ObserverEvent", "ObserverEventKind", "ObserverStats", "Role", "State", "SipcError", "list_channels",
    "library_path", "observe", "remove", "stat", "validate_name", "version",
]
