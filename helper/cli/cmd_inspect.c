/* Inspection commands: ls, stat, tap, rm. */
#include "cli.h"
#include "cli_follow.h"
#include "cli_schema.h"
#include "layout.h"
#include "observe_queue.h"
#include "platform.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void info_init(sipc_channel_info *info)
{
    memset(info, 0, sizeof *info);
    info->struct_size = sizeof *info;
}

/* Stale: nobody alive holds the channel, so it only waits for removal or reuse. */
static bool info_is_stale(const sipc_channel_info *info)
{
    if (info->state == SIPC_STATE_STALE)
        return true;
    bool server_dead = info->server_pid == 0 || !info->server_alive;
    bool client_dead = info->client_pid == 0 || !info->client_alive;
    return info->state != SIPC_STATE_EMPTY && server_dead && client_dead;
}

/* The process holding a role, as the library sees it (name, stopped, traced); UNKNOWN and no name for pid 0. */
static sipc_process_info describe_process(int64_t pid)
{
    sipc_process_info process = {.struct_size = sizeof process};
    if (pid <= 0 || sipc_process_describe(pid, &process) != SIPC_OK) {
        process.state = SIPC_PROCESS_UNKNOWN;
        process.traced = 0;
        process.name[0] = '\0';
    }
    return process;
}

static const char *process_state_name(int32_t state)
{
    switch (state) {
    case SIPC_PROCESS_RUNNING:
        return "running";
    case SIPC_PROCESS_STOPPED:
        return "stopped";
    case SIPC_PROCESS_GONE:
        return "gone";
    default:
        return "unknown";
    }
}

/* "-" (free), "1234*" (its holder has gone), or "1234 name", with " (stopped)" or " (stopped, debugger)" for a
 * holder that is alive but stopped: it will not answer until it is continued, yet it is not dead. */
static bool append_pid(cli_buffer *out, int64_t pid, int32_t alive)
{
    if (pid == 0)
        return cli_buffer_append_str(out, "-");
    if (!alive)
        return cli_buffer_printf(out, "%" PRId64 "*", pid);
    sipc_process_info process = describe_process(pid);
    const char *stopped = process.state != SIPC_PROCESS_STOPPED ? ""
                          : process.traced                      ? " (stopped, debugger)"
                                                                : " (stopped)";
    return cli_buffer_printf(out, "%" PRId64 "%s%s%s", pid, process.name[0] != '\0' ? " " : "", process.name, stopped);
}

/* ,"serverProcess":{"name":"sipc","state":"stopped","traced":true} (null when the role is free or its holder gone). */
static bool append_process_json(cli_buffer *out, const char *key, int64_t pid, int32_t alive)
{
    if (pid == 0 || !alive)
        return cli_buffer_printf(out, ",\"%s\":null", key);
    sipc_process_info process = describe_process(pid);
    return cli_buffer_printf(out, ",\"%s\":{\"name\":", key) &&
           cli_append_json_string(out, process.name, strnlen(process.name, sizeof process.name)) &&
           cli_buffer_printf(out, ",\"state\":\"%s\",\"traced\":%s}", process_state_name(process.state),
                             process.traced ? "true" : "false");
}

static bool append_direction_json(cli_buffer *out, const char *key, const sipc_direction_info *direction)
{
    return cli_buffer_printf(out,
                             "\"%s\":{\"messages\":%" PRIu64 ",\"bytes\":%" PRIu64
                             ",\"queued\":%u,\"capacity\":%u,\"lastActivityNs\":%" PRIu64 "}",
                             key, direction->messages, direction->bytes, direction->queued, direction->capacity,
                             direction->last_activity_ns);
}

/* How far an observer may fall behind a direction before it misses (or, lossless, holds a producer): the ring's bytes,
 * which keep as many messages as their records fit, up to the index's entries (PROTOCOL.md section 2, "Records, index
 * and history"). Zeros when the channel reports a geometry this build cannot make (another version's). */
static seg_geometry history_of(const sipc_channel_info *info)
{
    seg_geometry g;
    if (sipc_geometry_for(info->max_message_size, info->queue_depth, &g) != SIPC_OK)
        memset(&g, 0, sizeof g);
    return g;
}

