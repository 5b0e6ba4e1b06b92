/* Decoding messages with a C-struct schema: the options tap, recv and decode share, and `sipc decode`. */
#include "cli.h"
#include "cli_schema.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* "uint16_t@0" -> type name and offset. */
static bool split_tag(const char *text, char *type, size_t type_size, size_t *offset)
{
    const char *at = strrchr(text, '@');
    if (at == NULL || at == text || (size_t)(at - text) >= type_size || at[1] < '0' || at[1] > '9')
        return false;
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull(at + 1, &end, 0);
    if (errno != 0 || *end != '\0' || value > SIPC_MAX_MESSAGE_LIMIT)
        return false;
    memcpy(type, text, (size_t)(at - text));
    type[at - text] = '\0';
    *offset = (size_t)value;
    return true;
}

static const cschema_type *resolve(const char *command, const cschema *schema, const char *name, const char *what)
{
    const cschema_type *type = cschema_lookup(schema, name);
    if (type == NULL)
        fprintf(stderr, "sipc: %s: %s \"%s\" is not declared in the schema (BAD_MAPPING)\n", command, what, name);
    return type;
}

/* A case key: a number (decimal or 0x hex, maybe negative) or a constant of the schema. */
static bool case_value(const cschema *schema, const char *key, int64_t *value)
{
    char *end = NULL;
    errno = 0;
    long long number = strtoll(key, &end, 0);
    if (end != key && *end == '\0' && errno == 0) {
        *value = number;
        return true;
    }
    return cschema_constant(schema, key, value);
}

int cli_schema_load(const char *command, const cli_schema_options *options, cschema_message *message)
{
    memset(message, 0, sizeof *message);
    if (options->schema == NULL) {
        if (options->type || options->tag || options->cases || options->fallback || options->target || options->endian)
            return cli_usage_error(command,
                                   "--type, --tag, --cases, --default, --target and --endian go with --schema");
        return -1;
    }
    if ((options->type == NULL) == (options->tag == NULL))
        return cli_usage_error(command, "--schema needs either --type T or --tag TYPE@OFFSET with --cases");
    if (options->tag != NULL && options->cases == NULL)
        return cli_usage_error(command, "--tag needs --cases \"VALUE=TYPE,...\"");
    if (options->type != NULL && (options->cases || options->fallback))
        return cli_usage_error(command, "--cases and --default go with --tag, not --type");
    cschema_options parse_options = {options->target, options->endian && strcmp(options->endian, "big") == 0};
    char error[1024];
    cschema *schema = cschema_parse_file(options->schema, &parse_options, error, sizeof error);
    if (schema == NULL) {
        fprintf(stderr, "sipc: %s: %s\n", command, error);
        return SIPC_CLI_EXIT_USAGE;
    }
    message->schema = schema;
    if (options->type != NULL) {
        message->type = resolve(command, schema, options->type, "type");
        if (message->type == NULL)
            goto fail;
        return -1;
    }
    char tag_type[256];
    if (!split_tag(options->tag, tag_type, sizeof tag_type, &message->tag_offset)) {
        cli_schema_free(message);
        return cli_usage_error(command, "--tag needs TYPE@OFFSET, e.g. uint16_t@0, not '%s'", options->tag);
    }
    message->tag_type = resolve(command, schema, tag_type, "tag type");
    if (message->tag_type == NULL)
        goto fail;
    if (!cschema_type_is_integer(message->tag_type)) {
        fprintf(stderr, "sipc: %s: the tag type %s is not an integer or enum type (BAD_MAPPING)\n", command,
                cschema_type_name(message->tag_type));
        goto fail;
    }
    /* --cases "1=struct hello,MSG_SAMPLE=struct sample" */
    const char *cursor = options->cases;
    while (*cursor != '\0') {
        const char *comma = strchr(cursor, ',');
        size_t length = comma ? (size_t)(comma - cursor) : strlen(cursor);
        char item[512];
        if (length >= sizeof item) {
            fprintf(stderr, "sipc: %s: a --cases entry is too long (BAD_MAPPING)\n", command);
            goto fail;
        }
        memcpy(item, cursor, length);
        item[length] = '\0';
        char *equals = strchr(item, '=');
        if (equals == NULL || equals == item || equals[1] == '\0') {
            fprintf(stderr, "sipc: %s: --cases entry \"%s\" is not VALUE=TYPE (BAD_MAPPING)\n", command, item);
            goto fail;
        }
        *equals = '\0';
        int64_t value = 0;
        if (!case_value(schema, item, &value)) {
            fprintf(stderr, "sipc: %s: case \"%s\" is neither a number nor a constant of the schema (BAD_MAPPING)\n",
                    command, item);
            goto fail;
        }
        for (size_t k = 0; k < message->case_count; k++) {
            if (message->case_values[k] == value) {
                fprintf(stderr, "sipc: %s: tag value %lld is listed twice (BAD_MAPPING)\n", command, (long long)value);
                goto fail;
            }
        }
        if (message->case_count == sizeof message->case_values / sizeof message->case_values[0]) {
            fprintf(stderr, "sipc: %s: more than %zu cases (BAD_MAPPING)\n", command, message->case_count);
            goto fail;
        }
        const cschema_type *type = resolve(command, schema, equals + 1, "case type");
        if (type == NULL)
            goto fail;
        message->case_values[message->case_count] = value;
        message->case_types[message->case_count++] = type;
        cursor += length + (comma ? 1 : 0);
    }
    if (options->fallback != NULL &&
        (message->fallback = resolve(command, schema, options->fallback, "default")) == NULL)
        goto fail;
    return -1;
fail:
    cli_schema_free(message);
    return SIPC_CLI_EXIT_USAGE;
}

