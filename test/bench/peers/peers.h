/*
 * The transports of the peer benchmark (peers_bench.c), each reached through the same calls so
 * that one harness measures all of them the same way. Implemented in C (sipc, POSIX mq), C++
 * (Boost.Interprocess, boost_mq.cpp) and Rust (iceoryx2, iceoryx2/src/lib.rs).
 */
#ifndef SIPC_PEERS_H
#define SIPC_PEERS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Boost.Interprocess message_queue: two queues, "<prefix>-ping" (parent to child) and "<prefix>-pong". */
int peers_boost_create(const char *prefix, uint32_t max_size, uint32_t depth, char *error, size_t error_capacity);
void *peers_boost_open(const char *prefix, int is_parent, char *error, size_t error_capacity);
int peers_boost_send(void *endpoint, const void *data, size_t length, uint32_t timeout_ms); /* 0, -1 timeout, -2 */
int peers_boost_recv(void *endpoint, void *buffer, size_t capacity, size_t *length, uint32_t timeout_ms);
void peers_boost_close(void *endpoint);
void peers_boost_remove(const char *prefix);

/* iceoryx2 (Rust, staticlib): publish-subscribe of byte slices, busy polling or Listener waits. */
typedef struct Endpoint peers_iox_endpoint;
peers_iox_endpoint *peers_iox_open(const char *prefix, int is_parent, size_t max_size, size_t depth, int event_driven,
                                   uint32_t timeout_ms, char *error, size_t error_capacity);
int peers_iox_send(peers_iox_endpoint *endpoint, const uint8_t *data, size_t length); /* 0 or negative */
int peers_iox_recv(peers_iox_endpoint *endpoint, const uint8_t **data, size_t *length, uint32_t timeout_ms);
void peers_iox_close(peers_iox_endpoint *endpoint);

#ifdef __cplusplus
}
#endif

#endif
