/*
 * test_hooks.h — points inside a channel call where a test can pause the calling thread, to put
 * another process's (or thread's) action exactly into a race window. Not exported; NULL (no hook)
 * outside tests costs one predictable branch.
 */
#ifndef SIPC_TEST_HOOKS_H
#define SIPC_TEST_HOOKS_H

#include "../include/sipc.h"

typedef enum sipc_test_point {
    SIPC_TEST_CONNECT_LOOKED_AT_ROLE, /* connect read the peer role and is about to look at the queue */
    SIPC_TEST_CONNECT_CHOSE_PEER,     /* connect chose a session to adopt and is about to adopt it */
    SIPC_TEST_SEND_BEFORE_PUBLISH,    /* send checked the peer is present and wrote the slot; head is next */
    SIPC_TEST_SEND_BEFORE_WAIT,       /* send found no room and is about to wait for it */
    SIPC_TEST_WATCH_STARTING,         /* a watch's thread runs and is about to list the channels a first time */
    SIPC_TEST_WATCH_TOOK_FIRST_LOOK,  /* a watch's thread listed the channels once, before looking at what the
                                         monitor queued since sipc_async_watch_start */
    SIPC_TEST_WATCH_REPORTED,         /* a watch's thread reported a change and is about to wait for the next */
    SIPC_TEST_KEY_OPENED_OBJECT,      /* an open or a remove opened the object the key names, before taking its
                                         lock word (or seeing that it has none yet) */
    SIPC_TEST_KEY_CREATED_OBJECT,     /* an open created the key's object (size 0), before initialising it */
    SIPC_TEST_OBSERVER_COPIER_ENDING  /* an async observer's copying thread is about to end (stopped or failed) */
} sipc_test_point;

typedef void (*sipc_test_hook)(void *arg, sipc_test_point point);

/* Calls hook(arg, point) on the calling thread at every test point of this handle (NULL: none). */
void sipc_channel_set_test_hook(sipc_channel *channel, sipc_test_hook hook, void *arg);

/* Calls hook(arg, point) at the SIPC_TEST_WATCH_* points on the thread of every watch started afterwards
 * (NULL: none). Process-wide: set it only while no other watch starts. */
void sipc_async_watch_set_test_hook(sipc_test_hook hook, void *arg);

/* Calls hook(arg, point) at SIPC_TEST_OBSERVER_COPIER_ENDING on the copying thread of every async observer (NULL:
 * none). Process-wide: set it only while no other async observer runs. */
void sipc_async_observer_set_test_hook(sipc_test_hook hook, void *arg);

/* Calls hook(arg, point) at the SIPC_TEST_KEY_* points of every open and remove in this process, on the calling
 * thread (NULL: none). Process-wide: set it only while no other thread opens or removes a channel. */
void sipc_key_set_test_hook(sipc_test_hook hook, void *arg);
/* Where channel.c and segment.c reach a SIPC_TEST_KEY_* point. */
void sipc_key_test_point(sipc_test_point point);

#endif /* SIPC_TEST_HOOKS_H */