static bool append_info_json(cli_buffer *out, const sipc_channel_info *info)
{
    size_t name_length = strnlen(info->name, sizeof info->name);
    const seg_geometry history = history_of(info);
    return cli_buffer_append_str(out, "{\"name\":") && cli_append_json_string(out, info->name, name_length) &&
           cli_buffer_printf(out,
                             ",\"state\":\"%s\",\"stale\":%s,\"protocolVersion\":%u,\"maxMessageSize\":%u,"
                             "\"queueDepth\":%u,\"historyBytes\":%" PRIu64
                             ",\"historyMessages\":%u,\"mode\":\"%04o\",\"ownerUid\":%u,"
                             "\"serverPid\":%" PRId64 ",\"serverAlive\":%s,\"clientPid\":%" PRId64
                             ",\"clientAlive\":%s,\"connections\":%" PRIu64 ",\"createdNs\":%" PRIu64,
                             cli_state_name(info->state), info_is_stale(info) ? "true" : "false",
                             info->protocol_version, info->max_message_size, info->queue_depth, history.ring_bytes,
                             history.index_count, info->mode & 07777u, info->owner_uid, info->server_pid,
                             info->server_alive ? "true" : "false", info->client_pid,
                             info->client_alive ? "true" : "false", info->connections, info->created_ns) &&
           append_process_json(out, "serverProcess", info->server_pid, info->server_alive) &&
           append_process_json(out, "clientProcess", info->client_pid, info->client_alive) &&
           cli_buffer_append_str(out, ",") && append_direction_json(out, "toClient", &info->to_client) &&
           cli_buffer_append_str(out, ",") && append_direction_json(out, "toServer", &info->to_server) &&
           cli_buffer_append_str(out, "}\n");
}

/* Prints what a command built into out (built: whether building it succeeded), frees out and
 * returns the command's exit code. */
static int print_output(const char *command, cli_buffer *out, bool built)
{
    bool written = built && cli_write_all(STDOUT_FILENO, out->data ? out->data : "", out->length);
    int error_number = errno;
    cli_buffer_free(out);
    if (!built)
        return cli_io_error(command, "out of memory");
    return written ? SIPC_CLI_EXIT_OK : cli_stdout_write_failed(command, error_number);
}

/* ---- ls ---- */

/* The names sipc_list_entries reported: usable channels, and entries that cannot be used with why. */
typedef struct listed_entry {
    char *name;
    char *detail; /* NULL for a usable channel */
    int status;
} listed_entry;

typedef struct name_list {
    listed_entry *entries;
    size_t count;
    size_t capacity;
    bool out_of_memory;
} name_list;

static int collect_entry(const sipc_list_entry *entry, void *user)
{
    name_list *list = user;
    listed_entry *entries = cli_array_grow(list->entries, list->count, &list->capacity, sizeof *entries, 16);
    if (!entries) {
        list->out_of_memory = true;
        return 1;
    }
    list->entries = entries;
    listed_entry copy = {strdup(entry->name), NULL, entry->status};
    if (entry->status != SIPC_OK)
        copy.detail = strdup(entry->detail);
    if (!copy.name || (entry->status != SIPC_OK && !copy.detail)) {
        free(copy.name);
        free(copy.detail);
        list->out_of_memory = true;
        return 1;
    }
    list->entries[list->count++] = copy;
    return 0;
}

static void name_list_free(name_list *list)
{
    for (size_t i = 0; i < list->count; i++) {
        free(list->entries[i].name);
        free(list->entries[i].detail);
    }
    free(list->entries);
}

/* "NAME  unusable  reason" / {"name":...,"error":"STATUS","detail":...}: listed, never waited for. */
static bool append_unusable(cli_buffer *out, bool json, int name_width, const char *name, int status,
                            const char *detail)
{
    if (json)
        return cli_buffer_append_str(out, "{\"name\":") && cli_append_json_string(out, name, strlen(name)) &&
               cli_buffer_printf(out, ",\"error\":\"%s\",\"detail\":", sipc_status_name(status)) &&
               cli_append_json_string(out, detail, strlen(detail)) && cli_buffer_append_str(out, "}\n");
    return cli_buffer_printf(out, "%-*s %-10s %s (%s)%s%s\n", name_width, name, "unusable", sipc_strerror(status),
                             sipc_status_name(status), detail[0] != '\0' ? ": " : "", detail);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(((const listed_entry *)a)->name, ((const listed_entry *)b)->name);
}

