/* `sipc replay`: plays one side of a recording into a channel, optionally comparing the answers. */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"

/* The receiver's wait per call, so that it notices the sender finishing. */
#define REPLAY_SLICE_MS 20

/* One recorded message of the replayed channel, in recording order. */
typedef struct replay_message {
    int32_t direction;
    uint64_t timestamp_ns;
    uint32_t length;
    uint8_t *data;
    size_t answer_index; /* answers: its number among the answers; played: answers recorded before it */
} replay_message;

typedef struct replay_answer {
    bool arrived;
    int status; /* why it did not arrive */
    uint8_t *data;
    size_t length;
    uint64_t arrived_at; /* monotonic */
} replay_answer;

typedef struct replay_plan {
    replay_message *messages;
    size_t count, capacity;
    size_t played_count, answer_count;
    char *channel; /* the recorded channel replayed */
} replay_plan;

typedef struct replay_run {
    sipc_channel *channel;
    const replay_plan *plan;
    int32_t played_direction;
    int32_t timeout_ms;
    bool expect;
    int32_t linger_ms;
    sipc_os_mutex lock;
    replay_answer *answers; /* one per recorded answer, in order */
    size_t received;        /* answers that arrived so far */
    bool received_final;    /* the receiver ended: no more answers will come */
    bool sender_done;
    uint64_t extra; /* answers beyond the recorded ones */
    replay_answer first_extra;
    int receive_status; /* how receiving ended */
} replay_run;

static void plan_free(replay_plan *plan)
{
    for (size_t i = 0; i < plan->count; i++)
        free(plan->messages[i].data);
    free(plan->messages);
    free(plan->channel);
}

static bool plan_add(replay_plan *plan, const capture_record *record)
{
    replay_message *messages = cli_array_grow(plan->messages, plan->count, &plan->capacity, sizeof *messages, 64);
    if (!messages)
        return false;
    plan->messages = messages;
    replay_message *message = &plan->messages[plan->count];
    message->data = malloc(record->captured ? record->captured : 1);
    if (!message->data)
        return false;
    memcpy(message->data, record->data, record->captured);
    message->direction = record->direction;
    message->timestamp_ns = record->timestamp_ns;
    message->length = record->captured;
    message->answer_index = 0;
    plan->count++;
    return true;
}

/* ---- reading the recording ---- */

static bool append_record_line(cli_buffer *out, const capture_reader *reader, const capture_record *record)
{
    char time_text[40];
    cli_format_iso_time(record->timestamp_ns, time_text, sizeof time_text);
    const char *channel = capture_reader_channel(reader, record->channel);
    bool ok = cli_buffer_printf(out, "%s %s ", time_text, channel ? channel : "?");
    if (record->kind == CAPTURE_EVENT)
        return ok && cli_buffer_printf(out, "event %s: %s\n", record->event, record->detail);
    ok = ok &&
         cli_buffer_printf(out, "%s %u B ",
                           record->direction < 0 ? "unknown-direction" : capture_direction_label(record->direction),
                           record->length);
    ok = ok && cli_append_preview(out, record->data, record->captured, 60);
    if (ok && record->captured < record->length)
        ok = cli_buffer_printf(out, " (%u of %u B recorded)", record->captured, record->length);
    if (ok && record->detail && record->detail[0] && record->direction >= 0 &&
        strcmp(record->detail, capture_direction_label(record->direction)) != 0)
        ok = cli_buffer_printf(out, " [%s]", record->detail);
    return ok && cli_buffer_append_str(out, "\n");
}

