/*
 * cschema.h — C-struct schemas for `sipc tap/recv/decode --schema FILE.h --type T`: the same rules as the
 * extension's TypeScript engine (extension/src/decode/): a preprocessor subset (comments, object-like #define,
 * #if/#ifdef/#elif/#else/#endif, #include "local.h", #pragma pack), declarations, gcc's layout for five data
 * models, bit-fields, packing, aligned/packed/scalar_storage_order attributes, enums shown by name, and a
 * decoder that never fails on data (too short, trailing bytes, bad enum, bad bool are reported).
 *
 * The header text and the message bytes are untrusted: parsing is bounded (sizes, nesting, tokens, expansions)
 * and a schema that cannot be laid out exactly is refused with "file:line: message (CODE)", never guessed.
 * test/cli/decode.test.mjs checks this decoder against the TypeScript one on gcc-encoded vectors.
 */
#ifndef SIPC_CLI_CSCHEMA_H
#define SIPC_CLI_CSCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli_text.h"

typedef struct cschema cschema;
typedef struct cschema_type cschema_type;

typedef struct cschema_options {
    /* "x86_64-linux" (default), "aarch64-linux", "i386-linux", "arm-linux", "x86_64-windows". */
    const char *target;
    /* Byte order of scalars outside records that set scalar_storage_order. */
    bool big_endian;
} cschema_options;

/* Reads an included file: returns a malloc'd text (length in *length) and its resolved name in resolved (a
 * NUL-terminated path of at most resolved_size bytes), or NULL when it cannot be read. */
typedef char *(*cschema_include_reader)(void *context, const char *name, const char *from, size_t *length,
                                        char *resolved, size_t resolved_size);

/* Parses a schema's text. On failure returns NULL and writes "file:line: message (CODE)" into error. */
cschema *cschema_parse(const char *text, size_t length, const char *file, const cschema_options *options,
                       cschema_include_reader reader, void *reader_context, char *error, size_t error_size);
/* Reads and parses a header file; #include "x.h" is read relative to the including file. */
cschema *cschema_parse_file(const char *path, const cschema_options *options, char *error, size_t error_size);
void cschema_free(cschema *schema);

/* A type by the name a user writes: "struct sample", "sample", "sample_t", "uint16_t" (NULL if unknown). */
const cschema_type *cschema_lookup(const cschema *schema, const char *name);
const char *cschema_type_name(const cschema_type *type);
size_t cschema_type_size(const cschema_type *type);
/* Integer and enum types (a tag): true, with their size. */
bool cschema_type_is_integer(const cschema_type *type);
/* A constant of the schema (enum values, integer #defines): true with *value. */
bool cschema_constant(const cschema *schema, const char *name, int64_t *value);

/* A channel's messages: one type, or a tagged union (the integer at tag_offset chooses the type). */
typedef struct cschema_message {
    const cschema *schema;
    const cschema_type *type; /* one type; NULL for a tagged union */
    const cschema_type *tag_type;
    size_t tag_offset;
    size_t case_count;
    int64_t case_values[64];
    const cschema_type *case_types[64];
    const cschema_type *fallback; /* for tag values not listed (NULL: UNKNOWN_TAG) */
} cschema_message;

typedef enum cschema_output {
    CSCHEMA_TEXT, /* "  path = display" per leaf, "  problem CODE: message" per problem */
    CSCHEMA_JSON  /* ,"type":"struct x","fields":{...}[,"problems":[...]] (to go inside an object) */
} cschema_output;

/* Appends the decoded message. Returns false only when out of memory. */
bool cschema_decode(const cschema_message *message, const void *bytes, size_t length, cschema_output output,
                    cli_buffer *out);

#endif /* SIPC_CLI_CSCHEMA_H */
