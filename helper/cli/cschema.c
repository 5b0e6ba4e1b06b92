/*
 * C-struct schemas for the CLI: preprocessor, declaration parser, gcc's layout and the decoder. This follows the
 * extension's TypeScript engine (extension/src/decode/preprocess.ts, cparser.ts, targets.ts, decoder.ts) rule for
 * rule; test/cli/decode.test.mjs runs both on the same gcc-encoded vectors and compares every field.
 *
 * Everything read is untrusted. A parse keeps all it makes in one arena (scratch lists in its context) and leaves
 * through one longjmp on the first error, so no path can leak; every loop is bounded by the input, and recursion by
 * MAX_NESTING.
 */
#include "cschema.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds on untrusted input. */
#define MAX_SOURCE_BYTES (8u << 20) /* all files of a schema together */
#define MAX_TOKENS (2u << 20)       /* after macro expansion */
#define MAX_INCLUDE_DEPTH 16
#define MAX_NESTING 100        /* #if levels, records in records, parentheses, macro expansion, type depth */
#define MAX_ARENA (512u << 20) /* memory of one schema */
#define MAX_TYPE_SIZE (1u << 30)
#define MAX_ARRAY_CHILDREN 4096 /* as decoder.ts: the rest of a long array is summarised */

/* ---- arena ---- */

typedef struct arena_block {
    struct arena_block *next;
    size_t used, size;
    max_align_t data[];
} arena_block;

typedef struct arena {
    arena_block *head;
    size_t total;
} arena;

static void *arena_alloc(arena *a, size_t size)
{
    size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (size == 0)
        size = sizeof(max_align_t);
    if (a->head == NULL || a->head->size - a->head->used < size) {
        size_t block = size > (64u << 10) ? size : (64u << 10);
        if (a->total + block > MAX_ARENA)
            return NULL;
        arena_block *b = malloc(sizeof *b + block);
        if (b == NULL)
            return NULL;
        b->next = a->head;
        b->used = 0;
        b->size = block;
        a->head = b;
        a->total += block;
    }
    void *p = (unsigned char *)a->head->data + a->head->used;
    a->head->used += size;
    memset(p, 0, size);
    return p;
}

static void arena_free(arena *a)
{
    while (a->head) {
        arena_block *next = a->head->next;
        free(a->head);
        a->head = next;
    }
    a->total = 0;
}

/* ---- a string-keyed hash map (keys are not copied: they live in the arena) ---- */

typedef struct map_entry {
    const char *key;
    size_t length;
    void *value; /* NULL: removed */
} map_entry;

typedef struct map {
    map_entry *entries;
    size_t capacity, used;
} map;

static uint64_t hash_bytes(const char *key, size_t length)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < length; i++)
        h = (h ^ (unsigned char)key[i]) * 1099511628211ull;
    return h;
}

static map_entry *map_slot(const map *m, const char *key, size_t length)
{
    if (m->capacity == 0)
        return NULL;
    size_t i = (size_t)hash_bytes(key, length) & (m->capacity - 1);
    for (;;) {
        map_entry *e = &m->entries[i];
        if (e->key == NULL || (e->length == length && memcmp(e->key, key, length) == 0))
            return e;
        i = (i + 1) & (m->capacity - 1);
    }
}

static void *map_get(const map *m, const char *key, size_t length)
{
    map_entry *e = map_slot(m, key, length);
    return e && e->key ? e->value : NULL;
}

static bool map_put(map *m, const char *key, size_t length, void *value)
{
    if ((m->used + 1) * 4 >= m->capacity * 3) {
        size_t capacity = m->capacity ? m->capacity * 2 : 64;
        map_entry *entries = calloc(capacity, sizeof *entries);
        if (entries == NULL)
            return false;
        map old = *m;
        m->entries = entries;
        m->capacity = capacity;
        m->used = 0;
        for (size_t i = 0; i < old.capacity; i++) {
            if (old.entries[i].key) {
                map_entry *e = map_slot(m, old.entries[i].key, old.entries[i].length);
                *e = old.entries[i];
                m->used++;
            }
        }
        free(old.entries);
    }
    map_entry *e = map_slot(m, key, length);
    if (e->key == NULL) {
        e->key = key;
        e->length = length;
        m->used++;
    }
    e->value = value;
    return true;
}

static void map_free(map *m)
{
    free(m->entries);
    m->entries = NULL;
    m->capacity = m->used = 0;
}

/* ---- types ---- */

typedef enum type_kind { K_INT, K_FLOAT, K_POINTER, K_ENUM, K_ARRAY, K_STRUCT, K_UNION } type_kind;

typedef struct enumerator {
    const char *name;
    int64_t value;
} enumerator;

typedef struct field {
    const char *name; /* "" for an anonymous struct/union member */
    cschema_type *type;
    uint32_t offset;
    bool bitfield;
    uint8_t bit_offset, bit_width;
} field;

struct cschema_type {
    type_kind kind;
    const char *name;
    uint32_t size, align;
    unsigned depth; /* 1 for scalars, 1 + the deepest part otherwise (bounds the decoder's recursion) */
    bool is_signed, is_bool, is_char;
    cschema_type *base; /* enum */
    enumerator *enumerators;
    size_t enumerator_count;
    cschema_type *element; /* array */
    uint32_t length;
    bool flexible;
    field *fields; /* struct, union */
    size_t field_count;
    int endian; /* records: 0 the schema's, 1 little, 2 big */
    bool anonymous;
};

typedef struct target_model {
    const char *name;
    bool char_signed;
    uint32_t long_size, long_long_align, pointer, double_align, long_double, long_double_align, wchar_size;
    bool wchar_signed, ms_bitfields, zero_width_bitfield_aligns;
} target_model;

/* As extension/src/decode/targets.ts. */
static const target_model targets[] = {
    {"x86_64-linux", true, 8, 8, 8, 8, 16, 16, 4, true, false, false},
    {"aarch64-linux", false, 8, 8, 8, 8, 16, 16, 4, false, false, true},
    {"i386-linux", true, 4, 4, 4, 4, 12, 4, 4, true, false, false},
    {"arm-linux", false, 4, 8, 4, 8, 8, 8, 4, false, false, true},
    {"x86_64-windows", true, 4, 8, 8, 8, 16, 16, 2, false, true, false},
};

struct cschema {
    arena arena;
    map types;     /* "struct x", "enum e", typedef names */
    map builtins;  /* "unsigned long", "uint16_t", ... */
    map constants; /* enum values and integer #defines -> int64_t * */
    const target_model *model;
    bool big_endian;
};

/* ---- tokens ---- */

typedef enum token_kind { T_IDENT, T_NUMBER, T_STRING, T_CHAR, T_PUNCT, T_PACK, T_EOF } token_kind;
typedef enum pack_op { PACK_SET, PACK_PUSH, PACK_POP } pack_op;

typedef struct token {
    const char *text;
    uint32_t length;
    uint8_t kind;
    uint8_t pack_op;
    uint8_t pack_value; /* 0: none given */
    uint32_t file;
    uint32_t line; /* 0: the end of the file */
} token;

typedef struct macro {
    token *body;
    size_t count;
    bool function_like;
} macro;

typedef struct token_list {
    token *items;
    size_t count, capacity;
} token_list;

typedef struct parse_context {
    jmp_buf fail;
    char *error;
    size_t error_size;
    cschema *schema;
    const char **files;
    size_t file_count, file_capacity;
    token_list out;
    /* Scratch lists, reused: a line's tokens, #if's tokens after defined() and after expansion. */
    token_list line, resolved, expanded;
    map macros;
    map names; /* a record's member names while it is checked */
    cschema_include_reader reader;
    void *reader_context;
    const char *including[MAX_INCLUDE_DEPTH];
    size_t include_depth;
    size_t source_bytes;
    unsigned expansion_depth;
    /* parser */
    const token *tokens;
    size_t count, pos;
    int pack; /* 0: none */
    int pack_stack[MAX_NESTING];
    size_t pack_depth;
    unsigned anonymous_count;
    unsigned nesting;
} parse_context;

static const char *code_name[] = {"SYNTAX",          "UNKNOWN_TYPE", "REDEFINED", "BAD_CONSTANT", "BAD_BITFIELD",
                                  "INCOMPLETE_TYPE", "UNSUPPORTED",  "INCLUDE",   "TOO_LARGE",    "NO_MEMORY"};
enum {
    E_SYNTAX,
    E_UNKNOWN_TYPE,
    E_REDEFINED,
    E_BAD_CONSTANT,
    E_BAD_BITFIELD,
    E_INCOMPLETE,
    E_UNSUPPORTED,
    E_INCLUDE,
    E_TOO_LARGE,
    E_NO_MEMORY
};

static void where_text(const parse_context *c, const token *t, char *out, size_t size)
{
    if (t == NULL || t->file >= c->file_count) {
        snprintf(out, size, "%s", c->file_count ? c->files[0] : "schema");
        return;
    }
    if (t->line == 0)
        snprintf(out, size, "%s:end", c->files[t->file]);
    else
        snprintf(out, size, "%s:%u", c->files[t->file], t->line);
}

static _Noreturn void fail(parse_context *c, int code, const token *at, const char *format, ...)
    __attribute__((format(CLI_PRINTF, 4, 5)));
static _Noreturn void fail(parse_context *c, int code, const token *at, const char *format, ...)
{
    char where[512], message[512];
    where_text(c, at, where, sizeof where);
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    if (c->error_size > 0)
        snprintf(c->error, c->error_size, "%s: %s (%s)", where, message, code_name[code]);
    longjmp(c->fail, 1);
}

static void *alloc(parse_context *c, size_t size)
{
    void *p = arena_alloc(&c->schema->arena, size);
    if (p == NULL)
        fail(c, E_NO_MEMORY, NULL, "out of memory (a schema may use at most %u MiB)", MAX_ARENA >> 20);
    return p;
}

/* Room for one more element in an array the context owns (freed with it): its capacity doubles from `initial`. */
static void *grow_owned(parse_context *c, void *items, size_t count, size_t *capacity, size_t element_size,
                        size_t initial, const token *where)
{
    if (count < *capacity)
        return items;
    size_t larger = *capacity ? *capacity * 2 : initial;
    void *grown = realloc(items, larger * element_size);
    if (grown == NULL)
        fail(c, E_NO_MEMORY, where, "out of memory");
    *capacity = larger;
    return grown;
}

/* The same for an array in the schema's arena (what a failed parse leaves is freed with it): copied when it doubles. */
static void *grow_in_arena(parse_context *c, void *items, size_t count, size_t *capacity, size_t element_size)
{
    if (count < *capacity)
        return items;
    void *grown = alloc(c, *capacity * 2 * element_size);
    memcpy(grown, items, count * element_size);
    *capacity *= 2;
    return grown;
}

static char *copy_text(parse_context *c, const char *text, size_t length)
{
    char *p = alloc(c, length + 1);
    memcpy(p, text, length);
    p[length] = '\0';
    return p;
}

static char *printf_text(parse_context *c, const char *format, ...) __attribute__((format(CLI_PRINTF, 2, 3)));
static char *printf_text(parse_context *c, const char *format, ...)
{
    char buffer[1024];
    va_list args;
    va_start(args, format);
    vsnprintf(buffer, sizeof buffer, format, args);
    va_end(args);
    return copy_text(c, buffer, strlen(buffer));
}

static void push_token(parse_context *c, token_list *list, const token *t)
{
    if (list->count >= MAX_TOKENS)
        fail(c, E_TOO_LARGE, t, "the schema has more than %u tokens after macro expansion", MAX_TOKENS);
    list->items = grow_owned(c, list->items, list->count, &list->capacity, sizeof *list->items, 256, t);
    list->items[list->count++] = *t;
}

static bool tok_is(const token *t, const char *text)
{
    size_t n = strlen(text);
    return (t->kind == T_PUNCT || t->kind == T_IDENT) && t->length == n && memcmp(t->text, text, n) == 0;
}

static bool tok_equals(const token *t, const char *text)
{
    size_t n = strlen(text);
    return t->length == n && memcmp(t->text, text, n) == 0;
}

/* ---- lexer (preprocess.ts lexLine) ---- */

static bool is_alpha(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
}
static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}
static bool is_alnum(char ch)
{
    return is_alpha(ch) || is_digit(ch);
}
static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\v';
}

