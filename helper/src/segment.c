/*
 * segment.c — naming, geometry and validation of segments, and the by-name operations that do
 * not attach (stat, list, remove).
 */
#include "deadline.h"
#include "layout.h"
#include "test_hooks.h"

#include <stdio.h>
#include <string.h>

void sipc_key_for_name(const char *name, char key[SIPC_OS_KEY_MAX + 1])
{
    size_t length = strlen(name);
    size_t prefix = strlen(SIPC_OS_KEY_PREFIX);
    if (prefix + length <= SIPC_OS_KEY_MAX) {
        memcpy(key, SIPC_OS_KEY_PREFIX, prefix);
        memcpy(key + prefix, name, length + 1);
        return;
    }
    /* Too long for macOS: FNV-1a 64 of the name; the header keeps the full name. The '#' can never
     * appear in a name, so no plain key equals a hashed one. */
    uint64_t hash = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < length; i++) {
        hash ^= (uint8_t)name[i];
        hash *= 0x100000001b3ull;
    }
    snprintf(key, SIPC_OS_KEY_MAX + 1, "%s" SIPC_HASHED_KEY_MARK "%016llx", SIPC_OS_KEY_PREFIX,
             (unsigned long long)hash);
}

int sipc_geometry_for(uint32_t max_message, uint32_t queue_depth, seg_geometry *out)
{
    if (max_message > SIPC_MAX_MESSAGE_LIMIT || queue_depth == 0 || queue_depth > SIPC_MAX_QUEUE_DEPTH)
        return SIPC_ERR_INVALID_ARGUMENT;
    uint64_t slot =
        ((uint64_t)SIPC_SLOT_HEADER_SIZE + max_message + SIPC_SLOT_ALIGN - 1) / SIPC_SLOT_ALIGN * SIPC_SLOT_ALIGN;
    uint64_t queue = slot * queue_depth;
    if (queue > SIPC_MAX_RING_BYTES)
        return SIPC_ERR_INVALID_ARGUMENT;
    uint64_t rings = 1;
    while (rings * 2 <= SIPC_HISTORY_MAX_RINGS && queue * rings * 2 <= SIPC_HISTORY_BYTES)
        rings *= 2;
    uint64_t ring = queue * rings;
    /* The index: one entry per message the ring can hold, up to the smallest records (header only) and the cap. */
    uint64_t entries = queue_depth;
    while (entries * 2 <= SIPC_HISTORY_MAX_SLOTS && entries * 2 * SIPC_SLOT_ALIGN <= ring)
        entries *= 2;
    uint64_t index = (entries * sizeof(uint64_t) + SIPC_SLOT_ALIGN - 1) / SIPC_SLOT_ALIGN * SIPC_SLOT_ALIGN;
    memset(out, 0, sizeof *out);
    out->max_message = max_message;
    out->queue_depth = queue_depth;
    out->slot_size = (uint32_t)slot;
    out->index_count = (uint32_t)entries;
    out->ring_bytes = ring;
    out->frontier_step = ring / 8 / SIPC_SLOT_ALIGN * SIPC_SLOT_ALIGN;
    for (int d = 0; d < 2; d++) {
        out->index_offset[d] = SIPC_HEADER_SIZE + (uint64_t)d * (index + ring);
        out->ring_offset[d] = out->index_offset[d] + index;
    }
    out->segment_size = SIPC_HEADER_SIZE + 2 * (index + ring);
    return SIPC_OK;
}

void sipc_ring_copy_out(const void *base, const seg_geometry *g, int direction, uint64_t pos, void *out, size_t length)
{
    const uint8_t *ring = (const uint8_t *)base + g->ring_offset[direction];
    uint64_t offset = sipc_modulo(pos, g->ring_bytes);
    size_t first = g->ring_bytes - offset < length ? (size_t)(g->ring_bytes - offset) : length;
    memcpy(out, ring + offset, first);
    if (first < length)
        memcpy((uint8_t *)out + first, ring, length - first);
}

