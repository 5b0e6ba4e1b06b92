/*
 * test_replaced.c — a channel removed and made again under the feet of a process that still has the old object
 * (PROTOCOL.md section 5, "After taking the lock ... re-checks"; "macOS", "Current object"). Whoever holds the old
 * object must notice that the name now leads to another one: the last closer of the old object leaves the new
 * one's name alone, an observer of the old one is told it is gone, an opener or a remover that opened the old one
 * just before it was replaced starts over instead of acting on it, and a creator whose new object was given up
 * starts over too. The race windows are opened with the process-wide key test point (src/test_hooks.h).
 *
 * Each test runs with the platform's own identity of objects and, in the Linux test builds, once more with
 * macOS's: there fstat of a shm descriptor has no device or inode, and objects are told apart by the instance id
 * their creator writes into them (src/platform_darwin_instance.c). With macOS's identity before that id existed,
 * every one of these tests failed (two zero identities compared equal whenever the name existed).
 */
#include "harness.h"
#include "layout.h"
#include "test_hooks.h"

#if defined(SIPC_TEST_DARWIN_FILES) || defined(__APPLE__)
#include "platform_darwin_instance.h"
#endif

#include <signal.h>
#include <stdio.h>
#include <string.h>

#if defined(SIPC_TEST_DARWIN_FILES) && defined(__linux__)
#define HAS_SIMULATED_MACOS_IDENTITY 1
#endif

/* Runs body with this platform's identity of objects, then (Linux test builds) with macOS's. */
static void with_each_identity(void (*body)(int macos))
{
    body(0);
#if defined(HAS_SIMULATED_MACOS_IDENTITY)
    if (test_failed())
        return;
    sipc_test_use_macos_identity(1);
    body(1);
    sipc_test_use_macos_identity(0);
#endif
}

/* The replacement a key test hook makes once, at its point: the old object's name removed by force and a new
 * channel of the same name opened (its server role taken by `replacement`). */
typedef struct replacement_plan {
    const char *name;
    sipc_test_point at;
    int armed;
    int remove_rc, open_rc;
    sipc_channel *replacement;
} replacement_plan;

static void replace_at_point(void *arg, sipc_test_point point)
{
    replacement_plan *plan = arg;
    if (!plan->armed || point != plan->at)
        return;
    plan->armed = 0; /* the remove and the open below pass the same points */
    plan->remove_rc = sipc_remove(plan->name, 1);
    plan->open_rc = sipc_open(plan->name, NULL, &plan->replacement);
}

static void arm(replacement_plan *plan, const char *name, sipc_test_point at)
{
    *plan = (replacement_plan){.name = name, .at = at, .armed = 1, .remove_rc = 1, .open_rc = 1};
    sipc_key_set_test_hook(replace_at_point, plan);
}

static int open_no_create(const char *name, sipc_channel **out)
{
    sipc_options options;
    sipc_options_init(&options);
    options.flags |= SIPC_OPEN_NO_CREATE;
    return sipc_open(name, &options, out);
}

static void last_closer(int macos)
{
    const char *name = test_name(macos ? "macos" : "native");
    sipc_channel *old = NULL, *replacement = NULL, *client = NULL;
    CHECK_RC(sipc_open(name, NULL, &old), SIPC_OK);
    CHECK_RC(sipc_remove(name, 1), SIPC_OK);
    CHECK_RC(sipc_open(name, NULL, &replacement), SIPC_OK);
    CHECK(sipc_get_role(replacement) == SIPC_ROLE_SERVER);
    /* The last holder of the old object, whose peer never came: it removes the name only if it is still its own. */
    CHECK_RC(sipc_close(old), SIPC_OK);
    CHECK_RC(open_no_create(name, &client), SIPC_OK);
    CHECK(sipc_get_role(client) == SIPC_ROLE_CLIENT);
    CHECK_RC(sipc_connect(replacement, 0), SIPC_OK);
    CHECK_RC(sipc_close(client), SIPC_OK);
    CHECK_RC(sipc_close(replacement), SIPC_OK);
    CHECK(!shm_exists(name));
}

void test_replaced_channel_last_closer_of_the_old_object_keeps_the_new_name(void)
{
    with_each_identity(last_closer);
}

static void observer_of_the_old_object(int macos)
{
    const char *name = test_name(macos ? "macos" : "native");
    sipc_channel *old = NULL, *replacement = NULL;
    sipc_observer *observer = NULL;
    CHECK_RC(sipc_open(name, NULL, &old), SIPC_OK);
    CHECK_RC(sipc_observe(name, &observer), SIPC_OK);
    CHECK_RC(sipc_remove(name, 1), SIPC_OK);
    CHECK_RC(sipc_open(name, NULL, &replacement), SIPC_OK);
    /* It looks at least every 100 ms whether the name still leads to its object: told long before the limit. */
    sipc_observed_message message = {.struct_size = sizeof message};
    unsigned char buffer[16];
    CHECK_RC(sipc_observer_next(observer, buffer, sizeof buffer, &message, 10000), SIPC_ERR_NOT_FOUND);
    CHECK_RC(sipc_observer_close(observer), SIPC_OK);
    CHECK_RC(sipc_close(old), SIPC_OK);
    CHECK_RC(sipc_close(replacement), SIPC_OK);
    CHECK(!shm_exists(name));
}

