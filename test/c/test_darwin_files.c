/*
 * test_darwin_files.c — macOS's listing and liveness-token files (helper/src/platform_darwin_files.c), run on
 * Linux: the code is plain POSIX (flock has the same open-file-description semantics on both), so the suite
 * builds it with SIPC_TEST_DARWIN_FILES and points it at a private directory instead of /tmp. What is checked:
 * the files go when nobody holds them and the channel is gone, never while a holder keeps its token or the key
 * names an object, including while other threads take, give back and remove the same files all the time; and
 * planted files (symbolic and hard links, FIFOs, directories, another user's files) are neither used, followed,
 * blocked on nor removed. The macOS segment code that calls these functions (platform_darwin_shm.c) is only compiled.
 */
#if defined(__APPLE__) || defined(SIPC_TEST_DARWIN_FILES)

#include "harness.h"
#include "platform.h"
#include "platform_darwin_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY "sipc.files"

/* A fresh private directory in place of /tmp/, as "<dir>/" (the suite's temporary folder: test_temp_dir). */
static int make_dir(char *dir, size_t size)
{
    if (!test_temp_dir("files", dir, size))
        return 0;
    size_t length = strlen(dir);
    if (length + 2 > size)
        return 0;
    dir[length] = '/';
    dir[length + 1] = '\0';
    return 1;
}

static void file_in(const char *dir, const char *name, char *path, size_t size)
{
    snprintf(path, size, "%s%s", dir, name);
}

static int exists_at(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* 1 if nothing is left in the directory. */
static int dir_is_empty(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    int entries = 0;
    struct dirent *entry;
    while ((entry = readdir(d)) != NULL)
        entries += strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0;
    closedir(d);
    return entries == 0;
}

/* Runs body on a fresh private directory, then removes the directory with whatever a failing body left there. */
static void in_private_dir(void (*body)(const char *dir))
{
    char dir[256];
    if (!make_dir(dir, sizeof dir)) {
        test_fail(__FILE__, __LINE__, "no private directory: %s", strerror(errno));
        return;
    }
    body(dir);
    DIR *d = opendir(dir);
    struct dirent *entry;
    while (d != NULL && (entry = readdir(d)) != NULL) {
        char path[256 + sizeof entry->d_name];
        file_in(dir, entry->d_name, path, sizeof path);
        if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0 && unlink(path) != 0)
            rmdir(path);
    }
    if (d != NULL)
        closedir(d);
    rmdir(dir);
}

/* 1 if `path` names the file open as fd. */
static int names_open_file(const char *path, int fd)
{
    struct stat open_file, named;
    return fstat(fd, &open_file) == 0 && lstat(path, &named) == 0 && open_file.st_ino == named.st_ino &&
           open_file.st_dev == named.st_dev;
}

static int answer_exists(const char *key, void *context)
{
    (void)key;
    return __atomic_load_n((const int *)context, __ATOMIC_SEQ_CST);
}

static void darwin_token_files_go_with_their_last_holder(const char *dir)
{
    char path[320];
    file_in(dir, KEY ".token0", path, sizeof path);
    CHECK_RC(darwin_token_held(dir, KEY, 0), -1); /* no file: cannot tell (a /tmp cleaner may have deleted it) */
    int first = -1, second = -1;
    CHECK_RC(darwin_token_take(dir, KEY, 0, 0644, 0, &first), 1);
    struct stat st;
    CHECK(lstat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0644); /* the mode asked for */
    CHECK_RC(darwin_token_held(dir, KEY, 0), 1);
    CHECK_RC(darwin_token_held(dir, KEY, 1), -1);
    /* A second holder (a handle still open on an earlier object of the key) shares the file. */
    CHECK_RC(darwin_token_take(dir, KEY, 0, 0644, 0, &second), 1);
    darwin_token_give_back(dir, KEY, 0, first);
    CHECK(exists_at(path));
    CHECK_RC(darwin_token_held(dir, KEY, 0), 1);
    /* Removing the channel leaves a held token file alone. */
    int exists = 0;
    darwin_files_remove(dir, KEY, answer_exists, &exists);
    CHECK(exists_at(path));
    CHECK_RC(darwin_token_held(dir, KEY, 0), 1);
    /* Another copy of the descriptor (what a fork child shares) keeps the token after one copy is given back. */
    int copy = dup(second);
    CHECK(copy >= 0);
    darwin_token_give_back(dir, KEY, 0, second);
    CHECK(exists_at(path));
    CHECK_RC(darwin_token_held(dir, KEY, 0), 1);
    close(copy); /* the copy ends without cleaning up (a process that exits or exec()s) */
    CHECK(exists_at(path));
    CHECK_RC(darwin_token_held(dir, KEY, 0), 0);
    darwin_files_remove(dir, KEY, answer_exists, &exists); /* the channel's removal takes what is left */
    CHECK(!exists_at(path));
    /* The last holder giving its token back removes the file itself. */
    CHECK_RC(darwin_token_take(dir, KEY, 1, 0600, 0, &first), 1);
    darwin_token_give_back(dir, KEY, 1, first);
    CHECK(!exists_at(path) && darwin_token_held(dir, KEY, 1) == -1);
    CHECK(dir_is_empty(dir));
}