void sipc_ring_copy_in(void *base, const seg_geometry *g, int direction, uint64_t pos, const void *data, size_t length)
{
    uint8_t *ring = (uint8_t *)base + g->ring_offset[direction];
    uint64_t offset = sipc_modulo(pos, g->ring_bytes);
    size_t first = g->ring_bytes - offset < length ? (size_t)(g->ring_bytes - offset) : length;
    memcpy(ring + offset, data, first);
    if (first < length)
        memcpy(ring, (const uint8_t *)data + first, length - first);
}

/* The header's name, copied once and checked: 1..200 bytes obeying the naming rules, no NUL inside. */
static int header_name(const seg_header *header, char name[SIPC_NAME_MAX + 1])
{
    uint32_t name_length = SH_LOAD(&header->name_length);
    if (name_length == 0 || name_length > SIPC_NAME_MAX)
        return SIPC_ERR_CORRUPT;
    for (uint32_t i = 0; i < name_length; i++)
        name[i] = SH_LOAD(&header->name[i]);
    name[name_length] = '\0';
    if (sipc_validate_name(name) != SIPC_OK || strlen(name) != name_length)
        return SIPC_ERR_CORRUPT;
    return SIPC_OK;
}

int sipc_validate_header(const volatile void *base, uint64_t mapped_size, seg_geometry *out)
{
    if (mapped_size < SIPC_HEADER_SIZE)
        return mapped_size == 0 ? SIPC_ERR_NOT_FOUND : SIPC_ERR_CORRUPT;
    const seg_header *header = (const seg_header *)(const void *)base;
    uint64_t magic = SH_LOAD_ACQ(&header->magic);
    if (magic == 0)
        return SIPC_ERR_NOT_FOUND;
    if (magic != SIPC_LAYOUT_MAGIC)
        return SIPC_ERR_CORRUPT;
    uint32_t version = SH_LOAD(&header->version);
    if (version != SIPC_LAYOUT_VERSION)
        return SIPC_ERR_VERSION;
    uint32_t header_size = SH_LOAD(&header->header_size);
    uint64_t segment_size = SH_LOAD(&header->segment_size);
    uint32_t max_message = SH_LOAD(&header->max_message);
    uint32_t queue_depth = SH_LOAD(&header->queue_depth);
    uint32_t slot_size = SH_LOAD(&header->slot_size);
    if (header_size != SIPC_HEADER_SIZE)
        return SIPC_ERR_CORRUPT;
    seg_geometry g;
    if (sipc_geometry_for(max_message, queue_depth, &g) != SIPC_OK)
        return SIPC_ERR_CORRUPT;
    if (g.slot_size != slot_size || g.segment_size != segment_size || segment_size != mapped_size)
        return SIPC_ERR_CORRUPT;
    if (header_name(header, g.name) != SIPC_OK)
        return SIPC_ERR_CORRUPT;
    *out = g;
    return SIPC_OK;
}

int sipc_role_read(const seg_header *header, int role_index, seg_role_view *view)
{
    const seg_role *role = &header->roles[role_index];
    for (int attempt = 0; attempt < 100; attempt++) {
        uint32_t before = SH_LOAD_ACQ(&role->session);
        uint32_t state = SH_LOAD_ACQ(&role->state);
        sipc_os_process p;
        p.pid = SH_LOAD(&role->pid);
        p.start_time = SH_LOAD(&role->start_time);
        uint32_t flags = SH_LOAD(&role->flags);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        uint32_t after = SH_LOAD(&role->session);
        if (before != after)
            continue;
        view->session = before;
        view->attached = state == SIPC_SLOT_ATTACHED;
        view->process = p;
        view->flags = flags;
        return 1;
    }
    return 0;
}

int64_t sipc_role_holder_pid(const seg_header *header, int role_index, uint32_t session)
{
    const seg_role *role = &header->roles[role_index];
    uint32_t before = SH_LOAD_ACQ(&role->holder_session);
    int64_t pid = SH_LOAD(&role->holder_pid);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    uint32_t after = SH_LOAD(&role->holder_session);
    return session != 0 && before == session && after == session && pid > 0 ? pid : 0;
}