int cmd_ls(const cli_command *command, int argc, char **argv)
{
    bool json = false;
    const cli_option options[] = {{"json", CLI_OPT_FLAG, &json, NULL, 0, 0, NULL}};
    const char *positional[1];
    size_t count = 0;
    int rc = cli_parse(command, argc, argv, options, 1, positional, 0, 0, &count);
    if (rc >= 0)
        return rc;

    name_list list = {0};
    int status = sipc_list_entries(collect_entry, &list);
    if (list.out_of_memory)
        status = SIPC_ERR_NO_MEMORY;
    if (status != SIPC_OK) {
        name_list_free(&list);
        return cli_fail(command->name, NULL, status);
    }
    if (list.count > 1)
        qsort(list.entries, list.count, sizeof *list.entries, compare_names);

    cli_buffer out = {0};
    bool ok = true;
    int name_width = 4;
    for (size_t i = 0; i < list.count; i++)
        if ((int)strlen(list.entries[i].name) > name_width)
            name_width = (int)strlen(list.entries[i].name);
    if (!json && list.count > 0)
        ok = cli_buffer_printf(&out, "%-*s %-10s %-14s %-14s %-9s %-9s %10s %10s %8s\n", name_width, "NAME", "STATE",
                               "SERVER", "CLIENT", "S->C Q", "C->S Q", "S->C MSGS", "C->S MSGS", "MAXMSG");
    for (size_t i = 0; ok && i < list.count; i++) {
        const listed_entry *entry = &list.entries[i];
        if (entry->status == SIPC_ERR_NOT_FOUND)
            continue; /* removed while we listed, or being created */
        if (entry->status != SIPC_OK) {
            ok = append_unusable(&out, json, name_width, entry->name, entry->status, entry->detail);
            continue;
        }
        sipc_channel_info info;
        info_init(&info);
        int stat_status = sipc_stat(entry->name, &info);
        if (stat_status == SIPC_ERR_NOT_FOUND)
            continue; /* removed while we listed */
        if (stat_status != SIPC_OK) {
            ok = append_unusable(&out, json, name_width, entry->name, stat_status, sipc_last_error_message());
            continue;
        }
        if (json) {
            ok = append_info_json(&out, &info);
            continue;
        }
        char server[96], client[96], to_client_queue[24], to_server_queue[24];
        cli_buffer pid = {0};
        ok = append_pid(&pid, info.server_pid, info.server_alive);
        snprintf(server, sizeof server, "%s", ok ? pid.data : "?");
        pid.length = 0;
        ok = ok && append_pid(&pid, info.client_pid, info.client_alive);
        snprintf(client, sizeof client, "%s", ok ? pid.data : "?");
        cli_buffer_free(&pid);
        snprintf(to_client_queue, sizeof to_client_queue, "%u/%u", info.to_client.queued, info.to_client.capacity);
        snprintf(to_server_queue, sizeof to_server_queue, "%u/%u", info.to_server.queued, info.to_server.capacity);
        const char *state = info_is_stale(&info) ? "stale" : cli_state_name(info.state);
        ok = ok && cli_buffer_printf(&out, "%-*s %-10s %-14s %-14s %-9s %-9s %10" PRIu64 " %10" PRIu64 " %8u\n",
                                     name_width, info.name, state, server, client, to_client_queue, to_server_queue,
                                     info.to_client.messages, info.to_server.messages, info.max_message_size);
    }
    if (!json && list.count == 0)
        ok = cli_buffer_append_str(&out, "no sipc channels\n");
    name_list_free(&list);
    return print_output(command->name, &out, ok);
}

/* ---- stat ---- */

static bool append_direction_text(cli_buffer *out, const char *label, const sipc_direction_info *direction)
{
    char last[40];
    cli_format_iso_time(direction->last_activity_ns, last, sizeof last);
    return cli_buffer_printf(out, "%-16s %" PRIu64 " messages, %" PRIu64 " bytes, queued %u/%u, last %s\n", label,
                             direction->messages, direction->bytes, direction->queued, direction->capacity, last);
}

int cmd_stat(const cli_command *command, int argc, char **argv)
{
    bool json = false;
    const cli_option options[] = {{"json", CLI_OPT_FLAG, &json, NULL, 0, 0, NULL}};
    const char *positional[1];
    size_t count = 0;
    int rc = cli_parse(command, argc, argv, options, 1, positional, 1, 1, &count);
    if (rc >= 0)
        return rc;
    const char *name = positional[0];
    sipc_channel_info info;
    info_init(&info);
    int status = sipc_validate_name(name);
    if (status == SIPC_OK)
        status = sipc_stat(name, &info);
    if (status != SIPC_OK)
        return cli_fail(command->name, name, status);

    cli_buffer out = {0};
    bool ok;
    if (json) {
        ok = append_info_json(&out, &info);
    } else {
        char created[40];
        cli_format_iso_time(info.created_ns, created, sizeof created);
        const seg_geometry history = history_of(&info);
        cli_buffer server = {0}, client = {0};
        ok = append_pid(&server, info.server_pid, info.server_alive) &&
             append_pid(&client, info.client_pid, info.client_alive) &&
             cli_buffer_printf(
                 &out,
                 "%-16s %s\n%-16s %s%s\n%-16s %s%s\n%-16s %s%s\n%-16s %" PRIu64 "\n"
                 "%-16s %u bytes\n%-16s %u messages per direction\n"
                 "%-16s %" PRIu64 " bytes, up to %u messages per direction (how far an observer may fall behind)\n"
                 "%-16s %04o, uid %u\n"
                 "%-16s %u\n%-16s %s\n",
                 "name", info.name, "state", cli_state_name(info.state),
                 info_is_stale(&info) && info.state != SIPC_STATE_STALE ? " (stale: nobody alive attached)" : "",
                 "server pid", server.data, info.server_pid && !info.server_alive ? " (gone)" : "", "client pid",
                 client.data, info.client_pid && !info.client_alive ? " (gone)" : "", "connections", info.connections,
                 "max message", info.max_message_size, "queue depth", info.queue_depth, "history", history.ring_bytes,
                 history.index_count, "mode", info.mode & 07777u, info.owner_uid, "protocol", info.protocol_version,
                 "created", created) &&
             append_direction_text(&out, "server->client", &info.to_client) &&
             append_direction_text(&out, "client->server", &info.to_server);
        cli_buffer_free(&server);
        cli_buffer_free(&client);
    }
    return print_output(command->name, &out, ok);
}

