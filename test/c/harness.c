/*
 * harness.c — runner for the libsipc C suite. Each test runs in its own process so a crash or a
 * leaked channel in one cannot take the others down; the parent prints one line per test. What
 * differs per OS (making processes, the segment files) is in harness_posix.c and harness_win32.c.
 * Run one test: sipc_tests <name>.
 */
#include "harness.h"
#include "harness_os.h"
#include "layout.h"
#include "platform.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TEST(fn) void fn(void);
#include "test_list.h"
#undef TEST

static const test_entry tests[] = {
#define TEST(fn) {#fn, fn},
#include "test_list.h"
#undef TEST
};

static int failed;
static const char *current_test = "";
/* Write end of the pipe on which a test tells the harness every channel name it made (see test_name). */
static int names_fd = -1;

void test_fail(const char *file, int line, const char *format, ...)
{
    failed = 1;
    fprintf(stderr, "    %s:%d: ", file, line);
    va_list ap;
    va_start(ap, format);
    vfprintf(stderr, format, ap);
    va_end(ap);
    fprintf(stderr, "\n");
}

int test_failed(void)
{
    return failed;
}

const char *test_name(const char *base)
{
    static char names[8][128];
    static int next;
    char *name = names[next++ % 8];
    snprintf(name, sizeof names[0], "t%ld-%s-%s", (long)getpid(), current_test + 5, base);
    if (names_fd >= 0) {
        /* Registered with the harness, which checks after the test that no object of this name is left. */
        char line[130];
        int length = snprintf(line, sizeof line, "%s\n", name);
        if (write(names_fd, line, (size_t)length) != length)
            fprintf(stderr, "    (could not register channel name %s for the leftover check)\n", name);
    }
    return name;
}

sipc_options options_with(uint32_t max_message, uint32_t depth)
{
    sipc_options o;
    sipc_options_init(&o);
    o.max_message_size = max_message;
    o.queue_depth = depth;
    return o;
}

static const char hex_digits[] = "0123456789abcdef";

/* The reference point for naming child functions across exec (see spawn_child). */
void harness_anchor(void);
void harness_anchor(void)
{
}

pid_t spawn_child(int (*fn)(void *arg), const void *arg, size_t size)
{
    /* Functions are named by their offset from harness_anchor: the same in the re-executed binary. */
    char function[32];
    snprintf(function, sizeof function, "%llx",
             (unsigned long long)((uintptr_t)fn - (uintptr_t)harness_anchor));
    char *data = malloc(2 * size + 1);
    if (data == NULL)
        return -1;
    const uint8_t *bytes = arg;
    for (size_t i = 0; i < size; i++) {
        data[2 * i] = hex_digits[bytes[i] >> 4];
        data[2 * i + 1] = hex_digits[bytes[i] & 15];
    }
    data[2 * size] = '\0';
    pid_t pid = harness_spawn_self("--child", function, data);
    free(data);
    return pid;
}

static int hex_value(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : 0;
}

static int run_child(const char *function, const char *data)
{
    uintptr_t offset = (uintptr_t)strtoull(function, NULL, 16);
    int (*fn)(void *) = (int (*)(void *))((uintptr_t)harness_anchor + offset);
    size_t size = strlen(data) / 2;
    uint8_t *arg = calloc(1, size + 1);
    if (arg == NULL)
        return 126;
    for (size_t i = 0; i < size; i++)
        arg[i] = (uint8_t)(hex_value(data[2 * i]) << 4 | hex_value(data[2 * i + 1]));
    int status = fn(arg);
    free(arg);
    return status;
}

uint64_t now_ns(void)
{
    return sipc_os_monotonic_ns();
}

void sleep_ms(int ms)
{
    sipc_os_sleep_us((uint32_t)ms * 1000u);
}

void sleep_us(uint32_t us)
{
    sipc_os_sleep_us(us);
}