static void darwin_listing_file_stays_while_the_key_names_an_object(const char *dir)
{
    char path[320];
    file_in(dir, KEY ".lock", path, sizeof path);
    CHECK_RC(darwin_listing_leave(dir, KEY), 1);
    struct stat st;
    CHECK(lstat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600);
    CHECK_RC(darwin_listing_leave(dir, KEY), 1); /* a file already there is kept */
    int exists = 1;
    darwin_files_remove(dir, KEY, answer_exists, &exists);
    CHECK(exists_at(path));
    exists = -1; /* cannot tell: kept */
    darwin_files_remove(dir, KEY, answer_exists, &exists);
    CHECK(exists_at(path));
    exists = 0;
    darwin_files_remove(dir, KEY, answer_exists, &exists);
    CHECK(!exists_at(path));
    CHECK(dir_is_empty(dir));
}

static void darwin_files_refuse_what_others_planted(const char *dir)
{
    char token0[128], token1[128], listing[128], target[128];
    file_in(dir, KEY ".token0", token0, sizeof token0);
    file_in(dir, KEY ".token1", token1, sizeof token1);
    file_in(dir, KEY ".lock", listing, sizeof listing);
    file_in(dir, "target", target, sizeof target);
    int fd = open(target, O_WRONLY | O_CREAT | O_EXCL, 0600);
    CHECK(fd >= 0);
    close(fd);
    /* A link is not followed: not taken, not probed through, not removed, and its target untouched. */
    CHECK(symlink(target, token0) == 0);
    int held = -1;
    CHECK_RC(darwin_token_take(dir, KEY, 0, 0644, 0, &held), 0);
    CHECK(held == -1);
    CHECK_RC(darwin_token_held(dir, KEY, 0), -1);
    /* A FIFO is opened without blocking and refused. */
    CHECK(mkfifo(listing, 0600) == 0);
    CHECK_RC(darwin_listing_leave(dir, KEY), 0);
    CHECK(mkdir(token1, 0700) == 0);
    CHECK_RC(darwin_token_take(dir, KEY, 1, 0644, 0, &held), 0);
    CHECK_RC(darwin_token_held(dir, KEY, 1), -1);
    int exists = 0;
    darwin_files_remove(dir, KEY, answer_exists, &exists);
    struct stat st;
    CHECK(lstat(token0, &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(lstat(listing, &st) == 0 && S_ISFIFO(st.st_mode));
    CHECK(lstat(token1, &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(lstat(target, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0);
    CHECK(unlink(token0) == 0 && unlink(listing) == 0 && rmdir(token1) == 0);
    /* A hard link to a file of ours elsewhere (macOS lets anyone make one in /tmp): not used, its mode untouched. */
    CHECK(chmod(target, 0600) == 0 && link(target, token0) == 0);
    CHECK_RC(darwin_token_take(dir, KEY, 0, 0644, 0, &held), 0);
    darwin_files_remove(dir, KEY, answer_exists, &exists);
    CHECK(lstat(target, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_nlink == 2);
    CHECK(unlink(token0) == 0);
    /* Another user's file (only root can make one here; others skip this part): not used, not removed. */
    if (geteuid() == 0) {
        CHECK(rename(target, listing) == 0 && chown(listing, 65534, 65534) == 0);
        CHECK_RC(darwin_listing_leave(dir, KEY), 0);
        darwin_files_remove(dir, KEY, answer_exists, &exists);
        CHECK(exists_at(listing));
        CHECK(unlink(listing) == 0);
    } else {
        printf("    (not root: the other user's file is not tried)\n");
        CHECK(unlink(target) == 0);
    }
    CHECK(dir_is_empty(dir));
}

#if defined(__linux__)
/* ---- a remover that removes a file between a taker's open and its lock, step by step ----
 * The test plays the remover by hand: it holds the exclusive lock on the file, lets a thread take the token (or
 * leave the listing file), waits until that thread has opened the file (inotify reports the open; Linux only),
 * then removes the file and lets go. The taker gets its lock only then, on a file no longer named: it must make
 * the file again, and end up holding the one the path names. */

typedef struct taker {
    char dir[256];
    int listing; /* 0: take token 0; 1: leave the listing file */
    int result;
    int fd;
} taker;

static void *take_or_leave(void *arg)
{
    taker *t = arg;
    if (t->listing)
        t->result = darwin_listing_leave(t->dir, KEY);
    else
        t->result = darwin_token_take(t->dir, KEY, 0, 0644, 0, &t->fd);
    return NULL;
}

#include <poll.h>
#include <sys/file.h>
#include <sys/inotify.h>

/* Runs `t` while this thread holds the exclusive lock of the file at `path`, and removes that file once `t`'s
 * thread has opened it: 1 if all of that happened. */
static int remove_under_a_taker_once(taker *t, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0)
        return 0;
    int watch = inotify_init1(IN_CLOEXEC);
    int done = watch >= 0 && inotify_add_watch(watch, path, IN_OPEN) >= 0;
    sipc_os_thread thread;
    if (done && sipc_os_thread_create(&thread, take_or_leave, t) == SIPC_OK) {
        /* Its open shows as an event; the lock it then tries is refused until we let go (it tries for ~75 ms, we
         * let go as soon as we have seen the open). */
        struct pollfd ready = {watch, POLLIN, 0};
        done = poll(&ready, 1, 60000) == 1;
        done = unlink(path) == 0 && done;
        close(fd);
        fd = -1;
        sipc_os_thread_join(&thread);
    } else {
        done = 0;
    }
    if (fd >= 0)
        close(fd);
    if (watch >= 0)
        close(watch);
    return done;
}

/* As above until the taker did not give up (it does when this thread is put aside for longer than the taker
 * waits for a lock, ~75 ms, on a loaded machine): 1 with t->result 1, or 0. */
static int remove_under_a_taker(taker *t, const char *path)
{
    for (int attempt = 0; attempt < 20; attempt++) {
        int made = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644); /* the file left from before */
        if (made < 0)
            return 0;
        close(made);
        if (!remove_under_a_taker_once(t, path))
            return 0;
        if (t->result == 1)
            return 1;
        printf("    (the taker gave up waiting for the lock: again)\n");
    }
    return 0;
}

static void files_taker_makes_again_a_file_removed_under_it(const char *dir)
{
    static taker t;
    memset(&t, 0, sizeof t);
    t.fd = -1;
    snprintf(t.dir, sizeof t.dir, "%s", dir);
    char token[320], listing[320];
    file_in(t.dir, KEY ".token0", token, sizeof token);
    file_in(t.dir, KEY ".lock", listing, sizeof listing);
    /* A token file left by an earlier holder, removed by a remover while a new holder takes it. */
    CHECK(remove_under_a_taker(&t, token));
    CHECK(names_open_file(token, t.fd));
    CHECK_RC(darwin_token_held(t.dir, KEY, 0), 1);
    darwin_token_give_back(t.dir, KEY, 0, t.fd);
    CHECK(!exists_at(token));
    /* A listing file removed (its channel's key named no object when the remover asked) while the creator of the
     * key's next object leaves it. */
    t.listing = 1;
    CHECK(remove_under_a_taker(&t, listing));
    CHECK(exists_at(listing));
    int exists = 0;
    darwin_files_remove(t.dir, KEY, answer_exists, &exists);
    CHECK(dir_is_empty(t.dir));
}
#endif

/* ---- takers, givers-back and removers of the same files at once ---- */

#define RACE_ROUNDS 400
#define RACE_HOLDERS 2

typedef struct race {
    char dir[256];
    int stop;           /* atomic: the removers stop */
    int object_exists;  /* atomic: what the listing file's remover is told about the key */
    int violations;     /* atomic */
    int taken;          /* atomic: tokens taken (a take may also give up, counted apart) */
    int not_taken;      /* atomic */
    int listed;         /* atomic: listing files left */
    int remover_passes; /* atomic: removals the remover has finished */
} race;

static void violation(race *r, const char *what)
{
    fprintf(stderr, "    violation: %s\n", what);
    __atomic_add_fetch(&r->violations, 1, __ATOMIC_SEQ_CST);
}

/* Takes token 0 and gives it back, over and over; while it holds it, its file must be the one the path names and
 * a probe must find it held. */
static void *race_holder(void *arg)
{
    race *r = arg;
    char path[320];
    file_in(r->dir, KEY ".token0", path, sizeof path);
    for (int round = 0; round < RACE_ROUNDS; round++) {
        int fd = -1;
        if (!darwin_token_take(r->dir, KEY, 0, 0644, 0, &fd)) {
            __atomic_add_fetch(&r->not_taken, 1, __ATOMIC_SEQ_CST);
            continue;
        }
        __atomic_add_fetch(&r->taken, 1, __ATOMIC_SEQ_CST);
        if (!names_open_file(path, fd))
            violation(r, "a holder's token file is no longer the one its path names");
        if (darwin_token_held(r->dir, KEY, 0) != 1)
            violation(r, "a held token probed as not held");
        darwin_token_give_back(r->dir, KEY, 0, fd);
    }
    return NULL;
}

/* Creates "the object", leaves its listing file, and removes it again, over and over; while the object exists,
 * the listing file must stay. */
static void *race_creator(void *arg)
{
    race *r = arg;
    char path[320];
    file_in(r->dir, KEY ".lock", path, sizeof path);
    for (int round = 0; round < RACE_ROUNDS; round++) {
        __atomic_store_n(&r->object_exists, 1, __ATOMIC_SEQ_CST);
        int passes = __atomic_load_n(&r->remover_passes, __ATOMIC_SEQ_CST);
        if (darwin_listing_leave(r->dir, KEY)) {
            __atomic_add_fetch(&r->listed, 1, __ATOMIC_SEQ_CST);
            /* Until the remover's pass that may have begun before (it may have asked about the key just before
             * the object existed) and one more have ended. */
            while (__atomic_load_n(&r->remover_passes, __ATOMIC_SEQ_CST) < passes + 2)
                sipc_os_thread_yield();
            if (!exists_at(path))
                violation(r, "a listing file was removed while its key named an object");
        }
        __atomic_store_n(&r->object_exists, 0, __ATOMIC_SEQ_CST);
        darwin_files_remove(r->dir, KEY, answer_exists, &r->object_exists); /* the object's remover */
    }
    return NULL;
}

/* What the remover is told about the key, as it stood when it asked: it then lets the others run before it goes
 * on (as a remover put aside between its look and its unlink would), so that a creator's moves fall in there. */
static int answer_exists_then_pause(const char *key, void *context)
{
    int exists = answer_exists(key, context);
    for (int i = 0; i < 3; i++)
        sipc_os_thread_yield();
    return exists;
}

/* Removes the channel's files all the time, as a concurrent sipc_remove / last close / listing would. */
static void *race_remover(void *arg)
{
    race *r = arg;
    while (!__atomic_load_n(&r->stop, __ATOMIC_SEQ_CST)) {
        darwin_files_remove(r->dir, KEY, answer_exists_then_pause, &r->object_exists);
        __atomic_add_fetch(&r->remover_passes, 1, __ATOMIC_SEQ_CST);
        sipc_os_thread_yield();
    }
    return NULL;
}

static void files_concurrent_take_leave_and_remove(const char *dir)
{
    static race r; /* shared with the threads */
    memset(&r, 0, sizeof r);
    snprintf(r.dir, sizeof r.dir, "%s", dir);
    sipc_os_thread workers[RACE_HOLDERS + 1], remover;
    CHECK_RC(sipc_os_thread_create(&remover, race_remover, &r), SIPC_OK);
    int started = 0;
    for (; started < RACE_HOLDERS; started++) {
        if (sipc_os_thread_create(&workers[started], race_holder, &r) != SIPC_OK)
            break;
    }
    if (started == RACE_HOLDERS && sipc_os_thread_create(&workers[started], race_creator, &r) == SIPC_OK)
        started++;
    for (int i = 0; i < started; i++)
        sipc_os_thread_join(&workers[i]);
    __atomic_store_n(&r.stop, 1, __ATOMIC_SEQ_CST);
    sipc_os_thread_join(&remover);
    CHECK(started == RACE_HOLDERS + 1);
    printf("    %d tokens taken, %d given up after waiting; %d listing files left\n", r.taken, r.not_taken, r.listed);
    CHECK(r.violations == 0);
    /* Most attempts succeed: a give-up needs another's exclusive lock held ~75 ms. */
    CHECK(r.taken > RACE_HOLDERS * RACE_ROUNDS / 2);
    CHECK(r.listed > RACE_ROUNDS / 2);
    /* Every holder gave its token back and the object is gone: one more removal leaves nothing behind. */
    darwin_files_remove(r.dir, KEY, answer_exists, &r.object_exists);
    CHECK(dir_is_empty(r.dir));
}

void test_darwin_token_files_go_with_their_last_holder(void)
{
    in_private_dir(darwin_token_files_go_with_their_last_holder);
}

void test_darwin_listing_file_stays_while_the_key_names_an_object(void)
{
    in_private_dir(darwin_listing_file_stays_while_the_key_names_an_object);
}

void test_darwin_files_refuse_what_others_planted(void)
{
    in_private_dir(darwin_files_refuse_what_others_planted);
}

#if defined(__linux__)
void test_darwin_files_taker_makes_again_a_file_removed_under_it(void)
{
    in_private_dir(files_taker_makes_again_a_file_removed_under_it);
}
#endif

void test_darwin_files_concurrent_take_leave_and_remove(void)
{
    in_private_dir(files_concurrent_take_leave_and_remove);
}

#endif /* __APPLE__ || SIPC_TEST_DARWIN_FILES */