/* Reads the recording; for --list prints each record. Returns -1 when fine, else an exit code. */
static int read_plan(const char *command, const char *path, const char *wanted_channel, bool list, replay_plan *plan)
{
    char error[512];
    capture_reader *reader = NULL;
    if (!capture_reader_open(path, &reader, error, sizeof error))
        return cli_io_error(command, "%s", error);
    int exit_code = -1;
    long channel = -1; /* the index of the replayed channel, once known */
    size_t truncated = 0, unknown_direction = 0;
    cli_buffer line = {0};
    capture_record record;
    int got;
    while ((got = capture_reader_next(reader, &record, error, sizeof error)) == 1) {
        if (list) {
            line.length = 0;
            if (!append_record_line(&line, reader, &record)) {
                exit_code = cli_io_error(command, "out of memory");
                break;
            }
            if (fwrite(line.data, 1, line.length, stdout) != line.length) {
                exit_code = cli_stdout_write_failed(command, errno);
                break;
            }
            continue;
        }
        if (record.kind != CAPTURE_MESSAGE)
            continue;
        const char *name = capture_reader_channel(reader, record.channel);
        if (wanted_channel ? strcmp(name, wanted_channel) != 0 : channel >= 0 && (uint32_t)channel != record.channel) {
            if (!wanted_channel && channel >= 0) {
                exit_code =
                    cli_usage_error(command, "%s holds several channels (%s, %s, ...): choose one with --channel", path,
                                    capture_reader_channel(reader, (size_t)channel), name);
                break;
            }
            continue;
        }
        channel = record.channel;
        if (record.direction < 0) {
            unknown_direction++;
            continue;
        }
        if (record.captured < record.length) {
            truncated++;
            continue;
        }
        if (!plan_add(plan, &record)) {
            exit_code = cli_io_error(command, "out of memory");
            break;
        }
    }
    if (exit_code < 0 && got < 0)
        exit_code = cli_io_error(command, "%s: %s", path, error);
    if (exit_code < 0 && !list) {
        if (truncated > 0)
            exit_code = cli_io_error(command, "%s: %zu message%s recorded only in part: cannot replay them", path,
                                     truncated, truncated == 1 ? " was" : "s were");
        else if (unknown_direction > 0)
            exit_code = cli_io_error(command, "%s: %zu message%s no direction (not a sipc recording?)", path,
                                     unknown_direction, unknown_direction == 1 ? " has" : "s have");
        else if (channel < 0)
            exit_code = cli_io_error(command, "%s: no messages%s%s", path, wanted_channel ? " of channel " : "",
                                     wanted_channel ? wanted_channel : "");
        else if (!(plan->channel = strdup(capture_reader_channel(reader, (size_t)channel))))
            exit_code = cli_io_error(command, "out of memory");
    }
    if (list && exit_code < 0 && fflush(stdout) != 0)
        exit_code = cli_stdout_write_failed(command, errno);
    uint64_t side_unknown = capture_reader_side_unknown(reader);
    if (side_unknown > 0)
        fprintf(stderr,
                "sipc: %s: note: %s: %" PRIu64 " message%s recorded by a VS Code connection panel that did not write "
                "its side (an older sipc): \"sent\" is read as client→server, which is right only if that window was "
                "the client\n",
                command, path, side_unknown, side_unknown == 1 ? " was" : "s were");
    cli_buffer_free(&line);
    capture_reader_close(reader);
    return exit_code;
}

/* ---- playing ---- */

/* Receives the other side's answers in slices, so that it notices when the sender finished: then a
 * quiet --linger (every answer in) or --timeout (answers missing) ends it. */
static void *receive_main(void *argument)
{
    replay_run *run = argument;
    size_t capacity = sipc_max_message_size(run->channel);
    uint8_t *buffer = malloc(capacity ? capacity : 1);
    int status = buffer ? SIPC_OK : SIPC_ERR_NO_MEMORY;
    size_t index = 0;
    uint64_t quiet_since = sipc_os_monotonic_ns();
    while (status == SIPC_OK) {
        size_t length = 0;
        status = sipc_recv(run->channel, buffer, capacity, &length, REPLAY_SLICE_MS);
        sipc_os_mutex_lock(&run->lock);
        if (status == SIPC_ERR_TIMEOUT) {
            uint64_t quiet_ms = (sipc_os_monotonic_ns() - quiet_since) / 1000000u;
            bool all_in = index >= run->plan->answer_count;
            if (!run->sender_done || quiet_ms < (uint64_t)(all_in ? run->linger_ms : run->timeout_ms))
                status = SIPC_OK; /* the recording may pause longer than --timeout while we still send */
            else if (all_in)
                status = SIPC_ERR_CLOSED; /* the normal end: nothing more came */
        } else if (status == SIPC_OK) {
            quiet_since = sipc_os_monotonic_ns();
            replay_answer *answer = index < run->plan->answer_count ? &run->answers[index] : &run->first_extra;
            if (index >= run->plan->answer_count)
                run->extra++;
            if (!answer->arrived) {
                answer->data = malloc(length ? length : 1);
                if (answer->data) {
                    memcpy(answer->data, buffer, length);
                    answer->length = length;
                    answer->arrived = true;
                    answer->arrived_at = quiet_since;
                } else {
                    status = SIPC_ERR_NO_MEMORY;
                }
            }
            index++;
            if (index <= run->plan->answer_count)
                run->received = index;
        }
        sipc_os_mutex_unlock(&run->lock);
    }
    sipc_os_mutex_lock(&run->lock);
    run->receive_status = status;
    for (size_t i = run->received; i < run->plan->answer_count; i++)
        run->answers[i].status = status;
    run->received_final = true; /* nothing more will come: release a waiting sender */
    sipc_os_mutex_unlock(&run->lock);
    free(buffer);
    return NULL;
}