/* ---- rm ---- */

/* The last time anything happened on the channel: created or a message sent. */
static uint64_t last_activity_ns(const sipc_channel_info *info)
{
    uint64_t last = info->created_ns;
    if (info->to_client.last_activity_ns > last)
        last = info->to_client.last_activity_ns;
    if (info->to_server.last_activity_ns > last)
        last = info->to_server.last_activity_ns;
    return last;
}

static int remove_stale(const char *command, uint64_t older_than_ns, int32_t timeout)
{
    name_list list = {0};
    int status = sipc_list_entries(collect_entry, &list);
    if (list.out_of_memory)
        status = SIPC_ERR_NO_MEMORY;
    if (status != SIPC_OK) {
        name_list_free(&list);
        return cli_fail(command, NULL, status);
    }
    int exit_code = SIPC_CLI_EXIT_OK;
    uint64_t now = sipc_os_wall_ns();
    for (size_t i = 0; i < list.count; i++) {
        if (list.entries[i].status != SIPC_OK)
            continue; /* not a channel: only `rm --force NAME` removes it */
        const char *name = list.entries[i].name;
        sipc_channel_info info;
        info_init(&info);
        if (sipc_stat(name, &info) != SIPC_OK || !info_is_stale(&info))
            continue;
        uint64_t last = last_activity_ns(&info);
        if (older_than_ns != 0 && last <= now && now - last < older_than_ns)
            continue;
        /* Without force: the library re-checks under the channel's lock that nobody alive is attached. */
        status = sipc_remove_ex(name, 0, cli_lock_timeout(timeout));
        if (status == SIPC_OK) {
            printf("removed %s\n", name);
        } else if (status != SIPC_ERR_NOT_FOUND && status != SIPC_ERR_BUSY) { /* gone or revived meanwhile */
            int code = cli_fail(command, name, status);
            if (exit_code == SIPC_CLI_EXIT_OK)
                exit_code = code;
        }
    }
    name_list_free(&list);
    if (fflush(stdout) != 0)
        return cli_stdout_write_failed(command, errno);
    return exit_code;
}

int cmd_rm(const cli_command *command, int argc, char **argv)
{
    bool force = false, stale = false, older_given = false;
    const char *older_than = NULL;
    int32_t timeout = SIPC_INFINITE;
    const cli_option options[] = {{"force", CLI_OPT_FLAG, &force, NULL, 0, 0, NULL},
                                  {"stale", CLI_OPT_FLAG, &stale, NULL, 0, 0, NULL},
                                  {"older-than", CLI_OPT_STRING, &older_than, &older_given, 0, 0, NULL},
                                  {"timeout", CLI_OPT_TIMEOUT, &timeout, NULL, 0, 0, NULL}};
    /* Any number of names: at most one per argument. */
    const char **positional = calloc((size_t)argc + 1, sizeof *positional);
    if (!positional)
        return cli_io_error(command->name, "out of memory");
    size_t count = 0;
    int rc = cli_parse(command, argc, argv, options, sizeof options / sizeof options[0], positional, 0, (size_t)argc,
                       &count);
    if (rc >= 0) {
        free(positional);
        return rc;
    }
    uint64_t older_than_ns = 0;
    if (older_given && !cli_parse_duration(older_than, &older_than_ns)) {
        free(positional);
        return cli_usage_error(command->name, "--older-than needs a duration like 90s, 30m, 12h or 7d, not '%s'",
                               older_than);
    }
    if (stale && (count != 0 || force)) {
        free(positional);
        return cli_usage_error(command->name, "--stale takes no names and no --force");
    }
    if (!stale && (count == 0 || older_given)) {
        free(positional);
        return cli_usage_error(command->name, older_given ? "--older-than goes with --stale" : "missing channel name");
    }
    if (stale) {
        free(positional);
        return remove_stale(command->name, older_than_ns, timeout);
    }
    int exit_code = SIPC_CLI_EXIT_OK;
    for (size_t i = 0; i < count; i++) {
        int status = sipc_validate_name(positional[i]);
        if (status == SIPC_OK)
            status = sipc_remove_ex(positional[i], force ? SIPC_REMOVE_FORCE : 0u, cli_lock_timeout(timeout));
        if (status != SIPC_OK) {
            /* BUSY: a live process is attached, or the library says why (a channel being created). */
            const char *why = sipc_last_error_message();
            int code = status == SIPC_ERR_BUSY
                           ? (fprintf(stderr, "sipc: rm %s: %s; use --force (BUSY)\n", positional[i],
                                      why[0] != '\0' ? why : "a live process is attached"),
                              cli_exit_code(status))
                           : cli_fail(command->name, positional[i], status);
            if (exit_code == SIPC_CLI_EXIT_OK)
                exit_code = code;
        }
    }
    free(positional);
    return exit_code;
}