int sipc_role_snapshot(const seg_header *header, int role_index, sipc_os_process *process, uint32_t *session)
{
    seg_role_view view;
    if (!sipc_role_read(header, role_index, &view) || !view.attached)
        return 0;
    if (process != NULL)
        *process = view.process;
    if (session != NULL)
        *session = view.session;
    return 1;
}

int sipc_holder_alive(sipc_os_segment *segment, const seg_role_view *view, int role_index)
{
    if (!sipc_os_process_alive(&view->process))
        return 0;
    /* Same pid and start time, but the program may have exec()ed: then its token is gone. */
    return !(view->flags & SIPC_ROLE_HOLDS_TOKEN) || sipc_os_segment_token_held(segment, (uint32_t)role_index) != 0;
}

int sipc_role_alive(sipc_os_segment *segment, const seg_header *header, int role_index)
{
    seg_role_view view;
    if (!sipc_role_read(header, role_index, &view) || !view.attached)
        return 0;
    return sipc_holder_alive(segment, &view, role_index);
}

static void fill_direction(const seg_header *header, const seg_geometry *g, int direction, sipc_direction_info *out)
{
    const seg_ring *ring = &header->rings[direction];
    uint64_t head = SH_LOAD_ACQ(&ring->head);
    uint64_t tail = SH_LOAD_ACQ(&ring->tail);
    out->messages = SH_LOAD(&ring->messages);
    out->bytes = SH_LOAD(&ring->bytes);
    uint64_t queued = head >= tail ? head - tail : 0;
    out->queued = queued > g->queue_depth ? g->queue_depth : (uint32_t)queued;
    out->capacity = g->queue_depth;
    out->last_activity_ns = SH_LOAD(&ring->last_send_ns);
}

static int holder_looked_up(void *context, const seg_role_view *view, int role_index)
{
    return sipc_holder_alive(context, view, role_index);
}

void sipc_fill_info(const seg_header *header, const seg_geometry *g, sipc_os_segment *segment, sipc_channel_info *info)
{
    sipc_fill_info_with(header, g, segment, info, holder_looked_up, segment);
}

void sipc_fill_info_with(const seg_header *header, const seg_geometry *g, sipc_os_segment *segment,
                         sipc_channel_info *info, sipc_holder_alive_fn holder_alive, void *context)
{
    uint32_t struct_size = info->struct_size;
    memset(info, 0, sizeof *info);
    info->struct_size = struct_size;
    info->protocol_version = SIPC_LAYOUT_VERSION;
    memcpy(info->name, g->name, sizeof info->name);
    info->max_message_size = g->max_message;
    info->queue_depth = g->queue_depth;
    uint32_t mode = 0, uid = 0;
    if (sipc_os_segment_owner(segment, &mode, &uid) == SIPC_OK) {
        info->mode = mode;
        info->owner_uid = uid;
    }
    int alive[2];
    int ever[2];
    for (int r = 0; r < 2; r++) {
        seg_role_view view;
        int attached = sipc_role_read(header, r, &view) && view.attached;
        alive[r] = attached && holder_alive(context, &view, r);
        ever[r] = SH_LOAD(&header->roles[r].session) != 0;
        if (attached) {
            if (r == SIPC_ROLE_INDEX_SERVER)
                info->server_pid = view.process.pid;
            else
                info->client_pid = view.process.pid;
        }
    }
    info->server_alive = alive[SIPC_ROLE_INDEX_SERVER];
    info->client_alive = alive[SIPC_ROLE_INDEX_CLIENT];
    if (alive[0] && alive[1])
        info->state = SIPC_STATE_CONNECTED;
    else if (!alive[0] && !alive[1])
        info->state = SIPC_STATE_STALE;
    else if (ever[alive[0] ? 1 : 0])
        info->state = SIPC_STATE_PEER_GONE;
    else
        info->state = SIPC_STATE_WAITING;
    info->connections = SH_LOAD(&header->connections);
    info->created_ns = SH_LOAD(&header->created_ns);
    fill_direction(header, g, SIPC_DIR_TO_CLIENT, &info->to_client);
    fill_direction(header, g, SIPC_DIR_TO_SERVER, &info->to_server);
}