/* Waits until the answers recorded before a message arrived (bounded by --timeout). Returns when the
 * last of them arrived (monotonic), or 0 if none was recorded before it or it never came. */
static uint64_t wait_for_answers(replay_run *run, size_t needed)
{
    if (needed == 0)
        return 0;
    uint64_t deadline = sipc_deadline_after(run->timeout_ms);
    sipc_os_mutex_lock(&run->lock);
    while (run->received < needed && !run->received_final && sipc_os_monotonic_ns() < deadline && !cli_stop_signal()) {
        sipc_os_mutex_unlock(&run->lock);
        /* The platform layer has no timed condition wait: a 1 ms nap keeps the reaction prompt. */
        sipc_os_sleep_us(1000);
        sipc_os_mutex_lock(&run->lock);
    }
    uint64_t at = run->received >= needed && run->answers[needed - 1].arrived ? run->answers[needed - 1].arrived_at : 0;
    sipc_os_mutex_unlock(&run->lock);
    return at;
}

static void sleep_until(uint64_t when)
{
    for (;;) {
        uint64_t now = sipc_os_monotonic_ns();
        if (now >= when || cli_stop_signal())
            return;
        uint64_t left_us = (when - now) / 1000u;
        sipc_os_sleep_us(left_us > 100000u ? 100000u : (uint32_t)(left_us ? left_us : 1));
    }
}

/* Sends the played side: each message waits for the answers recorded before it, then keeps its
 * recorded distance to the latest thing before it (scaled by 1/speed; no waiting at speed 0). */
static int play(replay_run *run, double speed, uint64_t *sent)
{
    const replay_plan *plan = run->plan;
    uint64_t anchor_real = sipc_os_monotonic_ns();
    uint64_t anchor_recorded = plan->count > 0 ? plan->messages[0].timestamp_ns : 0;
    for (size_t i = 0; i < plan->count; i++) {
        const replay_message *message = &plan->messages[i];
        if (message->direction != run->played_direction)
            continue;
        uint64_t answered_at = wait_for_answers(run, message->answer_index);
        if (answered_at != 0 && message->answer_index > 0) {
            /* Anchor at the latest answer when it is later in the recording than the anchor so far. */
            const replay_message *answer = NULL;
            for (size_t k = i; k-- > 0;)
                if (plan->messages[k].direction != run->played_direction) {
                    answer = &plan->messages[k];
                    break;
                }
            if (answer && answer->timestamp_ns >= anchor_recorded) {
                anchor_recorded = answer->timestamp_ns;
                anchor_real = answered_at;
            }
        }
        if (speed > 0 && message->timestamp_ns > anchor_recorded) {
            double gap = (double)(message->timestamp_ns - anchor_recorded) / speed;
            sleep_until(anchor_real + (uint64_t)gap);
        }
        if (cli_stop_signal())
            return SIPC_ERR_CANCELLED;
        int status = sipc_send(run->channel, message->data, message->length, run->timeout_ms);
        if (status != SIPC_OK)
            return status;
        anchor_real = sipc_os_monotonic_ns();
        anchor_recorded = message->timestamp_ns;
        (*sent)++;
    }
    return SIPC_OK;
}

