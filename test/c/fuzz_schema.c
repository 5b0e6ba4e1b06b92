/*
 * fuzz_schema.c — libFuzzer target: the CLI's C-struct schema engine (helper/cli/cschema.c) on untrusted header
 * text and message bytes. Run: make -C helper fuzz.
 *
 * The input is "flags byte, header text, NUL, message bytes". The flags pick the data model and the byte order;
 * every record and type the header declares is then decoded from the message bytes as text and as JSON, and as
 * the tag type of a tagged union over them. #include "x" reads a small fixed header. The corpus starts from
 * test/decode/schemas (make copies them in as seeds).
 */
#include "cschema.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *fixed_include(void *context, const char *name, const char *from, size_t *length, char *resolved,
                           size_t resolved_size)
{
    (void)context;
    (void)from;
    static const char text[] = "#define INCLUDED 3\nstruct included { int x : 3; char tail[INCLUDED]; };\n";
    snprintf(resolved, resolved_size, "%s", name);
    char *copy = malloc(sizeof text);
    if (copy)
        memcpy(copy, text, sizeof text);
    *length = sizeof text - 1;
    return copy;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    const char *text = (const char *)data + 1;
    size_t rest = size - 1;
    const uint8_t *nul = memchr(text, 0, rest);
    size_t text_length = nul ? (size_t)(nul - (const uint8_t *)text) : rest;
    const uint8_t *bytes = nul ? nul + 1 : (const uint8_t *)"";
    size_t byte_count = nul ? rest - text_length - 1 : 0;
    cschema_options options = {targets[flags % (sizeof targets / sizeof targets[0])].name, (flags & 0x80) != 0};
    char error[512];
    cschema *schema = cschema_parse(text, text_length, "fuzz.h", &options, fixed_include, NULL, error, sizeof error);
    if (schema == NULL) {
        if (error[0] == '\0')
            abort(); /* a refusal always says why */
        return 0;
    }
    cli_buffer out = {0};
    for (size_t k = 0; k < schema->types.capacity; k++) {
        const cschema_type *type = schema->types.entries[k].value;
        if (type == NULL)
            continue;
        cschema_message message = {.schema = schema, .type = type};
        out.length = 0;
        cschema_decode(&message, bytes, byte_count, CSCHEMA_TEXT, &out);
        out.length = 0;
        cschema_decode(&message, bytes, byte_count, CSCHEMA_JSON, &out);
        if (cschema_type_is_integer(type)) {
            cschema_message tagged = {.schema = schema, .tag_type = type, .tag_offset = flags & 7u, .case_count = 1};
            tagged.case_values[0] = 1;
            tagged.case_types[0] = type;
            out.length = 0;
            cschema_decode(&tagged, bytes, byte_count, CSCHEMA_JSON, &out);
        }
    }
    cli_buffer_free(&out);
    cschema_free(schema);
    return 0;
}