/* ---- the open-time lock ---- */

uint64_t sipc_lock_word(const sipc_os_process *process)
{
    if (process->pid <= 0 || process->pid > (int64_t)UINT32_MAX)
        return 0;
    uint32_t folded = (uint32_t)(process->start_time ^ (process->start_time >> 32));
    return (uint64_t)process->pid << 32 | folded;
}

/* 1 unless the holder named by `word` is known not to hold the lock: no process with its pid runs, the one
 * that does started at another time (the pid was reused), or it does not have the segment mapped (a real
 * holder took the word through its mapping and keeps it while it holds the word: the word was forged by a
 * writer naming a live process). A holder that cannot be examined counts as alive: the caller's timeout
 * bounds the wait. `*mapping_seen`: a word whose mapping was already found (the maps are read once per
 * word, its liveness at every look). */
static int lock_holder_alive(sipc_os_segment *segment, uint64_t word, uint64_t *mapping_seen)
{
    int64_t pid = (int64_t)(word >> 32);
    uint64_t start_time = 0;
    int rc = sipc_os_process_start_time(pid, &start_time);
    if (rc == SIPC_ERR_NOT_FOUND)
        return 0;
    if (rc != SIPC_OK)
        return 1;
    if ((uint32_t)(start_time ^ (start_time >> 32)) != (uint32_t)word)
        return 0;
    if (*mapping_seen == word)
        return 1;
    if (sipc_os_segment_mapped_by(segment, pid) == 0)
        return 0;
    *mapping_seen = word;
    return 1;
}

/* Locks are held for microseconds: the first look nearly always finds the word free. */
#define LOCK_POLL_FIRST_US 20u
#define LOCK_POLL_MAX_US 5000u

int sipc_segment_lock(sipc_os_segment *segment, seg_header *header, const sipc_os_process *self, uint64_t deadline,
                      const char *key)
{
    uint64_t taken_from = 0;
    return sipc_segment_lock_from(segment, header, self, deadline, key, &taken_from);
}