/* ---- the report ---- */

static bool same_bytes(const replay_answer *answer, const replay_message *expected)
{
    return answer->arrived && answer->length == expected->length &&
           (expected->length == 0 || memcmp(answer->data, expected->data, expected->length) == 0);
}

/* One mismatch as readable lines (each starting with prefix). */
static bool describe_mismatch(cli_buffer *out, const char *prefix, size_t index, const replay_message *expected,
                              const replay_answer *answer, uint64_t first_ns, int32_t timeout_ms)
{
    uint64_t offset = expected->timestamp_ns - first_ns;
    bool ok = cli_buffer_printf(out, "%sanswer #%zu (%s, recorded at +%" PRIu64 ".%06u s):\n", prefix, index,
                                capture_direction_label(expected->direction), offset / 1000000000u,
                                (unsigned)(offset % 1000000000u / 1000u));
    ok = ok && cli_buffer_printf(out, "%s  expected %u B ", prefix, expected->length) &&
         cli_append_preview(out, expected->data, expected->length, 60) && cli_buffer_append_str(out, "\n");
    if (!answer->arrived) {
        if (answer->status == SIPC_ERR_TIMEOUT)
            return ok && cli_buffer_printf(out, "%s  got      nothing within %d ms\n", prefix, (int)timeout_ms);
        return ok && cli_buffer_printf(out, "%s  got      nothing: %s (%s)\n", prefix, sipc_strerror(answer->status),
                                       sipc_status_name(answer->status));
    }
    ok = ok && cli_buffer_printf(out, "%s  got      %zu B ", prefix, answer->length) &&
         cli_append_preview(out, answer->data, answer->length, 60) && cli_buffer_append_str(out, "\n");
    size_t common = answer->length < expected->length ? answer->length : expected->length;
    size_t at = 0;
    while (at < common && answer->data[at] == expected->data[at])
        at++;
    if (at < common)
        return ok && cli_buffer_printf(out, "%s  first difference at byte %zu: expected 0x%02x, got 0x%02x\n", prefix,
                                       at, expected->data[at], answer->data[at]);
    return ok && cli_buffer_printf(out, "%s  the first %zu bytes agree; the lengths differ\n", prefix, common);
}

static bool append_xml_text(cli_buffer *out, const char *text)
{
    bool ok = true;
    for (const char *p = text; ok && *p; p++) {
        switch (*p) {
        case '&':
            ok = cli_buffer_append_str(out, "&amp;");
            break;
        case '<':
            ok = cli_buffer_append_str(out, "&lt;");
            break;
        case '>':
            ok = cli_buffer_append_str(out, "&gt;");
            break;
        case '"':
            ok = cli_buffer_append_str(out, "&quot;");
            break;
        default:
            /* XML 1.0 allows no control characters but tab and newline. */
            ok = cli_buffer_append(out, (unsigned char)*p < 0x20 && *p != '\n' && *p != '\t' ? "?" : p, 1);
        }
    }
    return ok;
}