void test_replaced_channel_observer_of_the_old_object_is_told_it_is_gone(void)
{
    with_each_identity(observer_of_the_old_object);
}

static void opener_racing_a_replacement(int macos)
{
    const char *name = test_name(macos ? "macos" : "native");
    sipc_channel *old = NULL, *opener = NULL;
    CHECK_RC(sipc_open(name, NULL, &old), SIPC_OK);
    replacement_plan plan;
    arm(&plan, name, SIPC_TEST_KEY_OPENED_OBJECT);
    int rc = sipc_open(name, NULL, &opener); /* opens the old object, which is then replaced */
    sipc_key_set_test_hook(NULL, NULL);
    CHECK_RC(plan.remove_rc, SIPC_OK);
    CHECK_RC(plan.open_rc, SIPC_OK);
    CHECK_RC(rc, SIPC_OK);
    /* It started over and took the client role of the new channel, not of the old one. */
    CHECK(sipc_get_role(opener) == SIPC_ROLE_CLIENT);
    CHECK_RC(sipc_connect(plan.replacement, 0), SIPC_OK);
    CHECK_RC(sipc_connect(old, 0), SIPC_ERR_TIMEOUT);
    CHECK_RC(sipc_send(opener, "x", 1, 0), SIPC_OK);
    char byte = 0;
    size_t length = 0;
    CHECK_RC(sipc_recv(plan.replacement, &byte, 1, &length, 0), SIPC_OK);
    CHECK(length == 1 && byte == 'x');
    CHECK_RC(sipc_close(opener), SIPC_OK);
    CHECK_RC(sipc_close(plan.replacement), SIPC_OK);
    CHECK_RC(sipc_close(old), SIPC_OK);
    CHECK(!shm_exists(name));
}

void test_replaced_channel_opener_of_the_old_object_starts_over(void)
{
    with_each_identity(opener_racing_a_replacement);
}

static void creator_that_lost_its_object(int macos)
{
    const char *name = test_name(macos ? "macos" : "native");
    sipc_channel *creator = NULL;
    replacement_plan plan;
    /* Its new, still empty object is removed (as an opener that found it empty for 0.5 s would) and another one
     * made before it initialises its own. */
    arm(&plan, name, SIPC_TEST_KEY_CREATED_OBJECT);
    int rc = sipc_open(name, NULL, &creator);
    sipc_key_set_test_hook(NULL, NULL);
    CHECK_RC(plan.remove_rc, SIPC_OK);
    CHECK_RC(plan.open_rc, SIPC_OK);
    CHECK_RC(rc, SIPC_OK);
    CHECK(sipc_get_role(creator) == SIPC_ROLE_CLIENT);
    CHECK_RC(sipc_connect(plan.replacement, 0), SIPC_OK);
    CHECK_RC(sipc_close(creator), SIPC_OK);
    CHECK_RC(sipc_close(plan.replacement), SIPC_OK);
    CHECK(!shm_exists(name));
}

void test_replaced_channel_creator_that_lost_its_object_starts_over(void)
{
    with_each_identity(creator_that_lost_its_object);
}

#if !defined(_WIN32)
/* POSIX only: the old object is a stale one, left by a process that died; Windows has no such thing (a process's named
 * objects vanish with its last handle). */
typedef struct stale_plan {
    char name[SIPC_NAME_MAX + 1];
    int macos;
} stale_plan;

static void use_identity(int macos)
{
#if defined(HAS_SIMULATED_MACOS_IDENTITY)
    sipc_test_use_macos_identity(macos);
#else
    (void)macos;
#endif
}

/* Leaves a stale channel: opens it and dies without closing. */
static int child_open_and_die(void *arg)
{
    const stale_plan *plan = arg;
    use_identity(plan->macos);
    sipc_channel *channel = NULL;
    CHILD_CHECK(sipc_open(plan->name, NULL, &channel) == SIPC_OK);
    kill_self();
    return 1;
}