/* ---- tap ---- */

static const char *direction_label(int32_t direction)
{
    return direction == SIPC_DIR_TO_CLIENT ? "server->client" : "client->server";
}

/* One line for an event of the tap itself (--follow: the channel was removed, the tap observes it again). */
static bool append_tap_event(cli_buffer *out, cli_format output, const char *event, const char *text)
{
    uint64_t now = sipc_os_wall_ns();
    if (output == CLI_FORMAT_JSON) {
        char time_text[40];
        cli_format_iso_time(now, time_text, sizeof time_text);
        return cli_buffer_printf(out,
                                 "{\"event\":\"%s\",\"role\":\"observer\",\"timeNs\":%" PRIu64 ",\"time\":\"%s\"}\n",
                                 event, now, time_text);
    }
    char time_text[32];
    cli_format_time(now, time_text, sizeof time_text);
    return cli_buffer_printf(out, "%s event %s\n", time_text, text);
}

/* --follow: the channel was removed; observes it again once its name leads to a channel (cli_observe_when_back),
 * with *observer replaced. The counters of the observer it closes are added to *stats, and counted in *counted
 * (--stats: every observer of the run counts). */
static int observe_again(const char *name, const sipc_observe_options *options, int32_t timeout_ms,
                         sipc_observer **observer, sipc_observer_stats *stats, unsigned *counted)
{
    cli_signals_watch_observer(NULL);
    sipc_observer_stats counters;
    if (cli_take_observer_stats(*observer, &counters)) {
        cli_add_observer_stats(stats, &counters);
        ++*counted;
    }
    sipc_observer_close(*observer);
    cli_follow_wait wait = {.deadline = sipc_deadline_after(timeout_ms)};
    int status = cli_observe_when_back(name, options, &wait, observer);
    if (status == SIPC_OK)
        cli_signals_watch_observer(*observer);
    return status;
}

/* One line for an observer event, in the tap's format. */
static bool append_event(cli_buffer *out, cli_format output, const sipc_observed_message *m)
{
    const char *event = cli_observer_event_name(m->event);
    if (output == CLI_FORMAT_JSON) {
        char time_text[40];
        cli_format_iso_time(m->timestamp_ns, time_text, sizeof time_text);
        bool ok = cli_buffer_printf(out,
                                    "{\"event\":\"%s\",\"role\":\"%s\",\"pid\":%" PRId64
                                    ",\"session\":%u,\"timeNs\":%" PRIu64 ",\"time\":\"%s\"",
                                    event, cli_role_name(m->role), m->pid, m->session, m->timestamp_ns, time_text);
        if (ok && m->event == SIPC_EVENT_LOSSLESS_DROPPED)
            ok = cli_buffer_printf(out, ",\"reason\":\"%s\"", cli_lossless_drop_reason(m->count));
        return ok && cli_buffer_append_str(out, "}\n");
    }
    char time_text[32];
    cli_format_time(m->timestamp_ns, time_text, sizeof time_text);
    if (m->event == SIPC_EVENT_LOSSLESS_DROPPED)
        return cli_buffer_printf(out,
                                 "%s event lossless observation dropped by the peers (%s): messages may be missed\n",
                                 time_text, cli_lossless_drop_reason(m->count));
    return cli_buffer_printf(out, "%s event %s %s pid %" PRId64 " (session %u)\n", time_text, cli_role_name(m->role),
                             event, m->pid, m->session);
}

