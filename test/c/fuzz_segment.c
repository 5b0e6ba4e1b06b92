/*
 * fuzz_segment.c — libFuzzer target: corrupted segment images fed to stat, observe, open (as the
 * client of a live-looking server), send, recv, peek and info. Run: make -C helper fuzz.
 *
 * The input is applied to a valid image as an XOR mask (zero bytes keep the valid value), so the
 * fuzzer starts deep inside the code that trusts a validated header and must survive anything
 * in the rings, index entries, records and roles. The first byte picks the geometry and how the object's size
 * deviates from the header.
 */
#include "layout.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint32_t max_messages[4] = {0, 1, 64, 200};

static void build_image(uint8_t *image, const seg_geometry *g, const char *name)
{
    seg_header *h = (seg_header *)image;
    h->magic = SIPC_LAYOUT_MAGIC;
    h->version = SIPC_LAYOUT_VERSION;
    h->header_size = SIPC_HEADER_SIZE;
    h->segment_size = g->segment_size;
    h->max_message = g->max_message;
    h->queue_depth = g->queue_depth;
    h->slot_size = g->slot_size;
    h->name_length = (uint32_t)strlen(name);
    memcpy(h->name, name, h->name_length);
    /* A live server (this process) so that open attaches as client instead of reinitialising. */
    sipc_os_process self;
    if (sipc_os_process_self(&self) == SIPC_OK) {
        h->roles[0].pid = self.pid;
        h->roles[0].start_time = self.start_time;
        h->roles[0].state = SIPC_SLOT_ATTACHED;
        h->roles[0].session = 1;
    }
    /* Two messages queued toward the client, one toward the server. */
    for (int d = 0; d < 2; d++) {
        uint64_t count = d == 0 ? 2 : 1;
        uint64_t pos = 0; /* records packed from ring position 0, each found through its index entry */
        for (uint64_t seq = 0; seq < count && seq < g->queue_depth; seq++) {
            *sipc_index_entry(image, g, d, seq) = pos;
            seg_slot_header *slot = sipc_record_at(image, g, d, pos);
            slot->stamp = 2 * seq + 2;
            slot->length = g->max_message / 2;
            memset((uint8_t *)slot + SIPC_SLOT_HEADER_SIZE, 'a' + (int)seq, slot->length);
            pos += sipc_record_size(slot->length);
        }
        h->rings[d].head = count < g->queue_depth ? count : g->queue_depth;
        h->rings[d].write_pos = pos;
        h->rings[d].frontier = pos;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char name[64];
    snprintf(name, sizeof name, "fuzz-%ld", (long)getpid());
    seg_geometry g;
    uint32_t depth = 1 + ((data[0] >> 2) & 3);
    if (sipc_geometry_for(max_messages[(data[0] >> 4) & 3], depth, &g) != SIPC_OK)
        return 0;
    size_t image_size = (size_t)g.segment_size;
    switch (data[0] & 3) {
    case 1: /* truncated */
        image_size = size > 1 ? (size_t)data[1] * 8 + 1 : 1;
        break;
    case 2: /* larger than the header says */
        image_size += 4096;
        break;
    default:
        break;
    }
    uint8_t *image = calloc(1, image_size > g.segment_size ? image_size : g.segment_size);
    if (image == NULL)
        return 0;
    build_image(image, &g, name);
    for (size_t i = 1; i < size && i - 1 < image_size; i++)
        image[i - 1] ^= data[i];

    char key[SIPC_OS_KEY_MAX + 1];
    sipc_key_for_name(name, key);
    char path[64];
    snprintf(path, sizeof path, "/%s", key);
    shm_unlink(path);
    int fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        free(image);
        return 0;
    }
    if (write(fd, image, image_size) != (ssize_t)image_size) {
        close(fd);
        shm_unlink(path);
        free(image);
        return 0;
    }
    close(fd);
    free(image);

    sipc_channel_info info = {.struct_size = sizeof info};
    (void)sipc_stat(name, &info);

    uint8_t buffer[256];
    sipc_observer *observer = NULL;
    if (sipc_observe(name, &observer) == SIPC_OK) {
        /* The observer starts at head; nothing new arrives, but it must still read the rings. */
        sipc_observed_message message = {.struct_size = sizeof message};
        (void)sipc_observer_next(observer, buffer, sizeof buffer, &message, 0);
        (void)sipc_observer_info(observer, &info);
        sipc_observer_close(observer);
    }

    sipc_channel *channel = NULL;
    if (sipc_open(name, NULL, &channel) == SIPC_OK) {
        size_t length = 0;
        (void)sipc_connect(channel, 0);
        (void)sipc_peek_size(channel, &length, 0);
        for (int i = 0; i < 3; i++)
            (void)sipc_recv(channel, buffer, sizeof buffer, &length, 0);
        (void)sipc_recv(channel, buffer, 1, &length, 0);
        (void)sipc_send(channel, buffer, sizeof buffer < sipc_max_message_size(channel) ? sizeof buffer : 1, 0);
        (void)sipc_send(channel, NULL, 0, 0);
        (void)sipc_info(channel, &info);
        /* An observer that attaches after traffic, then sees it. */
        if (sipc_observe(name, &observer) == SIPC_OK) {
            (void)sipc_send(channel, "x", 1, 0);
            sipc_observed_message message = {.struct_size = sizeof message};
            (void)sipc_observer_next(observer, buffer, sizeof buffer, &message, 0);
            sipc_observer_close(observer);
        }
        sipc_close(channel);
    }
    (void)sipc_remove(name, 1);
    shm_unlink(path);
    return 0;
}
