"""asyncio face: the blocking calls run in the channel's own worker threads, never on the event loop.

    async with sipc.AsyncChannel("demo") as ch:
        await ch.connect(timeout=5)
        await ch.send(b"hello")
        reply = await ch.recv(timeout=5)
        async for message in ch: ...          # until the peer left

Cancelling the task that awaits connect/recv/send (asyncio.wait_for, TaskGroup, task.cancel()) interrupts the
native wait at once; a message that arrived just as its recv was cancelled is kept for the next recv.
"""
from __future__ import annotations

import asyncio
import collections
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import AsyncIterator, Awaitable, Callable, Deque, Optional, TypeVar, cast

from ._core import Channel, ChannelInfo, Data, Observation, ObservedMessage, Observer, ObserverStats, Role
from ._native import DEFAULT_LOCK_TIMEOUT
from .errors import Cancelled, Closed, NotFound, PeerGone

T = TypeVar("T")

# Worker threads per channel: a connect or recv and a send can wait at the same time, plus a spare.
_WORKERS = 3
# An async observer looks for a cancelled task at least this often (the library's observer polls anyway).
_OBSERVER_SLICE_S = 0.1


class _Operation:
    __slots__ = ("delivered", "generation", "interrupted", "result", "running", "stopped")

    def __init__(self) -> None:
        self.delivered = False  # its worker returned a result for the awaiting task
        self.result: object = None
        self.generation = 0
        self.interrupted = False  # counted in AsyncChannel._interrupting until its worker finished
        self.running = False  # its worker is inside the native call
        self.stopped = False  # its awaiting task was cancelled


def _remaining(deadline: Optional[float]) -> Optional[float]:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


class AsyncChannel:
    """A Channel whose connect/send/recv are coroutines (see Channel for the semantics)."""

    def __init__(self, name: str, *, max_message_size: int = 0, queue_depth: int = 0, mode: int = 0,
                 inherit_handles: bool = False, create: bool = True,
                 open_timeout: Optional[float] = DEFAULT_LOCK_TIMEOUT):
        self.channel = Channel(name, max_message_size=max_message_size, queue_depth=queue_depth, mode=mode,
                               inherit_handles=inherit_handles, create=create, open_timeout=open_timeout)
        self.name = name
        self._executor = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix=f"sipc-{name}")
        self._lock = threading.Condition()
        # Interrupting one operation cancels the whole native handle: the other operations that get CANCELLED
        # meanwhile (their generation is older) wait until it is lifted and resume.
        self._generation = 0
        self._interrupting = 0
        self._user_cancelled = False
        self._stash: Deque[bytes] = collections.deque()

    @classmethod
    async def open(cls, name: str, *, max_message_size: int = 0, queue_depth: int = 0, mode: int = 0,
                   inherit_handles: bool = False, create: bool = True,
                   open_timeout: Optional[float] = DEFAULT_LOCK_TIMEOUT) -> "AsyncChannel":
        """Opens in a worker thread: opening may wait (up to 5 s) for another process holding the channel's lock."""
        return await asyncio.get_running_loop().run_in_executor(
            None, lambda: cls(name, max_message_size=max_message_size, queue_depth=queue_depth, mode=mode,
                              inherit_handles=inherit_handles, create=create, open_timeout=open_timeout))

    @property
    def role(self) -> Role:
        return self.channel.role

    @property
    def max_message_size(self) -> int:
        return self.channel.max_message_size

    def info(self) -> ChannelInfo:
        return self.channel.info()

    async def connect(self, timeout: Optional[float] = None) -> None:
        await self._run(lambda left: self.channel.connect(left), timeout)

    async def send(self, data: Data, timeout: Optional[float] = None) -> None:
        await self._run(lambda left: self.channel.send(data, left), timeout)

    async def recv(self, timeout: Optional[float] = None) -> bytes:
        with self._lock:
            if self._stash:
                return self._stash.popleft()
        return await self._run(lambda left: self.channel.recv(left), timeout, stash=self._stash)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[bytes]:
        while True:
            try:
                message = await self.recv()
            except PeerGone:
                return
            yield message

    def cancel(self) -> None:
        """Like Channel.cancel: every pending operation raises Cancelled until uncancel()."""
        with self._lock:
            self._user_cancelled = True
            self.channel.cancel()

    def uncancel(self) -> None:
        with self._lock:
            self._user_cancelled = False
            if self._interrupting == 0:
                self.channel.uncancel()

    def close(self) -> None:
        """Closes the channel; pending operations raise Closed."""
        self.channel.close()
        self._executor.shutdown(wait=False)

    async def aclose(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.channel.close)
        self._executor.shutdown(wait=False)

    async def __aenter__(self) -> "AsyncChannel":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _run(self, call: Callable[[Optional[float]], T], timeout: Optional[float],
                   stash: Optional[Deque[T]] = None) -> T:
        """Runs call in a worker; stash holds results whose awaiting task was cancelled (recv's messages), oldest
        first: a worker takes from it before calling the library, so no message overtakes a kept one."""
        operation = _Operation()
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, self._work, operation, call, deadline, stash)
        try:
            return await future
        except asyncio.CancelledError:
            self._interrupt(operation, stash)
            raise

    def _interrupt(self, operation: _Operation, stash: Optional[Deque[T]]) -> None:
        with self._lock:
            operation.stopped = True
            if operation.delivered and stash is not None:
                # Finished just as its task was cancelled: it is older than anything kept since, so it goes first.
                stash.appendleft(cast(T, operation.result))
                return
            if not operation.running or operation.interrupted:
                return
            operation.interrupted = True
            self._interrupting += 1
            self._generation += 1
            try:
                self.channel.cancel()  # under the lock, so _finish cannot lift it before it is set
            except Closed:
                pass

    def _work(self, operation: _Operation, call: Callable[[Optional[float]], T], deadline: Optional[float],
              stash: Optional[Deque[T]]) -> T:
        while True:
            with self._lock:
                while self._interrupting and not operation.stopped:
                    self._lock.wait()
                if operation.stopped:
                    raise Cancelled("the operation was cancelled", status=-5, code="CANCELLED")
                if stash:
                    # Kept while this worker waited for an interrupt to be lifted: older than anything in the channel.
                    kept = stash.popleft()
                    operation.delivered, operation.result = True, kept
                    return kept
                operation.running = True
                operation.generation = self._generation
            try:
                result = call(_remaining(deadline))
            except Cancelled:
                with self._lock:
                    interrupted_for_another = (not operation.stopped and not self._user_cancelled
                                               and operation.generation != self._generation)
                if interrupted_for_another:
                    continue  # not meant for us: wait until the interrupt is lifted, then resume
                raise
            else:
                with self._lock:
                    if operation.stopped and stash is not None:
                        stash.append(result)  # its awaiter is gone: the next recv gets it
                    else:
                        operation.delivered, operation.result = True, result
                return result
            finally:
                self._finish(operation)

    def _finish(self, operation: _Operation) -> None:
        with self._lock:
            operation.running = False
            if not operation.interrupted:
                return
            operation.interrupted = False
            self._interrupting -= 1
            if self._interrupting == 0:
                if not self._user_cancelled:
                    try:
                        self.channel.uncancel()
                    except Closed:
                        pass
                self._lock.notify_all()