/* Writes a string literal (its length known at compile time) at cursor and moves past it. */
#define PUT_LITERAL(cursor, text) (memcpy((cursor), (text), sizeof(text) - 1), (cursor) += sizeof(text) - 1)

/* The fields of a message's JSON line up to its payload, with the comma after them: written straight into room
 * reserved once (the literal parts, six numbers of at most 20 digits and the time), without printf or a bounds check
 * per field: a busy tap writes one such line per message, which a lossless tap's peers wait for. */
static bool append_json_fields(cli_buffer *out, const sipc_observed_message *m, bool to_client, size_t copied)
{
    if (!cli_buffer_reserve(out, 192 + 6 * 20 + CLI_ISO_TIME_SIZE))
        return false;
    char *cursor = out->data + out->length;
    if (to_client)
        PUT_LITERAL(cursor, "{\"dir\":\"server->client\",\"seq\":");
    else
        PUT_LITERAL(cursor, "{\"dir\":\"client->server\",\"seq\":");
    cursor = cli_put_u64(cursor, m->sequence);
    PUT_LITERAL(cursor, ",\"timeNs\":");
    cursor = cli_put_u64(cursor, m->timestamp_ns);
    PUT_LITERAL(cursor, ",\"time\":\"");
    cursor = cli_put_iso_time(cursor, m->timestamp_ns);
    PUT_LITERAL(cursor, "\",\"length\":");
    cursor = cli_put_u64(cursor, m->length);
    PUT_LITERAL(cursor, ",\"copied\":");
    cursor = cli_put_u64(cursor, copied);
    PUT_LITERAL(cursor, ",\"missed\":");
    cursor = cli_put_u64(cursor, m->missed);
    PUT_LITERAL(cursor, ",\"discarded\":");
    cursor = cli_put_u64(cursor, m->discarded);
    if (m->undeliverable)
        PUT_LITERAL(cursor, ",\"undeliverable\":true,");
    else
        PUT_LITERAL(cursor, ",\"undeliverable\":false,");
    out->length = (size_t)(cursor - out->data);
    out->data[out->length] = '\0';
    return true;
}

