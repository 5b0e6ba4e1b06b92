/* The `sipc` command line: exit codes, error messages, option parsing, command help, opening a channel. */
#include "cli_args.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- errors ---- */

int cli_exit_code(int status)
{
    if (status >= 0)
        return SIPC_CLI_EXIT_OK;
    if (status < SIPC_ERR_NOT_A_CHANNEL)
        return SIPC_CLI_EXIT_STATUS_BASE - SIPC_ERR_SYSTEM;
    return SIPC_CLI_EXIT_STATUS_BASE - status;
}

int cli_fail(const char *command, const char *name, int status)
{
    if (status == SIPC_ERR_CANCELLED && cli_stop_signal() != 0)
        return SIPC_CLI_EXIT_SIGNAL_BASE + cli_stop_signal();
    const char *sentence = sipc_strerror(status);
    if (status == SIPC_ERR_SYSTEM || status == SIPC_ERR_PERMISSION || status == SIPC_ERR_NO_MEMORY) {
        int os_error = sipc_last_os_error();
        if (os_error != 0) {
            fprintf(stderr, "sipc: %s%s%s: %s: %s (%s)\n", command, name ? " " : "", name ? name : "", sentence,
                    strerror(os_error), sipc_status_name(status));
            return cli_exit_code(status);
        }
    }
    const char *detail = sipc_last_error_message();
    fprintf(stderr, "sipc: %s%s%s: %s (%s)%s%s\n", command, name ? " " : "", name ? name : "", sentence,
            sipc_status_name(status), detail[0] != '\0' ? ": " : "", detail);
    return cli_exit_code(status);
}

int cli_usage_error(const char *command, const char *format, ...)
{
    char message[512];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    fprintf(stderr, "sipc: %s: %s (see 'sipc help %s')\n", command, message, command);
    return SIPC_CLI_EXIT_USAGE;
}

int cli_io_error(const char *command, const char *format, ...)
{
    char message[512];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    fprintf(stderr, "sipc: %s: %s\n", command, message);
    return SIPC_CLI_EXIT_IO;
}

/* ---- option parsing ---- */

static bool parse_u64(const char *text, uint64_t *out)
{
    if (text == NULL || *text < '0' || *text > '9')
        return false;
    errno = 0;
    char *end = NULL;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || end == text)
        return false;
    /* Accept binary suffixes for sizes: 64k, 1m (KiB, MiB). */
    unsigned long long scale = 1;
    if (*end == 'k' || *end == 'K')
        scale = 1024ull, end++;
    else if (*end == 'm' || *end == 'M')
        scale = 1024ull * 1024ull, end++;
    if (*end != '\0')
        return false;
    if (value > UINT64_MAX / scale)
        return false;
    *out = (uint64_t)(value * scale);
    return true;
}

bool cli_parse_duration(const char *text, uint64_t *out_ns)
{
    char *end = NULL;
    errno = 0;
    if (text == NULL || *text < '0' || *text > '9')
        return false;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || end == text)
        return false;
    uint64_t unit = 1000000000ull;
    if (strcmp(end, "ms") == 0)
        unit = 1000000ull;
    else if (strcmp(end, "m") == 0)
        unit = 60ull * 1000000000ull;
    else if (strcmp(end, "h") == 0)
        unit = 3600ull * 1000000000ull;
    else if (strcmp(end, "d") == 0)
        unit = 86400ull * 1000000000ull;
    else if (strcmp(end, "s") != 0 && *end != '\0')
        return false;
    if (value > UINT64_MAX / unit)
        return false;
    *out_ns = (uint64_t)value * unit;
    return true;
}

static bool choice_allowed(const char *choices, const char *value)
{
    size_t value_length = strlen(value);
    const char *word = choices;
    while (*word) {
        const char *bar = strchr(word, '|');
        size_t word_length = bar ? (size_t)(bar - word) : strlen(word);
        if (word_length == value_length && strncmp(word, value, word_length) == 0)
            return true;
        if (!bar)
            break;
        word = bar + 1;
    }
    return false;
}