static int write_junit(const char *command, const char *junit_path, const char *recording, const replay_run *run,
                       double seconds, uint64_t failures, int play_status)
{
    const replay_plan *plan = run->plan;
    cli_buffer out = {0}, text = {0};
    uint64_t tests = plan->answer_count + 1;
    bool ok = cli_buffer_printf(&out,
                                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                "<testsuites tests=\"%" PRIu64 "\" failures=\"%" PRIu64 "\" time=\"%.6f\">\n"
                                "  <testsuite name=\"",
                                tests, failures, seconds) &&
              append_xml_text(&out, "sipc replay ") && append_xml_text(&out, recording) &&
              cli_buffer_printf(&out, "\" tests=\"%" PRIu64 "\" failures=\"%" PRIu64 "\" time=\"%.6f\">\n", tests,
                                failures, seconds);
    uint64_t first_ns = plan->count > 0 ? plan->messages[0].timestamp_ns : 0;
    size_t answer = 0;
    for (size_t i = 0; ok && i < plan->count; i++) {
        const replay_message *expected = &plan->messages[i];
        if (expected->direction == run->played_direction)
            continue;
        const replay_answer *got = &run->answers[answer];
        text.length = 0;
        ok = cli_buffer_printf(&text, "answer #%zu %s %u B", answer, capture_direction_label(expected->direction),
                               expected->length);
        ok = ok && cli_buffer_append_str(&out, "    <testcase classname=\"sipc.replay.") &&
             append_xml_text(&out, plan->channel) && cli_buffer_append_str(&out, "\" name=\"") &&
             append_xml_text(&out, text.data) && cli_buffer_append_str(&out, "\"");
        if (ok && same_bytes(got, expected)) {
            ok = cli_buffer_append_str(&out, "/>\n");
        } else if (ok) {
            text.length = 0;
            ok = describe_mismatch(&text, "", answer, expected, got, first_ns, run->timeout_ms) &&
                 cli_buffer_append_str(&out, ">\n      <failure message=\"") &&
                 append_xml_text(&out,
                                 got->arrived ? "the answer differs from the recording" : "the answer is missing") &&
                 cli_buffer_append_str(&out, "\">") && append_xml_text(&out, text.data) &&
                 cli_buffer_append_str(&out, "</failure>\n    </testcase>\n");
        }
        answer++;
    }
    ok = ok && cli_buffer_append_str(&out, "    <testcase classname=\"sipc.replay.") &&
         append_xml_text(&out, plan->channel) &&
         cli_buffer_append_str(&out, "\" name=\"no unexpected answers, every message sent\"");
    if (ok && run->extra == 0 && play_status == SIPC_OK) {
        ok = cli_buffer_append_str(&out, "/>\n");
    } else if (ok) {
        text.length = 0;
        if (play_status != SIPC_OK)
            ok = cli_buffer_printf(&text, "sending failed: %s (%s)\n", sipc_strerror(play_status),
                                   sipc_status_name(play_status));
        if (ok && run->extra > 0)
            ok = cli_buffer_printf(&text, "%" PRIu64 " answer%s beyond the recording, the first: %zu B ", run->extra,
                                   run->extra == 1 ? "" : "s", run->first_extra.length) &&
                 cli_append_preview(&text, run->first_extra.data, run->first_extra.length, 60);
        ok = ok && cli_buffer_append_str(&out, ">\n      <failure message=\"unexpected\">") &&
             append_xml_text(&out, text.data ? text.data : "") &&
             cli_buffer_append_str(&out, "</failure>\n    </testcase>\n");
    }
    ok = ok && cli_buffer_append_str(&out, "  </testsuite>\n</testsuites>\n");
    int exit_code = -1;
    FILE *file = ok ? fopen(junit_path, "wb") : NULL;
    if (!ok)
        exit_code = cli_io_error(command, "out of memory");
    else if (!file)
        exit_code = cli_io_error(command, "cannot create %s: %s", junit_path, strerror(errno));
    else if (fwrite(out.data, 1, out.length, file) != out.length || fclose(file) != 0)
        exit_code = cli_io_error(command, "cannot write %s: %s", junit_path, strerror(errno));
    cli_buffer_free(&out);
    cli_buffer_free(&text);
    return exit_code;
}

/* ---- the command ---- */

static int open_as(const char *command, const char *name, int32_t played_direction, uint32_t max_length,
                   sipc_channel **out)
{
    sipc_options options;
    sipc_options_init(&options);
    bool as_client = played_direction == SIPC_DIR_TO_SERVER;
    if (as_client) {
        options.flags |= SIPC_OPEN_NO_CREATE;
    } else if (max_length > SIPC_DEFAULT_MAX_MESSAGE) {
        options.max_message_size = max_length;
    }
    int status = sipc_open(name, &options, out);
    if (status == SIPC_ERR_NOT_FOUND && as_client) {
        fprintf(stderr,
                "sipc: %s %s: no server is waiting on the channel: replaying the client side (--direction to-server) "
                "needs the server running first\n",
                command, name);
        return cli_exit_code(status);
    }
    if (status != SIPC_OK)
        return cli_fail(command, name, status);
    if (!as_client && sipc_get_role(*out) != SIPC_ROLE_SERVER) {
        sipc_close(*out);
        *out = NULL;
        fprintf(stderr,
                "sipc: %s %s: the channel already has a server: replaying the server side (--direction to-client) "
                "needs the name free\n",
                command, name);
        return cli_exit_code(SIPC_ERR_BUSY);
    }
    return -1;
}