static void remover_of_a_stale_object(int macos)
{
    stale_plan stale = {.macos = macos};
    snprintf(stale.name, sizeof stale.name, "%s", test_name(macos ? "macos" : "native"));
    const char *name = stale.name;
    CHECK(reap_child(spawn_child(child_open_and_die, &stale, sizeof stale)) == 128 + SIGKILL);
    sipc_channel_info info = {.struct_size = sizeof info};
    CHECK_RC(sipc_stat(name, &info), SIPC_OK);
    CHECK(info.state == SIPC_STATE_STALE);
    replacement_plan plan;
    arm(&plan, name, SIPC_TEST_KEY_OPENED_OBJECT);
    int rc = sipc_remove(name, 0); /* opens the stale object, which is then replaced by a live channel */
    sipc_key_set_test_hook(NULL, NULL);
    CHECK_RC(plan.remove_rc, SIPC_OK);
    CHECK_RC(plan.open_rc, SIPC_OK);
    CHECK_RC(rc, SIPC_ERR_NOT_FOUND); /* what it was asked to remove is gone; the new channel is not removed */
    CHECK_RC(sipc_stat(name, &info), SIPC_OK);
    CHECK(info.state == SIPC_STATE_WAITING);
    CHECK_RC(sipc_close(plan.replacement), SIPC_OK);
    CHECK(!shm_exists(name));
}

void test_replaced_channel_remover_of_the_old_object_leaves_the_new_one(void)
{
    with_each_identity(remover_of_a_stale_object);
}
#endif

#if defined(SIPC_TEST_DARWIN_FILES) || defined(__APPLE__)
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static int open_path(void *context)
{
    return open(context, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
}

/* A file of `size` bytes at `path` (read-write), with an instance id if `with_id`: its descriptor or -1. */
static int object_file(const char *path, off_t size, int with_id)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    if (ftruncate(fd, size) != 0 || (with_id && darwin_instance_write(fd) != SIPC_OK)) {
        close(fd);
        return -1;
    }
    return fd;
}

typedef struct instance_files {
    char dir[256], first[320], second[320], empty[320], small[320], gone[320];
    int a, b, e, s; /* descriptors of first, second, empty, small */
} instance_files;

static void compare_instances(instance_files *f)
{
    snprintf(f->first, sizeof f->first, "%s/first", f->dir);
    snprintf(f->second, sizeof f->second, "%s/second", f->dir);
    snprintf(f->empty, sizeof f->empty, "%s/empty", f->dir);
    snprintf(f->small, sizeof f->small, "%s/small", f->dir);
    snprintf(f->gone, sizeof f->gone, "%s/gone", f->dir);
    CHECK((f->a = object_file(f->first, SIPC_HEADER_SIZE, 1)) >= 0);
    CHECK((f->b = object_file(f->second, SIPC_HEADER_SIZE, 1)) >= 0);
    CHECK((f->e = object_file(f->empty, 0, 0)) >= 0);
    CHECK((f->s = object_file(f->small, SIPC_OS_INSTANCE_OFFSET + SIPC_OS_INSTANCE_SIZE - 1, 0)) >= 0);
    CHECK(darwin_instance_is_current(f->a, open_path, f->first) == 1);
    CHECK(darwin_instance_is_current(f->a, open_path, f->second) == 0); /* two creations never share an id */
    CHECK(darwin_instance_is_current(f->a, open_path, f->gone) == 0);   /* the name leads nowhere */
    CHECK(darwin_instance_is_current(f->a, open_path, f->empty) == 0);  /* a new object, not sized yet */
    CHECK(darwin_instance_is_current(f->e, open_path, f->first) == 0);  /* ours not sized, that one has an id */
    CHECK(darwin_instance_is_current(f->e, open_path, f->empty) == 1);  /* neither has one: cannot tell */
    CHECK(darwin_instance_is_current(f->s, open_path, f->small) == 1);  /* too small to hold one: none */
    CHECK(darwin_instance_is_current(f->s, open_path, f->second) == 0);
    /* Its creator sizes it and writes its id: still the same object, and still not the first one. */
    CHECK(ftruncate(f->e, SIPC_HEADER_SIZE) == 0);
    CHECK(darwin_instance_is_current(f->e, open_path, f->empty) == 1);
    CHECK_RC(darwin_instance_write(f->e), SIPC_OK);
    CHECK(darwin_instance_is_current(f->e, open_path, f->empty) == 1);
    CHECK(darwin_instance_is_current(f->a, open_path, f->empty) == 0);
    CHECK(darwin_instance_is_current(f->e, open_path, f->first) == 0);
}

/* The comparison itself, on files in a private directory (macOS's code is plain POSIX). */
void test_darwin_instance_ids_tell_objects_apart(void)
{
    instance_files f = {.a = -1, .b = -1, .e = -1, .s = -1};
    CHECK(test_temp_dir("instance", f.dir, sizeof f.dir));
    compare_instances(&f);
    const int fds[] = {f.a, f.b, f.e, f.s};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
        if (fds[i] >= 0)
            close(fds[i]);
    }
    const char *paths[] = {f.first, f.second, f.empty, f.small};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        if (paths[i][0] != '\0')
            unlink(paths[i]);
    }
    rmdir(f.dir);
}
#endif