static int apply_option(const cli_command *command, const cli_option *option, const char *value)
{
    uint64_t number = 0;
    switch (option->kind) {
    case CLI_OPT_FLAG:
        *(bool *)option->target = true;
        break;
    case CLI_OPT_STRING:
        *(const char **)option->target = value;
        break;
    case CLI_OPT_CHOICE:
        if (!choice_allowed(option->choices, value))
            return cli_usage_error(command->name, "--%s must be one of %s, not '%s'", option->name, option->choices,
                                   value);
        *(const char **)option->target = value;
        break;
    case CLI_OPT_U32:
    case CLI_OPT_U64:
        if (!parse_u64(value, &number))
            return cli_usage_error(command->name, "--%s needs a whole number, not '%s'", option->name, value);
        if (number < option->min || number > option->max)
            return cli_usage_error(command->name, "--%s must be between %" PRIu64 " and %" PRIu64 ", not %s",
                                   option->name, option->min, option->max, value);
        if (option->kind == CLI_OPT_U32)
            *(uint32_t *)option->target = (uint32_t)number;
        else
            *(uint64_t *)option->target = number;
        break;
    case CLI_OPT_DURATION:
        if (!cli_parse_duration(value, (uint64_t *)option->target))
            return cli_usage_error(command->name, "--%s needs a duration like 250ms, 90s, 30m, 12h or 7d, not '%s'",
                                   option->name, value);
        break;
    case CLI_OPT_TIMEOUT:
        if (strcmp(value, "inf") == 0 || strcmp(value, "-1") == 0) {
            *(int32_t *)option->target = SIPC_INFINITE;
            break;
        }
        if (!parse_u64(value, &number) || number > INT32_MAX)
            return cli_usage_error(command->name, "--%s needs milliseconds (0..%d) or 'inf', not '%s'", option->name,
                                   INT32_MAX, value);
        *(int32_t *)option->target = (int32_t)number;
        break;
    }
    if (option->seen)
        *option->seen = true;
    return -1;
}

int cli_parse(const cli_command *command, int argc, char **argv, const cli_option *options, size_t option_count,
              const char **positional, size_t min_positional, size_t max_positional, size_t *positional_count)
{
    size_t count = 0;
    bool options_ended = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!options_ended && strcmp(arg, "--") == 0) {
            options_ended = true;
            continue;
        }
        if (!options_ended && (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0)) {
            cli_print_command_help(command, stdout);
            return SIPC_CLI_EXIT_OK;
        }
        if (!options_ended && arg[0] == '-' && arg[1] != '\0') {
            const cli_option *match = NULL;
            const char *name = arg + 2;
            const char *equals = NULL;
            size_t name_length = 0;
            if (arg[1] != '-') {
                for (size_t k = 0; arg[2] == '\0' && k < option_count; k++)
                    if (options[k].name[0] == arg[1] && options[k].name[1] == '\0')
                        match = &options[k];
                if (!match)
                    return cli_usage_error(command->name, "unknown option '%s'", arg);
            } else {
                equals = strchr(name, '=');
                name_length = equals ? (size_t)(equals - name) : strlen(name);
            }
            for (size_t k = 0; !match && k < option_count; k++) {
                if (strlen(options[k].name) == name_length && strncmp(options[k].name, name, name_length) == 0) {
                    match = &options[k];
                    break;
                }
            }
            if (!match)
                return cli_usage_error(command->name, "unknown option '--%.*s'", (int)name_length, name);
            const char *value = NULL;
            if (match->kind == CLI_OPT_FLAG) {
                if (equals)
                    return cli_usage_error(command->name, "--%s takes no value", match->name);
            } else if (equals) {
                value = equals + 1;
            } else {
                if (i + 1 >= argc)
                    return cli_usage_error(command->name, "--%s needs a value", match->name);
                value = argv[++i];
            }
            int rc = apply_option(command, match, value);
            if (rc >= 0)
                return rc;
            continue;
        }
        if (count >= max_positional)
            return cli_usage_error(command->name, "unexpected argument '%s'", arg);
        positional[count++] = arg;
    }
    if (count < min_positional)
        return cli_usage_error(command->name, min_positional == 1 ? "missing channel name" : "missing arguments");
    *positional_count = count;
    return -1;
}

/* ---- help ---- */

void cli_print_command_help(const cli_command *command, FILE *out)
{
    fprintf(out, "sipc %s: %s\n\n%s", command->name, command->summary, command->usage);
    fputs("\nExit codes: see 'sipc --help'.\n", out);
}

/* ---- channels ---- */

int32_t cli_lock_timeout(int32_t timeout_ms)
{
    return timeout_ms == SIPC_INFINITE ? SIPC_DEFAULT_LOCK_TIMEOUT_MS : timeout_ms;
}

int cli_open_channel(const char *name, const cli_channel_options *requested, int32_t timeout_ms, sipc_channel **out)
{
    sipc_options options;
    sipc_options_init(&options);
    /* Zero asks for the default when creating and adopts an existing channel's value when attaching. */
    options.max_message_size = requested->max_size_given ? requested->max_size : 0;
    options.queue_depth = requested->depth_given ? requested->depth : 0;
    return sipc_open_ex(name, &options, cli_lock_timeout(timeout_ms), out);
}