int cmd_tap(const cli_command *command, int argc, char **argv)
{
    const char *format = "text";
    bool json = false;
    uint64_t limit = 0;
    int32_t timeout = SIPC_INFINITE;
    uint32_t preview = 60;
    bool quiet = false;
    bool lossless = false;
    bool events = false;
    bool follow = false;
    bool stats = false;
    uint32_t stall_timeout = 0;
    cli_schema_options schema_options = {0};
    const cli_option options[] = {
        {"quiet", CLI_OPT_FLAG, &quiet, NULL, 0, 0, NULL},
        {"stats", CLI_OPT_FLAG, &stats, NULL, 0, 0, NULL},
        {"lossless", CLI_OPT_FLAG, &lossless, NULL, 0, 0, NULL},
        {"events", CLI_OPT_FLAG, &events, NULL, 0, 0, NULL},
        {"follow", CLI_OPT_FLAG, &follow, NULL, 0, 0, NULL},
        {"stall-timeout", CLI_OPT_U32, &stall_timeout, NULL, 1, SIPC_OBSERVE_STALL_MAX_MS, NULL},
        {"format", CLI_OPT_CHOICE, &format, NULL, 0, 0, "text|hex|json"},
        {"json", CLI_OPT_FLAG, &json, NULL, 0, 0, NULL},
        {"count", CLI_OPT_U64, &limit, NULL, 1, UINT64_MAX, NULL},
        {"timeout", CLI_OPT_TIMEOUT, &timeout, NULL, 0, 0, NULL},
        {"preview", CLI_OPT_U32, &preview, NULL, 0, 1u << 20, NULL},
        CLI_SCHEMA_OPTIONS(schema_options),
    };
    const char *positional[1];
    size_t count = 0;
    int rc = cli_parse(command, argc, argv, options, sizeof options / sizeof options[0], positional, 1, 1, &count);
    if (rc >= 0)
        return rc;
    const char *name = positional[0];
    cli_format output = json ? CLI_FORMAT_JSON : cli_format_from_name(format);
    cschema_message schema;
    if ((rc = cli_schema_load(command->name, &schema_options, &schema)) >= 0)
        return rc;
    bool decoding = schema.schema != NULL;

    sipc_observer *observer = NULL;
    int status = sipc_validate_name(name);
    sipc_observe_options observe_options;
    sipc_observe_options_init(&observe_options);
    observe_options.flags = (lossless ? SIPC_OBSERVE_LOSSLESS : 0u) | (events ? SIPC_OBSERVE_EVENTS : 0u);
    observe_options.stall_timeout_ms = stall_timeout;
    if (status == SIPC_OK)
        status = sipc_observe_ex(name, &observe_options, &observer);
    if (status != SIPC_OK) {
        cli_schema_free(&schema);
        return cli_fail(command->name, name, status);
    }
    cli_signals_watch_observer(observer);
    /* Like tcpdump's "listening on": tells people and scripts that traffic from now on is seen. */
    if (!quiet)
        fprintf(stderr, "sipc: tap %s: watching both directions%s (Ctrl-C stops)\n", name,
                lossless ? ", lossless" : "");
    sipc_channel_info info;
    info_init(&info);
    status = sipc_observer_info(observer, &info);
    size_t capacity = status == SIPC_OK && info.max_message_size > 0 ? info.max_message_size : SIPC_DEFAULT_MAX_MESSAGE;
    /* The text format shows a preview only: no need to copy whole large messages (unless they are decoded). */
    if (output == CLI_FORMAT_TEXT && !decoding && capacity > (size_t)preview * 4 + 4)
        capacity = (size_t)preview * 4 + 4;
    cli_buffer out = {0};
    uint64_t seen = 0;
    int exit_code = -1;
    /* Lines are collected while messages keep coming and written when the channel has been quiet for quiet_ms (or
     * 64 KiB piled up): one write per batch, not per message. The copying happens apart from this, on the queue's
     * thread, so a slow stdout (a terminal, a pipe read late) keeps neither the observer away from the channel nor,
     * lossless, the peers waiting (up to the queue's bound). */
    const size_t flush_at = 64u * 1024u;
    const int32_t quiet_ms = 5;
    cli_observe_queue_options queue_options = {.capacity = capacity,
                                               .quiet_ms = quiet_ms,
                                               .timeout_ms = timeout,
                                               .idle_ms = 0,
                                               .deadline = SIPC_OS_NO_DEADLINE};
    cli_observe_queue *queue = NULL;
    status = cli_observe_queue_start(observer, &queue_options, &queue);
    if (status != SIPC_OK)
        exit_code = cli_io_error(command->name, "cannot start copying: %s", sipc_status_name(status));
    /* --follow, after observing the channel again: its first message of each direction tells how many went by
     * unseen (the new channel numbers from 0); they are reported as missed. */
    bool unseen_pending[2] = {false, false};
    /* --stats: the counters of the observers --follow closed (the last one's are added at the end). */
    sipc_observer_stats run_stats;
    memset(&run_stats, 0, sizeof run_stats);
    run_stats.struct_size = sizeof run_stats;
    unsigned observers_counted = 0;
    while (exit_code < 0 && (limit == 0 || seen < limit)) {
        cli_observed item;
        cli_observe_queue_next(queue, &item);
        if (item.kind == CLI_OBSERVED_QUIET) {
            if (out.length > 0 && !cli_write_all(STDOUT_FILENO, out.data, out.length)) {
                exit_code = cli_stdout_write_failed(command->name, errno);
                break;
            }
            out.length = 0;
            continue;
        }
        status = item.kind == CLI_OBSERVED_END ? item.status : SIPC_OK;
        if (status == SIPC_ERR_NOT_FOUND && follow) {
            bool ok = append_tap_event(&out, output, "removed", "channel removed; waiting for it to reappear");
            if (!ok || (out.length > 0 && !cli_write_all(STDOUT_FILENO, out.data, out.length))) {
                exit_code = cli_stdout_write_failed(command->name, errno);
                break;
            }
            out.length = 0;
            cli_observe_queue_stop(queue);
            queue = NULL;
            status = observe_again(name, &observe_options, timeout, &observer, &run_stats, &observers_counted);
            if (status != SIPC_OK)
                break;
            info_init(&info);
            if ((output != CLI_FORMAT_TEXT || decoding) && sipc_observer_info(observer, &info) == SIPC_OK &&
                info.max_message_size > capacity)
                capacity = info.max_message_size;
            queue_options.capacity = capacity;
            status = cli_observe_queue_start(observer, &queue_options, &queue);
            if (status != SIPC_OK) {
                exit_code = cli_io_error(command->name, "cannot start copying: %s", sipc_status_name(status));
                break;
            }
            /* Said at once: the copier's next QUIET comes only after a message. */
            if (!append_tap_event(&out, output, "reattached", "observer re-attached")) {
                exit_code = cli_io_error(command->name, "out of memory");
                break;
            }
            if (!cli_write_all(STDOUT_FILENO, out.data, out.length)) {
                exit_code = cli_stdout_write_failed(command->name, errno);
                break;
            }
            out.length = 0;
            unseen_pending[0] = unseen_pending[1] = true;
            continue;
        }
        if (status != SIPC_OK)
            break;
        sipc_observed_message message = item.message;
        const uint8_t *buffer = item.data;
        bool ok = true;
        if (message.kind == SIPC_OBSERVED_EVENT) {
            if (!append_event(&out, output, &message))
                exit_code = cli_io_error(command->name, "out of memory");
            continue;
        }
        if (message.direction >= 0 && message.direction <= 1 && unseen_pending[message.direction]) {
            unseen_pending[message.direction] = false;
            message.missed = message.sequence;
        }
        size_t copied = message.copied <= capacity ? message.copied : capacity;
        const char *direction = direction_label(message.direction);
        if (output == CLI_FORMAT_JSON) {
            ok = append_json_fields(&out, &message, message.direction == SIPC_DIR_TO_CLIENT, copied) &&
                 cli_append_json_payload(&out, buffer, copied);
            if (ok && decoding)
                ok = cschema_decode(&schema, buffer, copied, CSCHEMA_JSON, &out);
            ok = ok && cli_buffer_append(&out, "}\n", 2);
        } else {
            char time_text[32];
            cli_format_time(message.timestamp_ns, time_text, sizeof time_text);
            if (message.missed > 0)
                ok = cli_buffer_printf(&out, "%s %s missed %" PRIu64 " message%s\n", time_text, direction,
                                       message.missed, message.missed == 1 ? "" : "s");
            if (ok && message.discarded > 0)
                ok = cli_buffer_printf(&out, "%s %s discarded %" PRIu64 " message%s addressed to a departed peer\n",
                                       time_text, direction, message.discarded, message.discarded == 1 ? "" : "s");

            ok = ok && cli_buffer_append_str(&out, time_text) && cli_buffer_append(&out, " ", 1) &&
                 cli_buffer_append_str(&out, direction) && cli_buffer_append(&out, " #", 2) &&
                 cli_buffer_append_u64(&out, message.sequence) && cli_buffer_append(&out, " ", 1) &&
                 cli_buffer_append_u64(&out, message.length) && cli_buffer_append(&out, " B ", 3);
            if (output == CLI_FORMAT_HEX) {
                ok = ok && cli_append_hex(&out, buffer, copied);
                if (ok && copied < message.length)
                    ok = cli_buffer_append_str(&out, "...");
            } else {
                ok = ok && cli_append_preview(&out, buffer, copied, preview);
                if (ok && copied < message.length && (out.length < 3 || strcmp(out.data + out.length - 3, "...") != 0))
                    ok = cli_buffer_append_str(&out, "...");
            }
            if (ok && message.undeliverable)
                ok = cli_buffer_append_str(&out, " (undeliverable: its addressee left)");
            ok = ok && cli_buffer_append_str(&out, "\n");
            if (ok && decoding)
                ok = cschema_decode(&schema, buffer, copied, CSCHEMA_TEXT, &out);
        }
        if (!ok)
            exit_code = cli_io_error(command->name, "out of memory");
        else if (out.length >= flush_at) {
            if (!cli_write_all(STDOUT_FILENO, out.data, out.length))
                exit_code = cli_stdout_write_failed(command->name, errno);
            out.length = 0;
        }
        seen++;
    }
    if (exit_code < 0 && out.length > 0 && !cli_write_all(STDOUT_FILENO, out.data, out.length))
        exit_code = cli_stdout_write_failed(command->name, errno);
    cli_observe_queue_stop(queue);
    cli_signals_watch_observer(NULL);
    sipc_observer_stats counters;
    if (observer != NULL && stats && cli_take_observer_stats(observer, &counters)) {
        cli_add_observer_stats(&run_stats, &counters);
        observers_counted++;
    }
    /* Also when --follow's wait for the channel to come back ended the run (a stop signal, the timeout). */
    if (stats && observers_counted > 0)
        cli_print_observer_stats(command->name, name, &run_stats);
    if (observer != NULL)
        sipc_observer_close(observer);
    cli_buffer_free(&out);
    cli_schema_free(&schema);
    if (exit_code >= 0)
        return exit_code;
    if (limit != 0 && seen >= limit)
        return SIPC_CLI_EXIT_OK;
    if (status == SIPC_ERR_NOT_FOUND) {
        fprintf(stderr, "sipc: tap %s: the channel was removed\n", name);
        return SIPC_CLI_EXIT_OK;
    }
    /* Without --count a quiet spell of --timeout ms is the normal end of a tap. */
    if (status == SIPC_ERR_TIMEOUT && limit == 0)
        return SIPC_CLI_EXIT_OK;
    return cli_fail(command->name, name, status);
}
