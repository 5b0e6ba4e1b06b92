/*
 * stream.h — the interoperability matrix's message streams, identical in every language (stream.mjs, peer.py):
 * a seed gives a sequence of random-size messages, so a receiver (or an observer) checks every byte without the
 * sender telling it anything.
 *
 *   x0 = seed * 2654435761 + 1 (mod 2^32, 0 -> 1); next: x ^= x << 13; x ^= x >> 17; x ^= x << 5 (xorshift32)
 *   pool: max + 1024 bytes, byte i = next() & 0xff (0x0a -> 0x0b when the stream must hold no newline: the CLI
 *         sends one message per line)
 *   message: r = next(); size = r % 32 == 0 ? next() % (max + 1) : next() % (min(max, 2048) + 1);
 *            offset = next() % (pool size - size + 1); bytes = pool[offset, offset + size)
 */
#ifndef SIPC_INTEROP_STREAM_H
#define SIPC_INTEROP_STREAM_H

#include <stdint.h>
#include <stdlib.h>

typedef struct interop_stream {
    uint32_t x;
    uint32_t max;
    uint32_t pool_size;
    uint8_t *pool;
} interop_stream;

static uint32_t interop_next(interop_stream *s)
{
    uint32_t x = s->x;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    s->x = x;
    return x;
}

static int interop_stream_init(interop_stream *s, uint32_t seed, uint32_t max, int no_newline)
{
    s->x = seed * 2654435761u + 1u;
    if (s->x == 0) s->x = 1;
    s->max = max;
    s->pool_size = max + 1024u;
    s->pool = (uint8_t *)malloc(s->pool_size);
    if (s->pool == NULL) return -1;
    for (uint32_t i = 0; i < s->pool_size; i++) {
        uint8_t b = (uint8_t)(interop_next(s) & 0xffu);
        s->pool[i] = (no_newline && b == 0x0a) ? 0x0b : b;
    }
    return 0;
}

static const uint8_t *interop_stream_message(interop_stream *s, uint32_t *length)
{
    uint32_t small = s->max < 2048u ? s->max : 2048u;
    uint32_t r = interop_next(s);
    uint32_t size = (r % 32u == 0) ? interop_next(s) % (s->max + 1u) : interop_next(s) % (small + 1u);
    uint32_t offset = interop_next(s) % (s->pool_size - size + 1u);
    *length = size;
    return s->pool + offset;
}

static void interop_stream_free(interop_stream *s)
{
    free(s->pool);
    s->pool = NULL;
}

#endif