void cli_schema_free(cschema_message *message)
{
    cschema_free((cschema *)message->schema);
    memset(message, 0, sizeof *message);
}

/* ---- sipc decode ---- */

bool cli_schema_format(cli_buffer *out, const cschema_message *message, cli_format output, uint64_t index,
                       const void *data, size_t length)
{
    if (output == CLI_FORMAT_JSON)
        return cli_buffer_printf(out, "{\"index\":%llu,\"length\":%zu", (unsigned long long)index, length) &&
               cschema_decode(message, data, length, CSCHEMA_JSON, out) && cli_buffer_append_str(out, "}\n");
    return cli_buffer_printf(out, "#%llu %zu B\n", (unsigned long long)index, length) &&
           cschema_decode(message, data, length, CSCHEMA_TEXT, out);
}

static int decode_one(const char *command, const cschema_message *message, cli_format output, uint64_t index,
                      const void *data, size_t length, cli_buffer *out)
{
    out->length = 0;
    if (!cli_schema_format(out, message, output, index, data, length))
        return cli_io_error(command, "out of memory");
    if (!cli_write_all(STDOUT_FILENO, out->data, out->length))
        return cli_stdout_write_failed(command, errno);
    return -1;
}

int cmd_decode(const cli_command *command, int argc, char **argv)
{
    cli_schema_options schema_options = {0};
    const char *hex = NULL;
    const char *file = NULL;
    bool json = false;
    const char *format = "text";
    const cli_option options[] = {
        CLI_SCHEMA_OPTIONS(schema_options),
        {"hex", CLI_OPT_STRING, &hex, NULL, 0, 0, NULL},
        {"file", CLI_OPT_STRING, &file, NULL, 0, 0, NULL},
        {"json", CLI_OPT_FLAG, &json, NULL, 0, 0, NULL},
        {"format", CLI_OPT_CHOICE, &format, NULL, 0, 0, "text|json"},
    };
    const char *positional[1];
    size_t count = 0;
    int rc = cli_parse(command, argc, argv, options, sizeof options / sizeof options[0], positional, 0, 0, &count);
    if (rc >= 0)
        return rc;
    if (schema_options.schema == NULL)
        return cli_usage_error(command->name, "--schema FILE.h is required");
    if (hex && file)
        return cli_usage_error(command->name, "give only one of --hex and --file");
    cschema_message message;
    if ((rc = cli_schema_load(command->name, &schema_options, &message)) >= 0)
        return rc;
    cli_format output = json ? CLI_FORMAT_JSON : cli_format_from_name(format);
    cli_buffer payload = {0}, out = {0};
    int exit_code = -1;
    if (hex != NULL || file != NULL) {
        const char *error = NULL;
        int error_number = 0;
        if (hex != NULL && !cli_decode_hex(hex, &payload, &error))
            exit_code = cli_usage_error(command->name, "--hex %s", error);
        else if (file != NULL && !cli_read_file(file, &payload, &error_number))
            exit_code = cli_io_error(command->name, "cannot read %s: %s", file, strerror(error_number));
        else
            exit_code = decode_one(command->name, &message, output, 0, payload.data, payload.length, &out);
    } else {
        /* One message per stdin line, in hex (as `sipc recv --format hex` prints them; an empty line is an empty
         * message). */
        cli_buffer input = {0};
        int error_number = 0;
        if (!cli_read_file("-", &input, &error_number)) {
            exit_code = cli_io_error(command->name, "cannot read stdin: %s", strerror(error_number));
        } else {
            uint64_t index = 0;
            cli_buffer line = {0};
            for (size_t start = 0; exit_code < 0 && start < input.length;) {
                const char *newline = memchr(input.data + start, '\n', input.length - start);
                size_t end = newline ? (size_t)(newline - input.data) : input.length;
                size_t line_length = end - start;
                if (line_length > 0 && input.data[end - 1] == '\r')
                    line_length--;
                line.length = 0;
                payload.length = 0;
                const char *error = NULL;
                if (!cli_buffer_append(&line, input.data + start, line_length) || !cli_buffer_append(&line, "", 1))
                    exit_code = cli_io_error(command->name, "out of memory");
                else if (!cli_decode_hex(line.data, &payload, &error))
                    exit_code =
                        cli_usage_error(command->name, "message %llu: hex %s", (unsigned long long)index + 1, error);
                else
                    exit_code =
                        decode_one(command->name, &message, output, index++, payload.data, payload.length, &out);
                start = end + 1;
            }
            cli_buffer_free(&line);
        }
        cli_buffer_free(&input);
    }
    cli_buffer_free(&payload);
    cli_buffer_free(&out);
    cli_schema_free(&message);
    return exit_code >= 0 ? exit_code : SIPC_CLI_EXIT_OK;
}
