/*
 * cli_schema.h — the options of `sipc tap`, `recv` and `decode` that decode messages with a C-struct schema
 * (cschema.h): --schema FILE.h with --type T, or a tagged union (--tag TYPE@OFFSET --cases "1=struct a,...").
 */
#ifndef SIPC_CLI_SCHEMA_H
#define SIPC_CLI_SCHEMA_H

#include "cli_args.h"
#include "cschema.h"

typedef struct cli_schema_options {
    const char *schema;   /* FILE.h */
    const char *type;     /* one type for every message */
    const char *tag;      /* TYPE@OFFSET: the integer that chooses each message's type */
    const char *cases;    /* "VALUE=TYPE,..." (VALUE: a number or a constant of the schema) */
    const char *fallback; /* --default TYPE for tag values not listed */
    const char *target;   /* data model (default x86_64-linux) */
    const char *endian;   /* little (default) or big */
} cli_schema_options;

/* The option table entries (for cli_parse). */
/* clang-format off */
#define CLI_SCHEMA_OPTIONS(opts)                                                    \
    {"schema", CLI_OPT_STRING, &(opts).schema, NULL, 0, 0, NULL},                   \
    {"type", CLI_OPT_STRING, &(opts).type, NULL, 0, 0, NULL},                       \
    {"tag", CLI_OPT_STRING, &(opts).tag, NULL, 0, 0, NULL},                         \
    {"cases", CLI_OPT_STRING, &(opts).cases, NULL, 0, 0, NULL},                     \
    {"default", CLI_OPT_STRING, &(opts).fallback, NULL, 0, 0, NULL},                \
    {"target", CLI_OPT_CHOICE, &(opts).target, NULL, 0, 0,                          \
     "x86_64-linux|aarch64-linux|i386-linux|arm-linux|x86_64-windows"},             \
    {"endian", CLI_OPT_CHOICE, &(opts).endian, NULL, 0, 0, "little|big"}
/* clang-format on */

/* The help lines of those options. */
#define CLI_SCHEMA_HELP                                                                                             \
    "  --schema FILE.h  decode each message with the C declarations in FILE.h (#include \"x.h\" is read beside\n"   \
    "                   it), as the extension does: gcc's layout, bit-fields, packing, enums by name\n"             \
    "  --type T         the message type: \"struct sample\", sample, sample_t, ...\n"                               \
    "  --tag TYPE@OFF   or a tagged union: the integer TYPE at byte OFF chooses each message's type among\n"        \
    "  --cases LIST     \"1=struct hello,MSG_SAMPLE=struct sample\" (values: numbers or the schema's constants);\n" \
    "  --default T      the type of tag values not listed (else they are reported as UNKNOWN_TAG)\n"                \
    "  --target T       data model: x86_64-linux (default), aarch64-linux, i386-linux, arm-linux, x86_64-windows\n" \
    "  --endian E       byte order of records without scalar_storage_order: little (default) or big\n"

/* No --schema: -1 and *message zeroed. Else -1 with the message ready (free it with cli_schema_free), or an
 * exit code after printing why ("file:line: message (CODE)" for a schema that cannot be laid out). */
int cli_schema_load(const char *command, const cli_schema_options *options, cschema_message *message);
void cli_schema_free(cschema_message *message);

/* Appends one decoded message as recv and decode print it: text "#INDEX LENGTH B" and the field lines, or one
 * JSON object {"index":..,"length":..,"type":..,"fields":{..}[,"problems":[..]]} and a newline. */
bool cli_schema_format(cli_buffer *out, const cschema_message *message, cli_format output, uint64_t index,
                       const void *data, size_t length);

#endif /* SIPC_CLI_SCHEMA_H */