async def _until_observing_ends(take: Callable[[], Awaitable[Optional[T]]]) -> AsyncIterator[T]:
    """take()'s items until the channel is removed or the observer cancelled or closed."""
    while True:
        try:
            item = await take()
        except (NotFound, Cancelled, Closed):
            return
        if item is not None:
            yield item


class AsyncObserver:
    """An Observer with `async for` and `await next()`; the waits run in a worker thread. Takes Observer's options
    (capacity, lossless, events, stall_timeout); with events=True read it with next_observation() or
    `async for item in observer.observations()`."""

    def __init__(self, name: str, *, capacity: Optional[int] = None, lossless: bool = False, events: bool = False,
                 stall_timeout: Optional[float] = None):
        self.observer = Observer(name, capacity=capacity, lossless=lossless, events=events,
                                 stall_timeout=stall_timeout)
        self.name = name
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"sipc-observe-{name}")
        self._lock = threading.Lock()
        self._stash: Deque[Observation] = collections.deque()

    async def next(self, timeout: Optional[float] = None) -> Optional[ObservedMessage]:
        """The next message, or None when the wait ran out; NotFound once the channel was removed; InvalidArgument on
        an observer that reports events (use next_observation())."""
        if self.observer.reports_events:
            self.observer.next(0)  # raises the observer's own error
        item = await self.next_observation(timeout)
        assert item is None or isinstance(item, ObservedMessage)  # no events were asked for
        return item

    async def next_observation(self, timeout: Optional[float] = None) -> Optional[Observation]:
        """The next message or event (events=True), or None when the wait ran out; NotFound once the channel was
        removed."""
        with self._lock:
            if self._stash:
                return self._stash.popleft()
        stop = threading.Event()
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)

        def wait() -> Optional[Observation]:
            while not stop.is_set():
                left = _remaining(deadline)
                item = self.observer.next_observation(
                    _OBSERVER_SLICE_S if left is None else min(left, _OBSERVER_SLICE_S))
                if item is not None:
                    if stop.is_set():  # its awaiting task was cancelled meanwhile: the next call gets it
                        with self._lock:
                            self._stash.append(item)
                    return item
                if left is not None and left <= _OBSERVER_SLICE_S:
                    return None
            return None

        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, wait)
        except asyncio.CancelledError:
            stop.set()
            raise

    def stats(self) -> ObserverStats:
        """Observer.stats(): it never waits, so it is a plain call."""
        return self.observer.stats()

    def __aiter__(self) -> AsyncIterator[ObservedMessage]:
        return _until_observing_ends(self.next)

    def observations(self) -> AsyncIterator[Observation]:
        """Messages and events (events=True) until the channel is removed, cancel() or close()."""
        return _until_observing_ends(self.next_observation)

    def cancel(self) -> None:
        self.observer.cancel()

    def close(self) -> None:
        self.observer.close()
        self._executor.shutdown(wait=False)

    async def aclose(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.observer.close)
        self._executor.shutdown(wait=False)

    async def __aenter__(self) -> "AsyncObserver":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