int sipc_segment_lock_from(sipc_os_segment *segment, seg_header *header, const sipc_os_process *self, uint64_t deadline,
                           const char *key, uint64_t *taken_from)
{
    *taken_from = 0;
    uint64_t mine = sipc_lock_word(self);
    if (mine == 0)
        return SIPC_ERR_SYSTEM;
    uint64_t mapping_seen = 0;
    uint32_t pause_us = LOCK_POLL_FIRST_US;
    for (;;) {
        uint64_t seen = __atomic_load_n(&header->lock_owner, __ATOMIC_ACQUIRE);
        if (seen == 0) {
            if (__atomic_compare_exchange_n(&header->lock_owner, &seen, mine, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
                return SIPC_OK;
            continue;
        }
        /* Our own word is another thread of this process (or a program this process exec()ed from): alive. */
        if (seen != mine && !lock_holder_alive(segment, seen, &mapping_seen)) {
            if (__atomic_compare_exchange_n(&header->lock_owner, &seen, mine, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
                *taken_from = seen; /* taken over */
                return SIPC_OK;
            }
            continue;
        }
        uint64_t now = sipc_os_monotonic_ns();
        if (now >= deadline) {
            sipc_record_error_detail("%s stayed locked by process %llu until the timeout", key,
                                     (unsigned long long)(seen >> 32));
            return SIPC_ERR_TIMEOUT;
        }
        uint64_t remaining_us = sipc_deadline_us_left_at(deadline, now);
        sipc_os_sleep_us(remaining_us < pause_us ? (uint32_t)remaining_us : pause_us);
        pause_us = pause_us >= LOCK_POLL_MAX_US / 2 ? LOCK_POLL_MAX_US : pause_us * 2;
    }
}

void sipc_segment_unlock(seg_header *header, const sipc_os_process *self)
{
    uint64_t mine = sipc_lock_word(self);
    __atomic_compare_exchange_n(&header->lock_owner, &mine, 0, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

int sipc_creation_abandoned(sipc_os_segment *segment, const seg_header *header)
{
    if (SH_LOAD_ACQ(&header->magic) != 0)
        return 0;
    uint64_t word = __atomic_load_n(&header->lock_owner, __ATOMIC_ACQUIRE);
    if (word == 0)
        return 0;
    sipc_os_process self;
    if (sipc_os_process_self(&self) == SIPC_OK && word == sipc_lock_word(&self))
        return 0; /* this process (another thread of it) is creating it */
    uint64_t mapping_seen = 0;
    return !lock_holder_alive(segment, word, &mapping_seen);
}

/* ---- by name ---- */

int sipc_view_open(const char *key, uint64_t deadline, sipc_view *view)
{
    return sipc_view_open_flags(key, SIPC_OS_SEG_READONLY, deadline, view);
}

int sipc_view_open_flags(const char *key, uint32_t os_flags, uint64_t deadline, sipc_view *view)
{
    memset(view, 0, sizeof *view);
    int rc = sipc_os_segment_open(key, os_flags, 0, deadline, &view->segment);
    if (rc != SIPC_OK)
        return rc;
    rc = sipc_os_segment_size(view->segment, &view->size);
    if (rc == SIPC_OK && view->size < SIPC_HEADER_SIZE)
        rc = view->size == 0 ? SIPC_ERR_NOT_FOUND : SIPC_ERR_CORRUPT;
    /* The header first: its geometry must account for the object's exact size before anything of an
     * arbitrary (hostile) size is mapped. */
    void *header = NULL;
    if (rc == SIPC_OK)
        rc = sipc_os_segment_map(view->segment, SIPC_HEADER_SIZE, &header);
    if (rc == SIPC_OK) {
        rc = sipc_validate_header(header, view->size, &view->geometry);
        sipc_os_segment_unmap(view->segment, header, SIPC_HEADER_SIZE);
    }
    if (rc == SIPC_OK)
        rc = sipc_os_segment_map(view->segment, view->size, &view->base);
    if (rc != SIPC_OK) {
        sipc_os_segment_close(view->segment);
        memset(view, 0, sizeof *view);
    }
    return rc;
}

void sipc_view_close(sipc_view *view)
{
    sipc_os_segment_unmap(view->segment, view->base, view->size);
    sipc_os_segment_close(view->segment);
    memset(view, 0, sizeof *view);
}

int sipc_name_mismatch(const char *key, const char *found, const char *wanted)
{
    char home[SIPC_OS_KEY_MAX + 1];
    sipc_key_for_name(found, home);
    if (strcmp(home, key) == 0)
        sipc_record_error_detail("%s holds channel '%.80s', not '%.80s': their long names hash alike", key, found,
                                 wanted);
    else
        sipc_record_error_detail("%s holds a copy of channel '%.80s' (whose key is %s), not '%.80s'", key, found, home,
                                 wanted);
    return SIPC_ERR_NOT_A_CHANNEL;
}

/* An object under `key` that is not initialised (sipc_view_open said NOT_FOUND): SIPC_OK if it exists, with
 * *abandoned set when its creator died holding the lock word (sipc_creation_abandoned), `name` the channel
 * it was made for (the header's name, which the creator writes first, else what a plain key says; "" if
 * neither is known) and its mode and owner. */
static int probe_uninitialised(const char *key, uint64_t deadline, int *abandoned, char name[SIPC_NAME_MAX + 1],
                               uint32_t *mode, uint32_t *uid)
{
    *abandoned = 0;
    name[0] = '\0';
    *mode = *uid = 0;
    sipc_os_segment *segment = NULL;
    int rc = sipc_os_segment_open(key, SIPC_OS_SEG_READONLY, 0, deadline, &segment);
    if (rc != SIPC_OK)
        return rc;
    uint64_t size = 0;
    void *base = NULL;
    if (sipc_os_segment_size(segment, &size) == SIPC_OK && size >= SIPC_HEADER_SIZE &&
        sipc_os_segment_map(segment, SIPC_HEADER_SIZE, &base) == SIPC_OK) {
        const seg_header *header = base;
        *abandoned = sipc_creation_abandoned(segment, header);
        char home[SIPC_OS_KEY_MAX + 1];
        if (header_name(header, name) == SIPC_OK && (sipc_key_for_name(name, home), strcmp(home, key) != 0))
            name[0] = '\0'; /* it names a channel of another key */
        sipc_os_segment_unmap(segment, base, SIPC_HEADER_SIZE);
    }
    const char *rest = key + strlen(SIPC_OS_KEY_PREFIX);
    if (name[0] == '\0' && sipc_validate_name(rest) == SIPC_OK)
        snprintf(name, SIPC_NAME_MAX + 1, "%s", rest);
    sipc_os_segment_owner(segment, mode, uid);
    sipc_os_segment_close(segment);
    return SIPC_OK;
}

SIPC_API int sipc_stat(const char *name, sipc_channel_info *info)
{
    return sipc_stat_ex(name, SIPC_DEFAULT_LOCK_TIMEOUT_MS, info);
}

SIPC_API int sipc_stat_ex(const char *name, int32_t timeout_ms, sipc_channel_info *info)
{
    sipc_clear_error_detail();
    if (info == NULL || info->struct_size < sizeof *info || timeout_ms < SIPC_INFINITE)
        return SIPC_ERR_INVALID_ARGUMENT;
    int rc = sipc_validate_name(name);
    if (rc != SIPC_OK)
        return rc;
    char key[SIPC_OS_KEY_MAX + 1];
    sipc_key_for_name(name, key);
    uint64_t deadline = sipc_deadline_after(timeout_ms);
    sipc_view view;
    rc = sipc_view_open(key, deadline, &view);
    if (rc == SIPC_ERR_NOT_FOUND) {
        /* The object exists but is being created, or its creator died before initialising it: then nobody
         * alive is attached, and the next opener (or `sipc rm --stale`) replaces it, as a stale channel. */
        int abandoned = 0;
        char made_for[SIPC_NAME_MAX + 1];
        uint32_t mode = 0, uid = 0;
        if (probe_uninitialised(key, deadline, &abandoned, made_for, &mode, &uid) != SIPC_OK)
            return SIPC_ERR_NOT_FOUND;
        uint32_t struct_size = info->struct_size;
        memset(info, 0, sizeof *info);
        info->struct_size = struct_size;
        info->protocol_version = SIPC_LAYOUT_VERSION;
        snprintf(info->name, sizeof info->name, "%s", name);
        info->mode = mode;
        info->owner_uid = uid;
        info->state = abandoned ? SIPC_STATE_STALE : SIPC_STATE_EMPTY;
        return SIPC_OK;
    }
    if (rc != SIPC_OK)
        return rc;
    if (strcmp(view.geometry.name, name) != 0) {
        rc = sipc_name_mismatch(key, view.geometry.name, name);
        sipc_view_close(&view);
        return rc;
    }
    sipc_fill_info((const seg_header *)view.base, &view.geometry, view.segment, info);
    sipc_view_close(&view);
    return SIPC_OK;
}

/* The channel name a key stands for when it is not hashed (sipc.<name>), else the key itself. */
static void name_of_key(const char *key, char *out, size_t size)
{
    const char *rest = key + strlen(SIPC_OS_KEY_PREFIX);
    snprintf(out, size, "%s", sipc_validate_name(rest) == SIPC_OK ? rest : key);
}

typedef struct list_context {
    sipc_list_entry_visitor visit;
    void *user;
} list_context;

static int list_key(const char *key, void *user)
{
    list_context *context = user;
    sipc_list_entry entry;
    memset(&entry, 0, sizeof entry);
    entry.struct_size = sizeof entry;
    entry.key = key;
    sipc_clear_error_detail();
    sipc_view view;
    /* Listing never waits: a key whose lock is held right now (Windows) counts as unusable. */
    entry.status = sipc_view_open(key, sipc_os_monotonic_ns(), &view);
    if (entry.status == SIPC_OK) {
        memcpy(entry.name, view.geometry.name, sizeof entry.name);
        sipc_view_close(&view);
        char expected[SIPC_OS_KEY_MAX + 1];
        sipc_key_for_name(entry.name, expected);
        if (strcmp(expected, key) != 0) {
            /* Its header names a channel that lives under another key. */
            entry.status = SIPC_ERR_NOT_A_CHANNEL;
            sipc_record_error_detail("%s holds the header of channel '%.80s', which lives under %s", key, entry.name,
                                     expected);
            name_of_key(key, entry.name, sizeof entry.name);
        }
    } else if (entry.status == SIPC_ERR_NOT_FOUND) {
        /* Being created, or abandoned by a creator that died: the latter is listed (as a stale channel, see
         * sipc_stat) when it can be named, so that it can be removed by name. */
        int abandoned = 0;
        uint32_t mode = 0, uid = 0;
        if (probe_uninitialised(key, sipc_os_monotonic_ns(), &abandoned, entry.name, &mode, &uid) == SIPC_OK &&
            abandoned && entry.name[0] != '\0')
            entry.status = SIPC_OK;
        else
            name_of_key(key, entry.name, sizeof entry.name);
    } else {
        name_of_key(key, entry.name, sizeof entry.name);
    }
    entry.detail = sipc_last_error_message();
    return context->visit(&entry, context->user);
}

SIPC_API int sipc_list_entries(sipc_list_entry_visitor visit, void *user)
{
    if (visit == NULL)
        return SIPC_ERR_INVALID_ARGUMENT;
    list_context context = {visit, user};
    int rc = sipc_os_segment_list(list_key, &context);
    sipc_clear_error_detail();
    return rc < 0 ? rc : SIPC_OK;
}

typedef struct usable_context {
    sipc_list_visitor visit;
    void *user;
} usable_context;

static int visit_usable(const sipc_list_entry *entry, void *user)
{
    usable_context *context = user;
    return entry->status == SIPC_OK ? context->visit(entry->name, context->user) : 0;
}

SIPC_API int sipc_list(sipc_list_visitor visit, void *user)
{
    if (visit == NULL)
        return SIPC_ERR_INVALID_ARGUMENT;
    usable_context context = {visit, user};
    return sipc_list_entries(visit_usable, &context);
}

static int being_created(const char *key)
{
    sipc_record_error_detail("%s is being created (or its creator died before it took the channel's lock): "
                             "the next opener replaces it if it is never finished; a forced remove removes it now",
                             key);
    return SIPC_ERR_BUSY;
}

SIPC_API int sipc_remove(const char *name, int force)
{
    return sipc_remove_ex(name, force ? SIPC_REMOVE_FORCE : 0u, SIPC_DEFAULT_LOCK_TIMEOUT_MS);
}

static sipc_test_hook key_test_hook; /* atomic; test_hooks.h */
static void *key_test_hook_arg;

void sipc_key_set_test_hook(sipc_test_hook hook, void *arg)
{
    key_test_hook_arg = arg;
    __atomic_store_n(&key_test_hook, hook, __ATOMIC_RELEASE);
}

void sipc_key_test_point(sipc_test_point point)
{
    sipc_test_hook hook = __atomic_load_n(&key_test_hook, __ATOMIC_ACQUIRE);
    if (hook != NULL)
        hook(key_test_hook_arg, point);
}

SIPC_API int sipc_remove_ex(const char *name, uint32_t flags, int32_t timeout_ms)
{
    sipc_clear_error_detail();
    int rc = sipc_validate_name(name);
    if (rc != SIPC_OK)
        return rc;
    if ((flags & ~(uint32_t)SIPC_REMOVE_FORCE) != 0 || timeout_ms < SIPC_INFINITE)
        return SIPC_ERR_INVALID_ARGUMENT;
    int force = (flags & SIPC_REMOVE_FORCE) != 0;
    char key[SIPC_OS_KEY_MAX + 1];
    sipc_key_for_name(name, key);
    uint64_t deadline = sipc_deadline_after(timeout_ms);
    sipc_os_segment *segment = NULL;
    /* Read-write: the lock word is written (a process that may only read a channel cannot remove it). */
    rc = sipc_os_segment_open(key, 0, 0, deadline, &segment);
    if (rc == SIPC_ERR_NOT_A_CHANNEL && force)
        return sipc_os_segment_unlink(key, deadline); /* something else squats the name: only force removes it */
    if (rc != SIPC_OK)
        return rc;
    sipc_key_test_point(SIPC_TEST_KEY_OPENED_OBJECT);
    rc = sipc_os_segment_lock(segment, deadline);
    if (rc != SIPC_OK) {
        /* GCOVR_EXCL_START: Linux and macOS have no OS lock (no-op); only Windows's mutex times out */
        sipc_os_segment_close(segment);
        return rc;
        /* GCOVR_EXCL_STOP */
    }
    sipc_os_process self;
    uint64_t size = 0;
    void *base = NULL;
    int locked = 0;
    rc = sipc_os_process_self(&self);
    if (rc == SIPC_OK)
        rc = sipc_os_segment_size(segment, &size);
    if (rc == SIPC_OK && size >= SIPC_HEADER_SIZE)
        rc = sipc_os_segment_map(segment, SIPC_HEADER_SIZE, &base);
    uint64_t taken_from = 0;
    if (rc == SIPC_OK && base != NULL) {
        rc = sipc_segment_lock_from(segment, base, &self, deadline, key, &taken_from);
        locked = rc == SIPC_OK;
    }
    if (rc == SIPC_OK && sipc_os_segment_is_current(segment) != 1)
        rc = SIPC_ERR_NOT_FOUND;
    seg_geometry geometry;
    if (rc == SIPC_OK && base != NULL) {
        int valid = sipc_validate_header(base, size, &geometry);
        if (valid == SIPC_OK) {
            const seg_header *header = base;
            char home[SIPC_OS_KEY_MAX + 1];
            sipc_key_for_name(geometry.name, home);
            if (strcmp(geometry.name, name) != 0 && (!force || strcmp(home, key) == 0))
                rc = sipc_name_mismatch(key, geometry.name, name); /* force removes only a misplaced copy */
            else if (!force && (sipc_role_alive(segment, header, SIPC_ROLE_INDEX_SERVER) ||
                                sipc_role_alive(segment, header, SIPC_ROLE_INDEX_CLIENT)))
                rc = SIPC_ERR_BUSY;
        } else if (valid != SIPC_ERR_NOT_FOUND && !force) {
            rc = valid; /* corrupt or foreign version: only removed with force */
        } else if (valid == SIPC_ERR_NOT_FOUND && !force && taken_from == 0) {
            /* Never initialised, and we did not take the word over from a creator that died: its creator
             * may still be on its way to the word. Only a creator known to be gone gives it up. */
            rc = being_created(key);
        }
    } else if (rc == SIPC_OK && !force) {
        rc = size != 0 ? SIPC_ERR_CORRUPT : being_created(key); /* size 0: its creator has not sized it yet */
    }
    if (rc == SIPC_OK)
        rc = sipc_os_segment_unlink(key, deadline);
    if (locked)
        sipc_segment_unlock(base, &self);
    if (base != NULL)
        sipc_os_segment_unmap(segment, base, SIPC_HEADER_SIZE);
    sipc_os_segment_unlock(segment);
    sipc_os_segment_close(segment);
    return rc;
}