static void lex_line(parse_context *c, const char *line, size_t length, uint32_t file, uint32_t line_no,
                     token_list *out)
{
    static const char *punct3[] = {"<<=", ">>=", "..."};
    static const char *punct2[] = {"<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "->", "++", "--", "##"};
    static const char punct1[] = "{}[]();:,*=<>!~+-/%&|^?.#";
    size_t i = 0;
    while (i < length) {
        char ch = line[i];
        token t = {.text = line + i, .file = file, .line = line_no};
        if (is_space(ch)) {
            i++;
            continue;
        }
        if (is_alpha(ch)) {
            size_t j = i + 1;
            while (j < length && is_alnum(line[j]))
                j++;
            t.kind = T_IDENT;
            t.length = (uint32_t)(j - i);
            push_token(c, out, &t);
            i = j;
            continue;
        }
        if (is_digit(ch) || (ch == '.' && i + 1 < length && is_digit(line[i + 1]))) {
            size_t j = i + 1;
            while (j < length && (is_alnum(line[j]) || line[j] == '.'))
                j++;
            while (j < length && (line[j] == '+' || line[j] == '-') && strchr("eEpP", line[j - 1]) != NULL)
                j++;
            t.kind = T_NUMBER;
            t.length = (uint32_t)(j - i);
            push_token(c, out, &t);
            i = j;
            continue;
        }
        if (ch == '"' || ch == '\'') {
            size_t j = i + 1;
            while (j < length && line[j] != ch)
                j += line[j] == '\\' ? 2 : 1;
            if (j >= length)
                fail(c, E_SYNTAX, &t, "unterminated %s literal", ch == '"' ? "string" : "character");
            t.kind = ch == '"' ? T_STRING : T_CHAR;
            t.length = (uint32_t)(j + 1 - i);
            push_token(c, out, &t);
            i = j + 1;
            continue;
        }
        size_t n = 0;
        for (size_t k = 0; n == 0 && k < sizeof punct3 / sizeof punct3[0]; k++)
            if (length - i >= 3 && memcmp(line + i, punct3[k], 3) == 0)
                n = 3;
        for (size_t k = 0; n == 0 && k < sizeof punct2 / sizeof punct2[0]; k++)
            if (length - i >= 2 && memcmp(line + i, punct2[k], 2) == 0)
                n = 2;
        if (n == 0 && ch != '\0' && strchr(punct1, ch) != NULL)
            n = 1;
        if (n == 0) {
            unsigned char byte = (unsigned char)ch;
            if (byte >= 0x20 && byte < 0x7f)
                fail(c, E_SYNTAX, &t, "unexpected character '%c'", ch);
            fail(c, E_SYNTAX, &t, "unexpected byte 0x%02x", byte);
        }
        t.kind = T_PUNCT;
        t.length = (uint32_t)n;
        push_token(c, out, &t);
        i += n;
    }
}

/* Comments removed (newlines kept), backslash-continued lines joined; a joined line is followed by as many empty
 * lines as it absorbed, so line numbers stay right (preprocess.ts logicalLines). */
static char *logical_text(parse_context *c, const char *text, size_t length, size_t *out_length)
{
    char *stripped = alloc(c, length + 1);
    size_t n = 0;
    for (size_t i = 0; i < length; i++) {
        char ch = text[i];
        if (ch == '/' && i + 1 < length && text[i + 1] == '/') {
            while (i < length && text[i] != '\n')
                i++;
            i--;
            continue;
        }
        if (ch == '/' && i + 1 < length && text[i + 1] == '*') {
            stripped[n++] = ' ';
            size_t j = i + 2;
            while (j < length && !(text[j] == '*' && j + 1 < length && text[j + 1] == '/')) {
                if (text[j] == '\n')
                    stripped[n++] = '\n';
                j++;
            }
            i = j < length ? j + 1 : length;
            continue;
        }
        if (ch == '"' || ch == '\'') {
            size_t j = i + 1;
            while (j < length && text[j] != ch && text[j] != '\n')
                j += text[j] == '\\' ? 2 : 1;
            size_t end = j + 1 < length ? j + 1 : length;
            memcpy(stripped + n, text + i, end - i);
            n += end - i;
            i = end - 1;
            continue;
        }
        stripped[n++] = ch;
    }
    /* Join continuations: "a\\\nb\n" -> "ab\n\n". */
    char *joined = alloc(c, n + 1);
    size_t m = 0, absorbed = 0;
    for (size_t i = 0; i < n; i++) {
        if (stripped[i] == '\\' && i + 1 < n && stripped[i + 1] == '\n') {
            absorbed++;
            i++;
            continue;
        }
        if (stripped[i] == '\n') {
            joined[m++] = '\n';
            for (; absorbed > 0; absorbed--)
                joined[m++] = '\n';
            continue;
        }
        joined[m++] = stripped[i];
    }
    for (; absorbed > 0; absorbed--)
        joined[m++] = '\n';
    *out_length = m;
    return joined;
}

/* ---- constant expressions (preprocess.ts ExpressionEvaluator) ---- */

typedef struct evaluator evaluator;
typedef int64_t (*identifier_fn)(parse_context *c, const token *t);
/* sizeof(...) at tokens[at]: true with the value and the index after it. */
typedef bool (*sizeof_fn)(parse_context *c, const token *tokens, size_t count, size_t at, int64_t *value, size_t *next);

struct evaluator {
    parse_context *c;
    const token *tokens;
    size_t count, pos;
    identifier_fn identifier;
    sizeof_fn size_of;
    unsigned depth;
};

static const token *ev_peek(evaluator *e)
{
    return e->pos < e->count ? &e->tokens[e->pos] : NULL;
}

static const token *ev_where(evaluator *e)
{
    if (e->pos < e->count)
        return &e->tokens[e->pos];
    return e->count ? &e->tokens[e->count - 1] : NULL;
}

static bool ev_accept(evaluator *e, const char *text)
{
    const token *t = ev_peek(e);
    if (t && t->kind == T_PUNCT && tok_equals(t, text)) {
        e->pos++;
        return true;
    }
    return false;
}

static int64_t ev_conditional(evaluator *e);

static int64_t parse_integer_literal(parse_context *c, const token *t)
{
    const char *s = t->text;
    size_t n = t->length, i = 0;
    unsigned base = 10;
    if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        base = 16, i = 2;
    else if (n >= 2 && s[0] == '0' && (s[1] == 'b' || s[1] == 'B'))
        base = 2, i = 2;
    else if (s[0] == '0')
        base = 8, i = 1;
    size_t digits_start = i;
    uint64_t value = 0;
    bool overflow = false;
    for (; i < n; i++) {
        char ch = s[i];
        unsigned d;
        if (ch >= '0' && ch <= '9')
            d = (unsigned)(ch - '0');
        else if (ch >= 'a' && ch <= 'f')
            d = (unsigned)(ch - 'a' + 10);
        else if (ch >= 'A' && ch <= 'F')
            d = (unsigned)(ch - 'A' + 10);
        else
            break;
        if (d >= base)
            break;
        if (value > (UINT64_MAX - d) / base)
            overflow = true;
        else
            value = value * base + d;
    }
    bool digits_ok = (base == 8 || i > digits_start);
    for (size_t k = i; k < n; k++)
        if (strchr("uUlL", s[k]) == NULL || s[k] == '\0')
            digits_ok = false;
    if (!digits_ok)
        fail(c, E_BAD_CONSTANT, t, "'%.*s' is not an integer constant", (int)t->length, t->text);
    if (overflow || value > (uint64_t)INT64_MAX)
        fail(c, E_UNSUPPORTED, t, "constant %.*s does not fit a signed 64-bit integer", (int)t->length, t->text);
    return (int64_t)value;
}

static int64_t parse_char_literal(parse_context *c, const token *t)
{
    const char *body = t->text + 1;
    size_t n = t->length - 2;
    if (n == 1 && (unsigned char)body[0] < 0x80)
        return (unsigned char)body[0];
    if (n == 2 && body[0] == '\\') {
        switch (body[1]) {
        case 'n':
            return 10;
        case 't':
            return 9;
        case 'r':
            return 13;
        case '0':
            return 0;
        case '\\':
            return 92;
        case '\'':
            return 39;
        case '"':
            return 34;
        case 'a':
            return 7;
        case 'b':
            return 8;
        case 'f':
            return 12;
        case 'v':
            return 11;
        default:
            break;
        }
    }
    if (n >= 3 && n <= 4 && body[0] == '\\' && body[1] == 'x') {
        int64_t v = 0;
        size_t k = 2;
        for (; k < n && cli_hex_value(body[k]) >= 0; k++)
            v = v * 16 + cli_hex_value(body[k]);
        if (k == n)
            return v;
    }
    fail(c, E_BAD_CONSTANT, t, "character constant %.*s is not supported", (int)t->length, t->text);
}

static bool ident_is_cast_type(const token *t)
{
    if (t->length >= 2 && t->text[t->length - 2] == '_' && t->text[t->length - 1] == 't')
        return true;
    static const char *words[] = {"unsigned", "signed", "int", "long", "short", "char"};
    for (size_t k = 0; k < sizeof words / sizeof words[0]; k++)
        if (tok_equals(t, words[k]))
            return true;
    return false;
}

static int64_t ev_unary(evaluator *e)
{
    const token *t = ev_peek(e);
    if (t == NULL)
        fail(e->c, E_BAD_CONSTANT, ev_where(e), "a constant expression ends too early");
    if (++e->depth > MAX_NESTING)
        fail(e->c, E_TOO_LARGE, t, "a constant expression is nested too deeply");
    int64_t result;
    if (t->kind == T_PUNCT && tok_equals(t, "-")) {
        e->pos++;
        int64_t v = ev_unary(e);
        if (v == INT64_MIN)
            fail(e->c, E_BAD_CONSTANT, t, "a constant overflows 64 bits");
        result = -v;
    } else if (t->kind == T_PUNCT && tok_equals(t, "+")) {
        e->pos++;
        result = ev_unary(e);
    } else if (t->kind == T_PUNCT && tok_equals(t, "~")) {
        e->pos++;
        result = ~ev_unary(e);
    } else if (t->kind == T_PUNCT && tok_equals(t, "!")) {
        e->pos++;
        result = ev_unary(e) == 0;
    } else if (t->kind == T_PUNCT && tok_equals(t, "(")) {
        const token *next = e->pos + 1 < e->count ? &e->tokens[e->pos + 1] : NULL;
        const token *close = e->pos + 2 < e->count ? &e->tokens[e->pos + 2] : NULL;
        if (next && next->kind == T_IDENT && close && close->kind == T_PUNCT && tok_equals(close, ")") &&
            ident_is_cast_type(next)) {
            /* A cast to an integer type keeps the value (the schema's constants are small). */
            e->pos += 3;
            result = ev_unary(e);
        } else {
            e->pos++;
            result = ev_conditional(e);
            if (!ev_accept(e, ")"))
                fail(e->c, E_BAD_CONSTANT, ev_where(e), "expected ')'");
        }
    } else if (t->kind == T_NUMBER) {
        e->pos++;
        result = parse_integer_literal(e->c, t);
    } else if (t->kind == T_CHAR) {
        e->pos++;
        result = parse_char_literal(e->c, t);
    } else if (t->kind == T_IDENT) {
        size_t next = 0;
        if (tok_equals(t, "sizeof") && e->size_of &&
            e->size_of(e->c, e->tokens, e->count, e->pos + 1, &result, &next)) {
            e->pos = next;
        } else {
            e->pos++;
            result = e->identifier(e->c, t);
        }
    } else {
        fail(e->c, E_BAD_CONSTANT, t, "unexpected '%.*s' in a constant expression", (int)t->length, t->text);
    }
    e->depth--;
    return result;
}

static const char *const levels[][4] = {
    {"||"},       {"&&"},     {"|"},           {"^"}, {"&"}, {"==", "!="}, {"<", ">", "<=", ">="},
    {"<<", ">>"}, {"+", "-"}, {"*", "/", "%"},
};
#define LEVEL_COUNT (sizeof levels / sizeof levels[0])

static int64_t ev_apply(evaluator *e, const token *op, int64_t a, int64_t b)
{
    int64_t r = 0;
    bool overflow = false;
    if (tok_equals(op, "||"))
        return a != 0 || b != 0;
    if (tok_equals(op, "&&"))
        return a != 0 && b != 0;
    if (tok_equals(op, "|"))
        return a | b;
    if (tok_equals(op, "^"))
        return a ^ b;
    if (tok_equals(op, "&"))
        return a & b;
    if (tok_equals(op, "=="))
        return a == b;
    if (tok_equals(op, "!="))
        return a != b;
    if (tok_equals(op, "<"))
        return a < b;
    if (tok_equals(op, ">"))
        return a > b;
    if (tok_equals(op, "<="))
        return a <= b;
    if (tok_equals(op, ">="))
        return a >= b;
    if (tok_equals(op, "<<") || tok_equals(op, ">>")) {
        if (b < 0 || b > 127)
            fail(e->c, E_BAD_CONSTANT, op, "shift out of range");
        if (tok_equals(op, ">>")) /* floor division by 2^b, as bigint's >> */
            return b >= 64 ? (a < 0 ? -1 : 0) : a >= 0 ? a >> b : ~((~a) >> b);
        if (a == 0)
            return 0;
        if (b >= 63 || __builtin_mul_overflow(a, (int64_t)1 << b, &r))
            fail(e->c, E_BAD_CONSTANT, op, "a constant overflows 64 bits");
        return r;
    }
    if (tok_equals(op, "+"))
        overflow = __builtin_add_overflow(a, b, &r);
    else if (tok_equals(op, "-"))
        overflow = __builtin_sub_overflow(a, b, &r);
    else if (tok_equals(op, "*"))
        overflow = __builtin_mul_overflow(a, b, &r);
    else {
        if (b == 0)
            fail(e->c, E_BAD_CONSTANT, op, "division by zero");
        if (a == INT64_MIN && b == -1)
            overflow = true;
        else
            r = tok_equals(op, "/") ? a / b : a % b;
    }
    if (overflow)
        fail(e->c, E_BAD_CONSTANT, op, "a constant overflows 64 bits");
    return r;
}

static int64_t ev_binary(evaluator *e, size_t level)
{
    if (level >= LEVEL_COUNT)
        return ev_unary(e);
    int64_t left = ev_binary(e, level + 1);
    for (;;) {
        const token *t = ev_peek(e);
        bool match = false;
        for (size_t k = 0; t && t->kind == T_PUNCT && k < 4 && levels[level][k]; k++)
            if (tok_equals(t, levels[level][k]))
                match = true;
        if (!match)
            return left;
        e->pos++;
        int64_t right = ev_binary(e, level + 1);
        left = ev_apply(e, t, left, right);
    }
}

static int64_t ev_conditional(evaluator *e)
{
    if (++e->depth > MAX_NESTING)
        fail(e->c, E_TOO_LARGE, ev_where(e), "a constant expression is nested too deeply");
    int64_t cond = ev_binary(e, 0);
    if (ev_accept(e, "?")) {
        int64_t a = ev_conditional(e);
        if (!ev_accept(e, ":"))
            fail(e->c, E_BAD_CONSTANT, ev_where(e), "expected ':' in a constant expression");
        int64_t b = ev_conditional(e);
        cond = cond != 0 ? a : b;
    }
    e->depth--;
    return cond;
}

static int64_t evaluate(parse_context *c, const token *tokens, size_t count, identifier_fn identifier,
                        sizeof_fn size_of)
{
    evaluator e = {c, tokens, count, 0, identifier, size_of, 0};
    int64_t value = ev_conditional(&e);
    if (e.pos < count)
        fail(c, E_BAD_CONSTANT, &tokens[e.pos], "unexpected '%.*s' in a constant expression", (int)tokens[e.pos].length,
             tokens[e.pos].text);
    return value;
}

/* ---- preprocessor (preprocess.ts preprocess) ---- */

static void expand(parse_context *c, const token *tokens, size_t count, const token *at, const char **active,
                   size_t active_count, token_list *sink)
{
    for (size_t i = 0; i < count; i++) {
        const token *t = &tokens[i];
        macro *m = NULL;
        if (t->kind == T_IDENT) {
            bool is_active = false;
            for (size_t k = 0; k < active_count; k++)
                if (strlen(active[k]) == t->length && memcmp(active[k], t->text, t->length) == 0)
                    is_active = true;
            if (!is_active)
                m = map_get(&c->macros, t->text, t->length);
        }
        if (m == NULL) {
            token copy = *t;
            if (at) {
                copy.file = at->file;
                copy.line = at->line;
            }
            push_token(c, sink, &copy);
            continue;
        }
        if (m->function_like)
            fail(c, E_UNSUPPORTED, at ? at : t, "function-like macro %.*s(...) is not supported in schemas",
                 (int)t->length, t->text);
        if (active_count + 1 >= MAX_NESTING)
            fail(c, E_TOO_LARGE, at ? at : t, "macros expand into each other too deeply");
        const char *nested[MAX_NESTING];
        if (active_count > 0)
            memcpy(nested, active, active_count * sizeof *active);
        nested[active_count] = copy_text(c, t->text, t->length);
        expand(c, m->body, m->count, at ? at : t, nested, active_count + 1, sink);
    }
}

static int64_t zero_identifier(parse_context *c, const token *t)
{
    (void)c;
    (void)t;
    return 0; /* unknown identifiers in #if are 0, as in C */
}

static uint32_t add_file(parse_context *c, const char *name)
{
    c->files = grow_owned(c, c->files, c->file_count, &c->file_capacity, sizeof *c->files, 8, NULL);
    c->files[c->file_count] = copy_text(c, name, strlen(name));
    return (uint32_t)c->file_count++;
}

static void parse_pragma_pack(parse_context *c, const token *ts, size_t n, token *out)
{
    /* tokens after "pack": ( ), (N), (push), (push, N), (pop), (push, ident, N), (pop, ident) */
    if (n < 2 || !tok_equals(&ts[0], "(") || !tok_equals(&ts[n - 1], ")"))
        fail(c, E_SYNTAX, out, "expected #pragma pack(...)");
    const token *first = NULL, *number = NULL;
    for (size_t i = 1; i + 1 < n; i++) {
        if (tok_equals(&ts[i], ","))
            continue;
        if (first == NULL)
            first = &ts[i];
        if (ts[i].kind == T_NUMBER && number == NULL)
            number = &ts[i];
    }
    int64_t value = number ? parse_integer_literal(c, number) : 0;
    if (number && (value <= 0 || value > 16 || (value & (value - 1)) != 0))
        fail(c, E_BAD_CONSTANT, out, "#pragma pack(%" PRId64 "): the alignment must be 1, 2, 4, 8 or 16", value);
    out->pack_value = (uint8_t)value;
    out->pack_op = first && tok_equals(first, "push")  ? PACK_PUSH
                   : first && tok_equals(first, "pop") ? PACK_POP
                                                       : PACK_SET;
}

typedef struct condition {
    bool active, taken, parent_active;
} condition;

static void run_file(parse_context *c, const char *source, size_t source_length, const char *name);

static bool eval_if(parse_context *c, const char *rest, size_t rest_length, uint32_t file, uint32_t line_no)
{
    c->line.count = c->resolved.count = c->expanded.count = 0;
    lex_line(c, rest, rest_length, file, line_no, &c->line);
    token one = {.kind = T_NUMBER, .length = 1, .file = file, .line = line_no};
    for (size_t i = 0; i < c->line.count; i++) {
        const token *t = &c->line.items[i];
        if (t->kind == T_IDENT && tok_equals(t, "defined")) {
            bool paren = i + 1 < c->line.count && tok_equals(&c->line.items[i + 1], "(");
            size_t at = i + (paren ? 2 : 1);
            if (at >= c->line.count || c->line.items[at].kind != T_IDENT)
                fail(c, E_SYNTAX, &one, "defined needs a name");
            one.text = map_get(&c->macros, c->line.items[at].text, c->line.items[at].length) ? "1" : "0";
            push_token(c, &c->resolved, &one);
            i += paren ? 3 : 1;
            continue;
        }
        push_token(c, &c->resolved, t);
    }
    expand(c, c->resolved.items, c->resolved.count, NULL, NULL, 0, &c->expanded);
    if (c->expanded.count == 0)
        fail(c, E_BAD_CONSTANT, &one, "a constant expression ends too early");
    return evaluate(c, c->expanded.items, c->expanded.count, zero_identifier, NULL) != 0;
}

static void directive(parse_context *c, const char *line, size_t length, uint32_t file, uint32_t line_no,
                      condition *conditions, size_t *depth, const char *name)
{
    token here = {.file = file, .line = line_no};
    size_t i = 1; /* after '#' */
    while (i < length && is_space(line[i]))
        i++;
    size_t kw = i;
    while (i < length && is_alpha(line[i]))
        i++;
    size_t kw_length = i - kw;
    const char *keyword = line + kw;
    while (i < length && is_space(line[i]))
        i++;
    const char *rest = line + i;
    size_t rest_length = length - i;
#define KW(word) (kw_length == strlen(word) && memcmp(keyword, word, kw_length) == 0)
    bool active = true;
    for (size_t k = 0; k < *depth; k++)
        active = active && conditions[k].active;
    if (KW("if") || KW("ifdef") || KW("ifndef")) {
        if (*depth >= MAX_NESTING)
            fail(c, E_TOO_LARGE, &here, "#if is nested more than %d levels deep", MAX_NESTING);
        bool cond = false;
        if (active) {
            if (KW("if")) {
                cond = eval_if(c, rest, rest_length, file, line_no);
            } else {
                c->line.count = 0;
                lex_line(c, rest, rest_length, file, line_no, &c->line);
                bool defined =
                    c->line.count > 0 && map_get(&c->macros, c->line.items[0].text, c->line.items[0].length) != NULL;
                cond = defined == KW("ifdef");
            }
        }
        conditions[(*depth)++] = (condition){active && cond, cond, active};
        return;
    }
    if (KW("elif") || KW("else")) {
        if (*depth == 0)
            fail(c, E_SYNTAX, &here, "#%.*s without #if", (int)kw_length, keyword);
        condition *top = &conditions[*depth - 1];
        bool cond = !top->taken && top->parent_active && (KW("else") || eval_if(c, rest, rest_length, file, line_no));
        top->active = cond;
        top->taken = top->taken || cond;
        return;
    }
    if (KW("endif")) {
        if (*depth == 0)
            fail(c, E_SYNTAX, &here, "#endif without #if");
        (*depth)--;
        return;
    }
    if (!active)
        return;
    if (KW("define")) {
        if (rest_length == 0 || !is_alpha(rest[0]))
            fail(c, E_SYNTAX, &here, "#define needs a name");
        size_t n = 1;
        while (n < rest_length && is_alnum(rest[n]))
            n++;
        macro *m = alloc(c, sizeof *m);
        m->function_like = n < rest_length && rest[n] == '(';
        if (!m->function_like) {
            c->line.count = 0;
            lex_line(c, rest + n, rest_length - n, file, line_no, &c->line);
            m->count = c->line.count;
            m->body = alloc(c, (m->count ? m->count : 1) * sizeof *m->body);
            if (m->count)
                memcpy(m->body, c->line.items, m->count * sizeof *m->body);
        }
        if (!map_put(&c->macros, copy_text(c, rest, n), n, m))
            fail(c, E_NO_MEMORY, &here, "out of memory");
    } else if (KW("undef")) {
        size_t n = rest_length;
        while (n > 0 && is_space(rest[n - 1]))
            n--;
        map_entry *e = map_slot(&c->macros, rest, n);
        if (e && e->key)
            e->value = NULL;
    } else if (KW("include")) {
        /* <system> headers declare nothing a schema needs: the fixed-width types are built in. */
        if (rest_length < 2 || rest[0] != '"')
            return;
        const char *end = memchr(rest + 1, '"', rest_length - 1);
        if (end == NULL || end == rest + 1)
            return;
        char include_name[1024];
        size_t n = (size_t)(end - rest - 1);
        if (n >= sizeof include_name)
            fail(c, E_INCLUDE, &here, "#include name is too long");
        memcpy(include_name, rest + 1, n);
        include_name[n] = '\0';
        char resolved[4096];
        size_t text_length = 0;
        char *text = c->reader
                         ? c->reader(c->reader_context, include_name, name, &text_length, resolved, sizeof resolved)
                         : NULL;
        if (text == NULL)
            fail(c, E_INCLUDE, &here, "cannot read #include \"%s\"", include_name);
        /* The text moves into the arena so that an error inside it leaks nothing. */
        char *kept = arena_alloc(&c->schema->arena, text_length + 1);
        if (kept)
            memcpy(kept, text, text_length);
        free(text);
        if (kept == NULL)
            fail(c, E_NO_MEMORY, &here, "out of memory");
        if (c->include_depth >= MAX_INCLUDE_DEPTH)
            fail(c, E_INCLUDE, &here, "#include is nested more than %d levels deep", MAX_INCLUDE_DEPTH);
        run_file(c, kept, text_length, resolved);
    } else if (KW("pragma")) {
        c->line.count = 0;
        lex_line(c, rest, rest_length, file, line_no, &c->line);
        /* #pragma once needs nothing: one pass over each file anyway. */
        if (c->line.count > 0 && tok_equals(&c->line.items[0], "pack")) {
            token t = {.kind = T_PACK, .text = "#pragma pack", .length = 12, .file = file, .line = line_no};
            parse_pragma_pack(c, c->line.items + 1, c->line.count - 1, &t);
            push_token(c, &c->out, &t);
        }
    } else if (KW("error")) {
        fail(c, E_SYNTAX, &here, "#error %.*s", (int)rest_length, rest);
    }
    /* #line, #warning, #ident, an empty '#': nothing to do for declarations */
#undef KW
}

static void run_file(parse_context *c, const char *source, size_t source_length, const char *name)
{
    for (size_t k = 0; k < c->include_depth; k++)
        if (strcmp(c->including[k], name) == 0)
            fail(c, E_INCLUDE, NULL, "%s includes itself", name);
    if (source_length > MAX_SOURCE_BYTES - c->source_bytes)
        fail(c, E_TOO_LARGE, NULL, "the schema's files are larger than %u MiB together", MAX_SOURCE_BYTES >> 20);
    c->source_bytes += source_length;
    uint32_t file = add_file(c, name);
    c->including[c->include_depth++] = c->files[file];
    size_t length = 0;
    const char *text = logical_text(c, source, source_length, &length);
    condition conditions[MAX_NESTING];
    size_t depth = 0;
    uint32_t line_no = 0;
    size_t start = 0;
    while (start <= length) {
        const char *newline = memchr(text + start, '\n', length - start);
        size_t end = newline ? (size_t)(newline - text) : length;
        line_no++;
        const char *line = text + start;
        size_t line_length = end - start;
        size_t lead = 0;
        while (lead < line_length && (is_space(line[lead]) || line[lead] == '\n'))
            lead++;
        if (lead < line_length && line[lead] == '#') {
            size_t trail = line_length;
            while (trail > lead && is_space(line[trail - 1]))
                trail--;
            directive(c, line + lead, trail - lead, file, line_no, conditions, &depth, c->files[file]);
        } else {
            bool active = true;
            for (size_t k = 0; k < depth; k++)
                active = active && conditions[k].active;
            if (active) {
                c->line.count = 0;
                lex_line(c, line, line_length, file, line_no, &c->line);
                expand(c, c->line.items, c->line.count, NULL, NULL, 0, &c->out);
            }
        }
        if (newline == NULL)
            break;
        start = end + 1;
    }
    if (depth > 0)
        fail(c, E_SYNTAX, NULL, "#if without #endif in %s", name);
    c->include_depth--;
}

/* ---- builtin types (targets.ts builtinTypes) ---- */

static cschema_type *new_int(parse_context *c, const char *name, uint32_t size, bool is_signed, uint32_t align)
{
    cschema_type *t = alloc(c, sizeof *t);
    t->kind = K_INT;
    t->name = name;
    t->size = size;
    t->align = align;
    t->is_signed = is_signed;
    t->depth = 1;
    return t;
}

static void builtin(parse_context *c, cschema_type *t)
{
    if (!map_put(&c->schema->builtins, t->name, strlen(t->name), t))
        fail(c, E_NO_MEMORY, NULL, "out of memory");
}

static void add_builtins(parse_context *c)
{
    const target_model *m = c->schema->model;
    cschema_type *ch = new_int(c, "char", 1, m->char_signed, 1);
    ch->is_char = true;
    builtin(c, ch);
    builtin(c, new_int(c, "signed char", 1, true, 1));
    builtin(c, new_int(c, "unsigned char", 1, false, 1));
    builtin(c, new_int(c, "short", 2, true, 2));
    builtin(c, new_int(c, "unsigned short", 2, false, 2));
    builtin(c, new_int(c, "int", 4, true, 4));
    builtin(c, new_int(c, "unsigned int", 4, false, 4));
    builtin(c, new_int(c, "long", m->long_size, true, m->long_size == 8 ? m->long_long_align : m->long_size));
    builtin(c, new_int(c, "unsigned long", m->long_size, false, m->long_size == 8 ? m->long_long_align : m->long_size));
    builtin(c, new_int(c, "long long", 8, true, m->long_long_align));
    builtin(c, new_int(c, "unsigned long long", 8, false, m->long_long_align));
    cschema_type *b1 = new_int(c, "_Bool", 1, false, 1), *b2 = new_int(c, "bool", 1, false, 1);
    b1->is_bool = b2->is_bool = true;
    builtin(c, b1);
    builtin(c, b2);
    cschema_type *f = new_int(c, "float", 4, true, 4);
    f->kind = K_FLOAT;
    builtin(c, f);
    cschema_type *d = new_int(c, "double", 8, true, m->double_align);
    d->kind = K_FLOAT;
    builtin(c, d);
    cschema_type *ld = new_int(c, "long double", m->long_double, true, m->long_double_align);
    ld->kind = K_FLOAT;
    builtin(c, ld);
    static const char *sized[] = {"int8_t",  "uint8_t",  "int16_t", "uint16_t",
                                  "int32_t", "uint32_t", "int64_t", "uint64_t"};
    for (size_t k = 0; k < 8; k++) {
        uint32_t bytes = 1u << (k / 2);
        builtin(c, new_int(c, sized[k], bytes, k % 2 == 0, bytes == 8 ? m->long_long_align : bytes));
    }
    uint32_t word_align = m->pointer == 8 ? m->long_long_align : m->pointer;
    builtin(c, new_int(c, "size_t", m->pointer, false, word_align));
    builtin(c, new_int(c, "ssize_t", m->pointer, true, word_align));
    builtin(c, new_int(c, "ptrdiff_t", m->pointer, true, word_align));
    builtin(c, new_int(c, "intptr_t", m->pointer, true, word_align));
    builtin(c, new_int(c, "uintptr_t", m->pointer, false, word_align));
    builtin(c, new_int(c, "wchar_t", m->wchar_size, m->wchar_signed, m->wchar_size));
    builtin(c, new_int(c, "char16_t", 2, false, 2));
    builtin(c, new_int(c, "char32_t", 4, false, 4));
}

/* ---- parser (cparser.ts Parser) ---- */

typedef struct attributes {
    bool packed;
    uint32_t aligned; /* 0: none */
    int endian;       /* 0 none, 1 little, 2 big */
} attributes;

typedef struct specifier {
    cschema_type *type; /* NULL: void or an incomplete struct/union */
    const char *spelled;
    bool is_typedef;
    bool anonymous_record;
    uint32_t alignas;
} specifier;

typedef struct declarator {
    const char *name;
    cschema_type *type;
    bool function;
    bool has_bit_width;
    uint32_t bit_width;
    attributes attrs;
    const token *where;
} declarator;

static const token *peek(parse_context *c, size_t offset)
{
    size_t i = c->pos + offset;
    return &c->tokens[i < c->count ? i : c->count - 1];
}

static const token *next_token(parse_context *c)
{
    const token *t = peek(c, 0);
    c->pos++;
    return t;
}

static bool is(parse_context *c, const char *text)
{
    return tok_is(peek(c, 0), text);
}

static bool accept(parse_context *c, const char *text)
{
    if (is(c, text)) {
        c->pos++;
        return true;
    }
    return false;
}

static void expect(parse_context *c, const char *text)
{
    const token *t = peek(c, 0);
    if (!is(c, text)) {
        if (t->kind == T_EOF)
            fail(c, E_SYNTAX, t, "expected '%s', found the end", text);
        fail(c, E_SYNTAX, t, "expected '%s', found '%.*s'", text, (int)t->length, t->text);
    }
    c->pos++;
}

static char *token_text(parse_context *c, const token *t)
{
    return copy_text(c, t->text, t->length);
}

static bool in_list(const token *t, const char *const *words, size_t count)
{
    for (size_t k = 0; k < count; k++)
        if (tok_equals(t, words[k]))
            return true;
    return false;
}

static const char *const qualifiers[] = {"const",      "volatile",     "restrict",      "__restrict",  "__restrict__",
                                         "static",     "extern",       "register",      "inline",      "__inline",
                                         "__inline__", "_Atomic",      "__extension__", "auto",        "_Noreturn",
                                         "__const",    "__volatile__", "_Thread_local", "thread_local"};
static const char *const base_words[] = {"signed", "__signed__", "unsigned", "char",  "short", "int",
                                         "long",   "float",      "double",   "_Bool", "void"};
#define IS_QUALIFIER(t) ((t)->kind == T_IDENT && in_list((t), qualifiers, sizeof qualifiers / sizeof qualifiers[0]))
#define IS_BASE_WORD(t) ((t)->kind == T_IDENT && in_list((t), base_words, sizeof base_words / sizeof base_words[0]))

static void apply_pack(parse_context *c, const token *t)
{
    if (t->pack_op == PACK_PUSH) {
        if (c->pack_depth >= MAX_NESTING)
            fail(c, E_TOO_LARGE, t, "#pragma pack(push) is nested more than %d levels deep", MAX_NESTING);
        c->pack_stack[c->pack_depth++] = c->pack;
        if (t->pack_value)
            c->pack = t->pack_value;
    } else if (t->pack_op == PACK_POP) {
        c->pack = c->pack_depth ? c->pack_stack[--c->pack_depth] : 0;
    } else {
        c->pack = t->pack_value;
    }
}

static void skip_balanced(parse_context *c, const char *open, const char *close)
{
    int depth = 0;
    do {
        const token *t = next_token(c);
        if (t->kind == T_EOF)
            fail(c, E_SYNTAX, t, "missing '%s'", close);
        if (tok_equals(t, open))
            depth++;
        else if (tok_equals(t, close))
            depth--;
    } while (depth > 0);
}

static void skip_balanced_statement(parse_context *c)
{
    int depth = 0;
    for (;;) {
        const token *t = next_token(c);
        if (t->kind == T_EOF)
            return;
        if (tok_equals(t, "(") || tok_equals(t, "{") || tok_equals(t, "["))
            depth++;
        if (tok_equals(t, ")") || tok_equals(t, "}") || tok_equals(t, "]"))
            depth--;
        if (depth == 0 && tok_equals(t, ";"))
            return;
    }
}

static int64_t constant_identifier(parse_context *c, const token *t)
{
    int64_t *v = map_get(&c->schema->constants, t->text, t->length);
    if (v == NULL)
        fail(c, E_BAD_CONSTANT, t, "'%.*s' is not a constant", (int)t->length, t->text);
    return *v;
}

static bool size_of_in(parse_context *c, const token *tokens, size_t count, size_t at, int64_t *value, size_t *next);

static int64_t evaluate_range(parse_context *c, size_t start, size_t end)
{
    if (end == start)
        fail(c, E_BAD_CONSTANT, peek(c, 0), "expected a constant");
    return evaluate(c, c->tokens + start, end - start, constant_identifier, size_of_in);
}

/* Collects tokens up to (not including) one of the stop words at depth 0 and evaluates them. */
static int64_t constant_until(parse_context *c, const char *const *stops, size_t stop_count)
{
    size_t start = c->pos;
    int depth = 0;
    while (peek(c, 0)->kind != T_EOF) {
        const token *t = peek(c, 0);
        if (depth == 0 && in_list(t, stops, stop_count))
            break;
        if (tok_equals(t, "(") || tok_equals(t, "["))
            depth++;
        if (tok_equals(t, ")") || tok_equals(t, "]"))
            depth--;
        c->pos++;
    }
    size_t end = c->pos;
    return evaluate_range(c, start, end);
}

static uint32_t alignment_value(parse_context *c, int64_t value)
{
    if (!(value >= 1 && value <= (1 << 16)) || (value & (value - 1)) != 0)
        fail(c, E_BAD_CONSTANT, peek(c, 0), "alignment %" PRId64 " is not a power of two", value);
    return (uint32_t)value;
}

static void parse_attributes(parse_context *c, attributes *into)
{
    while (is(c, "__attribute__") || is(c, "__attribute") || is(c, "__declspec")) {
        bool declspec = tok_equals(next_token(c), "__declspec");
        expect(c, "(");
        if (!declspec)
            expect(c, "(");
        while (!is(c, ")")) {
            const token *name = next_token(c);
            if (name->kind == T_EOF)
                fail(c, E_SYNTAX, name, "unterminated __attribute__");
            if (tok_equals(name, ","))
                continue;
            const char *plain = name->text;
            size_t plain_length = name->length;
            if (plain_length > 4 && memcmp(plain, "__", 2) == 0 && memcmp(plain + plain_length - 2, "__", 2) == 0)
                plain += 2, plain_length -= 4;
#define PLAIN(word) (plain_length == strlen(word) && memcmp(plain, word, plain_length) == 0)
            size_t args = 0, args_end = 0;
            if (is(c, "(")) {
                args = c->pos + 1;
                skip_balanced(c, "(", ")");
                args_end = c->pos - 1;
            }
            if (PLAIN("packed")) {
                into->packed = true;
            } else if (PLAIN("aligned") || PLAIN("align")) {
                uint32_t value = args_end == args ? 16 : alignment_value(c, evaluate_range(c, args, args_end));
                if (value > into->aligned)
                    into->aligned = value;
            } else if (PLAIN("scalar_storage_order")) {
                const token *order = args_end > args ? &c->tokens[args] : NULL;
                if (order && tok_equals(order, "\"big-endian\""))
                    into->endian = 2;
                else if (order && tok_equals(order, "\"little-endian\""))
                    into->endian = 1;
                else
                    fail(c, E_SYNTAX, name, "scalar_storage_order must be \"big-endian\" or \"little-endian\"");
            }
#undef PLAIN
            /* Other attributes (unused, deprecated, may_alias, ...) do not change the layout. */
        }
        expect(c, ")");
        if (!declspec)
            expect(c, ")");
    }
}

static specifier specifiers(parse_context *c);
static void declarator_parse(parse_context *c, const specifier *spec, bool abstract, declarator *out);

static uint32_t alignas_argument(parse_context *c)
{
    const token *t = peek(c, 0);
    if (t->kind == T_IDENT &&
        (IS_BASE_WORD(t) || map_get(&c->schema->types, t->text, t->length) ||
         map_get(&c->schema->builtins, t->text, t->length) || tok_equals(t, "struct") || tok_equals(t, "union"))) {
        specifier spec = specifiers(c);
        if (spec.type == NULL)
            fail(c, E_INCOMPLETE, t, "_Alignas of an incomplete type");
        return spec.type->align;
    }
    static const char *const stop[] = {")"};
    return alignment_value(c, constant_until(c, stop, 1));
}

static const char *builtin_name(parse_context *c, const token *const *words, size_t count)
{
    size_t n_unsigned = 0, n_signed = 0, n_long = 0, n_void = 0, n_bool = 0, n_float = 0, n_double = 0, n_char = 0,
           n_short = 0;
    for (size_t k = 0; k < count; k++) {
        const token *w = words[k];
        n_unsigned += tok_equals(w, "unsigned");
        n_signed += tok_equals(w, "signed") || tok_equals(w, "__signed__");
        n_long += tok_equals(w, "long");
        n_void += tok_equals(w, "void");
        n_bool += tok_equals(w, "_Bool");
        n_float += tok_equals(w, "float");
        n_double += tok_equals(w, "double");
        n_char += tok_equals(w, "char");
        n_short += tok_equals(w, "short");
    }
    if (n_unsigned && n_signed)
        fail(c, E_SYNTAX, words[0], "both signed and unsigned");
    if (n_void)
        return "void";
    if (n_bool)
        return "_Bool";
    if (n_float)
        return "float";
    if (n_double)
        return n_long ? "long double" : "double";
    if (n_char)
        return n_unsigned ? "unsigned char" : n_signed ? "signed char" : "char";
    const char *base = n_short ? "short" : n_long >= 2 ? "long long" : n_long == 1 ? "long" : "int";
    if (!n_unsigned)
        return base;
    return n_short       ? "unsigned short"
           : n_long >= 2 ? "unsigned long long"
           : n_long == 1 ? "unsigned long"
                         : "unsigned int";
}

static cschema_type *pointer_type(parse_context *c, const char *to)
{
    const target_model *m = c->schema->model;
    cschema_type *t =
        new_int(c, printf_text(c, "%s *", to), m->pointer, false, m->pointer == 8 ? m->long_long_align : m->pointer);
    t->kind = K_POINTER;
    return t;
}

static cschema_type *array_of(parse_context *c, cschema_type *element, bool flexible, uint32_t length,
                              const token *where)
{
    cschema_type *t = alloc(c, sizeof *t);
    t->kind = K_ARRAY;
    t->element = element;
    t->flexible = flexible;
    t->length = flexible ? 0 : length;
    uint64_t size = (uint64_t)t->length * element->size;
    if (size > MAX_TYPE_SIZE)
        fail(c, E_TOO_LARGE, where, "an array of %" PRIu64 " bytes is larger than sipc decodes (%u MiB)", size,
             MAX_TYPE_SIZE >> 20);
    t->size = (uint32_t)size;
    t->align = element->align;
    t->depth = element->depth + 1;
    if (t->depth > MAX_NESTING)
        fail(c, E_TOO_LARGE, where, "types are nested more than %d levels deep", MAX_NESTING);
    char dims[32];
    if (flexible)
        dims[0] = '\0';
    else
        snprintf(dims, sizeof dims, "%u", length);
    if (element->kind == K_ARRAY) {
        const char *bracket = strchr(element->name, '[');
        size_t head = bracket ? (size_t)(bracket - element->name) : strlen(element->name);
        t->name = printf_text(c, "%.*s[%s]%s", (int)head, element->name, dims, element->name + head);
    } else {
        t->name = printf_text(c, "%s[%s]", element->name, dims);
    }
    return t;
}

static void register_type(parse_context *c, const char *name, cschema_type *type, const token *where)
{
    cschema_type *existing = map_get(&c->schema->types, name, strlen(name));
    if (existing && existing != type)
        fail(c, E_REDEFINED, where, "%s is defined twice", name);
    if (!map_put(&c->schema->types, name, strlen(name), type))
        fail(c, E_NO_MEMORY, where, "out of memory");
}

/* gcc: unsigned int when no value is negative and all fit, else int, else 64 bits; packed picks the smallest. */
static cschema_type *enum_base(parse_context *c, int64_t min, int64_t max, bool packed)
{
    static const uint32_t packed_sizes[] = {1, 2, 4, 8}, plain_sizes[] = {4, 8};
    const uint32_t *sizes = packed ? packed_sizes : plain_sizes;
    size_t count = packed ? 4 : 2;
    for (size_t k = 0; k < count; k++) {
        uint32_t size = sizes[k];
        for (int s = min < 0 ? 1 : 0; s <= 1; s++) {
            bool fits;
            if (size == 8)
                fits = s == 1 || min >= 0; /* int64_t holds every value here; uint64_t every non-negative one */
            else if (s)
                fits = min >= -((int64_t)1 << (size * 8 - 1)) && max < ((int64_t)1 << (size * 8 - 1));
            else
                fits = min >= 0 && max < ((int64_t)1 << (size * 8));
            if (fits) {
                uint32_t align = size == 8 ? c->schema->model->long_long_align : size;
                return new_int(c, printf_text(c, "%sint%u_t", s ? "" : "u", size * 8), size, s == 1, align);
            }
        }
    }
    fail(c, E_BAD_CONSTANT, peek(c, 0), "enum values do not fit 64 bits");
}

static cschema_type *enum_specifier(parse_context *c)
{
    expect(c, "enum");
    attributes attrs = {0};
    parse_attributes(c, &attrs);
    const token *tag = NULL;
    if (peek(c, 0)->kind == T_IDENT && !is(c, "{") && !is(c, ":"))
        tag = next_token(c);
    parse_attributes(c, &attrs);
    cschema_type *fixed = NULL;
    if ((tag != NULL || is(c, ":")) && accept(c, ":")) {
        const token *at = peek(c, 0);
        specifier spec = specifiers(c);
        if (spec.type == NULL || spec.type->kind != K_INT)
            fail(c, E_UNKNOWN_TYPE, at, "an enum base must be an integer type");
        fixed = spec.type;
    }
    const char *key = tag ? printf_text(c, "enum %.*s", (int)tag->length, tag->text) : NULL;
    if (!is(c, "{")) {
        cschema_type *known = key ? map_get(&c->schema->types, key, strlen(key)) : NULL;
        if (known == NULL || known->kind != K_ENUM)
            fail(c, E_INCOMPLETE, peek(c, 0), "enum %.*s is not defined", tag ? (int)tag->length : 0,
                 tag ? tag->text : "");
        return known;
    }
    expect(c, "{");
    size_t capacity = 16, count = 0;
    enumerator *items = alloc(c, capacity * sizeof *items);
    int64_t next_value = 0, min = 0, max = 0;
    bool have_next = true;
    while (!accept(c, "}")) {
        const token *name = next_token(c);
        if (name->kind != T_IDENT)
            fail(c, E_SYNTAX, name, "expected an enumerator name");
        attributes ignored = {0};
        parse_attributes(c, &ignored);
        if (accept(c, "=")) {
            static const char *const stop[] = {",", "}"};
            next_value = constant_until(c, stop, 2);
            have_next = true;
        }
        if (!have_next)
            fail(c, E_UNSUPPORTED, name, "enum value after %" PRId64 " does not fit a signed 64-bit integer",
                 next_value);
        if (map_get(&c->schema->constants, name->text, name->length))
            fail(c, E_REDEFINED, name, "%.*s is defined twice", (int)name->length, name->text);
        items = grow_in_arena(c, items, count, &capacity, sizeof *items);
        items[count].name = token_text(c, name);
        items[count].value = next_value;
        int64_t *stored = alloc(c, sizeof *stored);
        *stored = next_value;
        if (!map_put(&c->schema->constants, items[count].name, name->length, stored))
            fail(c, E_NO_MEMORY, name, "out of memory");
        if (next_value < min)
            min = next_value;
        if (next_value > max)
            max = next_value;
        count++;
        if (next_value == INT64_MAX)
            have_next = false;
        else
            next_value++;
        if (!accept(c, ",")) {
            expect(c, "}");
            break;
        }
    }
    parse_attributes(c, &attrs);
    cschema_type *base = fixed ? fixed : enum_base(c, min, max, attrs.packed);
    cschema_type *t = alloc(c, sizeof *t);
    t->kind = K_ENUM;
    t->name = key ? key : "enum <anonymous>";
    t->anonymous = key == NULL;
    t->base = base;
    t->size = base->size;
    t->align = base->align;
    t->depth = 1;
    t->enumerators = items;
    t->enumerator_count = count;
    if (key)
        register_type(c, key, t, tag);
    return t;
}

typedef struct member {
    declarator d;
    uint32_t alignas;
} member;

static uint32_t align_up(uint64_t value, uint32_t align)
{
    return (uint32_t)((value + align - 1) / align * align);
}

static void check_names(parse_context *c, const char *record, const field *fields, size_t count, map *names)
{
    for (size_t k = 0; k < count; k++) {
        const field *f = &fields[k];
        if (f->name[0] == '\0' && (f->type->kind == K_STRUCT || f->type->kind == K_UNION)) {
            check_names(c, record, f->type->fields, f->type->field_count, names);
            continue;
        }
        if (map_get(names, f->name, strlen(f->name)))
            fail(c, E_REDEFINED, NULL, "%s has two members named %s", record, f->name);
        if (!map_put(names, f->name, strlen(f->name), (void *)f))
            fail(c, E_NO_MEMORY, NULL, "out of memory");
    }
}

static cschema_type *layout(parse_context *c, type_kind kind, const char *name, member *members, size_t count,
                            const attributes *attrs)
{
    const target_model *model = c->schema->model;
    field *fields = alloc(c, (count ? count : 1) * sizeof *fields);
    size_t field_count = 0;
    uint64_t bit_pos = 0; /* struct: next free bit; union: the largest member in bits */
    uint32_t record_align = 1;
    unsigned depth = 1;
    int endian = attrs->endian;
    bool big = endian ? endian == 2 : c->schema->big_endian;
    for (size_t index = 0; index < count; index++) {
        const declarator *d = &members[index].d;
        cschema_type *type = d->type;
        if (type == NULL)
            fail(c, E_INCOMPLETE, d->where, "member %s of %s has an incomplete type",
                 d->name[0] ? d->name : "(anonymous)", name);
        if (type->kind == K_ARRAY && type->flexible && (index != count - 1 || kind == K_UNION))
            fail(c, E_SYNTAX, d->where, "flexible array member %s must be the last member of a struct", d->name);
        if (type->depth + 1 > depth)
            depth = type->depth + 1;
        bool packed = attrs->packed || d->attrs.packed;
        uint32_t field_align = packed ? 1 : type->align;
        uint32_t user_align = d->attrs.aligned > members[index].alignas ? d->attrs.aligned : members[index].alignas;
        if (user_align > field_align)
            field_align = user_align;
        if (c->pack && (uint32_t)c->pack < field_align)
            field_align = (uint32_t)c->pack;
        if (d->has_bit_width) {
            if (type->kind != K_INT && type->kind != K_ENUM)
                fail(c, E_BAD_BITFIELD, d->where, "bit-field %s must have an integer or enum type", d->name);
            if (d->bit_width > type->size * 8)
                fail(c, E_BAD_BITFIELD, d->where, "bit-field %s is wider than its type", d->name);
            if (d->bit_width == 0 && d->name[0])
                fail(c, E_BAD_BITFIELD, d->where, "zero-width bit-field %s must be unnamed", d->name);
            if (model->ms_bitfields)
                fail(c, E_UNSUPPORTED, d->where, "bit-fields are not supported for %s (Microsoft layout)", model->name);
            if (big)
                fail(c, E_UNSUPPORTED, d->where, "bit-fields in big-endian records are not supported yet");
            uint32_t unit_bits = type->size * 8;
            uint32_t pack_align = c->pack && (uint32_t)c->pack < type->align ? (uint32_t)c->pack : type->align;
            uint32_t type_align_bits = pack_align * 8;
            if (kind == K_UNION) {
                /* An unnamed bit-field is padding (C11 6.7.2.1p12): it adds to the union's size, names no member. */
                if (d->bit_width > 0 && d->name[0])
                    fields[field_count++] = (field){d->name, type, 0, true, 0, (uint8_t)d->bit_width};
                if (d->bit_width > bit_pos)
                    bit_pos = d->bit_width;
            } else if (d->bit_width == 0) {
                /* gcc and clang align to the type's own alignment here, even when packed. */
                bit_pos = (bit_pos + type->align * 8 - 1) / (type->align * 8) * (type->align * 8);
                if (model->zero_width_bitfield_aligns && type->align > record_align)
                    record_align = type->align;
            } else {
                /* System V: a bit-field that would straddle a unit of its type's alignment starts the next one,
                 * unless it is packed or a #pragma pack is in force. */
                if (!packed && c->pack == 0 && (bit_pos % type_align_bits) + d->bit_width > unit_bits)
                    bit_pos = (bit_pos + type_align_bits - 1) / type_align_bits * type_align_bits;
                if (d->name[0]) {
                    if (bit_pos / 8 > MAX_TYPE_SIZE)
                        fail(c, E_TOO_LARGE, d->where, "%s is larger than sipc decodes", name);
                    fields[field_count++] = (field){
                        d->name, type, (uint32_t)(bit_pos / 8), true, (uint8_t)(bit_pos % 8), (uint8_t)d->bit_width};
                }
                bit_pos += d->bit_width;
            }
            /* Unnamed bit-fields do not affect the record's alignment on System V x86; on ARM (AAPCS) they do. */
            if ((d->name[0] || model->zero_width_bitfield_aligns) && field_align > record_align)
                record_align = field_align;
            continue;
        }
        uint64_t offset = kind == K_UNION ? 0 : align_up((bit_pos + 7) / 8, field_align);
        if (offset + type->size > MAX_TYPE_SIZE)
            fail(c, E_TOO_LARGE, d->where, "%s is larger than sipc decodes (%u MiB)", name, MAX_TYPE_SIZE >> 20);
        fields[field_count++] = (field){d->name, type, (uint32_t)offset, false, 0, 0};
        if (kind == K_UNION) {
            if ((uint64_t)type->size * 8 > bit_pos)
                bit_pos = (uint64_t)type->size * 8;
        } else {
            bit_pos = (offset + type->size) * 8;
        }
        if (field_align > record_align)
            record_align = field_align;
    }
    if (attrs->aligned > record_align)
        record_align = attrs->aligned;
    uint64_t size = align_up((bit_pos + 7) / 8, record_align);
    if (size > MAX_TYPE_SIZE)
        fail(c, E_TOO_LARGE, NULL, "%s is larger than sipc decodes (%u MiB)", name, MAX_TYPE_SIZE >> 20);
    if (depth > MAX_NESTING)
        fail(c, E_TOO_LARGE, NULL, "types are nested more than %d levels deep", MAX_NESTING);
    cschema_type *t = alloc(c, sizeof *t);
    t->kind = kind;
    t->name = name;
    t->fields = fields;
    t->field_count = field_count;
    t->size = (uint32_t)size;
    t->align = record_align;
    t->endian = endian;
    t->depth = depth;
    if (c->names.capacity)
        memset(c->names.entries, 0, c->names.capacity * sizeof *c->names.entries);
    c->names.used = 0;
    check_names(c, name, fields, field_count, &c->names);
    return t;
}

static cschema_type *record_specifier(parse_context *c, const char **spelled, bool *anonymous)
{
    const token *kind_token = next_token(c);
    type_kind kind = tok_equals(kind_token, "union") ? K_UNION : K_STRUCT;
    const char *kind_name = kind == K_UNION ? "union" : "struct";
    attributes attrs = {0};
    parse_attributes(c, &attrs);
    const token *tag = peek(c, 0)->kind == T_IDENT ? next_token(c) : NULL;
    parse_attributes(c, &attrs);
    const char *key = tag ? printf_text(c, "%s %.*s", kind_name, (int)tag->length, tag->text) : NULL;
    *anonymous = false;
    if (!is(c, "{")) {
        if (key == NULL)
            fail(c, E_SYNTAX, peek(c, 0), "%s needs a name or a body", kind_name);
        *spelled = key;
        return map_get(&c->schema->types, key, strlen(key));
    }
    if (++c->nesting > MAX_NESTING)
        fail(c, E_TOO_LARGE, kind_token, "records are nested more than %d levels deep", MAX_NESTING);
    expect(c, "{");
    size_t capacity = 8, count = 0;
    member *members = alloc(c, capacity * sizeof *members);
    while (!accept(c, "}")) {
        const token *t = peek(c, 0);
        if (t->kind == T_PACK) {
            apply_pack(c, t);
            c->pos++;
            continue;
        }
        if (t->kind == T_EOF)
            fail(c, E_SYNTAX, t, "missing '}'");
        if (accept(c, ";"))
            continue;
        if (is(c, "_Static_assert") || is(c, "static_assert")) {
            skip_balanced_statement(c);
            continue;
        }
        specifier spec = specifiers(c);
        bool anonymous_member = is(c, ";");
        if (anonymous_member)
            c->pos++;
        for (; !anonymous_member || (spec.anonymous_record && spec.type);) {
            members = grow_in_arena(c, members, count, &capacity, sizeof *members);
            if (anonymous_member) {
                members[count++] = (member){{"", spec.type, false, false, 0, {0}, peek(c, 0)}, spec.alignas};
                break;
            }
            declarator d;
            declarator_parse(c, &spec, false, &d);
            if (d.function)
                fail(c, E_SYNTAX, d.where, "a struct cannot contain a function");
            members[count++] = (member){d, spec.alignas};
            if (accept(c, ","))
                continue;
            expect(c, ";");
            break;
        }
    }
    parse_attributes(c, &attrs);
    const char *name = key ? key : printf_text(c, "%s <anonymous %u>", kind_name, ++c->anonymous_count);
    cschema_type *type = layout(c, kind, name, members, count, &attrs);
    type->anonymous = key == NULL;
    if (key)
        register_type(c, key, type, tag);
    c->nesting--;
    *spelled = type->name;
    *anonymous = key == NULL;
    return type;
}

static specifier specifiers(parse_context *c)
{
    specifier spec = {0};
    const token *words[16];
    size_t word_count = 0;
    bool have_type = false;
    for (;;) {
        const token *t = peek(c, 0);
        if (t->kind == T_PACK) {
            apply_pack(c, t);
            c->pos++;
            continue;
        }
        if (t->kind != T_IDENT)
            break;
        if (tok_equals(t, "typedef")) {
            spec.is_typedef = true;
            c->pos++;
            continue;
        }
        if (IS_QUALIFIER(t)) {
            c->pos++;
            continue;
        }
        if (tok_equals(t, "__attribute__") || tok_equals(t, "__attribute") || tok_equals(t, "__declspec")) {
            attributes ignored = {0};
            parse_attributes(c, &ignored);
            continue;
        }
        if (tok_equals(t, "_Alignas") || tok_equals(t, "alignas")) {
            c->pos++;
            expect(c, "(");
            uint32_t value = alignas_argument(c);
            if (value > spec.alignas)
                spec.alignas = value;
            expect(c, ")");
            continue;
        }
        if (IS_BASE_WORD(t)) {
            if (word_count >= sizeof words / sizeof words[0])
                fail(c, E_SYNTAX, t, "too many type words");
            words[word_count++] = t;
            c->pos++;
            continue;
        }
        if (have_type || word_count > 0)
            break;
        if (tok_equals(t, "struct") || tok_equals(t, "union")) {
            spec.type = record_specifier(c, &spec.spelled, &spec.anonymous_record);
            have_type = true;
            continue;
        }
        if (tok_equals(t, "enum")) {
            spec.type = enum_specifier(c);
            spec.spelled = spec.type->name;
            have_type = true;
            continue;
        }
        cschema_type *named = map_get(&c->schema->types, t->text, t->length);
        if (named == NULL)
            named = map_get(&c->schema->builtins, t->text, t->length);
        if (named) {
            spec.type = named;
            spec.spelled = token_text(c, t);
            have_type = true;
            c->pos++;
            continue;
        }
        break;
    }
    if (word_count > 0) {
        const char *name = builtin_name(c, words, word_count);
        spec.spelled = name;
        spec.type = strcmp(name, "void") == 0 ? NULL : map_get(&c->schema->builtins, name, strlen(name));
        have_type = true;
    }
    if (!have_type) {
        const token *t = peek(c, 0);
        if (t->kind == T_EOF)
            fail(c, E_UNKNOWN_TYPE, t, "a declaration ends too early");
        fail(c, E_UNKNOWN_TYPE, t, "unknown type name '%.*s'", (int)t->length, t->text);
    }
    return spec;
}

static size_t array_dimensions(parse_context *c, bool *flexible, uint32_t *dims, size_t max)
{
    size_t count = 0;
    *flexible = false;
    while (accept(c, "[")) {
        if (count >= max)
            fail(c, E_TOO_LARGE, peek(c, 0), "an array has more than %zu dimensions", max);
        if (accept(c, "]")) {
            if (count > 0)
                fail(c, E_SYNTAX, peek(c, 0), "only the first array dimension may be empty");
            *flexible = true;
            dims[count++] = 0;
            continue;
        }
        const token *at = peek(c, 0);
        static const char *const stop[] = {"]"};
        int64_t n = constant_until(c, stop, 1);
        if (n < 0 || n > ((int64_t)1 << 31))
            fail(c, E_BAD_CONSTANT, at, "array length %" PRId64 " is out of range", n);
        dims[count++] = (uint32_t)n;
        expect(c, "]");
    }
    return count;
}

static void declarator_parse(parse_context *c, const specifier *spec, bool abstract, declarator *d)
{
    memset(d, 0, sizeof *d);
    d->where = peek(c, 0);
    d->name = "";
    parse_attributes(c, &d->attrs);
    unsigned pointers = 0;
    while (accept(c, "*")) {
        if (++pointers > MAX_NESTING)
            fail(c, E_TOO_LARGE, d->where, "too many '*'");
        while (IS_QUALIFIER(peek(c, 0)))
            c->pos++;
        parse_attributes(c, &d->attrs);
    }
    uint32_t dims[16];
    bool flexible = false;
    if (is(c, "(") && tok_is(peek(c, 1), "*")) {
        /* (*name)(params) or (*name[N])(params): a function pointer */
        c->pos += 2;
        if (peek(c, 0)->kind == T_IDENT)
            d->name = token_text(c, next_token(c));
        size_t n = array_dimensions(c, &flexible, dims, 16);
        expect(c, ")");
        if (is(c, "("))
            skip_balanced(c, "(", ")");
        cschema_type *type = pointer_type(c, "function");
        for (size_t k = n; k > 0; k--)
            type = array_of(c, type, flexible && k == 1, dims[k - 1], d->where);
        parse_attributes(c, &d->attrs);
        d->type = type;
        return;
    }
    const token *t = peek(c, 0);
    if (t->kind == T_IDENT && !abstract)
        d->name = token_text(c, next_token(c));
    else if (t->kind == T_IDENT && abstract && !map_get(&c->schema->types, t->text, t->length))
        d->name = token_text(c, next_token(c));
    if (is(c, "(")) {
        skip_balanced(c, "(", ")");
        attributes ignored = {0};
        parse_attributes(c, &ignored);
        d->function = true;
        return;
    }
    size_t n = array_dimensions(c, &flexible, dims, 16);
    parse_attributes(c, &d->attrs);
    if (accept(c, ":")) {
        const token *at = peek(c, 0);
        static const char *const stop[] = {",", ";", "__attribute__"};
        int64_t width = constant_until(c, stop, 3);
        if (width < 0 || width > 64)
            fail(c, E_BAD_BITFIELD, at, "bit-field width %" PRId64 " is out of range", width);
        d->has_bit_width = true;
        d->bit_width = (uint32_t)width;
        parse_attributes(c, &d->attrs);
    }
    cschema_type *type = spec->type;
    if (pointers > 0) {
        char to[512];
        snprintf(to, sizeof to, "%s", spec->spelled ? spec->spelled : "void");
        for (unsigned k = 1; k < pointers && strlen(to) + 3 < sizeof to; k++)
            strcat(to, " *");
        type = pointer_type(c, to);
    }
    if (n > 0) {
        if (type == NULL)
            fail(c, E_INCOMPLETE, d->where, "array of incomplete type %s", spec->spelled ? spec->spelled : "void");
        for (size_t k = n; k > 0; k--)
            type = array_of(c, type, flexible && k == 1, dims[k - 1], d->where);
    }
    d->type = type;
}

/* sizeof(type) inside a constant expression (only over the parser's own tokens). */
static bool size_of_in(parse_context *c, const token *tokens, size_t count, size_t at, int64_t *value, size_t *next)
{
    if (at >= count || !tok_equals(&tokens[at], "(") || tokens < c->tokens || tokens >= c->tokens + c->count)
        return false;
    size_t base = (size_t)(tokens - c->tokens);
    size_t saved = c->pos;
    c->pos = base + at + 1;
    specifier spec = specifiers(c);
    declarator d;
    declarator_parse(c, &spec, true, &d);
    if (d.function || d.type == NULL)
        fail(c, E_BAD_CONSTANT, &tokens[at], "sizeof of an incomplete type");
    expect(c, ")");
    if (c->pos > base + count)
        fail(c, E_BAD_CONSTANT, &tokens[at], "sizeof(...) runs past its expression");
    *value = d.type->size;
    *next = c->pos - base;
    c->pos = saved;
    return true;
}

static void define_typedef(parse_context *c, const declarator *d)
{
    if (d->type == NULL)
        fail(c, E_INCOMPLETE, d->where, "typedef %s names an incomplete type", d->name);
    cschema_type *existing = map_get(&c->schema->types, d->name, strlen(d->name));
    if (existing && existing != d->type)
        fail(c, E_REDEFINED, d->where, "%s is defined twice", d->name);
    /* Untagged records and enums are known by their typedef name. */
    if (d->type->anonymous) {
        d->type->name = d->name;
        d->type->anonymous = false;
    }
    if (!map_put(&c->schema->types, d->name, strlen(d->name), d->type))
        fail(c, E_NO_MEMORY, d->where, "out of memory");
}

static void skip_initializer(parse_context *c)
{
    int depth = 0;
    while (peek(c, 0)->kind != T_EOF) {
        if (depth == 0 && (is(c, ",") || is(c, ";")))
            return;
        const token *t = next_token(c);
        if (tok_equals(t, "{") || tok_equals(t, "("))
            depth++;
        if (tok_equals(t, "}") || tok_equals(t, ")"))
            depth--;
    }
}

static void top_level_declaration(parse_context *c)
{
    specifier spec = specifiers(c);
    if (accept(c, ";"))
        return; /* "struct x {...};" or "enum e {...};" */
    for (;;) {
        declarator d;
        declarator_parse(c, &spec, false, &d);
        if (d.function) {
            if (is(c, "{")) {
                skip_balanced(c, "{", "}");
                return;
            }
        } else if (spec.is_typedef) {
            define_typedef(c, &d);
        } else if (accept(c, "=")) {
            skip_initializer(c);
        }
        if (accept(c, ","))
            continue;
        expect(c, ";");
        return;
    }
}

static void parse_declarations(parse_context *c)
{
    while (peek(c, 0)->kind != T_EOF) {
        const token *t = peek(c, 0);
        if (t->kind == T_PACK) {
            apply_pack(c, t);
            c->pos++;
            continue;
        }
        if (accept(c, ";") || accept(c, "}"))
            continue; /* '}' closes an extern "C" { block */
        if (is(c, "extern") && peek(c, 1)->kind == T_STRING) {
            c->pos += 2;
            accept(c, "{");
            continue;
        }
        if (is(c, "_Static_assert") || is(c, "static_assert")) {
            skip_balanced_statement(c);
            continue;
        }
        top_level_declaration(c);
    }
}

/* Object-like #defines that are integer constants become constants (for tag cases); the others are ignored. */
static void define_constant(parse_context *c, const map_entry *e)
{
    macro *m = e->key ? e->value : NULL;
    if (m == NULL || m->function_like || m->count == 0 || map_get(&c->schema->constants, e->key, e->length))
        return;
    jmp_buf saved;
    memcpy(saved, c->fail, sizeof saved);
    if (setjmp(c->fail) == 0) {
        c->expanded.count = 0;
        expand(c, m->body, m->count, NULL, NULL, 0, &c->expanded);
        int64_t value = evaluate(c, c->expanded.items, c->expanded.count, constant_identifier, NULL);
        int64_t *stored = alloc(c, sizeof *stored);
        *stored = value;
        if (!map_put(&c->schema->constants, e->key, e->length, stored))
            fail(c, E_NO_MEMORY, NULL, "out of memory");
    }
    memcpy(c->fail, saved, sizeof saved);
    if (c->error_size)
        c->error[0] = '\0';
}

static void define_constants(parse_context *c)
{
    for (size_t k = 0; k < c->macros.capacity; k++) {
        define_constant(c, &c->macros.entries[k]);
    }
}
static const target_model *find_target(const char *name)
{
    if (name == NULL)
        return &targets[0];
    for (size_t k = 0; k < sizeof targets / sizeof targets[0]; k++)
        if (strcmp(targets[k].name, name) == 0)
            return &targets[k];
    return NULL;
}

cschema *cschema_parse(const char *text, size_t length, const char *file, const cschema_options *options,
                       cschema_include_reader reader, void *reader_context, char *error, size_t error_size)
{
    if (error_size > 0)
        error[0] = '\0';
    const target_model *model = find_target(options ? options->target : NULL);
    if (model == NULL) {
        snprintf(error, error_size,
                 "unknown target '%s' (x86_64-linux, aarch64-linux, i386-linux, arm-linux, x86_64-windows)",
                 options->target);
        return NULL;
    }
    cschema *schema = calloc(1, sizeof *schema);
    if (schema == NULL) {
        snprintf(error, error_size, "out of memory");
        return NULL;
    }
    schema->model = model;
    schema->big_endian = options && options->big_endian;
    /* volatile: the context is read after a longjmp back here. */
    parse_context *volatile c = calloc(1, sizeof *c);
    if (c == NULL) {
        free(schema);
        snprintf(error, error_size, "out of memory");
        return NULL;
    }
    c->error = error;
    c->error_size = error_size;
    c->schema = schema;
    c->reader = reader;
    c->reader_context = reader_context;
    volatile bool ok = false;
    if (setjmp(c->fail) == 0) {
        add_builtins(c);
        char *copy = copy_text(c, text, length);
        run_file(c, copy, length, file ? file : "schema.h");
        token end = {.kind = T_EOF, .text = "", .file = 0, .line = 0};
        push_token(c, &c->out, &end);
        c->tokens = c->out.items;
        c->count = c->out.count;
        parse_declarations(c);
        define_constants(c);
        ok = true;
    }
    free(c->out.items);
    free(c->line.items);
    free(c->resolved.items);
    free(c->expanded.items);
    map_free(&c->names);
    free(c->files);
    map_free(&c->macros);
    free(c);
    if (!ok) {
        cschema_free(schema);
        return NULL;
    }
    return schema;
}

void cschema_free(cschema *schema)
{
    if (schema == NULL)
        return;
    map_free(&schema->types);
    map_free(&schema->builtins);
    map_free(&schema->constants);
    arena_free(&schema->arena);
    free(schema);
}

/* ---- files ---- */

static char *read_whole_file(const char *path, size_t *length)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t capacity = 4096, n = 0;
    char *data = malloc(capacity);
    while (data) {
        if (n == capacity) {
            if (capacity >= MAX_SOURCE_BYTES) {
                free(data);
                data = NULL;
                errno = EFBIG;
                break;
            }
            char *larger = realloc(data, capacity * 2);
            if (larger == NULL) {
                free(data);
                data = NULL;
                break;
            }
            data = larger;
            capacity *= 2;
        }
        size_t got = fread(data + n, 1, capacity - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (data && ferror(f)) {
        free(data);
        data = NULL;
    }
    fclose(f);
    *length = n;
    return data;
}

static char *read_include(void *context, const char *name, const char *from, size_t *length, char *resolved,
                          size_t resolved_size)
{
    (void)context;
    const char *slash = strrchr(from, '/');
#if defined(_WIN32)
    const char *backslash = strrchr(from, '\\');
    if (backslash && (!slash || backslash > slash))
        slash = backslash;
#endif
    int n = name[0] == '/' || slash == NULL
                ? snprintf(resolved, resolved_size, "%s", name)
                : snprintf(resolved, resolved_size, "%.*s/%s", (int)(slash - from), from, name);
    if (n < 0 || (size_t)n >= resolved_size)
        return NULL;
    return read_whole_file(resolved, length);
}

cschema *cschema_parse_file(const char *path, const cschema_options *options, char *error, size_t error_size)
{
    size_t length = 0;
    char *text = read_whole_file(path, &length);
    if (text == NULL) {
        snprintf(error, error_size, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    cschema *schema = cschema_parse(text, length, path, options, read_include, NULL, error, error_size);
    free(text);
    return schema;
}

/* ---- lookups ---- */

const cschema_type *cschema_lookup(const cschema *schema, const char *name)
{
    char normal[512];
    size_t n = 0;
    bool space = false;
    for (const char *p = name; *p; p++) {
        if (*p == ' ' || *p == '\t' || *p == '\n') {
            space = n > 0;
            continue;
        }
        if (space && n + 1 < sizeof normal)
            normal[n++] = ' ';
        space = false;
        if (n + 1 >= sizeof normal)
            return NULL;
        normal[n++] = *p;
    }
    normal[n] = '\0';
    cschema_type *t = map_get(&schema->types, normal, n);
    if (t == NULL)
        t = map_get(&schema->builtins, normal, n);
    if (t)
        return t;
    const cschema_type *found = NULL;
    int matches = 0;
    static const char *kinds[] = {"struct", "union", "enum"};
    for (size_t k = 0; k < 3; k++) {
        char key[600];
        int length = snprintf(key, sizeof key, "%s %s", kinds[k], normal);
        if (length < 0 || (size_t)length >= sizeof key)
            continue;
        cschema_type *candidate = map_get(&schema->types, key, (size_t)length);
        if (candidate) {
            found = candidate;
            matches++;
        }
    }
    return matches == 1 ? found : NULL;
}

const char *cschema_type_name(const cschema_type *type)
{
    return type->name;
}

size_t cschema_type_size(const cschema_type *type)
{
    return type->size;
}

bool cschema_type_is_integer(const cschema_type *type)
{
    return type->kind == K_INT || type->kind == K_ENUM;
}

bool cschema_constant(const cschema *schema, const char *name, int64_t *value)
{
    int64_t *v = map_get(&schema->constants, name, strlen(name));
    if (v)
        *value = *v;
    return v != NULL;
}

/* ---- decoder (decoder.ts) ---- */

typedef struct decoder {
    const uint8_t *bytes;
    size_t length;
    bool big_endian; /* the schema's default */
    cschema_output output;
    cli_buffer *out;
    cli_buffer problems; /* JSON: ",{...}" per problem; text: "  problem ...\n" lines */
    size_t problem_count;
    bool root_missing; /* a TOO_SHORT problem about the message as a whole was reported */
    bool ok;
    char path[4096]; /* the current field's path ("a.b[3]"), as filters write it */
    size_t path_length;
} decoder;

static void emit(decoder *d, const char *format, ...) __attribute__((format(CLI_PRINTF, 2, 3)));
static void emit(decoder *d, const char *format, ...)
{
    char buffer[512];
    va_list args;
    va_start(args, format);
    int n = vsnprintf(buffer, sizeof buffer, format, args);
    va_end(args);
    if (n < 0)
        d->ok = false;
    else if (d->ok)
        d->ok = cli_buffer_append(d->out, buffer, (size_t)n < sizeof buffer ? (size_t)n : sizeof buffer - 1);
}

static void emit_raw(decoder *d, const char *text, size_t length)
{
    if (d->ok)
        d->ok = cli_buffer_append(d->out, text, length);
}

static void problem(decoder *d, const char *code, const char *format, ...) __attribute__((format(CLI_PRINTF, 3, 4)));
static void problem(decoder *d, const char *code, const char *format, ...)
{
    char message[1024];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    const char *path = d->path_length ? d->path : "";
    if (d->output == CSCHEMA_JSON) {
        d->ok = d->ok &&
                cli_buffer_printf(&d->problems, "%s{\"code\":\"%s\",\"path\":", d->problem_count ? "," : "", code) &&
                cli_append_json_string(&d->problems, path, strlen(path)) &&
                cli_buffer_append_str(&d->problems, ",\"message\":") &&
                cli_append_json_string(&d->problems, message, strlen(message)) &&
                cli_buffer_append_str(&d->problems, "}");
    } else {
        d->ok = d->ok && cli_buffer_printf(&d->problems, "  problem %s: %s\n", code, message);
    }
    d->problem_count++;
}

static bool fits(const decoder *d, uint64_t offset, uint64_t size)
{
    return offset <= d->length && size <= d->length - offset;
}

static uint64_t read_uint(const decoder *d, size_t offset, size_t size, bool big)
{
    uint64_t v = 0;
    for (size_t i = 0; i < size; i++)
        v = (v << 8) | d->bytes[offset + (big ? i : size - 1 - i)];
    return v;
}

static int64_t sign_extend(uint64_t v, unsigned bits)
{
    if (bits < 64 && (v >> (bits - 1)) & 1u)
        v |= ~(uint64_t)0 << bits;
    int64_t s;
    memcpy(&s, &v, sizeof s);
    return s;
}

/* Shortest text that reads back as the same double (what JavaScript's String(number) gives, in C's notation). */
static void format_double(double v, char *out, size_t size)
{
    if (isnan(v)) {
        snprintf(out, size, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, size, v > 0 ? "inf" : "-inf");
        return;
    }
    if (v == 0) {
        snprintf(out, size, signbit(v) ? "-0" : "0");
        return;
    }
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(out, size, "%.*g", precision, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

static void path_push(decoder *d, const char *name, bool index, size_t i, size_t *saved)
{
    *saved = d->path_length;
    size_t room = sizeof d->path - d->path_length;
    int n;
    if (index)
        n = snprintf(d->path + d->path_length, room, "[%zu]", i);
    else
        n = snprintf(d->path + d->path_length, room, "%s%s", d->path_length ? "." : "", name);
    if (n > 0)
        d->path_length += (size_t)n < room ? (size_t)n : room - 1;
}

static void path_pop(decoder *d, size_t saved)
{
    d->path_length = saved;
    d->path[saved] = '\0';
}

/* A leaf's display text (text output) and JSON value. */
static void leaf(decoder *d, const char *display, const char *json)
{
    if (d->output == CSCHEMA_JSON)
        emit_raw(d, json, strlen(json));
    else {
        emit_raw(d, "  ", 2);
        emit_raw(d, d->path_length ? d->path : "(value)", d->path_length ? d->path_length : 7);
        emit_raw(d, " = ", 3);
        emit_raw(d, display, strlen(display));
        emit_raw(d, "\n", 1);
    }
}

static void missing(decoder *d, uint64_t offset, uint64_t size)
{
    if (d->path_length == 0)
        d->root_missing = true;
    problem(d, "TOO_SHORT", "%s: bytes %" PRIu64 "\xe2\x80\x93%" PRIu64 " are missing",
            d->path_length ? d->path : "message", offset, offset + size - 1);
    leaf(d, "(missing)", "null");
}

/* The last `absent` of an array's `length` elements (from byte `from` on) lie beyond the message: one problem. */
static void missing_elements(decoder *d, uint64_t from, uint64_t absent, uint64_t length, uint64_t element_size)
{
    if (d->path_length == 0)
        d->root_missing = true;
    problem(d, "TOO_SHORT",
            "%s: bytes %" PRIu64 "\xe2\x80\x93%" PRIu64 " are missing (%" PRIu64 " of its %" PRIu64 " element%s)",
            d->path_length ? d->path : "message", from, from + absent * element_size - 1, absent, length,
            length == 1 ? "" : "s");
}

static void int_value(decoder *d, const cschema_type *type, uint64_t raw, unsigned bits)
{
    const cschema_type *base = type->kind == K_ENUM ? type->base : type;
    int64_t s = base->is_signed ? sign_extend(raw, bits) : 0;
    char number[32];
    if (base->is_signed)
        snprintf(number, sizeof number, "%" PRId64, s);
    else
        snprintf(number, sizeof number, "%" PRIu64, raw);
    /* 64-bit integers are JSON strings (as protobuf's JSON mapping does): parsers read numbers as doubles. */
    char json[40];
    if (base->size == 8)
        snprintf(json, sizeof json, "\"%s\"", number);
    else
        snprintf(json, sizeof json, "%s", number);
    if (type->kind == K_ENUM) {
        const enumerator *hit = NULL;
        for (size_t k = 0; k < type->enumerator_count && hit == NULL; k++) {
            int64_t value = type->enumerators[k].value;
            if (base->is_signed ? value == s : (value >= 0 && (uint64_t)value == raw))
                hit = &type->enumerators[k];
        }
        if (hit == NULL) {
            problem(d, "BAD_ENUM", "%s: %s is not a value of %s", d->path, number, type->name);
            char display[600];
            snprintf(display, sizeof display, "%s (not in %s)", number, type->name);
            leaf(d, display, json);
            return;
        }
        char display[600], quoted[600];
        snprintf(display, sizeof display, "%s (%s)", hit->name, number);
        snprintf(quoted, sizeof quoted, "\"%s\"", hit->name);
        leaf(d, display, quoted);
        return;
    }
    if (type->is_bool) {
        if (raw != 0 && raw != 1) {
            problem(d, "BAD_BOOL", "%s: %s is not a valid _Bool (0 or 1)", d->path, number);
            char display[64];
            snprintf(display, sizeof display, "%s (not a bool)", number);
            leaf(d, display, json);
            return;
        }
        leaf(d, raw ? "true" : "false", raw ? "true" : "false");
        return;
    }
    leaf(d, number, json);
}

/* A char array as C prints it with %s: up to the first NUL, bytes that are not printable ASCII escaped. */
static bool char_array_text(cli_buffer *text, const uint8_t *bytes, size_t size)
{
    bool ok = true;
    for (size_t i = 0; i < size && bytes[i] != 0 && ok; i++) {
        uint8_t b = bytes[i];
        if (b == 0x5c)
            ok = cli_buffer_append_str(text, "\\\\");
        else if (b == 0x22)
            ok = cli_buffer_append_str(text, "\\\"");
        else if (b >= 0x20 && b < 0x7f)
            ok = cli_buffer_append(text, &b, 1);
        else if (b == 0x0a)
            ok = cli_buffer_append_str(text, "\\n");
        else if (b == 0x09)
            ok = cli_buffer_append_str(text, "\\t");
        else
            ok = cli_buffer_printf(text, "\\x%02x", b);
    }
    return ok;
}

static void decode_field(decoder *d, const cschema_type *type, uint64_t offset, bool big, size_t length_override,
                         bool has_override);

static void decode_record(decoder *d, const cschema_type *type, uint64_t offset, size_t message_length, bool root)
{
    bool big = type->endian ? type->endian == 2 : d->big_endian;
    bool first = true;
    if (d->output == CSCHEMA_JSON && !root)
        emit_raw(d, "{", 1);
    for (size_t k = 0; k < type->field_count && d->ok; k++) {
        const field *f = &type->fields[k];
        uint64_t at = offset + f->offset;
        if (f->name[0] == '\0' && (f->type->kind == K_STRUCT || f->type->kind == K_UNION)) {
            /* Anonymous member: its fields are the parent's (paths as C writes them). */
            if (d->output == CSCHEMA_JSON && f->type->field_count > 0 && !first)
                emit_raw(d, ",", 1);
            if (f->type->field_count > 0)
                first = false;
            decode_record(d, f->type, at, 0, true);
            continue;
        }
        if (d->output == CSCHEMA_JSON) {
            if (!first)
                emit_raw(d, ",", 1);
            if (d->ok)
                d->ok = cli_append_json_string(d->out, f->name, strlen(f->name)) && cli_buffer_append_str(d->out, ":");
        }
        first = false;
        size_t saved;
        path_push(d, f->name, false, 0, &saved);
        if (f->bitfield) {
            uint64_t bytes = (f->bit_offset + f->bit_width + 7u) / 8u;
            if (!fits(d, at, bytes)) {
                missing(d, at, bytes);
            } else {
                uint64_t v = 0;
                for (int i = f->bit_width - 1; i >= 0; i--) {
                    unsigned bit = f->bit_offset + (unsigned)i;
                    v = (v << 1) | ((d->bytes[at + (bit >> 3)] >> (bit & 7)) & 1u);
                }
                const cschema_type *base = f->type->kind == K_ENUM ? f->type->base : f->type;
                if (base->is_signed) {
                    int64_t s = sign_extend(v, f->bit_width);
                    memcpy(&v, &s, sizeof v);
                }
                int_value(d, f->type, v, 64);
            }
            path_pop(d, saved);
            continue;
        }
        bool flexible_tail =
            k == type->field_count - 1 && f->type->kind == K_ARRAY && f->type->flexible && message_length != 0;
        size_t override = 0;
        if (flexible_tail) {
            /* Flexible array member: as many whole elements as the message holds. */
            size_t element = f->type->element->size ? f->type->element->size : 1;
            override = message_length > at ? (size_t)((message_length - at) / element) : 0;
        }
        decode_field(d, f->type, at, big, override, flexible_tail);
        path_pop(d, saved);
    }
    if (d->output == CSCHEMA_JSON && !root)
        emit_raw(d, "}", 1);
}

static void decode_array(decoder *d, const cschema_type *type, uint64_t offset, bool big, size_t length_override,
                         bool has_override)
{
    const cschema_type *element = type->element;
    uint64_t length = has_override ? length_override : type->length;
    uint64_t size = length * element->size;
    if (element->kind == K_INT && element->is_char) {
        if (!fits(d, offset, size)) {
            missing(d, offset, size);
            return;
        }
        cli_buffer text = {0};
        bool ok = char_array_text(&text, d->bytes + offset, (size_t)size);
        if (d->output == CSCHEMA_JSON) {
            d->ok = d->ok && ok && cli_append_json_string(d->out, text.data ? text.data : "", text.length);
        } else if (ok) {
            emit_raw(d, "  ", 2);
            emit_raw(d, d->path_length ? d->path : "(value)", d->path_length ? d->path_length : 7);
            emit_raw(d, " = \"", 4);
            emit_raw(d, text.data ? text.data : "", text.length);
            emit_raw(d, "\"\n", 2);
        } else {
            d->ok = false;
        }
        cli_buffer_free(&text);
        return;
    }
    /* The elements that start beyond the message are one problem for the array, not one each (a large array in a
     * short message would list thousands); an element the message cuts in two reports its own missing parts. */
    uint64_t present = length;
    if (element->size > 0) {
        uint64_t held = offset < d->length ? (d->length - offset + element->size - 1) / element->size : 0;
        present = held < length ? held : length;
    }
    uint64_t absent = length - present;
    if (present == 0 && absent > 0) {
        missing_elements(d, offset, absent, length, element->size);
        leaf(d, "(missing)", "null");
        return;
    }
    uint64_t listed = length < MAX_ARRAY_CHILDREN ? length : MAX_ARRAY_CHILDREN;
    if (d->output == CSCHEMA_JSON)
        emit_raw(d, "[", 1);
    for (uint64_t i = 0; i < listed && d->ok; i++) {
        if (d->output == CSCHEMA_JSON && i > 0)
            emit_raw(d, ",", 1);
        if (i >= present) { /* JSON keeps the array's length: null stands for each missing element */
            if (d->output == CSCHEMA_JSON)
                emit_raw(d, "null", 4);
            continue;
        }
        size_t saved;
        path_push(d, "", true, (size_t)i, &saved);
        decode_field(d, element, offset + i * element->size, big, 0, false);
        path_pop(d, saved);
    }
    if (absent > 0) {
        missing_elements(d, offset + present * element->size, absent, length, element->size);
        if (d->output != CSCHEMA_JSON && present < MAX_ARRAY_CHILDREN)
            emit(d, "  %s[%" PRIu64 "]\xe2\x80\x93[%" PRIu64 "] = (missing: %" PRIu64 " element%s)\n", d->path, present,
                 length - 1, absent, absent == 1 ? "" : "s");
    }
    if (d->output == CSCHEMA_JSON)
        emit_raw(d, "]", 1);
    else if (length > listed)
        emit(d, "  %s = [%" PRIu64 " items] (first %" PRIu64 " listed)\n", d->path, length, listed);
}

static void decode_field(decoder *d, const cschema_type *type, uint64_t offset, bool big, size_t length_override,
                         bool has_override)
{
    switch (type->kind) {
    case K_INT:
    case K_ENUM:
        if (!fits(d, offset, type->size))
            missing(d, offset, type->size);
        else
            int_value(d, type, read_uint(d, (size_t)offset, type->size, big), type->size * 8);
        return;
    case K_FLOAT: {
        if (!fits(d, offset, type->size)) {
            missing(d, offset, type->size);
            return;
        }
        char text[64], json[72];
        if (type->size == 4 || type->size == 8) {
            uint64_t raw = read_uint(d, (size_t)offset, type->size, big);
            double v;
            if (type->size == 4) {
                uint32_t r32 = (uint32_t)raw;
                float f;
                memcpy(&f, &r32, sizeof f);
                v = (double)f;
            } else {
                memcpy(&v, &raw, sizeof v);
            }
            format_double(v, text, sizeof text);
            /* JSON has no NaN or infinity: those are strings. */
            if (strcmp(text, "NaN") == 0 || strcmp(text, "inf") == 0 || strcmp(text, "-inf") == 0)
                snprintf(json, sizeof json, "\"%s\"", text);
            else
                snprintf(json, sizeof json, "%s", text);
            leaf(d, text, json);
            return;
        }
        /* x87 long double and the like: shown as bytes. */
        cli_buffer hex = {0};
        bool ok = cli_append_hex(&hex, d->bytes + offset, type->size) && cli_buffer_append(&hex, "\0", 1);
        if (ok) {
            char *quoted = malloc(hex.length + 3);
            if (quoted) {
                snprintf(quoted, hex.length + 3, "\"%s\"", hex.data);
                leaf(d, hex.data, quoted);
                free(quoted);
            } else {
                d->ok = false;
            }
        } else {
            d->ok = false;
        }
        cli_buffer_free(&hex);
        return;
    }
    case K_POINTER: {
        if (!fits(d, offset, type->size)) {
            missing(d, offset, type->size);
            return;
        }
        char text[32], json[40];
        snprintf(text, sizeof text, "0x%" PRIx64, read_uint(d, (size_t)offset, type->size, big));
        snprintf(json, sizeof json, "\"%s\"", text);
        leaf(d, text, json);
        return;
    }
    case K_ARRAY:
        decode_array(d, type, offset, big, length_override, has_override);
        return;
    case K_STRUCT:
    case K_UNION:
        decode_record(d, type, offset, 0, false);
        return;
    }
}

static const cschema_type *flexible_tail(const cschema_type *type)
{
    if (type->kind != K_STRUCT || type->field_count == 0)
        return NULL;
    const field *last = &type->fields[type->field_count - 1];
    return last->type->kind == K_ARRAY && last->type->flexible ? last->type : NULL;
}

static void decode_as(decoder *d, const cschema_type *type)
{
    if (d->output == CSCHEMA_JSON) {
        d->ok = d->ok && cli_buffer_append_str(d->out, ",\"type\":") &&
                cli_append_json_string(d->out, type->name, strlen(type->name)) &&
                cli_buffer_append_str(d->out, ",\"fields\":");
    } else {
        emit(d, "  type %s\n", type->name);
    }
    if (type->kind == K_STRUCT || type->kind == K_UNION) {
        if (d->output == CSCHEMA_JSON)
            emit_raw(d, "{", 1);
        decode_record(d, type, 0, d->length, true);
        if (d->output == CSCHEMA_JSON)
            emit_raw(d, "}", 1);
    } else {
        decode_field(d, type, 0, d->big_endian, 0, false);
    }
    uint64_t used = type->size;
    const cschema_type *tail = flexible_tail(type);
    if (tail && d->length > type->size) {
        size_t element = tail->element->size ? tail->element->size : 1;
        used = type->size + (d->length - type->size) / element * element;
    }
    if (d->length < type->size && !d->root_missing) {
        /* First, as decoder.ts puts it (unshift): the whole message is too short. */
        cli_buffer later = d->problems;
        size_t later_count = d->problem_count;
        d->problems = (cli_buffer){0};
        d->problem_count = 0;
        size_t saved = d->path_length;
        d->path_length = 0;
        problem(d, "TOO_SHORT", "the message has %zu bytes; %s needs %u", d->length, type->name, type->size);
        d->path_length = saved;
        if (later_count && d->output == CSCHEMA_JSON)
            d->ok = d->ok && cli_buffer_append_str(&d->problems, ",");
        d->ok = d->ok && cli_buffer_append(&d->problems, later.data ? later.data : "", later.length);
        d->problem_count += later_count;
        cli_buffer_free(&later);
    }
    if (d->length > used) {
        size_t saved = d->path_length;
        d->path_length = 0;
        problem(d, "TRAILING_BYTES", "%" PRIu64 " bytes after %s (%u bytes) are not part of it",
                (uint64_t)d->length - used, type->name, type->size);
        d->path_length = saved;
    }
}

bool cschema_decode(const cschema_message *message, const void *bytes, size_t length, cschema_output output,
                    cli_buffer *out)
{
    decoder d = {.bytes = bytes,
                 .length = length,
                 .big_endian = message->schema->big_endian,
                 .output = output,
                 .out = out,
                 .ok = true};
    d.path[0] = '\0';
    const cschema_type *type = message->type;
    if (type == NULL) {
        /* A tagged union: the integer at tag_offset chooses the type. */
        const cschema_type *tag = message->tag_type;
        const cschema_type *tag_base = tag->kind == K_ENUM ? tag->base : tag;
        if (!fits(&d, message->tag_offset, tag->size)) {
            if (output == CSCHEMA_JSON)
                d.ok = cli_buffer_append_str(out, ",\"type\":\"tag\",\"fields\":null");
            problem(&d, "TOO_SHORT", "the message has %zu bytes; its tag (%s at offset %zu) needs %zu", length,
                    tag->name, message->tag_offset, message->tag_offset + tag->size);
        } else {
            uint64_t raw = read_uint(&d, message->tag_offset, tag->size, message->schema->big_endian);
            int64_t value = tag_base->is_signed ? sign_extend(raw, tag->size * 8) : (int64_t)raw;
            for (size_t k = 0; k < message->case_count && type == NULL; k++)
                if (message->case_values[k] == value && (tag_base->is_signed || raw <= (uint64_t)INT64_MAX))
                    type = message->case_types[k];
            if (type == NULL)
                type = message->fallback;
            if (type == NULL) {
                if (output == CSCHEMA_JSON)
                    d.ok = cli_buffer_printf(out, ",\"type\":\"tag\",\"fields\":{\"tag\":%s%" PRId64 "%s}",
                                             tag->size == 8 ? "\"" : "", value, tag->size == 8 ? "\"" : "");
                else
                    d.ok = cli_buffer_printf(out, "  tag = %" PRId64 "\n", value);
                memcpy(d.path, "tag", 4);
                d.path_length = 3;
                problem(&d, "UNKNOWN_TAG", "tag %" PRId64 " (%s at offset %zu) names no message type", value, tag->name,
                        message->tag_offset);
            }
        }
    }
    if (type != NULL)
        decode_as(&d, type);
    if (output == CSCHEMA_JSON) {
        if (d.problem_count > 0)
            d.ok = d.ok && cli_buffer_append_str(out, ",\"problems\":[") &&
                   cli_buffer_append(out, d.problems.data, d.problems.length) && cli_buffer_append_str(out, "]");
    } else if (d.problem_count > 0) {
        d.ok = d.ok && cli_buffer_append(out, d.problems.data, d.problems.length);
    }
    cli_buffer_free(&d.problems);
    return d.ok;
}
