/* `sipc record`: observes one or more channels and writes every message to pcapng or JSON Lines. */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "recording.h"

int cmd_record(const cli_command *command, int argc, char **argv)
{
    const char *output_path = NULL;
    const char *format_name = NULL;
    uint64_t limit = 0, duration_ns = 0, rotate_size = 0, rotate_time_ns = 0;
    bool quiet = false, duration_given = false, lossless = false, stats = false;
    uint32_t stall_timeout = 0;
    const cli_option options[] = {
        {"o", CLI_OPT_STRING, &output_path, NULL, 0, 0, NULL},
        {"output", CLI_OPT_STRING, &output_path, NULL, 0, 0, NULL},
        {"format", CLI_OPT_CHOICE, &format_name, NULL, 0, 0, "pcapng|jsonl"},
        {"count", CLI_OPT_U64, &limit, NULL, 1, UINT64_MAX, NULL},
        {"duration", CLI_OPT_DURATION, &duration_ns, &duration_given, 0, 0, NULL},
        {"rotate-size", CLI_OPT_U64, &rotate_size, NULL, 4096, UINT64_MAX, NULL},
        {"rotate-time", CLI_OPT_DURATION, &rotate_time_ns, NULL, 0, 0, NULL},
        {"quiet", CLI_OPT_FLAG, &quiet, NULL, 0, 0, NULL},
        {"stats", CLI_OPT_FLAG, &stats, NULL, 0, 0, NULL},
        {"lossless", CLI_OPT_FLAG, &lossless, NULL, 0, 0, NULL},
        {"stall-timeout", CLI_OPT_U32, &stall_timeout, NULL, 1, SIPC_OBSERVE_STALL_MAX_MS, NULL},
    };
    enum { MAX_CHANNELS = 64 };
    const char *names[MAX_CHANNELS];
    size_t count = 0;
    int rc =
        cli_parse(command, argc, argv, options, sizeof options / sizeof options[0], names, 1, MAX_CHANNELS, &count);
    if (rc >= 0)
        return rc;
    if (!output_path)
        return cli_usage_error(command->name, "missing -o FILE (where the recording goes; '-' for stdout)");
    for (size_t i = 0; i < count; i++) {
        int status = sipc_validate_name(names[i]);
        if (status != SIPC_OK)
            return cli_fail(command->name, names[i], status);
        for (size_t k = 0; k < i; k++)
            if (strcmp(names[i], names[k]) == 0)
                return cli_usage_error(command->name, "channel '%s' is named twice", names[i]);
    }
    capture_format format = recording_format_for(output_path, format_name);
    bool to_stdout = strcmp(output_path, "-") == 0;
    if (to_stdout && (rotate_size != 0 || rotate_time_ns != 0))
        return cli_usage_error(command->name, "--rotate-size and --rotate-time need a file, not stdout");
    if (duration_given && duration_ns == 0)
        return cli_usage_error(command->name, "--duration must be more than 0");

    sipc_observe_options observe_options;
    recording_observe_options(&observe_options, true, lossless, stall_timeout);
    sipc_observer *observers[MAX_CHANNELS];
    for (size_t i = 0; i < count; i++) {
        int status = sipc_observe_ex(names[i], &observe_options, &observers[i]);
        if (status != SIPC_OK) {
            for (size_t k = 0; k < i; k++)
                sipc_observer_close(observers[k]);
            return cli_fail(command->name, names[i], status);
        }
    }
    recording_output output;
    int exit_code = -1;
    if (!recording_output_open(&output, command->name, output_path, format, names, count, rotate_size, rotate_time_ns,
                               quiet, &exit_code)) {
        for (size_t i = 0; i < count; i++)
            sipc_observer_close(observers[i]);
        return exit_code;
    }
    if (!quiet) {
        fprintf(stderr, "sipc: record: recording %zu channel%s%s to %s (Ctrl-C stops)\n", count, count == 1 ? "" : "s",
                lossless ? " losslessly" : "", to_stdout ? "stdout" : output.current_path);
        fflush(stderr);
    }
    return recording_run(command->name, names, observers, count, &observe_options, &output, limit, duration_ns, quiet,
                         stats);
}