int cmd_replay(const cli_command *command, int argc, char **argv)
{
    const char *to = NULL, *wanted_channel = NULL, *direction_name = "to-server", *speed_text = NULL;
    const char *junit = NULL;
    bool fast = false, expect = false, list = false;
    int32_t timeout = 5000, linger = 200;
    const cli_option options[] = {
        {"to", CLI_OPT_STRING, &to, NULL, 0, 0, NULL},
        {"channel", CLI_OPT_STRING, &wanted_channel, NULL, 0, 0, NULL},
        {"direction", CLI_OPT_CHOICE, &direction_name, NULL, 0, 0, "to-server|to-client"},
        {"speed", CLI_OPT_STRING, &speed_text, NULL, 0, 0, NULL},
        {"as-fast-as-possible", CLI_OPT_FLAG, &fast, NULL, 0, 0, NULL},
        {"expect", CLI_OPT_FLAG, &expect, NULL, 0, 0, NULL},
        {"junit", CLI_OPT_STRING, &junit, NULL, 0, 0, NULL},
        {"timeout", CLI_OPT_TIMEOUT, &timeout, NULL, 0, 0, NULL},
        {"linger", CLI_OPT_TIMEOUT, &linger, NULL, 0, 0, NULL},
        {"list", CLI_OPT_FLAG, &list, NULL, 0, 0, NULL},
    };
    const char *positional[1];
    size_t count = 0;
    int rc = cli_parse(command, argc, argv, options, sizeof options / sizeof options[0], positional, 1, 1, &count);
    if (rc >= 0)
        return rc;
    const char *path = positional[0];
    double speed = 1.0;
    if (speed_text) {
        char *end = NULL;
        speed = strtod(speed_text, &end);
        if (end == speed_text || *end != '\0' || !(speed > 0) || speed > 1e6)
            return cli_usage_error(command->name, "--speed needs a factor above 0 (2 = twice as fast), not '%s'",
                                   speed_text);
        if (fast)
            return cli_usage_error(command->name, "give --speed or --as-fast-as-possible, not both");
    }
    if (fast)
        speed = 0;
    if (!list && !to)
        return cli_usage_error(command->name, "missing --to NAME (the channel to play into)");
    if (!list && timeout < 0)
        return cli_usage_error(command->name, "--timeout must be finite: it bounds the wait for each answer");
    if (to) {
        int status = sipc_validate_name(to);
        if (status != SIPC_OK)
            return cli_fail(command->name, to, status);
    }

    replay_plan plan = {0};
    int exit_code = read_plan(command->name, path, wanted_channel, list, &plan);
    if (exit_code >= 0 || list) {
        plan_free(&plan);
        return exit_code >= 0 ? exit_code : SIPC_CLI_EXIT_OK;
    }
    int32_t played_direction = strcmp(direction_name, "to-client") == 0 ? SIPC_DIR_TO_CLIENT : SIPC_DIR_TO_SERVER;
    uint32_t max_length = 0;
    for (size_t i = 0; i < plan.count; i++) {
        replay_message *message = &plan.messages[i];
        if (message->length > max_length)
            max_length = message->length;
        if (message->direction == played_direction) {
            message->answer_index = plan.answer_count;
            plan.played_count++;
        } else {
            message->answer_index = plan.answer_count++;
        }
    }

    replay_run run;
    memset(&run, 0, sizeof run);
    run.plan = &plan;
    run.played_direction = played_direction;
    run.timeout_ms = timeout;
    run.linger_ms = linger < 0 ? timeout : linger;
    run.expect = expect || junit;
    run.answers = calloc(plan.answer_count ? plan.answer_count : 1, sizeof *run.answers);
    if (!run.answers || sipc_os_mutex_init(&run.lock) != SIPC_OK) {
        free(run.answers);
        plan_free(&plan);
        return cli_io_error(command->name, "out of memory");
    }
    exit_code = open_as(command->name, to, played_direction, max_length, &run.channel);
    int play_status = SIPC_OK;
    uint64_t sent = 0;
    uint64_t started = sipc_os_monotonic_ns();
    if (exit_code < 0) {
        cli_signals_watch_channel(run.channel);
        play_status = sipc_connect(run.channel, timeout);
        sipc_os_thread receiver;
        bool receiving = false;
        if (play_status == SIPC_OK) {
            receiving = sipc_os_thread_create(&receiver, receive_main, &run) == SIPC_OK;
            if (!receiving)
                play_status = SIPC_ERR_NO_MEMORY;
        }
        if (play_status == SIPC_OK)
            play_status = play(&run, speed, &sent);
        sipc_os_mutex_lock(&run.lock);
        run.sender_done = true;
        sipc_os_mutex_unlock(&run.lock);
        if (receiving)
            sipc_os_thread_join(&receiver);
        cli_signals_watch_channel(NULL);
        sipc_close(run.channel);
    }
    double seconds = (double)(sipc_os_monotonic_ns() - started) / 1e9;

    uint64_t failures = 0;
    cli_buffer report = {0};
    bool ok = true;
    uint64_t first_ns = plan.count > 0 ? plan.messages[0].timestamp_ns : 0;
    for (size_t i = 0, answer = 0; exit_code < 0 && ok && i < plan.count; i++) {
        if (plan.messages[i].direction == played_direction)
            continue;
        if (!same_bytes(&run.answers[answer], &plan.messages[i])) {
            failures++;
            if (run.expect && failures <= 20)
                ok = describe_mismatch(&report, "  ", answer, &plan.messages[i], &run.answers[answer], first_ns,
                                       timeout);
        }
        answer++;
    }
    if (exit_code < 0 && play_status == SIPC_ERR_CANCELLED && cli_stop_signal())
        exit_code = SIPC_CLI_EXIT_SIGNAL_BASE + cli_stop_signal();
    if (exit_code < 0 && run.expect) {
        if (failures > 20)
            ok = ok && cli_buffer_printf(&report, "  ... and %" PRIu64 " more\n", failures - 20);
        if (run.extra > 0)
            ok = ok &&
                 cli_buffer_printf(&report, "  %" PRIu64 " answer%s beyond the recording, the first: %zu B ", run.extra,
                                   run.extra == 1 ? "" : "s", run.first_extra.length) &&
                 cli_append_preview(&report, run.first_extra.data, run.first_extra.length, 60) &&
                 cli_buffer_append_str(&report, "\n");
        if (junit) {
            int junit_code = write_junit(command->name, junit, path, &run, seconds,
                                         failures + (run.extra > 0 || play_status != SIPC_OK), play_status);
            if (junit_code >= 0)
                exit_code = junit_code;
        }
    }
    if (exit_code < 0) {
        printf("sipc: replay %s: played %" PRIu64 " of %zu %s message%s from %s into %s; ", plan.channel, sent,
               plan.played_count, capture_direction_label(played_direction), plan.played_count == 1 ? "" : "s", path,
               to);
        if (run.expect && failures == 0 && run.extra == 0)
            printf("all %zu answers match the recording\n", plan.answer_count);
        else if (run.expect)
            printf("%" PRIu64 " of %zu answers differ from the recording%s:\n%s", failures, plan.answer_count,
                   run.extra ? ", and more arrived" : "", report.data ? report.data : "");
        else
            printf("%zu answer%s received\n", run.received, run.received == 1 ? "" : "s");
        fflush(stdout);
        if (!ok)
            exit_code = cli_io_error(command->name, "out of memory");
        else if (play_status != SIPC_OK)
            exit_code = cli_fail(command->name, to, play_status);
        else if (run.expect && (failures > 0 || run.extra > 0))
            exit_code = SIPC_CLI_EXIT_MISMATCH;
        else
            exit_code = SIPC_CLI_EXIT_OK;
    }
    cli_buffer_free(&report);
    for (size_t i = 0; i < plan.answer_count; i++)
        free(run.answers[i].data);
    free(run.answers);
    free(run.first_extra.data);
    sipc_os_mutex_destroy(&run.lock);
    plan_free(&plan);
    return exit_code;
}
