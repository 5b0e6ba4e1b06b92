"""The interoperability matrix's message streams (see stream.h: the same bytes in every language)."""
from __future__ import annotations

MASK = 0xFFFFFFFF


class Stream:
    def __init__(self, seed: int, max_size: int, no_newline: bool):
        x = (seed * 2654435761 + 1) & MASK
        self.x = x or 1
        self.max = max_size
        self.small = min(max_size, 2048)
        self.pool_size = max_size + 1024
        pool = bytearray(self.pool_size)
        for i in range(self.pool_size):
            pool[i] = self._next() & 0xFF
        if no_newline:
            pool = pool.replace(b"\n", b"\x0b")
        self.pool = bytes(pool)

    def _next(self) -> int:
        x = self.x
        x ^= (x << 13) & MASK
        x ^= x >> 17
        x ^= (x << 5) & MASK
        self.x = x
        return x

    def message(self) -> bytes:
        r = self._next()
        size = self._next() % (self.max + 1) if r % 32 == 0 else self._next() % (self.small + 1)
        offset = self._next() % (self.pool_size - size + 1)
        return self.pool[offset:offset + size]