unsigned test_rand(unsigned *state)
{
    /* xorshift32: the same sequence on every system for a given seed (a replayed seed replays it all). */
    unsigned x = *state != 0 ? *state : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

int raw_open(const char *name, raw_map *map)
{
    char key[SIPC_OS_KEY_MAX + 1];
    sipc_key_for_name(name, key);
    memset(map, 0, sizeof *map);
    if (sipc_os_segment_open(key, 0, 0600, SIPC_OS_NO_DEADLINE, &map->segment) != SIPC_OK)
        return -1;
    uint64_t size = 0;
    void *base = NULL;
    if (sipc_os_segment_size(map->segment, &size) != SIPC_OK || size > SIZE_MAX ||
        sipc_os_segment_map(map->segment, size, &base) != SIPC_OK) {
        sipc_os_segment_close(map->segment);
        map->segment = NULL;
        return -1;
    }
    map->size = (size_t)size;
    map->base = base;
    return 0;
}

void raw_close(raw_map *map)
{
    if (map->segment == NULL)
        return;
    sipc_os_segment_unmap(map->segment, map->base, map->size);
    sipc_os_segment_close(map->segment);
    map->segment = NULL;
}

void test_pipe_close(test_pipe *pipe)
{
    pipe_close(&pipe->read_end);
    pipe_close(&pipe->write_end);
}

unsigned test_seed(void)
{
    const char *fixed = getenv("SIPC_TEST_SEED");
    unsigned seed = fixed != NULL && *fixed != '\0' ? (unsigned)strtoul(fixed, NULL, 0) : (unsigned)now_ns();
    fprintf(stderr, "    %s: seed %u (replay: SIPC_TEST_SEED=%u sipc_tests %s)\n", current_test + 5, seed, seed,
            current_test + 5);
    return seed;
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

uint32_t message_size(uint64_t seed, uint64_t index, uint32_t max)
{
    uint64_t r = mix(seed * 0x9e3779b97f4a7c15ull + index);
    /* Favour the edges: empty, full, and tiny messages are where bugs hide. */
    switch (r % 8) {
    case 0:
        return 0;
    case 1:
        return max;
    case 2:
        return (uint32_t)((r >> 8) % 16 < max ? (r >> 8) % 16 : max);
    default:
        return (uint32_t)((r >> 8) % ((uint64_t)max + 1));
    }
}

void message_fill(uint8_t *buffer, uint32_t size, uint64_t seed, uint64_t index)
{
    uint64_t state = mix(seed ^ (index << 20) ^ 0x5bd1e995u);
    for (uint32_t i = 0; i < size; i++) {
        if ((i & 7) == 0)
            state = mix(state + i);
        buffer[i] = (uint8_t)(state >> ((i & 7) * 8));
    }
}

int message_check(const uint8_t *buffer, uint32_t size, uint64_t seed, uint64_t index)
{
    uint64_t state = mix(seed ^ (index << 20) ^ 0x5bd1e995u);
    for (uint32_t i = 0; i < size; i++) {
        if ((i & 7) == 0)
            state = mix(state + i);
        if (buffer[i] != (uint8_t)(state >> ((i & 7) * 8)))
            return 0;
    }
    return 1;
}

typedef struct cleanup_context {
    char prefix[32];
    int removed;
} cleanup_context;

static int remove_if_prefixed(const char *name, void *user)
{
    cleanup_context *context = user;
    if (strncmp(name, context->prefix, strlen(context->prefix)) == 0 && sipc_remove(name, 1) == SIPC_OK)
        context->removed++;
    return 0;
}

/* Channels a test left behind (it failed, or a child was killed on purpose mid-test): every channel
 * whose name carries the test's prefix (sipc_list reads the names from the segments, so long hashed
 * names are found too), and every object of a name the test registered through test_name, which also
 * catches damaged or half-made segments that sipc_list cannot read. */
static int remove_leftovers(pid_t test_pid, FILE *registered)
{
    cleanup_context context;
    snprintf(context.prefix, sizeof context.prefix, "t%ld-", (long)test_pid);
    context.removed = 0;
    sipc_list(remove_if_prefixed, &context);
    char name[256];
    while (registered != NULL && fgets(name, sizeof name, registered) != NULL) {
        name[strcspn(name, "\n")] = '\0';
        if (!shm_exists(name))
            continue;
        fprintf(stderr, "    left %s behind\n", name);
        context.removed++;
        if (sipc_remove(name, 1) != SIPC_OK || shm_exists(name))
            harness_remove_object(name);
    }
    return context.removed;
}

void harness_enter_test(const test_entry *test, int registration_fd)
{
    current_test = test->name;
    names_fd = registration_fd;
}

int harness_test_status(void)
{
    return failed ? 1 : 0;
}

/* The test named on the command line, in this process (how harness_win32.c isolates a test). */
static int run_here(const char *name, const char *registration_path)
{
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        if (strcmp(tests[i].name, name) != 0)
            continue;
        harness_enter_test(&tests[i], open(registration_path, O_WRONLY | O_APPEND));
        tests[i].fn();
        return harness_test_status();
    }
    fprintf(stderr, "no test %s\n", name);
    return 125;
}

static int run_one(const test_entry *test)
{
    fflush(NULL);
    uint64_t start = now_ns();
    FILE *registered = NULL;
    pid_t pid = 0;
    int status = harness_run_isolated(test, &pid, &registered);
    int leftovers = remove_leftovers(pid, registered);
    if (registered != NULL)
        fclose(registered);
    if (status == 0 && leftovers != 0) {
        fprintf(stderr, "    left %d channel(s) behind\n", leftovers);
        status = 1;
    }
#if !defined(_WIN32)
    int files_left = harness_remove_temp(pid);
    if (status == 0 && files_left != 0) {
        fprintf(stderr, "    left %d temporary file(s) behind\n", files_left);
        status = 1;
    }
#endif
    double ms = (double)(now_ns() - start) / 1e6;
    if (status == 0) {
        printf("ok   %-40s %8.1f ms\n", test->name + 5, ms);
        return 1;
    }
    printf("FAIL %-40s %8.1f ms (exit %d)\n", test->name + 5, ms, status);
    return 0;
}

int main(int argc, char **argv)
{
    harness_os_init();
    if (argc == 4 && strcmp(argv[1], "--child") == 0)
        return run_child(argv[2], argv[3]);
    if (argc == 4 && strcmp(argv[1], "--test") == 0)
        return run_here(argv[2], argv[3]);
#if !defined(_WIN32)
    harness_sweep_temp();
#endif
    int passed = 0, failures = 0;
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        if (argc > 1) {
            int wanted = 0;
            for (int a = 1; a < argc; a++)
                wanted |= strcmp(argv[a], tests[i].name + 5) == 0 || strcmp(argv[a], tests[i].name) == 0;
            if (!wanted)
                continue;
        }
        if (run_one(&tests[i]))
            passed++;
        else
            failures++;
    }
    printf("%d passed, %d failed\n", passed, failures);
    return failures == 0 ? 0 : 1;
}

int header_view_open(const char *name, header_view *view)
{
    if (raw_open(name, &view->segment) != 0)
        return -1;
    view->header = (const seg_header *)view->segment.base;
    return 0;
}

void header_view_close(header_view *view)
{
    raw_close(&view->segment);
}

int wait_role_asleep(const header_view *view, int role_index, uint32_t threads)
{
    for (int i = 0; i < 20000; i++) {
        if (__atomic_load_n(&view->header->roles[role_index].sleepers, __ATOMIC_ACQUIRE) >= threads)
            return 1;
        sleep_ms(1);
    }
    return 0;
}
